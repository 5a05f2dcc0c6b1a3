// RUN: cellc opt %s --pass-pipeline='builtin.module(gpu-pad-matmuls)' --split-input-file | FileCheck %s

// 67x45 @ 45x33 does not divide the 64x64x16 tile: A and B are copied, zero-padded, into
// 128x48 and 48x64 tensors (reads at clamped indices, zeros outside), the zero accumulator is
// filled at 128x64, and the 67x33 corner of the product is copied out.

// CHECK-LABEL: func.func @matmul_padded
// CHECK-SAME: (%[[A:.*]]: tensor<67x45xf32>, %[[B:.*]]: tensor<45x33xf32>)
// CHECK: %[[AP:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<128x48xf32>)
// CHECK: %[[INSIDE:.*]] = arith.andi
// CHECK: %[[V:.*]] = tensor.extract %[[A]]
// CHECK: arith.select %[[INSIDE]], %[[V]], %{{.*}} : f32
// CHECK: %[[BP:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<48x64xf32>)
// CHECK: tensor.extract %[[B]]
// CHECK: %[[CP:.*]] = linalg.fill {{.*}} -> tensor<128x64xf32>
// CHECK: %[[P:.*]] = linalg.matmul ins(%[[AP]], %[[BP]] : tensor<128x48xf32>, tensor<48x64xf32>) outs(%[[CP]] : tensor<128x64xf32>)
// CHECK: %[[R:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<67x33xf32>)
// CHECK: tensor.extract %[[P]]
// CHECK: return %[[R]]
func.func @matmul_padded(%a: tensor<67x45xf32>, %b: tensor<45x33xf32>) -> tensor<67x33xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<67x33xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<67x33xf32>) -> tensor<67x33xf32>
  %r = linalg.matmul ins(%a, %b : tensor<67x45xf32>, tensor<45x33xf32>)
                     outs(%c : tensor<67x33xf32>) -> tensor<67x33xf32>
  return %r : tensor<67x33xf32>
}

// -----

// An accumulator that is not a fill (C += A @ B^T, B read through the maps) is padded like
// the operands; only its rows need padding (70 -> 128; N = 64 already divides).

// CHECK-LABEL: func.func @matmul_acc
// CHECK-SAME: (%[[A:.*]]: tensor<70x48xf32>, %[[B:.*]]: tensor<64x48xf32>, %[[C:.*]]: tensor<70x64xf32>)
// CHECK: %[[AP:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<128x48xf32>)
// CHECK: %[[CP:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<128x64xf32>)
// CHECK: tensor.extract %[[C]]
// CHECK: linalg.matmul {{.*}} ins(%[[AP]], %[[B]] : tensor<128x48xf32>, tensor<64x48xf32>) outs(%[[CP]] : tensor<128x64xf32>)
func.func @matmul_acc(%a: tensor<70x48xf32>, %b: tensor<64x48xf32>, %c: tensor<70x64xf32>)
    -> tensor<70x64xf32> {
  %r = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<70x48xf32>, tensor<64x48xf32>)
      outs(%c : tensor<70x64xf32>) -> tensor<70x64xf32>
  return %r : tensor<70x64xf32>
}

// -----

// Less than one tile of work, and sizes that divide the tile: left alone.

// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: linalg.generic
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<10x7xf32>, tensor<7x5xf32>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<64x16xf32>, tensor<16x64xf32>)
// CHECK-NOT: linalg.generic
func.func @left_alone(%a: tensor<10x7xf32>, %b: tensor<7x5xf32>, %c: tensor<10x5xf32>,
                      %x: tensor<64x16xf32>, %y: tensor<16x64xf32>, %z: tensor<64x64xf32>)
    -> (tensor<10x5xf32>, tensor<64x64xf32>) {
  %r = linalg.matmul ins(%a, %b : tensor<10x7xf32>, tensor<7x5xf32>)
                     outs(%c : tensor<10x5xf32>) -> tensor<10x5xf32>
  %s = linalg.matmul ins(%x, %y : tensor<64x16xf32>, tensor<16x64xf32>)
                     outs(%z : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %r, %s : tensor<10x5xf32>, tensor<64x64xf32>
}
