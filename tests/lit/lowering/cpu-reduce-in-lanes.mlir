// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-ms-to-linalg,cpu-reduce-in-lanes)' --split-input-file | FileCheck %s

// A batch norm's per-channel sum over (N, H, W), 2**17 iterations, the innermost loop reducing
// 16 elements: x's last axis is split in (1, 16), each of 16 lanes accumulates its own partial
// sum per channel (the lane loop innermost and parallel), then each channel's 16 lanes are
// added into the original accumulator.
// CHECK-DAG: #[[X5:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
// CHECK-DAG: #[[LANES:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>
// CHECK-LABEL: func.func @channel_sums
// CHECK: %[[INIT:.*]] = linalg.fill {{.*}} -> tensor<64xf32>
// CHECK: %[[SPLIT:.*]] = tensor.expand_shape %arg0 {{\[\[}}0], [1], [2], [3, 4]] output_shape [8, 64, 16, 1, 16]
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[PARTIAL_INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<64x16xf32>)
// CHECK: %[[PARTIAL:.*]] = linalg.generic {indexing_maps = [#[[X5]], #[[LANES]]], iterator_types = ["reduction", "parallel", "reduction", "reduction", "parallel"]} ins(%[[SPLIT]] : tensor<8x64x16x1x16xf32>) outs(%[[PARTIAL_INIT]] : tensor<64x16xf32>)
// CHECK: arith.addf
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[PARTIAL]] : tensor<64x16xf32>) outs(%[[INIT]] : tensor<64xf32>)
// CHECK: arith.addf
// CHECK: return %[[SUM]]
func.func @channel_sums(%x: tensor<8x64x16x16xf32>) -> tensor<64xf32> {
  %0 = "ms.reduce_sum"(%x) {axes = array<i64: 0, 2, 3>, keep_dims = false} : (tensor<8x64x16x16xf32>) -> tensor<64xf32>
  return %0 : tensor<64xf32>
}

// -----

// A row maximum over 2048 elements: 16 lanes of -inf-initialized maxima, 128 elements each.
// CHECK-LABEL: func.func @row_max
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0], [1, 2]] output_shape [40, 128, 16]
// CHECK: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: linalg.fill ins(%[[NEG_INF]] : f32) outs(%{{.*}} : tensor<40x16xf32>)
// CHECK: iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: arith.maximumf
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
func.func @row_max(%x: tensor<40x2048xf32>) -> tensor<40xf32> {
  %0 = "ms.reduce_max"(%x) {axes = array<i64: 1>, keep_dims = false} : (tensor<40x2048xf32>) -> tensor<40xf32>
  return %0 : tensor<40xf32>
}

// -----

// Left as they are: fewer than 2**14 iterations; an innermost extent that is no multiple of
// 16; an innermost loop that is parallel (a sum over rows, which LLVM vectorizes as it is).
// CHECK-LABEL: func.func @kept
// CHECK-NOT: tensor.expand_shape
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: linalg.generic
func.func @kept(%small: tensor<4x64xf32>, %odd: tensor<64x1000xf32>, %rows: tensor<1024x64xf32>) -> (tensor<4xf32>, tensor<64xf32>, tensor<64xf32>) {
  %0 = "ms.reduce_sum"(%small) {axes = array<i64: 1>, keep_dims = false} : (tensor<4x64xf32>) -> tensor<4xf32>
  %1 = "ms.reduce_sum"(%odd) {axes = array<i64: 1>, keep_dims = false} : (tensor<64x1000xf32>) -> tensor<64xf32>
  %2 = "ms.reduce_sum"(%rows) {axes = array<i64: 0>, keep_dims = false} : (tensor<1024x64xf32>) -> tensor<64xf32>
  return %0, %1, %2 : tensor<4xf32>, tensor<64xf32>, tensor<64xf32>
}

// -----

// A dynamic batch of rows: the split and the lanes' partial results take it from the tensors.
// CHECK-LABEL: func.func @dynamic_rows
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 4, 16] : tensor<?x64xf32> into tensor<?x4x16xf32>
// CHECK: %[[M:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?xf32>
// CHECK: tensor.empty(%[[M]]) : tensor<?x16xf32>
// CHECK: iterator_types = ["parallel", "reduction", "parallel"]
module attributes {ms.dynamic_batch = 5 : i64} {
  func.func @dynamic_rows(%x: tensor<?x64xf32>) -> tensor<?xf32> {
    %0 = "ms.reduce_sum"(%x) {axes = array<i64: 1>, keep_dims = false} : (tensor<?x64xf32>) -> tensor<?xf32>
    return %0 : tensor<?xf32>
  }
}
