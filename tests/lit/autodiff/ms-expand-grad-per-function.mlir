// RUN: cellc opt %s --pass-pipeline='builtin.module(func.func(ms-expand-grad))' --split-input-file | FileCheck %s

// ms-expand-grad nested in func.func runs on each function on its own: the ms.grads inside it
// are expanded against their callees, which it reads but leaves in place. @Net comes first and
// is still differentiated by @main, so its ms.stop_gradient is kept: d/dx (x * sg(x)) = sg(x).

// CHECK-LABEL: func.func private @Net
// CHECK-SAME: (%[[X:.*]]: tensor<2xf32>)
func.func private @Net(%x: tensor<2xf32>) -> tensor<2xf32> {
  // CHECK: %[[S:.*]] = "ms.stop_gradient"(%[[X]])
  %s = "ms.stop_gradient"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  // CHECK: "ms.mul"(%[[X]], %[[S]])
  %y = "ms.mul"(%x, %s) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<2xf32>)
func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
  // CHECK-NOT: "ms.grad"
  // CHECK: %[[ONES:.*]] = "ms.constant"() {value = dense<1.000000e+00> : tensor<2xf32>}
  // CHECK: %[[DX:.*]] = "ms.mul"(%[[ONES]], %[[X]])
  // CHECK-NOT: "ms.stop_gradient"
  // CHECK: return %[[DX]]
  %dx = "ms.grad"(%x) {callee = @Net, get_all = false, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2xf32>) -> tensor<2xf32>
  return %dx : tensor<2xf32>
}

// -----

// Higher order, one function at a time: @df is expanded first, then @d2f differentiates the
// plain ms code @df has become. f = tanh, f'' = -2 tanh (1 - tanh^2).

// CHECK-LABEL: func.func private @f
func.func private @f(%x: tensor<3xf64>) -> tensor<3xf64> {
  %y = "ms.tanh"(%x) : (tensor<3xf64>) -> tensor<3xf64>
  return %y : tensor<3xf64>
}

// CHECK-LABEL: func.func private @df
// CHECK-SAME: (%[[X:.*]]: tensor<3xf64>)
func.func private @df(%x: tensor<3xf64>) -> tensor<3xf64> {
  // CHECK-NOT: "ms.grad"
  // CHECK: "ms.tanh"(%[[X]])
  // CHECK: return
  %dx = "ms.grad"(%x) {callee = @f, get_all = false, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<3xf64>) -> tensor<3xf64>
  return %dx : tensor<3xf64>
}

// CHECK-LABEL: func.func @d2f
// CHECK-SAME: (%[[X:.*]]: tensor<3xf64>)
func.func @d2f(%x: tensor<3xf64>) -> tensor<3xf64> {
  // CHECK-NOT: "ms.grad"
  // CHECK-DAG: %[[T:.*]] = "ms.tanh"(%[[X]])
  // CHECK-DAG: %[[T2:.*]] = "ms.mul"(%[[T]], %[[T]])
  // CHECK-DAG: %[[DTANH:.*]] = "ms.sub"(%{{.*}}, %[[T2]])
  // CHECK: %[[D2:.*]] = "ms.mul"(%{{.*}}, %[[DTANH]])
  // CHECK-NOT: "ms.grad"
  // CHECK: return %[[D2]]
  %d2x = "ms.grad"(%x) {callee = @df, get_all = false, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<3xf64>) -> tensor<3xf64>
  return %d2x : tensor<3xf64>
}
