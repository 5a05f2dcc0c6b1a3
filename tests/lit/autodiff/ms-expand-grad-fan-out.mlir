// RUN: cellc opt %s --pass-pipeline='builtin.module(ms-expand-grad)' --split-input-file | FileCheck %s

// A value used more than once gets the sum of its uses' cotangents, one ms.add per extra use.

func.func private @square(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = "ms.mul"(%x, %x) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// d/dx (x * x) = ones * x + ones * x.
// CHECK-LABEL: func.func @grad_square
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
func.func @grad_square(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: %[[ONES:.*]] = "ms.constant"
  // CHECK: %[[T:.*]] = "ms.mul"(%[[ONES]], %[[X]])
  // CHECK: %[[SUM:.*]] = "ms.add"(%[[T]], %[[T]])
  // CHECK: return %[[SUM]]
  %dx = "ms.grad"(%x) {callee = @square, get_all = false, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %dx : tensor<2x3xf32>
}

// -----

// A tuple output with the default sensitivity: ones for each output, and the gradients of x
// through both outputs add up.

func.func private @pair(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %e = "ms.exp"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  %t = "ms.tanh"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  return %e, %t : tensor<3xf32>, tensor<3xf32>
}

// CHECK-LABEL: func.func @grad_pair
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>)
func.func @grad_pair(%x: tensor<3xf32>) -> tensor<3xf32> {
  // CHECK-DAG: %[[E:.*]] = "ms.exp"(%[[X]])
  // CHECK-DAG: %[[T:.*]] = "ms.tanh"(%[[X]])
  // CHECK-DAG: %[[ONES:.*]] = "ms.constant"
  // CHECK: %[[DT:.*]] = "ms.mul"(%[[ONES]], %{{.*}})
  // CHECK: %[[DE:.*]] = "ms.mul"(%[[ONES]], %[[E]])
  // CHECK: %[[SUM:.*]] = "ms.add"(%[[DT]], %[[DE]])
  // CHECK: return %[[SUM]]
  %dx = "ms.grad"(%x) {callee = @pair, get_all = false, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<3xf32>) -> tensor<3xf32>
  return %dx : tensor<3xf32>
}
