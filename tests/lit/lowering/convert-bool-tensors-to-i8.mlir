// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-bool-tensors-to-i8)' --split-input-file | FileCheck %s

// A comparison's bool result is stored as bytes: the body still compares on i1 and extends
// the result into the i8 output; the function returns tensor<..xi8>.

// CHECK-LABEL: func.func @less
// CHECK-SAME: -> tensor<4xi8>
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<4xi8>
// CHECK: linalg.generic {{.*}} outs(%[[EMPTY]] : tensor<4xi8>)
// CHECK: %[[BIT:.*]] = arith.cmpf olt
// CHECK: %[[BYTE:.*]] = arith.extui %[[BIT]] : i1 to i8
// CHECK: linalg.yield %[[BYTE]] : i8
// CHECK: -> tensor<4xi8>
#map = affine_map<(d0) -> (d0)>
func.func @less(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xi1> {
  %e = tensor.empty() : tensor<4xi1>
  %r = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel"]}
      ins(%a, %b : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xi1>) {
  ^bb0(%x: f32, %y: f32, %o: i1):
    %c = arith.cmpf olt, %x, %y : f32
    linalg.yield %c : i1
  } -> tensor<4xi1>
  return %r : tensor<4xi1>
}

// -----

// A bool argument read in a body is truncated back to i1 before its uses.

// CHECK-LABEL: func.func @select
// CHECK-SAME: (%[[MASK:.*]]: tensor<3xi8>, %{{.*}}: tensor<3xf32>)
// CHECK: ^bb0(%[[IN:.*]]: i8, %[[X:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[BIT:.*]] = arith.trunci %[[IN]] : i8 to i1
// CHECK: arith.select %[[BIT]], %[[X]]
#map1 = affine_map<(d0) -> (d0)>
func.func @select(%m: tensor<3xi1>, %x: tensor<3xf32>) -> tensor<3xf32> {
  %e = tensor.empty() : tensor<3xf32>
  %z = arith.constant 0.0 : f32
  %r = linalg.generic {indexing_maps = [#map1, #map1, #map1], iterator_types = ["parallel"]}
      ins(%m, %x : tensor<3xi1>, tensor<3xf32>) outs(%e : tensor<3xf32>) {
  ^bb0(%c: i1, %v: f32, %o: f32):
    %s = arith.select %c, %v, %z : f32
    linalg.yield %s : f32
  } -> tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

// Bool constants become byte constants; reshapes of them are retyped.

// CHECK-LABEL: func.func @constant
// CHECK: %[[C:.*]] = arith.constant dense<[1, 0]> : tensor<2xi8>
// CHECK: tensor.expand_shape %[[C]] {{.*}} : tensor<2xi8> into tensor<1x2xi8>
func.func @constant() -> tensor<1x2xi1> {
  %c = arith.constant dense<[true, false]> : tensor<2xi1>
  %r = tensor.expand_shape %c [[0, 1]] output_shape [1, 2] : tensor<2xi1> into tensor<1x2xi1>
  return %r : tensor<1x2xi1>
}
