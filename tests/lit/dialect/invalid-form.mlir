// RUN: cellc opt %s --split-input-file --verify-diagnostics

// Malformed ms ops that IRDL lets through and the shape rules could not read: dynamic shapes
// (the ms dialect is static), attributes of the right base but the wrong kind, and an ms.grad
// whose callee is not a function of static tensors. Each is a located error, never a crash.

func.func @add_dynamic(%a: tensor<?xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{'ms.add' op operand 0: tensor<?xf32> has a dynamic shape; cellc supports only static shapes}}
  %0 = "ms.add"(%a, %a) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @matmul_dynamic(%a: tensor<?x3xf32>, %b: tensor<3x4xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{'ms.matmul' op operand 0: tensor<?x3xf32> has a dynamic shape}}
  %0 = "ms.matmul"(%a, %b) {transpose_a = false, transpose_b = false} : (tensor<?x3xf32>, tensor<3x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

func.func @reshape_dynamic_result(%a: tensor<2x3xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{'ms.reshape' op result 0: tensor<?xf32> has a dynamic shape}}
  %0 = "ms.reshape"(%a) : (tensor<2x3xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @constant_dynamic() -> tensor<?xf32> {
  // expected-error @+1 {{'ms.constant' op result 0: tensor<?xf32> has a dynamic shape}}
  %0 = "ms.constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @reduce_sum_axes_i32(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'ms.reduce_sum' op attribute 'axes' must be an i64 array (array<i64: 0, 1>), got array<i32: 1>}}
  %0 = "ms.reduce_sum"(%a) {axes = array<i32: 1>, keep_dims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @reduce_sum_axes_string(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'ms.reduce_sum' op expected base attribute 'builtin.dense_array' but got 'builtin.string'}}
  %0 = "ms.reduce_sum"(%a) {axes = "1", keep_dims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @constant_bf16_value() -> tensor<2xf32> {
  // expected-error @+1 {{'ms.constant' op attribute 'value' must be dense elements of}}
  %0 = "ms.constant"() {value = dense<[1.0, 2.0]> : tensor<2xbf16>} : () -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func private @net(%x: tensor<2x3xf32>) -> tensor<2x4xf32>

func.func @grad_nested_callee(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.grad' op attribute 'callee' must be a flat symbol reference (@name), got @net::@inner}}
  %0 = "ms.grad"(%x) {callee = @net::@inner, get_all = false, get_by_list = false,
      sens_param = false, weights = array<i64>,
      operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>,
      resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>}
      : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

memref.global "private" @table : memref<2xf32>

func.func @grad_callee_not_a_function(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.grad' op callee @table is a 'memref.global', not a function}}
  %0 = "ms.grad"(%x) {callee = @table, get_all = false, get_by_list = false,
      sens_param = false, weights = array<i64>,
      operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>,
      resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>}
      : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func private @net(%x: tensor<?x3xf32>) -> tensor<2x4xf32>

func.func @grad_dynamic_callee(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.grad' op callee @net's argument 0: tensor<?x3xf32> has a dynamic shape}}
  %0 = "ms.grad"(%x) {callee = @net, get_all = false, get_by_list = false,
      sens_param = false, weights = array<i64>,
      operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>,
      resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>}
      : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func private @net(%x: f32) -> tensor<2x4xf32>

func.func @grad_scalar_callee(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.grad' op callee @net's argument 0 is f32, not a tensor}}
  %0 = "ms.grad"(%x) {callee = @net, get_all = false, get_by_list = false,
      sens_param = false, weights = array<i64>,
      operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>,
      resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>}
      : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func private @net(%x: tensor<2x3xf32>, %w: tensor<3x4xf32> {ms.weight = 5}) -> tensor<2x4xf32>

func.func @grad_weight_name_kind(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.grad' op callee @net's ms.weight argument attributes must be strings}}
  %0 = "ms.grad"(%x, %w) {callee = @net, get_all = false, get_by_list = false,
      sens_param = false, weights = array<i64>,
      operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>,
      resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>}
      : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
