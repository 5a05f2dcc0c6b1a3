// RUN: cellc opt %s --pass-pipeline='builtin.module(ms-inline-calls)' --split-input-file | FileCheck %s

// A call is replaced by its callee's ops on the call's operands; the private callee and the
// bprop function that only the call named are erased.

// CHECK-NOT: func.func private @twice
func.func private @twice(%x: tensor<3xf32>, %y: tensor<3xf32>) -> tensor<3xf32> {
  %p = "ms.mul"(%x, %y) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %p : tensor<3xf32>
}

func.func private @twice_bprop(%x: tensor<3xf32>, %y: tensor<3xf32>, %out: tensor<3xf32>, %dout: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  return %dout, %dout : tensor<3xf32>, tensor<3xf32>
}

// CHECK-LABEL: func.func @entry
// CHECK-SAME: (%[[A:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<3xf32>)
func.func @entry(%a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // CHECK: %[[P:.*]] = "ms.mul"(%[[A]], %[[B]])
  // CHECK-NOT: call
  // CHECK: %[[E:.*]] = "ms.exp"(%[[P]])
  // CHECK: return %[[E]]
  %t = func.call @twice(%a, %b) {ms.bprop = @twice_bprop} : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %e = "ms.exp"(%t) : (tensor<3xf32>) -> tensor<3xf32>
  return %e : tensor<3xf32>
}
// CHECK-NOT: @twice_bprop

// -----

// Calls nested in callees are inlined innermost first; every result of a call is replaced.

func.func private @inner(%x: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %e = "ms.exp"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  %n = "ms.neg"(%x) : (tensor<2xf32>) -> tensor<2xf32>
  return %e, %n : tensor<2xf32>, tensor<2xf32>
}

func.func private @outer(%x: tensor<2xf32>) -> tensor<2xf32> {
  %e, %n = func.call @inner(%x) : (tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)
  %s = "ms.add"(%e, %n) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %s : tensor<2xf32>
}

// CHECK-LABEL: func.func @entry
// CHECK-SAME: (%[[X:.*]]: tensor<2xf32>)
func.func @entry(%x: tensor<2xf32>) -> tensor<2xf32> {
  // CHECK-DAG: %[[E:.*]] = "ms.exp"(%[[X]])
  // CHECK-DAG: %[[N:.*]] = "ms.neg"(%[[X]])
  // CHECK: %[[S:.*]] = "ms.add"(%[[E]], %[[N]])
  // CHECK: return %[[S]]
  %y = func.call @outer(%x) : (tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}
