// RUN: cellc opt %s --pass-pipeline='builtin.module(ms-expand-grad)' --split-input-file | FileCheck %s

// Every GradOperation mode on the seed network f(x, y, z) = matmul(x * z, y), z a weight:
// dx = s @ y^T * z, dy = (x * z)^T @ s, dz = sum(s @ y^T * x), s the sensitivity. The results
// follow MindSpore's order; only what the requested gradients need is computed.

// get_all=false: the first input's gradient only. Sensitivity: a ones constant.

// CHECK-LABEL: func.func @grad_first_input
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<3x3xf32>, %[[Z:.*]]: tensor<1xf32>)
func.func @grad_first_input(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32>) -> (tensor<2x3xf32>) {
  // CHECK-DAG: %[[ONES:.*]] = "ms.constant"() {value = dense<1.000000e+00> : tensor<2x3xf32>}
  // CHECK-DAG: %[[DXZ:.*]] = "ms.matmul"(%[[ONES]], %[[Y]]) {transpose_a = false, transpose_b = true}
  // CHECK-DAG: %[[DX:.*]] = "ms.mul"(%[[DXZ]], %[[Z]])
  // CHECK: return %[[DX]] :
  %g = "ms.grad"(%x, %y, %z) {callee = @Net, get_all = false, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>) -> (tensor<2x3xf32>)
  return %g : tensor<2x3xf32>
}

func.func private @Net(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32> {ms.weight = "z"}) -> tensor<2x3xf32> {
  %xz = "ms.mul"(%x, %z) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  %out = "ms.matmul"(%xz, %y) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  return %out : tensor<2x3xf32>
}

// -----

// get_all=true: every input's gradient, in order. Sensitivity: a ones constant.

// CHECK-LABEL: func.func @grad_all
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<3x3xf32>, %[[Z:.*]]: tensor<1xf32>)
func.func @grad_all(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32>) -> (tensor<2x3xf32>, tensor<3x3xf32>) {
  // CHECK-DAG: %[[ONES:.*]] = "ms.constant"() {value = dense<1.000000e+00> : tensor<2x3xf32>}
  // CHECK-DAG: %[[XZ:.*]] = "ms.mul"(%[[X]], %[[Z]])
  // CHECK-DAG: %[[DY:.*]] = "ms.matmul"(%[[XZ]], %[[ONES]]) {transpose_a = true, transpose_b = false}
  // CHECK-DAG: %[[DXZ:.*]] = "ms.matmul"(%[[ONES]], %[[Y]]) {transpose_a = false, transpose_b = true}
  // CHECK-DAG: %[[DX:.*]] = "ms.mul"(%[[DXZ]], %[[Z]])
  // CHECK: return %[[DX]], %[[DY]] :
  %g:2 = "ms.grad"(%x, %y, %z) {callee = @Net, get_all = true, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>) -> (tensor<2x3xf32>, tensor<3x3xf32>)
  return %g#0, %g#1 : tensor<2x3xf32>, tensor<3x3xf32>
}

func.func private @Net(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32> {ms.weight = "z"}) -> tensor<2x3xf32> {
  %xz = "ms.mul"(%x, %z) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  %out = "ms.matmul"(%xz, %y) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  return %out : tensor<2x3xf32>
}

// -----

// get_by_list=true: the gradients of the listed weights. Sensitivity: a ones constant.

// CHECK-LABEL: func.func @grad_by_list
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<3x3xf32>, %[[Z:.*]]: tensor<1xf32>)
func.func @grad_by_list(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32>) -> (tensor<1xf32>) {
  // CHECK-DAG: %[[ONES:.*]] = "ms.constant"() {value = dense<1.000000e+00> : tensor<2x3xf32>}
  // CHECK-DAG: %[[DXZ:.*]] = "ms.matmul"(%[[ONES]], %[[Y]]) {transpose_a = false, transpose_b = true}
  // CHECK-DAG: %[[DZX:.*]] = "ms.mul"(%[[DXZ]], %[[X]])
  // CHECK-DAG: %[[DZS:.*]] = "ms.reduce_sum"(%[[DZX]]) {axes = array<i64: 0, 1>, keep_dims = true}
  // CHECK-DAG: %[[DZ:.*]] = "ms.reshape"(%[[DZS]])
  // CHECK: return %[[DZ]] :
  %g = "ms.grad"(%x, %y, %z) {callee = @Net, get_all = false, get_by_list = true, sens_param = false, weights = array<i64: 2>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>) -> (tensor<1xf32>)
  return %g : tensor<1xf32>
}

