// RUN: cellc opt %s --split-input-file --pass-pipeline='builtin.module(ms-fold-empty-tensors)' | FileCheck %s

// A matmul over an empty contracting dimension is zeros; the op is gone.
// CHECK-LABEL: func.func @empty_contraction
func.func @empty_contraction(%a: tensor<2x0xf32>, %b: tensor<0x3xf32>) -> tensor<2x3xf32> {
  // CHECK: %[[ZERO:.*]] = "ms.constant"() {value = dense<0.000000e+00> : tensor<2x3xf32>}
  // CHECK-NOT: ms.matmul
  // CHECK: return %[[ZERO]]
  %0 = "ms.matmul"(%a, %b) {transpose_a = false, transpose_b = false} : (tensor<2x0xf32>, tensor<0x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// An op with an empty result becomes an empty constant, and so does what uses it.
// CHECK-LABEL: func.func @empty_result
func.func @empty_result(%x: tensor<2x0xf32>) -> tensor<2x0xf32> {
  // CHECK-NOT: ms.exp
  // CHECK-NOT: ms.add
  // CHECK: %[[EMPTY:.*]] = "ms.constant"() {value = dense<> : tensor<2x0xf32>}
  // CHECK: return %[[EMPTY]]
  %0 = "ms.exp"(%x) : (tensor<2x0xf32>) -> tensor<2x0xf32>
  %1 = "ms.add"(%0, %x) : (tensor<2x0xf32>, tensor<2x0xf32>) -> tensor<2x0xf32>
  return %1 : tensor<2x0xf32>
}

// -----

// A sum over an empty axis is zeros; over a non-empty one nothing changes.
// CHECK-LABEL: func.func @sums
func.func @sums(%x: tensor<2x0xf32>, %y: tensor<2x3xf32>) -> (tensor<2xf32>, tensor<3xf32>) {
  // CHECK: "ms.constant"() {value = dense<0.000000e+00> : tensor<2xf32>}
  // CHECK: "ms.reduce_sum"(%{{.*}}) {axes = array<i64: 0>
  %0 = "ms.reduce_sum"(%x) {axes = array<i64: 1>, keep_dims = false} : (tensor<2x0xf32>) -> tensor<2xf32>
  %1 = "ms.reduce_sum"(%y) {axes = array<i64: 0>, keep_dims = false} : (tensor<2x3xf32>) -> tensor<3xf32>
  return %0, %1 : tensor<2xf32>, tensor<3xf32>
}
