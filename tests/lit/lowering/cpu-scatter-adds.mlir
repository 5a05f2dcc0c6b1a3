// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-ms-to-linalg,cpu-scatter-adds)' | FileCheck %s

// gather_grad (nn.Embedding's gradient) lowers to a generic marked cellc.scatter_add that
// compares every index with every row: O(rows * indices). On the CPU it becomes a loop over
// the indices, flattened, adding each slice of ct into the row at its index (zero when the
// index is out of range), in place: extract_slice, add, insert_slice at the same offsets.
// CHECK-LABEL: func.func @embedding_grad
// CHECK-SAME: (%[[CT:.*]]: tensor<2x3x4xf32>)
// CHECK-NOT: cellc.scatter_add
// CHECK: %[[ZEROS:.*]] = linalg.fill {{.*}} -> tensor<6x4xf32>
// CHECK: %[[IDS:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<2x3xi32> into tensor<6xi32>
// CHECK: %[[CT1:.*]] = tensor.collapse_shape %[[CT]] {{\[\[}}0, 1, 2]] : tensor<2x3x4xf32> into tensor<24xf32>
// CHECK: %[[FLAT:.*]] = tensor.expand_shape %[[CT1]] {{\[\[}}0, 1]] output_shape [6, 4] : tensor<24xf32> into tensor<6x4xf32>
// CHECK: %[[SUM:.*]] = scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[ZEROS]]) -> (tensor<6x4xf32>)
// CHECK: %[[ID:.*]] = tensor.extract %[[IDS]][%[[J]]] : tensor<6xi32>
// CHECK: %[[ROW:.*]] = tensor.extract_slice %[[ACC]][%[[AT:.*]], 0] [1, 4] [1, 1] : tensor<6x4xf32> to tensor<1x4xf32>
// CHECK: %[[PIECE:.*]] = tensor.extract_slice %[[FLAT]][%[[J]], 0] [1, 4] [1, 1] : tensor<6x4xf32> to tensor<1x4xf32>
// CHECK: %[[ADDED:.*]] = linalg.generic {{.*}} ins(%[[PIECE]] : tensor<1x4xf32>) outs(%[[ROW]] : tensor<1x4xf32>)
// CHECK: arith.select
// CHECK: arith.addf
// CHECK: %[[NEW:.*]] = tensor.insert_slice %[[ADDED]] into %[[ACC]][%[[AT]], 0] [1, 4] [1, 1] : tensor<1x4xf32> into tensor<6x4xf32>
// CHECK: scf.yield %[[NEW]] : tensor<6x4xf32>
// CHECK: return %[[SUM]]
func.func @embedding_grad(%ct: tensor<2x3x4xf32>) -> tensor<6x4xf32> {
  %ids = "ms.constant"() {value = dense<[[0, 5, -1], [2, 0, 0]]> : tensor<2x3xi32>} : () -> tensor<2x3xi32>
  %0 = "ms.gather_grad"(%ct, %ids) {axis = 0 : i64, size = 6 : i64} : (tensor<2x3x4xf32>, tensor<2x3xi32>) -> tensor<6x4xf32>
  return %0 : tensor<6x4xf32>
}
