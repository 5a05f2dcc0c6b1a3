// RUN: cellc opt %s --split-input-file --verify-diagnostics

// Invalid IR for every ms op: each diagnostic names the op and the types that disagree.
// Structure (operand count, tensor types, attribute kinds) is checked by IRDL when parsing;
// shapes and ms.grad against its callee by the ms verifier (dialects/ms.py).

func.func @constant_shape() -> tensor<3xf32> {
  // expected-error @+1 {{'ms.constant' op value of type (2,) does not match result tensor<3xf32>}}
  %0 = "ms.constant"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @constant_attribute_kind() -> tensor<3xf32> {
  // expected-error @+1 {{'ms.constant' op expected base attribute 'builtin.dense_int_or_fp_elements' but got 'builtin.integer'}}
  %0 = "ms.constant"() {value = 1 : i32} : () -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @matmul_contracting(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{'ms.matmul' op contracting dimensions differ (3 vs 4): tensor<2x3xf32> and tensor<4x5xf32>}}
  %0 = "ms.matmul"(%a, %b) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @matmul_transposed_contracting(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.matmul' op contracting dimensions differ (3 vs 4): tensor<2x3xf32> and tensor<3x4xf32> (transpose_a=False, transpose_b=True)}}
  %0 = "ms.matmul"(%a, %b) {transpose_a = false, transpose_b = true} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @matmul_rank(%a: tensor<3xf32>, %b: tensor<3x4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'ms.matmul' op expects 2-D operands, got tensor<3xf32> and tensor<3x4xf32>}}
  %0 = "ms.matmul"(%a, %b) {transpose_a = false, transpose_b = false} : (tensor<3xf32>, tensor<3x4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @matmul_result(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{'ms.matmul' op result type tensor<4x2xf32> does not match the inferred tensor<2x4xf32>}}
  %0 = "ms.matmul"(%a, %b) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @matmul_flag_kind(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'ms.matmul' op expected base attribute 'builtin.integer' but got 'builtin.string'}}
  %0 = "ms.matmul"(%a, %b) {transpose_a = "no", transpose_b = false} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @add_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.add' op shapes do not broadcast: tensor<2x3xf32> and tensor<4xf32>}}
  %0 = "ms.add"(%a, %b) : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @add_operand_count(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.add' op expects exactly 2 operands, but got 1}}
  %0 = "ms.add"(%a) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @add_not_a_tensor(%a: f32, %b: f32) -> f32 {
  // expected-error @+1 {{'ms.add' op expected base type 'builtin.tensor' but got 'builtin.f32'}}
  %0 = "ms.add"(%a, %b) : (f32, f32) -> f32
  return %0 : f32
}

// -----

func.func @sub_element_types(%a: tensor<2xf32>, %b: tensor<2xf64>) -> tensor<2xf32> {
  // expected-error @+1 {{'ms.sub' op element types differ: tensor<2xf32> and tensor<2xf64>}}
  %0 = "ms.sub"(%a, %b) : (tensor<2xf32>, tensor<2xf64>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @mul_result(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ms.mul' op result type tensor<3xf32> does not match the inferred tensor<2x3xf32> for operands tensor<2x3xf32>, tensor<3xf32>}}
  %0 = "ms.mul"(%a, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @div_integers(%a: tensor<2xi32>, %b: tensor<2xi32>) -> tensor<2xi32> {
  // expected-error @+1 {{'ms.div' op expects a floating-point tensor, got tensor<2xi32>}}
  %0 = "ms.div"(%a, %b) : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

func.func @neg_result(%a: tensor<2xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'ms.neg' op result type tensor<3xf32> does not match the inferred tensor<2xf32>}}
  %0 = "ms.neg"(%a) : (tensor<2xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @relu_integers(%a: tensor<2xi32>) -> tensor<2xi32> {
  // expected-error @+1 {{'ms.relu' op expects a floating-point tensor, got tensor<2xi32>}}
  %0 = "ms.relu"(%a) : (tensor<2xi32>) -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

func.func @relu_grad_types(%dy: tensor<2x3xf32>, %x: tensor<3x2xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.relu_grad' op expects equal types, got tensor<2x3xf32> and tensor<3x2xf32>}}
  %0 = "ms.relu_grad"(%dy, %x) : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @exp_integers(%a: tensor<2xi64>) -> tensor<2xi64> {
  // expected-error @+1 {{'ms.exp' op expects a floating-point tensor, got tensor<2xi64>}}
  %0 = "ms.exp"(%a) : (tensor<2xi64>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

func.func @log_integers(%a: tensor<2xi32>) -> tensor<2xi32> {
  // expected-error @+1 {{'ms.log' op expects a floating-point tensor, got tensor<2xi32>}}
  %0 = "ms.log"(%a) : (tensor<2xi32>) -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

func.func @tanh_integers(%a: tensor<2xi1>) -> tensor<2xi1> {
  // expected-error @+1 {{'ms.tanh' op expects a floating-point tensor, got tensor<2xi1>}}
  %0 = "ms.tanh"(%a) : (tensor<2xi1>) -> tensor<2xi1>
  return %0 : tensor<2xi1>
}

// -----

func.func @sigmoid_result(%a: tensor<2xf32>) -> tensor<2xf64> {
  // expected-error @+1 {{'ms.sigmoid' op result type tensor<2xf64> does not match the inferred tensor<2xf32>}}
  %0 = "ms.sigmoid"(%a) : (tensor<2xf32>) -> tensor<2xf64>
  return %0 : tensor<2xf64>
}

// -----

func.func @stop_gradient_result(%a: tensor<2xf32>) -> tensor<1x2xf32> {
  // expected-error @+1 {{'ms.stop_gradient' op result type tensor<1x2xf32> does not match the inferred tensor<2xf32>}}
  %0 = "ms.stop_gradient"(%a) : (tensor<2xf32>) -> tensor<1x2xf32>
  return %0 : tensor<1x2xf32>
}

// -----

func.func @reduce_sum_axes_range(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'ms.reduce_sum' op axes [2] must be sorted, unique and within rank of tensor<2x3xf32>}}
  %0 = "ms.reduce_sum"(%a) {axes = array<i64: 2>, keep_dims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @reduce_sum_axes_unsorted(%a: tensor<2x3xf32>) -> tensor<f32> {
  // expected-error @+1 {{'ms.reduce_sum' op axes [1, 0] must be sorted, unique}}
  %0 = "ms.reduce_sum"(%a) {axes = array<i64: 1, 0>, keep_dims = false} : (tensor<2x3xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @reduce_sum_keep_dims(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'ms.reduce_sum' op result type tensor<2xf32> does not match the inferred tensor<2x1xf32>}}
  %0 = "ms.reduce_sum"(%a) {axes = array<i64: 1>, keep_dims = true} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @reduce_sum_axes_kind(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'ms.reduce_sum' op expected base attribute 'builtin.dense_array' but got 'builtin.array'}}
  %0 = "ms.reduce_sum"(%a) {axes = [1], keep_dims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @broadcast_to_impossible(%a: tensor<3xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'ms.broadcast_to' op cannot broadcast tensor<3xf32> to tensor<2x4xf32>}}
  %0 = "ms.broadcast_to"(%a) : (tensor<3xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @reshape_count(%a: tensor<2x3xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'ms.reshape' op cannot reshape tensor<2x3xf32> to tensor<4xf32>}}
  %0 = "ms.reshape"(%a) : (tensor<2x3xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @transpose_perm(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'ms.transpose' op perm [1, 1] is not a permutation of tensor<2x3xf32>'s dims}}
  %0 = "ms.transpose"(%a) {perm = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @transpose_perm_kind(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'ms.transpose' op expected base attribute 'builtin.dense_array' but got 'builtin.integer'}}
  %0 = "ms.transpose"(%a) {perm = 3 : i64} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func private @net(%x: tensor<2x3xf32>, %w: tensor<3x4xf32> {ms.weight = "w"}) -> tensor<2x4xf32>

func.func @grad_results(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{'ms.grad' op results (tensor<3x4xf32>) do not match the gradients (tensor<2x3xf32>)}}
  %0 = "ms.grad"(%x, %w) {callee = @net, get_all = false, get_by_list = false,
      sens_param = false, weights = array<i64>,
      operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>,
      resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>}
      : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func private @net(%x: tensor<2x3xf32>, %w: tensor<3x4xf32> {ms.weight = "w"}) -> tensor<2x4xf32>

func.func @grad_operands(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.grad' op operands (tensor<2x3xf32>, tensor<3x4xf32>) do not match the callee's arguments and results (tensor<2x3xf32>, tensor<3x4xf32>, tensor<2x4xf32>)}}
  %0 = "ms.grad"(%x, %w) {callee = @net, get_all = false, get_by_list = false,
      sens_param = true, weights = array<i64>,
      operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>,
      resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>}
      : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func private @net(%x: tensor<2x3xf32>, %w: tensor<3x4xf32> {ms.weight = "w"}) -> tensor<2x4xf32>

func.func @grad_weights(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.grad' op weights [0] are not weight arguments}}
  %0 = "ms.grad"(%x, %w) {callee = @net, get_all = false, get_by_list = true,
      sens_param = false, weights = array<i64: 0>,
      operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>,
      resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>}
      : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @grad_no_callee(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.grad' op callee @missing is not a function in this module}}
  %0 = "ms.grad"(%x) {callee = @missing, get_all = false, get_by_list = false,
      sens_param = false, weights = array<i64>,
      operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>,
      resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>}
      : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func private @net(%x: tensor<2x3xf32>) -> tensor<2x4xf32>

func.func @grad_callee_kind(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.grad' op expected base attribute 'builtin.symbol_ref' but got 'builtin.string'}}
  %0 = "ms.grad"(%x) {callee = "net", get_all = false, get_by_list = false,
      sens_param = false, weights = array<i64>,
      operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>,
      resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>}
      : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func private @net(%x: tensor<2x3xf32>) -> tensor<2x4xf32>

// The segment arrays may list the used slots only (cellc opt pads them with zeros), but they
// must add up to the operands.
func.func @grad_segments(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.grad' op sum of elements in 'operandSegmentSizes' attribute must be equal to the number of operands}}
  %0 = "ms.grad"(%x) {callee = @net, get_all = false, get_by_list = false,
      sens_param = false, weights = array<i64>,
      operandSegmentSizes = array<i32: 1, 1>,
      resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>}
      : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @sqrt_integer(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{'ms.sqrt' op expects a floating-point tensor, got tensor<4xi32>}}
  %0 = "ms.sqrt"(%x) : (tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

func.func @abs_result(%x: tensor<2x3xf32>) -> tensor<2x3xf64> {
  // expected-error @+1 {{'ms.abs' op result type tensor<2x3xf64> does not match the inferred tensor<2x3xf32> for operands tensor<2x3xf32>}}
  %0 = "ms.abs"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf64>
  return %0 : tensor<2x3xf64>
}

// -----

func.func @sign_operands(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.sign' op}}
  %0 = "ms.sign"(%x, %x) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @maximum_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'ms.maximum' op shapes do not broadcast: tensor<2x3xf32> and tensor<4xf32>}}
  %0 = "ms.maximum"(%a, %b) : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @minimum_element_types(%a: tensor<3xf32>, %b: tensor<3xf64>) -> tensor<3xf32> {
  // expected-error @+1 {{'ms.minimum' op element types differ: tensor<3xf32> and tensor<3xf64>}}
  %0 = "ms.minimum"(%a, %b) : (tensor<3xf32>, tensor<3xf64>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @reduce_max_axes(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'ms.reduce_max' op axes [2] must be sorted, unique and within rank of tensor<2x3xf32>}}
  %0 = "ms.reduce_max"(%x) {axes = array<i64: 2>, keep_dims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @reduce_max_keep_dims(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'ms.reduce_max' op result type tensor<2xf32> does not match the inferred tensor<2x1xf32> for operands tensor<2x3xf32>}}
  %0 = "ms.reduce_max"(%x) {axes = array<i64: 1>, keep_dims = true} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @cast_shape(%x: tensor<2x3xf32>) -> tensor<6xf64> {
  // expected-error @+1 {{'ms.cast' op cannot change the shape: tensor<2x3xf32> to tensor<6xf64>}}
  %0 = "ms.cast"(%x) : (tensor<2x3xf32>) -> tensor<6xf64>
  return %0 : tensor<6xf64>
}

// -----

func.func @cast_element(%x: tensor<2x3xf32>) -> tensor<2x3xbf16> {
  // expected-error @+1 {{'ms.cast' op unsupported element type 'bf16'}}
  %0 = "ms.cast"(%x) : (tensor<2x3xf32>) -> tensor<2x3xbf16>
  return %0 : tensor<2x3xbf16>
}

// -----

func.func @select_needs_bool(%c: tensor<2xf32>, %x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'ms.select' op expects bool tensors, got tensor<2xf32>}}
  %0 = "ms.select"(%c, %x, %x) : (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @bool_arithmetic(%a: tensor<2xi1>) -> tensor<2xi1> {
  // expected-error @+1 {{'ms.add' op does not compute on bool tensors (tensor<2xi1>)}}
  %0 = "ms.add"(%a, %a) : (tensor<2xi1>, tensor<2xi1>) -> tensor<2xi1>
  return %0 : tensor<2xi1>
}

// -----

func.func @sin_of_integers(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{'ms.sin' op expects a floating-point tensor, got tensor<4xi32>}}
  %0 = "ms.sin"(%x) : (tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

func.func @constant_of_another_element_type() -> tensor<3xi32> {
  // expected-error @+1 {{'ms.constant' op value of dtype int64 does not match result tensor<3xi32>}}
  %0 = "ms.constant"() {value = dense<[1, 2, 3]> : tensor<3xi64>} : () -> tensor<3xi32>
  return %0 : tensor<3xi32>
}
