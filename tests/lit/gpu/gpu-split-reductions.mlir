// RUN: cellc opt %s --pass-pipeline='builtin.module(gpu-split-reductions)' --split-input-file | FileCheck %s

// 16384 elements divide into 512 chunks of 32: upstream's split_reduction (inner_parallel)
// reads x as 32x512, p the inner loop (thread p reads x[c * 512 + p]), and the 512 partial
// sums are added into the initial value by a second reduction, not split again (one block
// reduces it: convert-linalg-to-gpu-block-reductions).

#id1 = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @sum_exact
// CHECK-SAME: (%[[X:.*]]: tensor<16384xf32>, %[[INIT:.*]]: tensor<f32>)
// CHECK: %[[X2:.*]] = tensor.expand_shape %[[X]] {{\[}}[0, 1]] output_shape [32, 512]
// CHECK: %[[P1:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]
// CHECK-SAME: ins(%[[X2]] : tensor<32x512xf32>) outs(%{{.*}} : tensor<512xf32>)
// CHECK-NOT: tensor.expand_shape
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["reduction"]
// CHECK-SAME: ins(%[[P1]] : tensor<512xf32>) outs(%[[INIT]] : tensor<f32>)
// CHECK: return %[[SUM]]
func.func @sum_exact(%x: tensor<16384xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%x : tensor<16384xf32>) outs(%init : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// 3001 rows (a prime) into 7 columns: no exact chunking, split by hand into 94 chunks of 32
// rows; the last chunk reads a clamped row and keeps its accumulator.

#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @column_sum_masked
// CHECK-SAME: (%[[X:.*]]: tensor<3001x7xf32>)
// CHECK: %[[CHUNK:.*]] = tensor.empty() : tensor<32xi8>
// CHECK: %[[PARTIAL:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "parallel"]
// CHECK-SAME: ins(%[[CHUNK]] : tensor<32xi8>) outs(%{{.*}} : tensor<94x7xf32>)
// CHECK: %[[C:.*]] = linalg.index 0
// CHECK: %[[CP:.*]] = arith.muli %[[C]], %{{.*}}
// CHECK: %[[G:.*]] = arith.addi %[[CP]], %{{.*}}
// CHECK: %[[INSIDE:.*]] = arith.cmpi ult, %[[G]]
// CHECK: %[[ROW:.*]] = arith.minui %[[G]]
// CHECK: %[[V:.*]] = tensor.extract %[[X]][%[[ROW]], %{{.*}}] : tensor<3001x7xf32>
// CHECK: %[[SUM:.*]] = arith.addf %[[V]], %[[ACC:.*]] : f32
// CHECK: arith.select %[[INSIDE]], %[[SUM]], %[[ACC]]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%[[PARTIAL]] : tensor<94x7xf32>)
func.func @column_sum_masked(%x: tensor<3001x7xf32>) -> tensor<7xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<7xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<7xf32>) -> tensor<7xf32>
  %r = linalg.generic {indexing_maps = [#id, #cols], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<3001x7xf32>) outs(%f : tensor<7xf32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<7xf32>
  return %r : tensor<7xf32>
}

// -----

// Two reduced loops (upstream splits one): merged by hand into one index g, delinearized into
// (g / 64, g % 64); 4096 = 128 chunks of 32, no mask.

#id = affine_map<(d0, d1) -> (d0, d1)>
#all2 = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @max_2d
// CHECK-SAME: (%[[X:.*]]: tensor<64x64xf32>)
// CHECK: %[[PARTIAL:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<128xf32>)
// CHECK: %[[G:.*]] = arith.addi
// CHECK-DAG: %[[ROW:.*]] = arith.divui %[[G]]
// CHECK-DAG: %[[COL:.*]] = arith.remui %[[G]]
// CHECK: tensor.extract %[[X]][%[[ROW]], %[[COL]]]
// CHECK: arith.maximumf
// CHECK-NOT: arith.select
// CHECK: linalg.generic {{.*}} ins(%[[PARTIAL]] : tensor<128xf32>)
func.func @max_2d(%x: tensor<64x64xf32>) -> tensor<f32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [#id, #all2], iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<64x64xf32>) outs(%f : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %m = arith.maximumf %u, %acc : f32
      linalg.yield %m : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// Too small to split (100 < 256 elements), a reduction with too many outputs, and 256 rows of
// 300 read along the reduction (256 blocks of 256 threads, one per row, run as many threads as
// a split would: convert-linalg-to-gpu-block-reductions): unchanged.

#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
#id1 = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: linalg.generic
func.func @left_alone(%x: tensor<100xf32>, %init: tensor<f32>, %y: tensor<8192x300xf32>,
                      %rows: tensor<8192xf32>, %z: tensor<256x300xf32>, %zrows: tensor<256xf32>)
    -> (tensor<f32>, tensor<8192xf32>, tensor<256xf32>) {
  %r = linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%x : tensor<100xf32>) outs(%init : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  %s = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<8192x300xf32>) outs(%rows : tensor<8192xf32>) {
    ^bb0(%u: f32, %acc: f32):
      %t = arith.addf %u, %acc : f32
      linalg.yield %t : f32
  } -> tensor<8192xf32>
  %z1 = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%z : tensor<256x300xf32>) outs(%zrows : tensor<256xf32>) {
    ^bb0(%u: f32, %acc: f32):
      %t = arith.addf %u, %acc : f32
      linalg.yield %t : f32
  } -> tensor<256xf32>
  return %r, %s, %z1 : tensor<f32>, tensor<8192xf32>, tensor<256xf32>
}
