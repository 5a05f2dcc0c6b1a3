// RUN: cellc opt %s --pass-pipeline='builtin.module(ms-expand-grad)' | FileCheck %s

// Higher order: ms.grad of a function that itself holds an ms.grad. The inner one is expanded
// first, so the outer one differentiates plain ms code. f = tanh, f'' = -2 tanh (1 - tanh^2).
// The private levels are erased once nothing references them.

// CHECK-NOT: func.func private
func.func private @f(%x: tensor<3xf64>) -> tensor<3xf64> {
  %y = "ms.tanh"(%x) : (tensor<3xf64>) -> tensor<3xf64>
  return %y : tensor<3xf64>
}

func.func private @df(%x: tensor<3xf64>) -> tensor<3xf64> {
  %dx = "ms.grad"(%x) {callee = @f, get_all = false, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<3xf64>) -> tensor<3xf64>
  return %dx : tensor<3xf64>
}

// CHECK-LABEL: func.func @d2f
// CHECK-SAME: (%[[X:.*]]: tensor<3xf64>)
func.func @d2f(%x: tensor<3xf64>) -> tensor<3xf64> {
  // CHECK-NOT: "ms.grad"
  // CHECK-DAG: %[[T:.*]] = "ms.tanh"(%[[X]])
  // CHECK-DAG: %[[ONES:.*]] = "ms.constant"() {value = dense<1.000000e+00> : tensor<3xf64>}
  // CHECK-DAG: %[[T2:.*]] = "ms.mul"(%[[T]], %[[T]])
  // CHECK-DAG: %[[DTANH:.*]] = "ms.sub"(%[[ONES]], %[[T2]])
  // CHECK: %[[D2:.*]] = "ms.mul"(%{{.*}}, %[[DTANH]])
  // CHECK-NOT: "ms.grad"
  // CHECK: return %[[D2]]
  %d2x = "ms.grad"(%x) {callee = @df, get_all = false, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<3xf64>) -> tensor<3xf64>
  return %d2x : tensor<3xf64>
}
