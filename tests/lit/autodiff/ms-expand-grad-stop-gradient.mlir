// RUN: cellc opt %s --pass-pipeline='builtin.module(ms-expand-grad)' --split-input-file | FileCheck %s

// ms.stop_gradient contributes nothing to the gradient and disappears: the seed stop_gradient
// network out = matmul(x, y) + stop_gradient(matmul(x, y)) differentiates as matmul(x, y).
// After the pass no ms.stop_gradient is left anywhere, not even in functions kept forward-only.

// CHECK-NOT: ms.stop_gradient
func.func private @Net(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>) -> tensor<2x3xf32> {
  %a = "ms.matmul"(%x, %y) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  %b = "ms.matmul"(%x, %y) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  %c = "ms.stop_gradient"(%b) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %out = "ms.add"(%a, %c) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %out : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<3x3xf32>)
func.func @main(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>) -> tensor<2x3xf32> {
  // CHECK: %[[ONES:.*]] = "ms.constant"
  // CHECK: %[[DX:.*]] = "ms.matmul"(%[[ONES]], %[[Y]]) {transpose_a = false, transpose_b = true}
  // CHECK-NOT: "ms.add"
  // CHECK: return %[[DX]]
  %dx = "ms.grad"(%x, %y) {callee = @Net, get_all = false, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  return %dx : tensor<2x3xf32>
}

// -----

// A stop_gradient outside any differentiated function is an identity: it is replaced by its
// operand.

// CHECK-LABEL: func.func @forward_only
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>)
func.func @forward_only(%x: tensor<3xf32>) -> tensor<3xf32> {
  // CHECK: %[[Y:.*]] = "ms.tanh"(%[[X]])
  // CHECK-NEXT: return %[[Y]]
  %s = "ms.stop_gradient"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %y = "ms.tanh"(%s) : (tensor<3xf32>) -> tensor<3xf32>
  return %y : tensor<3xf32>
}
