// RUN: cellc opt %s --pass-pipeline='builtin.module(gpu-bufferize)' --split-input-file | FileCheck %s

// The result becomes a trailing out-param the last op writes into; `cellc.num_results` counts
// the out-params; the temporary is a plain memref.alloc (no dealloc: the launch plan owns it).

#id = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @two_steps
// CHECK-SAME: (%[[X:.*]]: memref<16xf32>, %[[OUT:.*]]: memref<16xf32>)
// CHECK-SAME: cellc.num_results = 1
// CHECK: %[[TMP:.*]] = memref.alloc() {{.*}} : memref<16xf32>
// CHECK: linalg.generic {{.*}} ins(%[[X]] : memref<16xf32>) outs(%[[TMP]] : memref<16xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[TMP]] : memref<16xf32>) outs(%[[OUT]] : memref<16xf32>)
// CHECK-NOT: memref.dealloc
// CHECK: return
func.func @two_steps(%x: tensor<16xf32>) -> tensor<16xf32> {
  %e = tensor.empty() : tensor<16xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<16xf32>) outs(%e : tensor<16xf32>) {
    ^bb0(%u: f32, %o: f32):
      %s = math.exp %u : f32
      linalg.yield %s : f32
  } -> tensor<16xf32>
  %e2 = tensor.empty() : tensor<16xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : tensor<16xf32>) outs(%e2 : tensor<16xf32>) {
    ^bb0(%u: f32, %o: f32):
      %s = arith.addf %u, %u : f32
      linalg.yield %s : f32
  } -> tensor<16xf32>
  return %b : tensor<16xf32>
}

// -----

// A reduction into an argument: arguments are read-only, so the initial value is copied into
// the out-param and the reduction accumulates there.

#id1 = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @into_argument
// CHECK-SAME: (%[[X:.*]]: memref<100xf32>, %[[INIT:.*]]: memref<f32>, %[[OUT:.*]]: memref<f32>)
// CHECK: memref.copy %[[INIT]], %[[OUT]]
// CHECK: linalg.generic {{.*}} ins(%[[X]] : memref<100xf32>) outs(%[[OUT]] : memref<f32>)
func.func @into_argument(%x: tensor<100xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%x : tensor<100xf32>) outs(%init : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// A value returned twice (two bias gradients summing one cotangent, after CSE): the second
// result is a copy, so each out-param has its own buffer.

#id2 = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @returned_twice
// CHECK-SAME: (%[[X:.*]]: memref<8xf32>, %[[OUT0:.*]]: memref<8xf32>, %[[OUT1:.*]]: memref<8xf32>)
// CHECK-SAME: cellc.num_results = 2
// CHECK: linalg.generic {{.*}} ins(%[[X]] : memref<8xf32>) outs(%[[OUT0]] : memref<8xf32>)
// CHECK: linalg.copy {{.*}}ins(%[[OUT0]] : memref<8xf32>) outs(%[[OUT1]] : memref<8xf32>)
// CHECK: return
func.func @returned_twice(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %e = tensor.empty() : tensor<8xf32>
  %a = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
    ^bb0(%u: f32, %o: f32):
      %s = math.exp %u : f32
      linalg.yield %s : f32
  } -> tensor<8xf32>
  return %a, %a : tensor<8xf32>, tensor<8xf32>
}
