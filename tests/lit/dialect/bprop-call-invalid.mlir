// RUN: not cellc opt %s --pass-pipeline='builtin.module(ms-expand-grad)' 2>&1 | FileCheck %s

// The signature rule of a call with ms.bprop (ms_ops.CallOp.check_signature), which
// ms-expand-grad checks before using the bprop: a bprop function takes the callee's inputs,
// its outputs and one cotangent per output. This one forgot `out`.

// CHECK: @twice with bprop: 'ms.bprop' op bprop arguments (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) must be the callee's inputs, outputs and one cotangent per output (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)

func.func private @twice(%x: tensor<3xf32>, %y: tensor<3xf32>) -> tensor<3xf32> {
  %p = "ms.mul"(%x, %y) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %p : tensor<3xf32>
}
func.func private @twice_bprop(%x: tensor<3xf32>, %y: tensor<3xf32>, %dout: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
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
func.func @grad_net(%x: tensor<3xf32>, %y: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %dx, %dy = "ms.grad"(%x, %y) {callee = @net, get_all = true, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<3xf32>, tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>)
  return %dx, %dy : tensor<3xf32>, tensor<3xf32>
}
