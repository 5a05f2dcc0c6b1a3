// RUN: cellc opt %s | cellc opt | FileCheck %s

// Every ms op parses, passes MLIR's verifier and the ms shape rules, prints (generic form),
// and the printed form parses again.

// CHECK-LABEL: func.func @constants
func.func @constants() -> (tensor<2x3xf32>, tensor<2xi64>) {
  // CHECK: "ms.constant"() {value = dense<1.500000e+00> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %splat = "ms.constant"() {value = dense<1.5> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  // CHECK: "ms.constant"() {value = dense<[3, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
  %dense = "ms.constant"() {value = dense<[3, 4]> : tensor<2xi64>} : () -> tensor<2xi64>
  return %splat, %dense : tensor<2x3xf32>, tensor<2xi64>
}

// CHECK-LABEL: func.func @matmuls
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<3x4xf32>, %[[BT:.*]]: tensor<4x3xf32>, %[[AT:.*]]: tensor<3x2xf32>)
func.func @matmuls(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %bt: tensor<4x3xf32>, %at: tensor<3x2xf32>)
    -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  // CHECK: "ms.matmul"(%[[A]], %[[B]]) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %0 = "ms.matmul"(%a, %b) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  // CHECK: "ms.matmul"(%[[A]], %[[BT]]) {transpose_a = false, transpose_b = true} : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x4xf32>
  %1 = "ms.matmul"(%a, %bt) {transpose_a = false, transpose_b = true} : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x4xf32>
  // CHECK: "ms.matmul"(%[[AT]], %[[B]]) {transpose_a = true, transpose_b = false} : (tensor<3x2xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %2 = "ms.matmul"(%at, %b) {transpose_a = true, transpose_b = false} : (tensor<3x2xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  // CHECK: "ms.matmul"(%[[AT]], %[[BT]]) {transpose_a = true, transpose_b = true} : (tensor<3x2xf32>, tensor<4x3xf32>) -> tensor<2x4xf32>
  %3 = "ms.matmul"(%at, %bt) {transpose_a = true, transpose_b = true} : (tensor<3x2xf32>, tensor<4x3xf32>) -> tensor<2x4xf32>
  return %0, %1, %2, %3 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}

