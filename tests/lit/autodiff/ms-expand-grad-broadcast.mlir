// RUN: cellc opt %s --pass-pipeline='builtin.module(ms-expand-grad)' --split-input-file | FileCheck %s

// An operand that numpy broadcasting stretched gets its cotangent summed back to its shape:
// ms.reduce_sum (keep_dims) over the broadcast axes, then ms.reshape to the operand's type.

func.func private @bias(%x: tensor<2x3xf32>, %b: tensor<3xf32> {ms.weight = "b"}) -> tensor<2x3xf32> {
  %y = "ms.add"(%x, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @grad_bias
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<3xf32>, %[[S:.*]]: tensor<2x3xf32>)
func.func @grad_bias(%x: tensor<2x3xf32>, %b: tensor<3xf32>, %s: tensor<2x3xf32>) -> tensor<3xf32> {
  // CHECK: %[[SUM:.*]] = "ms.reduce_sum"(%[[S]]) {axes = array<i64: 0>, keep_dims = true} : (tensor<2x3xf32>) -> tensor<1x3xf32>
  // CHECK: %[[DB:.*]] = "ms.reshape"(%[[SUM]]) : (tensor<1x3xf32>) -> tensor<3xf32>
  // CHECK: return %[[DB]]
  %db = "ms.grad"(%x, %b, %s) {callee = @bias, get_all = false, get_by_list = true, sens_param = true, weights = array<i64: 1>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>, tensor<3xf32>, tensor<2x3xf32>) -> tensor<3xf32>
  return %db : tensor<3xf32>
}

// -----

// A size-1 weight broadcast over both axes: every axis is summed, then the reshape drops one.

func.func private @scale(%x: tensor<2x3xf32>, %z: tensor<1xf32> {ms.weight = "z"}) -> tensor<2x3xf32> {
  %y = "ms.mul"(%x, %z) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @grad_scale
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Z:.*]]: tensor<1xf32>)
func.func @grad_scale(%x: tensor<2x3xf32>, %z: tensor<1xf32>) -> tensor<1xf32> {
  // CHECK: %[[ONES:.*]] = "ms.constant"
  // CHECK: %[[P:.*]] = "ms.mul"(%[[ONES]], %[[X]])
  // CHECK: %[[SUM:.*]] = "ms.reduce_sum"(%[[P]]) {axes = array<i64: 0, 1>, keep_dims = true} : (tensor<2x3xf32>) -> tensor<1x1xf32>
  // CHECK: %[[DZ:.*]] = "ms.reshape"(%[[SUM]]) : (tensor<1x1xf32>) -> tensor<1xf32>
  // CHECK: return %[[DZ]]
  %dz = "ms.grad"(%x, %z) {callee = @scale, get_all = false, get_by_list = true, sens_param = false, weights = array<i64: 1>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<1xf32>
  return %dz : tensor<1xf32>
}
