// RUN: cellc opt %s --pass-pipeline='builtin.module(cpu-tile-parallel-generics)' --split-input-file | FileCheck %s

// An elementwise generic of 2**16 iterations or more is cut along its first parallel axis into
// at most 64 blocks of at least 2**14 iterations (here 8 x 64 x 32 x 32 = 2**19: 8 blocks of
// one image), marked cellc.parallel; the inner axes stay whole.
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.forall (%{{.*}}) in (8) shared_outs
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x64x32x32xf32>)
// CHECK: } {cellc.parallel}
#id4 = affine_map<(n, c, h, w) -> (n, c, h, w)>
func.func @elementwise(%x: tensor<8x64x32x32xf32>) -> tensor<8x64x32x32xf32> {
  %e = tensor.empty() : tensor<8x64x32x32xf32>
  %r = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<8x64x32x32xf32>) outs(%e : tensor<8x64x32x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.mulf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<8x64x32x32xf32>
  return %r : tensor<8x64x32x32xf32>
}

// -----

// A large linalg.copy (a matmul operand copied into a wider buffer) is cut the same way:
// 256 x 1024 = 2**18 elements, 16 blocks of 16 rows.
// CHECK-LABEL: func.func @copy
// CHECK: scf.forall (%{{.*}}) in (16) shared_outs
// CHECK: linalg.copy ins(%{{.*}} : tensor<16x1024xf32>)
// CHECK: } {cellc.parallel}
func.func @copy(%x: tensor<256x1024xf32>) -> tensor<256x1024xf32> {
  %wide = bufferization.alloc_tensor() : tensor<256x1056xf32>
  %window = tensor.extract_slice %wide[0, 0] [256, 1024] [1, 1] : tensor<256x1056xf32> to tensor<256x1024xf32>
  %r = linalg.copy ins(%x : tensor<256x1024xf32>) outs(%window : tensor<256x1024xf32>) -> tensor<256x1024xf32>
  return %r : tensor<256x1024xf32>
}

// -----

// A large transpose that keeps the innermost axis ((C, N, H, W) -> (N, C, H, W)): 8 blocks
// of one image.
// CHECK-LABEL: func.func @keeps_innermost
// CHECK: scf.forall (%{{.*}}) in (8) shared_outs
// CHECK: linalg.transpose ins(%{{.*}} : tensor<64x1x16x16xf32>) outs(%{{.*}} : tensor<1x64x16x16xf32>) permutation = [1, 0, 2, 3]
// CHECK: } {cellc.parallel}
func.func @keeps_innermost(%x: tensor<64x8x16x16xf32>) -> tensor<8x64x16x16xf32> {
  %e = tensor.empty() : tensor<8x64x16x16xf32>
  %t = linalg.transpose ins(%x : tensor<64x8x16x16xf32>) outs(%e : tensor<8x64x16x16xf32>) permutation = [1, 0, 2, 3]
  return %t : tensor<8x64x16x16xf32>
}

// -----

// A reduction over N, H, W per channel (batch norm's statistics): the reduction axis (N) is
// never split; the blocks are channels (2**17 iterations / 2**14 = 8 blocks of 8), each
// summed whole by one thread, in the same order as before.
// CHECK-LABEL: func.func @channel_sums
// CHECK: scf.forall (%{{.*}}) in (8) shared_outs
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "reduction", "reduction"]{{.*}} ins(%{{.*}} : tensor<8x8x16x16xf32>) outs(%{{.*}} : tensor<8xf32>)
// CHECK: } {cellc.parallel}
func.func @channel_sums(%x: tensor<8x64x16x16xf32>, %init: tensor<64xf32>) -> tensor<64xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(n, c, h, w) -> (n, c, h, w)>, affine_map<(n, c, h, w) -> (c)>], iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
      ins(%x : tensor<8x64x16x16xf32>) outs(%init : tensor<64xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  } -> tensor<64xf32>
  return %r : tensor<64xf32>
}

// -----

// Left as they are: a generic below 2**16 iterations, and a full reduction (no parallel axis).
// CHECK-LABEL: func.func @kept
// CHECK-NOT: scf.forall
func.func @kept(%x: tensor<64x64xf32>, %y: tensor<512x512xf32>, %init: tensor<f32>) -> (tensor<64x64xf32>, tensor<f32>) {
  %e = tensor.empty() : tensor<64x64xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.negf %in : f32
    linalg.yield %m : f32
  } -> tensor<64x64xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%y : tensor<512x512xf32>) outs(%init : tensor<f32>) {
  ^bb0(%in: f32, %acc: f32):
    %t = arith.addf %in, %acc : f32
    linalg.yield %t : f32
  } -> tensor<f32>
  return %r, %s : tensor<64x64xf32>, tensor<f32>
}
