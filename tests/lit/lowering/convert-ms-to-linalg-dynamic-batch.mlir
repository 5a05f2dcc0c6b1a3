// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-ms-to-linalg)' | FileCheck %s

// A program compiled for a dynamic batch (compiler/dynamic_batch.py): every `?` of an op's
// result is the batch, read once per function from its first dynamic argument, which each
// tensor.empty of a `?` uses. A reshape collapses and expands each group of dims holding the
// same elements on its own (its `?` read off the tensor), or, where the groups do not line up,
// goes through 1-D, its one `?` what the static dims leave of the size. `ms.dynamic_batch` is the batch of the trace the types stand for,
// which the verifier checks the shape rules at.

// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>, %[[W:.*]]: tensor<4x3xf32>)
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[N:.*]] = tensor.dim %[[X]], %[[C0]] : tensor<?x4xf32>
// CHECK: %[[ACC:.*]] = tensor.empty(%[[N]]) : tensor<?x3xf32>
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[ACC]] : tensor<?x3xf32>)
// CHECK: %[[Y:.*]] = linalg.matmul ins(%[[X]], %[[W]] : tensor<?x4xf32>, tensor<4x3xf32>) outs(%[[ZERO]] : tensor<?x3xf32>)
// CHECK: %[[ROWS:.*]] = tensor.dim %[[Y]], %{{.*}} : tensor<?x3xf32>
// CHECK: tensor.expand_shape %[[Y]] {{\[\[}}0], [1, 2]] output_shape [%[[ROWS]], 3, 1] : tensor<?x3xf32> into tensor<?x3x1xf32>
// CHECK: %[[SUM:.*]] = linalg.generic
// CHECK-SAME: iterator_types = ["reduction", "reduction"]
// CHECK: %[[C0B:.*]] = arith.constant 0 : index
// CHECK: %[[DIM:.*]] = tensor.dim %[[X]], %[[C0B]] : tensor<?x4xf32>
// CHECK: %[[I64:.*]] = arith.index_cast %[[DIM]] : index to i64
// CHECK: %[[F:.*]] = arith.sitofp %[[I64]] : i64 to f32
// CHECK: %[[SIZE:.*]] = tensor.from_elements %[[F]] : tensor<f32>
// CHECK: linalg.generic
// CHECK: arith.divf
// CHECK: %[[ONES:.*]] = tensor.empty(%[[N]]) : tensor<?x3xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[ONES]] : tensor<?x3xf32>)
module attributes {ms.dynamic_batch = 5 : i64} {
  func.func @step(%x: tensor<?x4xf32>, %w: tensor<4x3xf32>) -> (tensor<f32>, tensor<?x3x1xf32>, tensor<?x3xf32>) {
    %y = "ms.matmul"(%x, %w) {transpose_a = false, transpose_b = false} : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
    %r = "ms.reshape"(%y) : (tensor<?x3xf32>) -> tensor<?x3x1xf32>
    %s = "ms.reduce_sum"(%y) {axes = array<i64: 0, 1>, keep_dims = false} : (tensor<?x3xf32>) -> tensor<f32>
    %n = "ms.dim_size"(%x) {axis = 0 : i64} : (tensor<?x4xf32>) -> tensor<f32>
    %mean = "ms.div"(%s, %n) : (tensor<f32>, tensor<f32>) -> tensor<f32>
    %ones = "ms.constant"() {value = dense<1.0> : tensor<5x3xf32>} : () -> tensor<?x3xf32>
    return %mean, %r, %ones : tensor<f32>, tensor<?x3x1xf32>, tensor<?x3xf32>
  }

  // A convolution merges the batch with the output positions (im2col columns N*OH*OW): a `?`
  // that is a multiple of the batch is sized from the tensor it comes from, never the batch.
  // CHECK-LABEL: func.func @conv
  // CHECK: %[[B:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?x1x4x4xf32>
  // CHECK: tensor.empty(%[[B]]) : tensor<1x3x3x?x2x2xf32>
  // CHECK: %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} : tensor<1x3x3x?x2x2xf32> into tensor<?xf32>
  // CHECK: %[[SIZE:.*]] = tensor.dim %[[FLAT]]
  // CHECK: %[[COLUMNS:.*]] = arith.divui %[[SIZE]], %{{.*}} : index
  // CHECK: %[[COLS:.*]] = tensor.expand_shape %[[FLAT]] {{\[\[}}0, 1]] output_shape [9, %[[COLUMNS]]]
  // CHECK: %[[N:.*]] = tensor.dim %[[COLS]], %{{.*}} : tensor<9x?xf32>
  // CHECK: tensor.empty(%[[N]]) : tensor<2x?xf32>
  // CHECK: linalg.matmul
  // CHECK: tensor.empty(%[[B]]) : tensor<?x2x2x2xf32>
  // CHECK: linalg.transpose
  func.func @conv(%x: tensor<?x1x4x4xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<?x2x2x2xf32> {
    %y = "ms.conv2d"(%x, %w) {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, groups = 1 : i64} : (tensor<?x1x4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<?x2x2x2xf32>
    return %y : tensor<?x2x2x2xf32>
  }
  // A reshape that folds the batch into a dim ([N, 5, 4] -> [5N, 4], nn.Dense on a sequence):
  // it and the ops after it carry `ms.batch_multiple = 5`, each `?` they make 5 times the batch,
  // which sizes their tensor.empty; a reshape reads its `?` off the tensor.
  // CHECK-LABEL: func.func @folded
  // CHECK: %[[N:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?x5x4xf32>
  // CHECK: %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2]] : tensor<?x5x4xf32> into tensor<?xf32>
  // CHECK: tensor.expand_shape %[[FLAT]] {{\[\[}}0, 1]] output_shape [%{{.*}}, 4] : tensor<?xf32> into tensor<?x4xf32>
  // CHECK: %[[FIVE:.*]] = arith.constant 5 : index
  // CHECK: %[[ROWS:.*]] = arith.muli %[[N]], %[[FIVE]] : index
  // CHECK: tensor.empty(%[[ROWS]]) : tensor<?x3xf32>
  // CHECK: linalg.matmul
  // CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1, 2]] output_shape [%{{.*}}, 5, 3] : tensor<?xf32> into tensor<?x5x3xf32>
  func.func @folded(%seq: tensor<?x5x4xf32>, %w: tensor<4x3xf32>) -> tensor<?x5x3xf32> {
    %flat = "ms.reshape"(%seq) {ms.batch_multiple = 5 : i64} : (tensor<?x5x4xf32>) -> tensor<?x4xf32>
    %y = "ms.matmul"(%flat, %w) {transpose_a = false, transpose_b = false, ms.batch_multiple = 5 : i64} : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
    %out = "ms.reshape"(%y) : (tensor<?x3xf32>) -> tensor<?x5x3xf32>
    return %out : tensor<?x5x3xf32>
  }
  // The same rank, the `?` in the same place, other static dims: [N, 2, 6] -> [N, 3, 4]
  // regroups the static dims only.
  // CHECK-LABEL: func.func @regroup
  // CHECK: %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<?x2x6xf32> into tensor<?x12xf32>
  // CHECK: tensor.expand_shape %[[FLAT]] {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 3, 4] : tensor<?x12xf32> into tensor<?x3x4xf32>
  func.func @regroup(%x: tensor<?x2x6xf32>) -> tensor<?x3x4xf32> {
    %y = "ms.reshape"(%x) : (tensor<?x2x6xf32>) -> tensor<?x3x4xf32>
    return %y : tensor<?x3x4xf32>
  }
}
