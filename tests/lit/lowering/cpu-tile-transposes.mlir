// RUN: cellc opt %s --pass-pipeline='builtin.module(cpu-tile-transposes)' --split-input-file | FileCheck %s

// A transpose that moves the innermost axis is copied in 64 x 64 blocks of the two axes
// involved (the edge blocks are smaller); from 2**16 elements its blocks are a parallel forall.
// Each block is cut into 8 x 8 cells, peeled: a full cell is one vector transfer read through
// the transposing permutation map and one write; the partial cells stay linalg.transpose.
// CHECK-DAG: #[[SWAP:.+]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @large
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (5, 9) shared_outs
// CHECK: scf.for
// CHECK: scf.for
// CHECK: vector.transfer_read %{{.*}} {permutation_map = #[[SWAP]]} : tensor<8x8xf32>, vector<8x8xf32>
// CHECK: vector.transfer_write %{{.*}} : vector<8x8xf32>, tensor<8x8xf32>
// CHECK: linalg.transpose ins(%{{.*}} : tensor<?x8xf32>) outs(%{{.*}} : tensor<8x?xf32>) permutation = [1, 0]
// CHECK: } {cellc.parallel}
func.func @large(%x: tensor<520x300xf32>) -> tensor<300x520xf32> {
  %e = tensor.empty() : tensor<300x520xf32>
  %t = linalg.transpose ins(%x : tensor<520x300xf32>) outs(%e : tensor<300x520xf32>) permutation = [1, 0]
  return %t : tensor<300x520xf32>
}

// -----

// NCHW -> NHWC: blocks of C (the output's innermost) and W (where the input's innermost goes);
// small, so the forall stays serial (no cellc.parallel).
// CHECK-LABEL: func.func @nchw_to_nhwc
// (The canonicalization after tiling drops the forall's axis of one block.)
// CHECK: scf.forall (%{{.*}}) in (2) shared_outs
// CHECK: vector.transfer_read %{{.*}} {permutation_map = #{{.*}}} : tensor<1x3x1x8xf32>, vector<1x1x8x3xf32>
// CHECK-NOT: {cellc.parallel}
func.func @nchw_to_nhwc(%x: tensor<2x3x100x100xf32>) -> tensor<2x100x100x3xf32> {
  %e = tensor.empty() : tensor<2x100x100x3xf32>
  %t = linalg.transpose ins(%x : tensor<2x3x100x100xf32>) outs(%e : tensor<2x100x100x3xf32>) permutation = [0, 2, 3, 1]
  return %t : tensor<2x100x100x3xf32>
}

// -----

// Both swapped axes within one block, but 2**17 elements: the blocks are images (8 blocks
// along N, a parallel forall), each cut into 8 x 8 cells of C and W.
// CHECK-LABEL: func.func @images_to_nhwc
// CHECK: scf.forall (%{{.*}}) in (8) shared_outs
// CHECK: vector.transfer_read %{{.*}} {permutation_map = #{{.*}}} : tensor<1x8x1x8xf32>, vector<1x1x8x8xf32>
// CHECK: } {cellc.parallel}
func.func @images_to_nhwc(%x: tensor<8x64x16x16xf32>) -> tensor<8x16x16x64xf32> {
  %e = tensor.empty() : tensor<8x16x16x64xf32>
  %t = linalg.transpose ins(%x : tensor<8x64x16x16xf32>) outs(%e : tensor<8x16x16x64xf32>) permutation = [0, 2, 3, 1]
  return %t : tensor<8x16x16x64xf32>
}

// -----

// A dynamic batch among the swapped axes (a weight gradient's dy^T): blocks of 64 x 64 and
// vector cells as for static sizes; the forall, whose inner bound is the batch, is left to run
// serially by cpu-outline-parallel-loops. It is large (2**16 elements or more) only at a batch
// of 128 or more, which the guard computes at run time (parallel_guards.py).
// CHECK-LABEL: func.func @dynamic_rows
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[SIZE:.*]] = arith.muli %[[N]], %c512 : index
// CHECK: %[[LARGE:.*]] = arith.cmpi uge, %[[SIZE]], %c65536 : index
// CHECK: call @__cellc_parallel_if(%[[LARGE]])
// CHECK: scf.forall
// CHECK: vector.transfer_read %{{.*}} {permutation_map = #{{.*}}} : tensor<8x8xf32>, vector<8x8xf32>
func.func @dynamic_rows(%x: tensor<?x512xf32>) -> tensor<512x?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x512xf32>
  %e = tensor.empty(%n) : tensor<512x?xf32>
  %t = linalg.transpose ins(%x : tensor<?x512xf32>) outs(%e : tensor<512x?xf32>) permutation = [1, 0]
  return %t : tensor<512x?xf32>
}

// -----

// Both axes within one block, and small: left as it is.
// CHECK-LABEL: func.func @small
// CHECK-NOT: scf.forall
func.func @small(%x: tensor<64x3xf32>) -> tensor<3x64xf32> {
  %e = tensor.empty() : tensor<3x64xf32>
  %t = linalg.transpose ins(%x : tensor<64x3xf32>) outs(%e : tensor<3x64xf32>) permutation = [1, 0]
  return %t : tensor<3x64xf32>
}

// -----

// A transpose that keeps the innermost axis in place copies whole rows: left as it is (a large
// one is cut into parallel blocks by cpu-tile-parallel-generics).
// CHECK-LABEL: func.func @rows
// CHECK-NOT: scf.forall
// CHECK: linalg.transpose ins(%{{.*}} : tensor<4x5x6xf32>)
func.func @rows(%x: tensor<4x5x6xf32>) -> tensor<5x4x6xf32> {
  %e = tensor.empty() : tensor<5x4x6xf32>
  %t = linalg.transpose ins(%x : tensor<4x5x6xf32>) outs(%e : tensor<5x4x6xf32>) permutation = [1, 0, 2]
  return %t : tensor<5x4x6xf32>
}
