// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-ms-to-linalg)' --split-input-file --verify-diagnostics

// ms.grad must be expanded (ms-expand-grad) before lowering.

func.func private @net(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = "ms.exp"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

func.func @grad(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.grad' op must be expanded (ms-expand-grad) before convert-ms-to-linalg}}
  %0 = "ms.grad"(%x) {callee = @net, get_all = false, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
