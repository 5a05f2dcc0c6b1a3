// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-ms-to-linalg)' --split-input-file | FileCheck %s

// Broadcasting lives in the indexing maps: a missing dim is dropped, a stretched size-1 dim
// reads index 0. Nothing is materialized.

// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @add_row
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<3xf32>)
func.func @add_row(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  // CHECK: %[[INIT:.*]] = tensor.empty() : tensor<2x3xf32>
  // CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
  // CHECK-SAME: ins(%[[A]], %[[B]] : tensor<2x3xf32>, tensor<3xf32>) outs(%[[INIT]] : tensor<2x3xf32>)
  // CHECK: ^bb0(%[[X:.*]]: f32, %[[Y:.*]]: f32, %{{.*}}: f32):
  // CHECK: %[[R:.*]] = arith.addf %[[X]], %[[Y]] : f32
  // CHECK: linalg.yield %[[R]] : f32
  %0 = "ms.add"(%a, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: return %[[SUM]]
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-DAG: #[[COL0:.+]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @sub_stretch_f64
func.func @sub_stretch_f64(%a: tensor<2x3xf64>, %b: tensor<2x1xf64>) -> tensor<2x3xf64> {
  // CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[COL0]], #{{.+}}]
  // CHECK: arith.subf %{{.*}}, %{{.*}} : f64
  %0 = "ms.sub"(%a, %b) : (tensor<2x3xf64>, tensor<2x1xf64>) -> tensor<2x3xf64>
  return %0 : tensor<2x3xf64>
}

// -----

// CHECK-DAG: #[[SCALAR:.+]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @mul_div_scalar
func.func @mul_div_scalar(%a: tensor<2x3xf32>, %s: tensor<f32>) -> tensor<2x3xf32> {
  // CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[SCALAR]], #{{.+}}]
  // CHECK: arith.mulf
  %0 = "ms.mul"(%a, %s) : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  // CHECK: linalg.generic
  // CHECK: arith.divf
  %1 = "ms.div"(%0, %a) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @integer_add_neg
func.func @integer_add_neg(%a: tensor<4xi64>) -> tensor<4xi64> {
  // CHECK: arith.addi %{{.*}}, %{{.*}} : i64
  %0 = "ms.add"(%a, %a) : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  // CHECK: %[[ZERO:.*]] = arith.constant 0 : i64
  // CHECK: arith.subi %[[ZERO]], %{{.*}} : i64
  %1 = "ms.neg"(%0) : (tensor<4xi64>) -> tensor<4xi64>
  return %1 : tensor<4xi64>
}

// -----

// CHECK-LABEL: func.func @unary
func.func @unary(%x: tensor<5xf32>) -> (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) {
  // CHECK: arith.negf
  %0 = "ms.neg"(%x) : (tensor<5xf32>) -> tensor<5xf32>
  // CHECK: %[[Z:.*]] = arith.constant 0.000000e+00 : f32
  // CHECK: arith.maximumf %{{.*}}, %[[Z]] : f32
  %1 = "ms.relu"(%x) : (tensor<5xf32>) -> tensor<5xf32>
  // CHECK: math.exp
  %2 = "ms.exp"(%x) : (tensor<5xf32>) -> tensor<5xf32>
  // CHECK: math.log
  %3 = "ms.log"(%x) : (tensor<5xf32>) -> tensor<5xf32>
  // CHECK: math.tanh
  %4 = "ms.tanh"(%x) : (tensor<5xf32>) -> tensor<5xf32>
  // CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
  // CHECK: %[[NEG:.*]] = arith.negf
  // CHECK: %[[E:.*]] = math.exp %[[NEG]]
  // CHECK: %[[D:.*]] = arith.addf %[[ONE]], %[[E]]
  // CHECK: arith.divf %[[ONE]], %[[D]]
  %5 = "ms.sigmoid"(%x) : (tensor<5xf32>) -> tensor<5xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>
}

// -----

// relu_grad(dy, x) = dy * (x > 0), as a select.
// CHECK-LABEL: func.func @relu_grad
func.func @relu_grad(%dy: tensor<2x3xf32>, %x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: ^bb0(%[[DY:.*]]: f32, %[[X:.*]]: f32, %{{.*}}: f32):
  // CHECK: %[[POS:.*]] = arith.cmpf ogt, %[[X]], %{{.*}} : f32
  // CHECK: arith.select %[[POS]], %[[DY]], %{{.*}} : f32
  %0 = "ms.relu_grad"(%dy, %x) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// stop_gradient lowers to nothing.
// CHECK-LABEL: func.func @stop_gradient
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
func.func @stop_gradient(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK-NOT: ms.
  // CHECK: return %[[X]] : tensor<2x3xf32>
  %0 = "ms.stop_gradient"(%x) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @constant
func.func @constant() -> (tensor<2x3xf32>, tensor<2xf64>) {
  // CHECK-DAG: arith.constant dense<1.500000e+00> : tensor<2x3xf32>
  %0 = "ms.constant"() {value = dense<1.5> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  // CHECK-DAG: arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf64>
  %1 = "ms.constant"() {value = dense<[1.0, 2.0]> : tensor<2xf64>} : () -> tensor<2xf64>
  return %0, %1 : tensor<2x3xf32>, tensor<2xf64>
}

// -----

// A transposed operand is read through linalg.matmul's indexing maps.
// CHECK-DAG: #[[A_T:.+]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-DAG: #[[B:.+]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[B_T:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[C:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @matmuls
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[BB:.*]]: tensor<3x4xf32>, %[[BT:.*]]: tensor<4x3xf32>, %[[AT:.*]]: tensor<3x2xf32>)
func.func @matmuls(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %bt: tensor<4x3xf32>, %at: tensor<3x2xf32>)
    -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  // CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
  // CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<2x4xf32>
  // CHECK: %[[ACC:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[EMPTY]] : tensor<2x4xf32>)
  // CHECK: linalg.matmul ins(%[[A]], %[[BB]] : tensor<2x3xf32>, tensor<3x4xf32>) outs(%[[ACC]] : tensor<2x4xf32>)
  %0 = "ms.matmul"(%a, %b) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  // CHECK: linalg.matmul indexing_maps = [#{{.+}}, #[[B_T]], #[[C]]] ins(%[[A]], %[[BT]] :
  %1 = "ms.matmul"(%a, %bt) {transpose_a = false, transpose_b = true} : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x4xf32>
  // CHECK: linalg.matmul indexing_maps = [#[[A_T]], #[[B]], #[[C]]] ins(%[[AT]], %[[BB]] :
  %2 = "ms.matmul"(%at, %b) {transpose_a = true, transpose_b = false} : (tensor<3x2xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0, %1, %2 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// A product with a splat constant (GradOperation's default sensitivity, ones) is a sum: the
// other operand summed over k, times the splat, broadcast over the splat's side. No matmul, and
// no buffer of the splat.
// CHECK-DAG: #[[KN_COLUMNS:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[ROWS:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @splat_products
// CHECK-SAME: (%[[BT:.*]]: tensor<4x3xf32>, %[[A:.*]]: tensor<2x3xf32>)
func.func @splat_products(%bt: tensor<4x3xf32>, %a: tensor<2x3xf32>) -> (tensor<2x4xf32>, tensor<2x5xf32>) {
  // CHECK-NOT: linalg.matmul
  // CHECK: %[[COLSUMS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[BT]] : tensor<4x3xf32>) outs(%{{.*}} : tensor<4xf32>)
  // CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
  // CHECK: linalg.generic {indexing_maps = [#[[KN_COLUMNS]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[COLSUMS]] : tensor<4xf32>) outs(%{{.*}} : tensor<2x4xf32>)
  // CHECK: arith.mulf %[[ONE]]
  %ones = "ms.constant"() {value = dense<1.000000e+00> : tensor<2x3xf32>} : () -> tensor<2x3xf32>
  %0 = "ms.matmul"(%ones, %bt) {transpose_a = false, transpose_b = true} : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x4xf32>
  // CHECK: %[[ROWSUMS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[A]] : tensor<2x3xf32>) outs(%{{.*}} : tensor<2xf32>)
  // CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
  // CHECK: linalg.generic {indexing_maps = [#[[ROWS]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[ROWSUMS]] : tensor<2xf32>) outs(%{{.*}} : tensor<2x5xf32>)
  // CHECK: arith.mulf %[[HALF]]
  // CHECK-NOT: linalg.matmul
  %halves = "ms.constant"() {value = dense<5.000000e-01> : tensor<3x5xf32>} : () -> tensor<3x5xf32>
  %1 = "ms.matmul"(%a, %halves) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x5xf32>
  return %0, %1 : tensor<2x4xf32>, tensor<2x5xf32>
}

// -----

// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[KEPT:.+]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func.func @reduce_sum_keep_dims
func.func @reduce_sum_keep_dims(%x: tensor<2x3x4xf32>) -> tensor<1x3x1xf32> {
  // CHECK: %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<3xf32>)
  // CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[IN]], #[[KEPT]]], iterator_types = ["reduction", "parallel", "reduction"]}
  // CHECK-SAME: outs(%[[ACC]] : tensor<3xf32>)
  // CHECK: ^bb0(%[[V:.*]]: f32, %[[OUT:.*]]: f32):
  // CHECK: arith.addf %[[OUT]], %[[V]] : f32
  // CHECK: tensor.expand_shape %[[SUM]] {{\[}}[0, 1, 2]] output_shape [1, 3, 1] : tensor<3xf32> into tensor<1x3x1xf32>
  %0 = "ms.reduce_sum"(%x) {axes = array<i64: 0, 2>, keep_dims = true} : (tensor<2x3x4xf32>) -> tensor<1x3x1xf32>
  return %0 : tensor<1x3x1xf32>
}

// -----

// CHECK-DAG: #[[NONE:.+]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @reduce_sum_all
func.func @reduce_sum_all(%x: tensor<2x3xf64>) -> tensor<f64> {
  // CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[NONE]]], iterator_types = ["reduction", "reduction"]}
  // CHECK-SAME: outs(%{{.*}} : tensor<f64>)
  %0 = "ms.reduce_sum"(%x) {axes = array<i64: 0, 1>, keep_dims = false} : (tensor<2x3xf64>) -> tensor<f64>
  return %0 : tensor<f64>
}

// -----

// CHECK-DAG: #[[STRETCH:.+]] = affine_map<(d0, d1, d2) -> (0, d2)>
// CHECK-LABEL: func.func @broadcast_to
func.func @broadcast_to(%x: tensor<1x3xf32>) -> tensor<4x2x3xf32> {
  // CHECK: linalg.generic {indexing_maps = [#[[STRETCH]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel"]}
  // CHECK: ^bb0(%[[V:.*]]: f32, %{{.*}}: f32):
  // CHECK-NEXT: linalg.yield %[[V]] : f32
  %0 = "ms.broadcast_to"(%x) : (tensor<1x3xf32>) -> tensor<4x2x3xf32>
  return %0 : tensor<4x2x3xf32>
}

// -----

// A reshape is a collapse to 1-D and an expand: views, no copy.
// CHECK-LABEL: func.func @reshape
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[S:.*]]: tensor<f32>)
func.func @reshape(%x: tensor<2x3xf32>, %s: tensor<f32>) -> (tensor<3x2xf32>, tensor<6xf32>, tensor<1x1xf32>) {
  // CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1]] : tensor<2x3xf32> into tensor<6xf32>
  // CHECK: %[[R:.*]] = tensor.expand_shape %[[FLAT]] {{\[}}[0, 1]] output_shape [3, 2] : tensor<6xf32> into tensor<3x2xf32>
  %0 = "ms.reshape"(%x) : (tensor<2x3xf32>) -> tensor<3x2xf32>
  // CHECK: %[[F:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1]] : tensor<2x3xf32> into tensor<6xf32>
  %1 = "ms.reshape"(%x) : (tensor<2x3xf32>) -> tensor<6xf32>
  // CHECK: %[[ONE:.*]] = tensor.expand_shape %[[S]] [] output_shape [1] : tensor<f32> into tensor<1xf32>
  // CHECK: %[[SQ:.*]] = tensor.expand_shape %[[ONE]] {{\[}}[0, 1]] output_shape [1, 1] : tensor<1xf32> into tensor<1x1xf32>
  %2 = "ms.reshape"(%s) : (tensor<f32>) -> tensor<1x1xf32>
  // CHECK: return %[[R]], %[[F]], %[[SQ]]
  return %0, %1, %2 : tensor<3x2xf32>, tensor<6xf32>, tensor<1x1xf32>
}

// -----

// CHECK-LABEL: func.func @transpose
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
func.func @transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  // CHECK: %[[INIT:.*]] = tensor.empty() : tensor<4x2x3xf32>
  // CHECK: linalg.transpose ins(%[[X]] : tensor<2x3x4xf32>) outs(%[[INIT]] : tensor<4x2x3xf32>) permutation = [2, 0, 1]
  %0 = "ms.transpose"(%x) {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  return %0 : tensor<4x2x3xf32>
}

// -----

// The seed network: matmul(x * z, y).
// CHECK-LABEL: func.func @seed_net
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>, %[[Y:.*]]: tensor<3x3xf32>, %[[Z:.*]]: tensor<1xf32>)
func.func @seed_net(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32>) -> tensor<2x3xf32> attributes {ms.entry} {
  // CHECK: %[[XZ:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[Z]] : tensor<2x3xf32>, tensor<1xf32>)
  %0 = "ms.mul"(%x, %z) : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  // CHECK: %[[OUT:.*]] = linalg.matmul ins(%[[XZ]], %[[Y]] : tensor<2x3xf32>, tensor<3x3xf32>)
  %1 = "ms.matmul"(%0, %y) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x3xf32>
  // CHECK: return %[[OUT]]
  return %1 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @sqrt_abs_sign
func.func @sqrt_abs_sign(%x: tensor<5xf32>, %n: tensor<5xi64>) -> (tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xi64>) {
  // CHECK: math.sqrt %{{.*}} : f32
  %0 = "ms.sqrt"(%x) : (tensor<5xf32>) -> tensor<5xf32>
  // CHECK: math.absf %{{.*}} : f32
  %1 = "ms.abs"(%x) : (tensor<5xf32>) -> tensor<5xf32>
  // sign: -1 where x < 0, 1 where x > 0, else x itself (0, -0, NaN).
  // CHECK: ^bb0(%[[V:.*]]: f32, %{{.*}}: f32):
  // CHECK: %[[NEG:.*]] = arith.cmpf olt, %[[V]], %{{.*}} : f32
  // CHECK: %[[M1:.*]] = arith.constant -1.000000e+00 : f32
  // CHECK: %[[LOW:.*]] = arith.select %[[NEG]], %[[M1]], %[[V]] : f32
  // CHECK: %[[POS:.*]] = arith.cmpf ogt, %[[V]], %{{.*}} : f32
  // CHECK: %[[P1:.*]] = arith.constant 1.000000e+00 : f32
  // CHECK: arith.select %[[POS]], %[[P1]], %[[LOW]] : f32
  %2 = "ms.sign"(%x) : (tensor<5xf32>) -> tensor<5xf32>
  // CHECK: math.absi %{{.*}} : i64
  %3 = "ms.abs"(%n) : (tensor<5xi64>) -> tensor<5xi64>
  return %0, %1, %2, %3 : tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xi64>
}

// -----

// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @maximum_minimum
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<3xf32>)
func.func @maximum_minimum(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>) {
  // CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
  // CHECK-SAME: ins(%[[A]], %[[B]] : tensor<2x3xf32>, tensor<3xf32>)
  // CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
  %0 = "ms.maximum"(%a, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: arith.minimumf %{{.*}}, %{{.*}} : f32
  %1 = "ms.minimum"(%a, %b) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0, %1 : tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// The accumulator starts at -inf (floats) or the lowest integer.
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[KEPT:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @reduce_max
func.func @reduce_max(%x: tensor<2x3xf32>, %n: tensor<4xi32>) -> (tensor<2x1xf32>, tensor<i32>) {
  // CHECK: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
  // CHECK: %[[ACC:.*]] = linalg.fill ins(%[[NEG_INF]] : f32) outs(%{{.*}} : tensor<2xf32>)
  // CHECK: %[[MAX:.*]] = linalg.generic {indexing_maps = [#[[IN]], #[[KEPT]]], iterator_types = ["parallel", "reduction"]}
  // CHECK-SAME: outs(%[[ACC]] : tensor<2xf32>)
  // CHECK: ^bb0(%[[V:.*]]: f32, %[[OUT:.*]]: f32):
  // CHECK: arith.maximumf %[[OUT]], %[[V]] : f32
  // CHECK: tensor.expand_shape %[[MAX]] {{\[}}[0, 1]] output_shape [2, 1] : tensor<2xf32> into tensor<2x1xf32>
  %0 = "ms.reduce_max"(%x) {axes = array<i64: 1>, keep_dims = true} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  // CHECK: %[[LOWEST:.*]] = arith.constant -2147483648 : i32
  // CHECK: linalg.fill ins(%[[LOWEST]] : i32)
  // CHECK: arith.maxsi %{{.*}}, %{{.*}} : i32
  %1 = "ms.reduce_max"(%n) {axes = array<i64: 0>, keep_dims = false} : (tensor<4xi32>) -> tensor<i32>
  return %0, %1 : tensor<2x1xf32>, tensor<i32>
}

// -----

// CHECK-LABEL: func.func @casts
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>, %[[N:.*]]: tensor<3xi32>)
func.func @casts(%x: tensor<3xf32>, %n: tensor<3xi32>) -> (tensor<3xf64>, tensor<3xf16>, tensor<3xi32>, tensor<3xf32>, tensor<3xi64>, tensor<3xi32>, tensor<3xf32>) {
  // CHECK: arith.extf %{{.*}} : f32 to f64
  %0 = "ms.cast"(%x) : (tensor<3xf32>) -> tensor<3xf64>
  // CHECK: arith.truncf %{{.*}} : f32 to f16
  %1 = "ms.cast"(%x) : (tensor<3xf32>) -> tensor<3xf16>
  // CHECK: arith.fptosi %{{.*}} : f32 to i32
  %2 = "ms.cast"(%x) : (tensor<3xf32>) -> tensor<3xi32>
  // CHECK: arith.sitofp %{{.*}} : i32 to f32
  %3 = "ms.cast"(%n) : (tensor<3xi32>) -> tensor<3xf32>
  // CHECK: arith.extsi %{{.*}} : i32 to i64
  %4 = "ms.cast"(%n) : (tensor<3xi32>) -> tensor<3xi64>
  // CHECK: arith.trunci %{{.*}} : i64 to i32
  %5 = "ms.cast"(%4) : (tensor<3xi64>) -> tensor<3xi32>
  // A cast to the same type is its operand.
  %6 = "ms.cast"(%x) : (tensor<3xf32>) -> tensor<3xf32>
  // CHECK: return {{.*}}, %[[X]] :
  return %0, %1, %2, %3, %4, %5, %6 : tensor<3xf64>, tensor<3xf16>, tensor<3xi32>, tensor<3xf32>, tensor<3xi64>, tensor<3xi32>, tensor<3xf32>
}

// -----

// CHECK-LABEL: func.func @sin_cos
func.func @sin_cos(%x: tensor<5xf32>) -> (tensor<5xf32>, tensor<5xf32>) {
  // CHECK: linalg.generic
  // CHECK: math.sin %{{.*}} : f32
  %0 = "ms.sin"(%x) : (tensor<5xf32>) -> tensor<5xf32>
  // CHECK: linalg.generic
  // CHECK: math.cos %{{.*}} : f32
  %1 = "ms.cos"(%x) : (tensor<5xf32>) -> tensor<5xf32>
  return %0, %1 : tensor<5xf32>, tensor<5xf32>
}

// -----

// The patterns only lower: nothing is folded, hoisted or merged. Two equal constants stay two,
// in place; a lowered op whose result is unused stays.

// CHECK-LABEL: func.func @nothing_folded
func.func @nothing_folded(%x: tensor<2xf32>) -> tensor<2xf32> {
  // CHECK: linalg.generic
  // CHECK: math.exp
  %0 = "ms.exp"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  // CHECK: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<2xf32>
  %1 = "ms.constant"() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<2xf32>
  // CHECK: %[[ALSO_ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<2xf32>
  %2 = "ms.constant"() {value = dense<1.0> : tensor<2xf32>} : () -> tensor<2xf32>
  // CHECK: linalg.generic {{.*}} ins(%[[ONE]], %[[ALSO_ONE]] :
  %3 = "ms.add"(%1, %2) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %3 : tensor<2xf32>
}

// -----

// A batched product is one generic over (batch, m, k, n): the innermost loop walks the rows
// of b and of the result (contiguous, so LLVM vectorizes it), k summed in order for each
// element. A transposed b is transposed back first (a linalg.transpose of its last two dims),
// not read along k. A size-1 batch dim of an operand broadcasts (constant 0 in its map).
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2, d3) -> (0, d2, d3)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[BT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-LABEL: func.func @batch_matmuls
// CHECK-SAME: %[[K:[^:]*]]: tensor<2x6x4xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK: %[[KT:.*]] = linalg.transpose ins(%[[K]] : tensor<2x6x4xf32>) outs(%{{.*}} : tensor<2x4x6xf32>) permutation = [0, 2, 1]
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[BT]], #[[C]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]} ins(%{{.*}}, %[[KT]] :
func.func @batch_matmuls(%a: tensor<2x3x4xf32>, %b: tensor<1x4x5xf32>, %q: tensor<2x3x4xf32>, %k: tensor<2x6x4xf32>) -> (tensor<2x3x5xf32>, tensor<2x3x6xf32>) {
  %0 = "ms.batch_matmul"(%a, %b) {transpose_a = false, transpose_b = false} : (tensor<2x3x4xf32>, tensor<1x4x5xf32>) -> tensor<2x3x5xf32>
  %1 = "ms.batch_matmul"(%q, %k) {transpose_a = false, transpose_b = true} : (tensor<2x3x4xf32>, tensor<2x6x4xf32>) -> tensor<2x3x6xf32>
  return %0, %1 : tensor<2x3x5xf32>, tensor<2x3x6xf32>
}
