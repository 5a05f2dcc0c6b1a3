// RUN: cellc opt %s --pass-pipeline='builtin.module(cpu-empty-results-whole)' --split-input-file | FileCheck %s

// A product computed as (M, N/w, w) and returned collapsed to (M, N) is computed into a view of
// an (M, N) empty, so that bufferization gives it the out-param's buffer. The empty CSE shared
// with another computation keeps serving that one.

// CHECK-LABEL: func.func @forall
// CHECK: %[[SHARED:.*]] = tensor.empty() : tensor<4x2x8xf32>
// CHECK: %[[WHOLE:.*]] = tensor.empty() : tensor<4x16xf32>
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %[[WHOLE]] {{\[}}[0], [1, 2]] output_shape [4, 2, 8]
// CHECK: %[[R:.*]] = scf.forall {{.*}} shared_outs(%{{.*}} = %[[VIEW]])
// CHECK: linalg.copy ins(%{{.*}}) outs(%[[SHARED]] : tensor<4x2x8xf32>)
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[R]]
// CHECK: return %[[C]]
func.func @forall(%a: tensor<4x2x8xf32>) -> (tensor<4x16xf32>, tensor<4x2x8xf32>) {
  %e = tensor.empty() : tensor<4x2x8xf32>
  %r = scf.forall (%i) in (2) shared_outs(%o = %e) -> (tensor<4x2x8xf32>) {
    %s = tensor.extract_slice %a[0, %i, 0] [4, 1, 8] [1, 1, 1] : tensor<4x2x8xf32> to tensor<4x1x8xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %s into %o[0, %i, 0] [4, 1, 8] [1, 1, 1] : tensor<4x1x8xf32> into tensor<4x2x8xf32>
    }
  }
  %copy = linalg.copy ins(%a : tensor<4x2x8xf32>) outs(%e : tensor<4x2x8xf32>) -> tensor<4x2x8xf32>
  %c = tensor.collapse_shape %r [[0], [1, 2]] : tensor<4x2x8xf32> into tensor<4x16xf32>
  return %c, %copy : tensor<4x16xf32>, tensor<4x2x8xf32>
}

// -----

// Through the destinations of a chain of linalg ops (a fill, then a product over it); a dynamic
// size alone in its group carries over. The empty it replaces, used by nothing else, goes.

// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%[[A:.*]]: tensor<?x2x8xf32>)
// CHECK: %[[M:.*]] = tensor.dim %[[A]]
// CHECK-NOT: tensor.empty(%[[M]]) : tensor<?x2x8xf32>
// CHECK: %[[WHOLE:.*]] = tensor.empty(%[[M]]) : tensor<?x16xf32>
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %[[WHOLE]] {{\[}}[0], [1, 2]] output_shape [%[[M]], 2, 8]
// CHECK: linalg.fill ins(%{{.*}}) outs(%[[VIEW]] : tensor<?x2x8xf32>)
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @chain(%a: tensor<?x2x8xf32>) -> tensor<?x16xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %a, %c0 : tensor<?x2x8xf32>
  %e = tensor.empty(%m) : tensor<?x2x8xf32>
  %zero = arith.constant 0.0 : f32
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<?x2x8xf32>) -> tensor<?x2x8xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a : tensor<?x2x8xf32>) outs(%f : tensor<?x2x8xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %x, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?x2x8xf32>
  %c = tensor.collapse_shape %g [[0], [1, 2]] : tensor<?x2x8xf32> into tensor<?x16xf32>
  return %c : tensor<?x16xf32>
}

// -----

// Left alone: a dynamic size that shares its group (its whole size would need a product), and
// a reshape of something that is not computed into an empty (an argument).

// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: tensor.expand_shape
// CHECK: return
func.func @left_alone(%a: tensor<?x8xf32>, %b: tensor<2x8xf32>) -> (tensor<?xf32>, tensor<16xf32>) {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %a, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%m) : tensor<?x8xf32>
  %copy = linalg.copy ins(%a : tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) -> tensor<?x8xf32>
  %c = tensor.collapse_shape %copy [[0, 1]] : tensor<?x8xf32> into tensor<?xf32>
  %d = tensor.collapse_shape %b [[0, 1]] : tensor<2x8xf32> into tensor<16xf32>
  return %c, %d : tensor<?xf32>, tensor<16xf32>
}