func.func private @Net(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32> {ms.weight = "z"}) -> tensor<2x3xf32> {
  %xz = "ms.mul"(%x, %z) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  %out = "ms.matmul"(%xz, %y) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  return %out : tensor<2x3xf32>
}

// -----

// get_all and get_by_list: inputs, then weights. Sensitivity: a ones constant.

// CHECK-LABEL: func.func @grad_all_by_list
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<3x3xf32>, %[[Z:.*]]: tensor<1xf32>)
func.func @grad_all_by_list(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32>) -> (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>) {
  // CHECK-DAG: %[[ONES:.*]] = "ms.constant"() {value = dense<1.000000e+00> : tensor<2x3xf32>}
  // CHECK-DAG: %[[XZ:.*]] = "ms.mul"(%[[X]], %[[Z]])
  // CHECK-DAG: %[[DY:.*]] = "ms.matmul"(%[[XZ]], %[[ONES]]) {transpose_a = true, transpose_b = false}
  // CHECK-DAG: %[[DXZ:.*]] = "ms.matmul"(%[[ONES]], %[[Y]]) {transpose_a = false, transpose_b = true}
  // CHECK-DAG: %[[DX:.*]] = "ms.mul"(%[[DXZ]], %[[Z]])
  // CHECK-DAG: %[[DZX:.*]] = "ms.mul"(%[[DXZ]], %[[X]])
  // CHECK-DAG: %[[DZS:.*]] = "ms.reduce_sum"(%[[DZX]]) {axes = array<i64: 0, 1>, keep_dims = true}
  // CHECK-DAG: %[[DZ:.*]] = "ms.reshape"(%[[DZS]])
  // CHECK: return %[[DX]], %[[DY]], %[[DZ]] :
  %g:3 = "ms.grad"(%x, %y, %z) {callee = @Net, get_all = true, get_by_list = true, sens_param = false, weights = array<i64: 2>, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>) -> (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>)
  return %g#0, %g#1, %g#2 : tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>
}

func.func private @Net(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32> {ms.weight = "z"}) -> tensor<2x3xf32> {
  %xz = "ms.mul"(%x, %z) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  %out = "ms.matmul"(%xz, %y) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  return %out : tensor<2x3xf32>
}

// -----

// get_all=false: the first input's gradient only. Sensitivity: the trailing operand.

// CHECK-LABEL: func.func @grad_sens
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<3x3xf32>, %[[Z:.*]]: tensor<1xf32>, %[[S:.*]]: tensor<2x3xf32>)
func.func @grad_sens(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32>, %s: tensor<2x3xf32>) -> (tensor<2x3xf32>) {
  // CHECK-NOT: "ms.constant"
  // CHECK-DAG: %[[DXZ:.*]] = "ms.matmul"(%[[S]], %[[Y]]) {transpose_a = false, transpose_b = true}
  // CHECK-DAG: %[[DX:.*]] = "ms.mul"(%[[DXZ]], %[[Z]])
  // CHECK: return %[[DX]] :
  %g = "ms.grad"(%x, %y, %z, %s) {callee = @Net, get_all = false, get_by_list = false, sens_param = true, weights = array<i64>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>, tensor<2x3xf32>) -> (tensor<2x3xf32>)
  return %g : tensor<2x3xf32>
}

func.func private @Net(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32> {ms.weight = "z"}) -> tensor<2x3xf32> {
  %xz = "ms.mul"(%x, %z) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  %out = "ms.matmul"(%xz, %y) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  return %out : tensor<2x3xf32>
}

// -----

// get_all=true: every input's gradient, in order. Sensitivity: the trailing operand.

// CHECK-LABEL: func.func @grad_all_sens
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<3x3xf32>, %[[Z:.*]]: tensor<1xf32>, %[[S:.*]]: tensor<2x3xf32>)
func.func @grad_all_sens(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32>, %s: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3x3xf32>) {
  // CHECK-NOT: "ms.constant"
  // CHECK-DAG: %[[XZ:.*]] = "ms.mul"(%[[X]], %[[Z]])
  // CHECK-DAG: %[[DY:.*]] = "ms.matmul"(%[[XZ]], %[[S]]) {transpose_a = true, transpose_b = false}
  // CHECK-DAG: %[[DXZ:.*]] = "ms.matmul"(%[[S]], %[[Y]]) {transpose_a = false, transpose_b = true}
  // CHECK-DAG: %[[DX:.*]] = "ms.mul"(%[[DXZ]], %[[Z]])
  // CHECK: return %[[DX]], %[[DY]] :
  %g:2 = "ms.grad"(%x, %y, %z, %s) {callee = @Net, get_all = true, get_by_list = false, sens_param = true, weights = array<i64>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>, tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3x3xf32>)
  return %g#0, %g#1 : tensor<2x3xf32>, tensor<3x3xf32>
}

