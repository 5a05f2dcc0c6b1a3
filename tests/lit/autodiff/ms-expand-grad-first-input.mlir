// RUN: cellc opt %s --pass-pipeline='builtin.module(ms-expand-grad)' | FileCheck %s

// The gradient of the seed network matmul(x * z, y) with respect to its first input is
// ones @ y^T * z: the forward product matmul(x * z, y) and x * z itself are never computed.
// The private callee is erased once nothing references it.

// CHECK-NOT: func.func private @Net
func.func private @Net(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32> {ms.weight = "z"}) -> tensor<2x3xf32> {
  %xz = "ms.mul"(%x, %z) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  %out = "ms.matmul"(%xz, %y) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  return %out : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<3x3xf32>, %[[Z:.*]]: tensor<1xf32>)
func.func @main(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32>) -> tensor<2x3xf32> {
  // CHECK-NOT: "ms.mul"(%[[X]], %[[Z]])
  // CHECK-NOT: transpose_b = false
  // CHECK: %[[ONES:.*]] = "ms.constant"() {value = dense<1.000000e+00> : tensor<2x3xf32>}
  // CHECK: %[[DXZ:.*]] = "ms.matmul"(%[[ONES]], %[[Y]]) {transpose_a = false, transpose_b = true}
  // CHECK-NOT: "ms.matmul"
  // CHECK: %[[DX:.*]] = "ms.mul"(%[[DXZ]], %[[Z]])
  // CHECK-NOT: "ms.grad"
  // CHECK: return %[[DX]]
  %dx = "ms.grad"(%x, %y, %z) {callee = @Net, get_all = false, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  return %dx : tensor<2x3xf32>
}
