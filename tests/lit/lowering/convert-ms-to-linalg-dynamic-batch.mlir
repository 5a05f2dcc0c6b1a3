// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-ms-to-linalg)' | FileCheck %s

// A program compiled for a dynamic batch (compiler/dynamic_batch.py): every `?` is the batch,
// read once per function from its first dynamic argument; each tensor.empty, reshape and
// dim_size of a `?` uses it. `ms.dynamic_batch` is the batch of the trace the types stand for,
// which the verifier checks the shape rules at.

// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>, %[[W:.*]]: tensor<4x3xf32>)
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[N:.*]] = tensor.dim %[[X]], %[[C0]] : tensor<?x4xf32>
// CHECK: %[[ACC:.*]] = tensor.empty(%[[N]]) : tensor<?x3xf32>
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[ACC]] : tensor<?x3xf32>)
// CHECK: %[[Y:.*]] = linalg.matmul ins(%[[X]], %[[W]] : tensor<?x4xf32>, tensor<4x3xf32>) outs(%[[ZERO]] : tensor<?x3xf32>)
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[Y]] {{\[\[}}0, 1]] : tensor<?x3xf32> into tensor<?xf32>
// CHECK: tensor.expand_shape %[[FLAT]] {{\[\[}}0, 1, 2]] output_shape [%[[N]], 3, 1] : tensor<?xf32> into tensor<?x3x1xf32>
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
}
