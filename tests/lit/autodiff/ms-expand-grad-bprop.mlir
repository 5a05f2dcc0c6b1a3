// RUN: cellc opt %s --pass-pipeline='builtin.module(ms-expand-grad)' --split-input-file | FileCheck %s

// A call carrying ms.bprop (a Cell with a custom gradient) is differentiated by cloning its
// bprop function on (inputs, out, dout): the callee's own derivative is never used, and the
// call itself stays (ms-inline-calls inlines it later).

func.func private @twice(%x: tensor<3xf32>, %y: tensor<3xf32>) -> tensor<3xf32> {
  %p = "ms.mul"(%x, %y) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %p : tensor<3xf32>
}

func.func private @twice_bprop(%x: tensor<3xf32>, %y: tensor<3xf32>, %out: tensor<3xf32>, %dout: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %two = "ms.constant"() {value = dense<2.0> : tensor<f32>} : () -> tensor<f32>
  %dx = "ms.mul"(%two, %dout) : (tensor<f32>, tensor<3xf32>) -> tensor<3xf32>
  %dy = "ms.mul"(%dout, %x) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %dx, %dy : tensor<3xf32>, tensor<3xf32>
}

func.func private @net(%x: tensor<3xf32>, %y: tensor<3xf32>) -> tensor<3xf32> {
  %t = func.call @twice(%x, %y) {ms.bprop = @twice_bprop} : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %s = "ms.sin"(%t) : (tensor<3xf32>) -> tensor<3xf32>
  return %s : tensor<3xf32>
}

// CHECK-LABEL: func.func @grad_net
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>, %[[Y:.*]]: tensor<3xf32>)
func.func @grad_net(%x: tensor<3xf32>, %y: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  // CHECK: %[[T:.*]] = call @twice(%[[X]], %[[Y]]) {ms.bprop = @twice_bprop}
  // CHECK: %[[COS:.*]] = "ms.cos"(%[[T]])
  // CHECK: %[[DOUT:.*]] = "ms.mul"(%{{.*}}, %[[COS]])
  // CHECK: %[[TWO:.*]] = "ms.constant"() {value = dense<2.000000e+00> : tensor<f32>}
  // CHECK: %[[DX:.*]] = "ms.mul"(%[[TWO]], %[[DOUT]])
  // CHECK: %[[DY:.*]] = "ms.mul"(%[[DOUT]], %[[X]])
  // CHECK-NOT: "ms.grad"
  // CHECK: return %[[DX]], %[[DY]]
  %dx, %dy = "ms.grad"(%x, %y) {callee = @net, get_all = true, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<3xf32>, tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>)
  return %dx, %dy : tensor<3xf32>, tensor<3xf32>
}

// -----

// A weight the call passes gets no gradient through it (MindSpore's rule): a zero constant;
// the bprop reads the weight by name (its ms.weight), and the cotangent of the one output is
// the sensitivity.

func.func private @scale(%x: tensor<3xf32>, %w: tensor<3xf32> {ms.weight = "w"}) -> tensor<3xf32> {
  %p = "ms.mul"(%x, %w) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %p : tensor<3xf32>
}

func.func private @scale_bprop(%x: tensor<3xf32>, %out: tensor<3xf32>, %dout: tensor<3xf32>, %w: tensor<3xf32> {ms.weight = "w"}) -> tensor<3xf32> {
  %d = "ms.div"(%dout, %w) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %d : tensor<3xf32>
}

func.func private @net(%x: tensor<3xf32>, %w: tensor<3xf32> {ms.weight = "w"}) -> tensor<3xf32> {
  %t = func.call @scale(%x, %w) {ms.bprop = @scale_bprop} : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %t : tensor<3xf32>
}

// CHECK-LABEL: func.func @grad_weight
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>, %[[W:.*]]: tensor<3xf32>)
func.func @grad_weight(%x: tensor<3xf32>, %w: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  // CHECK-DAG: %[[DX:.*]] = "ms.div"(%{{.*}}, %[[W]])
  // CHECK-DAG: %[[ZERO:.*]] = "ms.constant"() {value = dense<0.000000e+00> : tensor<3xf32>}
  // CHECK: return %[[DX]], %[[ZERO]]
  %dx, %dw = "ms.grad"(%x, %w) {callee = @net, get_all = true, get_by_list = true, sens_param = false, weights = array<i64: 1>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<3xf32>, tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>)
  return %dx, %dw : tensor<3xf32>, tensor<3xf32>
}