func.func private @Net(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32> {ms.weight = "z"}) -> tensor<2x3xf32> {
  %xz = "ms.mul"(%x, %z) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  %out = "ms.matmul"(%xz, %y) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  return %out : tensor<2x3xf32>
}

// -----

// get_by_list=true: the gradients of the listed weights. Sensitivity: the trailing operand.

// CHECK-LABEL: func.func @grad_by_list_sens
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<3x3xf32>, %[[Z:.*]]: tensor<1xf32>, %[[S:.*]]: tensor<2x3xf32>)
func.func @grad_by_list_sens(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32>, %s: tensor<2x3xf32>) -> (tensor<1xf32>) {
  // CHECK-NOT: "ms.constant"
  // CHECK-DAG: %[[DXZ:.*]] = "ms.matmul"(%[[S]], %[[Y]]) {transpose_a = false, transpose_b = true}
  // CHECK-DAG: %[[DZX:.*]] = "ms.mul"(%[[DXZ]], %[[X]])
  // CHECK-DAG: %[[DZS:.*]] = "ms.reduce_sum"(%[[DZX]]) {axes = array<i64: 0, 1>, keep_dims = true}
  // CHECK-DAG: %[[DZ:.*]] = "ms.reshape"(%[[DZS]])
  // CHECK: return %[[DZ]] :
  %g = "ms.grad"(%x, %y, %z, %s) {callee = @Net, get_all = false, get_by_list = true, sens_param = true, weights = array<i64: 2>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>, tensor<2x3xf32>) -> (tensor<1xf32>)
  return %g : tensor<1xf32>
}

func.func private @Net(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32> {ms.weight = "z"}) -> tensor<2x3xf32> {
  %xz = "ms.mul"(%x, %z) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  %out = "ms.matmul"(%xz, %y) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  return %out : tensor<2x3xf32>
}

// -----

// get_all and get_by_list: inputs, then weights. Sensitivity: the trailing operand.

// CHECK-LABEL: func.func @grad_all_by_list_sens
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<3x3xf32>, %[[Z:.*]]: tensor<1xf32>, %[[S:.*]]: tensor<2x3xf32>)
func.func @grad_all_by_list_sens(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32>, %s: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>) {
  // CHECK-NOT: "ms.constant"
  // CHECK-DAG: %[[XZ:.*]] = "ms.mul"(%[[X]], %[[Z]])
  // CHECK-DAG: %[[DY:.*]] = "ms.matmul"(%[[XZ]], %[[S]]) {transpose_a = true, transpose_b = false}
  // CHECK-DAG: %[[DXZ:.*]] = "ms.matmul"(%[[S]], %[[Y]]) {transpose_a = false, transpose_b = true}
  // CHECK-DAG: %[[DX:.*]] = "ms.mul"(%[[DXZ]], %[[Z]])
  // CHECK-DAG: %[[DZX:.*]] = "ms.mul"(%[[DXZ]], %[[X]])
  // CHECK-DAG: %[[DZS:.*]] = "ms.reduce_sum"(%[[DZX]]) {axes = array<i64: 0, 1>, keep_dims = true}
  // CHECK-DAG: %[[DZ:.*]] = "ms.reshape"(%[[DZS]])
  // CHECK: return %[[DX]], %[[DY]], %[[DZ]] :
  %g:3 = "ms.grad"(%x, %y, %z, %s) {callee = @Net, get_all = true, get_by_list = true, sens_param = true, weights = array<i64: 2>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>, tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>)
  return %g#0, %g#1, %g#2 : tensor<2x3xf32>, tensor<3x3xf32>, tensor<1xf32>
}

func.func private @Net(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32> {ms.weight = "z"}) -> tensor<2x3xf32> {
  %xz = "ms.mul"(%x, %z) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  %out = "ms.matmul"(%xz, %y) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  return %out : tensor<2x3xf32>
}
