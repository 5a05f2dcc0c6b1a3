// RUN: cellc opt %s --pass-pipeline='builtin.module(cpu-outline-loop-nests)' --split-input-file | FileCheck %s

// Each top-level nest (a linalg op on buffers, an scf.for) becomes a call of a private noinline
// function of what it captures: buffers and scalars as arguments; the constants and the view of
// a buffer (the subview) cloned into it. The allocation stays in the entry.
// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[A:.*]]: memref<4x8xf32>, %[[S:.*]]: f32, %[[OUT:.*]]: memref<4x8xf32>)
// CHECK: %[[TMP:.*]] = memref.alloc() : memref<4x8xf32>
// CHECK-NEXT: call @__cellc_nest_step_0(%[[S]], %[[TMP]]) : (f32, memref<4x8xf32>) -> ()
// CHECK-NEXT: call @__cellc_nest_step_1(%[[A]], %[[TMP]], %[[OUT]]) : (memref<4x8xf32>, memref<4x8xf32>, memref<4x8xf32>) -> ()
// CHECK-NEXT: call @__cellc_nest_step_2(%[[OUT]]) : (memref<4x8xf32>) -> ()
// CHECK-NEXT: memref.dealloc %[[TMP]]
// CHECK-NEXT: return
// CHECK: func.func private @__cellc_nest_step_0(%[[S0:.*]]: f32, %[[T0:.*]]: memref<4x8xf32>)
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]}
// CHECK-NEXT: linalg.fill ins(%[[S0]] : f32) outs(%[[T0]] : memref<4x8xf32>)
// CHECK-NEXT: return
// CHECK: func.func private @__cellc_nest_step_1(
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK: func.func private @__cellc_nest_step_2(%[[O2:.*]]: memref<4x8xf32>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[VIEW:.*]] = memref.subview %[[O2]][0, 2] [4, 2] [1, 1]
// CHECK: scf.for
// CHECK: memref.store %[[ZERO]], %[[VIEW]]
#map = affine_map<(d0, d1) -> (d0, d1)>
func.func @step(%a: memref<4x8xf32>, %s: f32, %out: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %tmp = memref.alloc() : memref<4x8xf32>
  linalg.fill ins(%s : f32) outs(%tmp : memref<4x8xf32>)
  linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%a, %tmp : memref<4x8xf32>, memref<4x8xf32>) outs(%out : memref<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %sum = arith.addf %x, %y : f32
    linalg.yield %sum : f32
  }
  %view = memref.subview %out[0, 2] [4, 2] [1, 1] : memref<4x8xf32> to memref<4x2xf32, strided<[8, 1], offset: 2>>
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %zero, %view[%i, %c0] : memref<4x2xf32, strided<[8, 1], offset: 2>>
  }
  memref.dealloc %tmp : memref<4x8xf32>
  return
}

// -----

// Kept in place: a nest capturing a buffer of dynamic shape (no bare pointer carries its
// sizes), and the functions cellc outlined itself (a task is not split again).
// CHECK-LABEL: func.func @kept
// CHECK-NOT: call
// CHECK: linalg.fill
// CHECK: func.func private @__cellc_task_kept_0
// CHECK-NEXT: linalg.fill
// CHECK-NOT: __cellc_nest
func.func @kept(%buf: memref<?xf32>, %s: f32) {
  linalg.fill ins(%s : f32) outs(%buf : memref<?xf32>)
  return
}
func.func private @__cellc_task_kept_0(%t: index, %buf: memref<8xf32>, %s: f32) {
  linalg.fill ins(%s : f32) outs(%buf : memref<8xf32>)
  return
}