// CHECK-LABEL: func.func @binary
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[ROW:.*]]: tensor<3xf32>, %[[COL:.*]]: tensor<2x1xf32>, %[[ONE:.*]]: tensor<1xf32>)
func.func @binary(%x: tensor<2x3xf32>, %row: tensor<3xf32>, %col: tensor<2x1xf32>, %one: tensor<1xf32>)
    -> tensor<2x3xf32> {
  // CHECK: %[[ADD:.*]] = "ms.add"(%[[X]], %[[ROW]]) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %0 = "ms.add"(%x, %row) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: %[[SUB:.*]] = "ms.sub"(%[[ADD]], %[[COL]]) : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  %1 = "ms.sub"(%0, %col) : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  // CHECK: %[[MUL:.*]] = "ms.mul"(%[[SUB]], %[[ONE]]) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  %2 = "ms.mul"(%1, %one) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  // CHECK: "ms.div"(%[[MUL]], %[[X]]) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %3 = "ms.div"(%2, %x) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %3 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @unary
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[N:.*]]: tensor<4xi32>)
func.func @unary(%x: tensor<2x3xf32>, %n: tensor<4xi32>) -> (tensor<2x3xf32>, tensor<4xi32>) {
  // CHECK: %[[NEG:.*]] = "ms.neg"(%[[X]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %0 = "ms.neg"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: %[[RELU:.*]] = "ms.relu"(%[[NEG]])
  %1 = "ms.relu"(%0) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: %[[DX:.*]] = "ms.relu_grad"(%[[RELU]], %[[X]]) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = "ms.relu_grad"(%1, %x) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: %[[EXP:.*]] = "ms.exp"(%[[DX]])
  %3 = "ms.exp"(%2) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: %[[LOG:.*]] = "ms.log"(%[[EXP]])
  %4 = "ms.log"(%3) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: %[[TANH:.*]] = "ms.tanh"(%[[LOG]])
  %5 = "ms.tanh"(%4) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: %[[SIG:.*]] = "ms.sigmoid"(%[[TANH]])
  %6 = "ms.sigmoid"(%5) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "ms.stop_gradient"(%[[SIG]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %7 = "ms.stop_gradient"(%6) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // Integer operands are fine for neg and stop_gradient.
  // CHECK: %[[INEG:.*]] = "ms.neg"(%[[N]]) : (tensor<4xi32>) -> tensor<4xi32>
  %8 = "ms.neg"(%n) : (tensor<4xi32>) -> tensor<4xi32>
  // CHECK: "ms.stop_gradient"(%[[INEG]]) : (tensor<4xi32>) -> tensor<4xi32>
  %9 = "ms.stop_gradient"(%8) : (tensor<4xi32>) -> tensor<4xi32>
  return %7, %9 : tensor<2x3xf32>, tensor<4xi32>
}

// CHECK-LABEL: func.func @shapes
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[ROW:.*]]: tensor<3xf32>)
func.func @shapes(%x: tensor<2x3xf32>, %row: tensor<3xf32>)
    -> (tensor<3xf32>, tensor<2x1xf32>, tensor<4x2x3xf32>, tensor<3x2xf32>, tensor<6xf32>) {
  // CHECK: "ms.reduce_sum"(%[[X]]) {axes = array<i64: 0>, keep_dims = false} : (tensor<2x3xf32>) -> tensor<3xf32>
  %0 = "ms.reduce_sum"(%x) {axes = array<i64: 0>, keep_dims = false} : (tensor<2x3xf32>) -> tensor<3xf32>
  // CHECK: "ms.reduce_sum"(%[[X]]) {axes = array<i64: 1>, keep_dims = true} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  %1 = "ms.reduce_sum"(%x) {axes = array<i64: 1>, keep_dims = true} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  // CHECK: "ms.broadcast_to"(%[[ROW]]) : (tensor<3xf32>) -> tensor<4x2x3xf32>
  %2 = "ms.broadcast_to"(%row) : (tensor<3xf32>) -> tensor<4x2x3xf32>
  // CHECK: "ms.transpose"(%[[X]]) {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %3 = "ms.transpose"(%x) {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  // CHECK: "ms.reshape"(%[[X]]) : (tensor<2x3xf32>) -> tensor<6xf32>
  %4 = "ms.reshape"(%x) : (tensor<2x3xf32>) -> tensor<6xf32>
  return %0, %1, %2, %3, %4 : tensor<3xf32>, tensor<2x1xf32>, tensor<4x2x3xf32>, tensor<3x2xf32>, tensor<6xf32>
}

// CHECK-LABEL: func.func private @net
func.func private @net(%x: tensor<2x3xf32>, %w: tensor<3x4xf32> {ms.weight = "w"}) -> tensor<2x4xf32> {
  %0 = "ms.matmul"(%x, %w) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @grads
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[W:.*]]: tensor<3x4xf32>, %[[S:.*]]: tensor<2x4xf32>)
func.func @grads(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>, %s: tensor<2x4xf32>)
    -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<3x4xf32>) attributes {ms.entry} {
  // GradOperation(): d/d x with default sensitivity.
  // CHECK: "ms.grad"(%[[X]], %[[W]])
  // CHECK-SAME: callee = @net, get_all = false, get_by_list = false
  // CHECK-SAME: operandSegmentSizes = array<i32: 1, 1>,
  // CHECK-SAME: resultSegmentSizes = array<i32: 1>,
  // CHECK-SAME: sens_param = false, weights = array<i64>
  // CHECK-SAME: : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  %dx = "ms.grad"(%x, %w) {callee = @net, get_all = false, get_by_list = false,
      sens_param = false, weights = array<i64>,
      operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>,
      resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>}
      : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  // GradOperation(get_all=True, get_by_list=True, sens_param=True): inputs, then weights.
  // CHECK: "ms.grad"(%[[X]], %[[W]], %[[S]])
  // CHECK-SAME: get_all = true, get_by_list = true
  // CHECK-SAME: operandSegmentSizes = array<i32: 1, 1, 1>,
  // CHECK-SAME: resultSegmentSizes = array<i32: 1, 1>,
  // CHECK-SAME: sens_param = true, weights = array<i64: 1>
  // CHECK-SAME: : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<3x4xf32>)
  %g:2 = "ms.grad"(%x, %w, %s) {callee = @net, get_all = true, get_by_list = true,
      sens_param = true, weights = array<i64: 1>,
      operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>,
      resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>}
      : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<3x4xf32>)
  return %dx, %g#0, %g#1 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<3x4xf32>
}

// CHECK-LABEL: func.func @classifier_ops
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[ROW:.*]]: tensor<3xf32>, %[[N:.*]]: tensor<4xi32>)
func.func @classifier_ops(%x: tensor<2x3xf32>, %row: tensor<3xf32>, %n: tensor<4xi32>)
    -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<4xi32>, tensor<2x3xf32>, tensor<2x1xf32>, tensor<f32>, tensor<2x3xf64>, tensor<4xf32>, tensor<2x3xi32>) {
  // CHECK: "ms.sqrt"(%[[X]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %0 = "ms.sqrt"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "ms.abs"(%[[X]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = "ms.abs"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "ms.sign"(%[[X]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = "ms.sign"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "ms.abs"(%[[N]]) : (tensor<4xi32>) -> tensor<4xi32>
  %3 = "ms.abs"(%n) : (tensor<4xi32>) -> tensor<4xi32>
  // CHECK: %[[MAX:.*]] = "ms.maximum"(%[[X]], %[[ROW]]) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %4 = "ms.maximum"(%x, %row) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: "ms.minimum"(%[[MAX]], %[[X]]) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %5 = "ms.minimum"(%4, %x) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "ms.reduce_max"(%[[X]]) {axes = array<i64: 1>, keep_dims = true} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  %6 = "ms.reduce_max"(%x) {axes = array<i64: 1>, keep_dims = true} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  // CHECK: "ms.reduce_max"(%[[X]]) {axes = array<i64: 0, 1>, keep_dims = false} : (tensor<2x3xf32>) -> tensor<f32>
  %7 = "ms.reduce_max"(%x) {axes = array<i64: 0, 1>, keep_dims = false} : (tensor<2x3xf32>) -> tensor<f32>
  // CHECK: "ms.cast"(%[[X]]) : (tensor<2x3xf32>) -> tensor<2x3xf64>
  %8 = "ms.cast"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf64>
  // CHECK: "ms.cast"(%[[N]]) : (tensor<4xi32>) -> tensor<4xf32>
  %9 = "ms.cast"(%n) : (tensor<4xi32>) -> tensor<4xf32>
  // CHECK: "ms.cast"(%[[X]]) : (tensor<2x3xf32>) -> tensor<2x3xi32>
  %10 = "ms.cast"(%x) : (tensor<2x3xf32>) -> tensor<2x3xi32>
  return %0, %1, %2, %3, %5, %6, %7, %8, %9, %10 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<4xi32>, tensor<2x3xf32>, tensor<2x1xf32>, tensor<f32>, tensor<2x3xf64>, tensor<4xf32>, tensor<2x3xi32>
}

// CHECK-LABEL: func.func @trigonometry
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
func.func @trigonometry(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  // CHECK: "ms.sin"(%[[X]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %0 = "ms.sin"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: "ms.cos"(%[[X]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = "ms.cos"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0, %1 : tensor<2x3xf32>, tensor<2x3xf32>
}

// CHECK-LABEL: func.func @error_function
// CHECK-SAME: (%[[X:.*]]: tensor<3xf64>)
func.func @error_function(%x: tensor<3xf64>) -> tensor<3xf64> {
  // CHECK: "ms.erf"(%[[X]]) : (tensor<3xf64>) -> tensor<3xf64>
  %0 = "ms.erf"(%x) : (tensor<3xf64>) -> tensor<3xf64>
  return %0 : tensor<3xf64>
}
