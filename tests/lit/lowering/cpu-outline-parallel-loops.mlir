// RUN: cellc opt %s --pass-pipeline='builtin.module(cpu-outline-parallel-loops)' --split-input-file | FileCheck %s

// A marked forall becomes a private task function of the flattened iteration index and the
// values its body captures (a buffer and a scalar; the constant is cloned into it), and a call
// to its dispatcher with the iteration count (3 x 2 = 6). Row-major: i = t / 2, j = t % 2.
// CHECK-LABEL: func.func @scale
// CHECK-NOT: scf.forall
// CHECK: %[[N:.*]] = arith.constant 6 : index
// CHECK: call @__cellc_dispatch_scale_0(%[[N]], %arg0, %arg1) : (index, memref<6x4xf32>, f32) -> ()
// CHECK: return
// CHECK: func.func private @__cellc_task_scale_0(%[[T:.*]]: index, %[[BUF:.*]]: memref<6x4xf32>, %[[S:.*]]: f32) attributes {llvm.linkage = #llvm.linkage<internal>}
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK: %[[TWO:.*]] = arith.constant 2 : index
// CHECK: %[[J:.*]] = arith.remui %[[T]], %[[TWO]]
// CHECK: %[[I:.*]] = arith.divui %[[T]], %[[TWO]]
// CHECK: %[[ROW:.*]] = arith.muli %[[I]]
// CHECK: %[[COL:.*]] = arith.muli %[[J]]
// CHECK: memref.subview %[[BUF]][%[[ROW]], %[[COL]]]
// CHECK: arith.addf %[[S]]
// CHECK: return
// CHECK: func.func private @__cellc_dispatch_scale_0(index, memref<6x4xf32>, f32)
func.func @scale(%buf: memref<6x4xf32>, %s: f32) {
  %one = arith.constant 1.0 : f32
  scf.forall (%i, %j) in (3, 2) {
    %c2 = arith.constant 2 : index
    %row = arith.muli %i, %c2 : index
    %col = arith.muli %j, %c2 : index
    %tile = memref.subview %buf[%row, %col] [2, 2] [1, 1] : memref<6x4xf32> to memref<2x2xf32, strided<[4, 1], offset: ?>>
    %v = arith.addf %s, %one : f32
    linalg.fill ins(%v : f32) outs(%tile : memref<2x2xf32, strided<[4, 1], offset: ?>>)
  } {cellc.parallel}
  return
}

// -----

// Not outlined: an unmarked forall, a marked one of one iteration, and one that captures a
// view at a dynamic offset (not passable as a bare pointer); scf-forall-to-for runs them
// serially later.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-3: scf.forall
// CHECK-NOT: call
// CHECK-NOT: __cellc_task
func.func @kept(%buf: memref<6x4xf32>, %s: f32, %at: index) {
  scf.forall (%i) in (4) {
    memref.store %s, %buf[%i, %i] : memref<6x4xf32>
  }
  scf.forall (%i) in (1) {
    memref.store %s, %buf[%i, %i] : memref<6x4xf32>
  } {cellc.parallel}
  %view = memref.subview %buf[0, %at] [6, 2] [1, 1] : memref<6x4xf32> to memref<6x2xf32, strided<[4, 1], offset: ?>>
  scf.forall (%i) in (2) {
    memref.store %s, %view[%i, %i] : memref<6x2xf32, strided<[4, 1], offset: ?>>
  } {cellc.parallel}
  return
}

// -----

// A view of static strides and offset (the rows of a wider buffer) travels as a bare pointer:
// the task's argument has the view's type, and the bare-pointer calling convention rebuilds its
// strides and offset from the type on both sides.
// CHECK-LABEL: func.func @rows_apart
// CHECK: %[[VIEW:.*]] = memref.subview
// CHECK: call @__cellc_dispatch_rows_apart_0(%{{.*}}, %arg1, %[[VIEW]]) : (index, f32, memref<6x2xf32, strided<[4, 1], offset: 1>>) -> ()
// CHECK: func.func private @__cellc_task_rows_apart_0(%{{.*}}: index, %{{.*}}: f32, %{{.*}}: memref<6x2xf32, strided<[4, 1], offset: 1>>)
func.func @rows_apart(%buf: memref<6x4xf32>, %s: f32) {
  %view = memref.subview %buf[0, 1] [6, 2] [1, 1] : memref<6x4xf32> to memref<6x2xf32, strided<[4, 1], offset: 1>>
  scf.forall (%i) in (2) {
    memref.store %s, %view[%i, %i] : memref<6x2xf32, strided<[4, 1], offset: 1>>
  } {cellc.parallel}
  return
}

// -----

// A guarded forall (parallel_guards.py: a dynamic batch's op, parallel only when large at run
// time) is dispatched to the pool when its marker's condition holds; otherwise its tasks run one
// after another on the calling thread. The markers are erased.
// CHECK-LABEL: func.func @guarded
// CHECK-NOT: __cellc_parallel_if
// CHECK: %[[N:.*]] = arith.constant 4 : index
// CHECK: scf.if %arg2 {
// CHECK-NEXT: call @__cellc_dispatch_guarded_0(%[[N]], %arg1, %arg0)
// CHECK-NEXT: } else {
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %[[N]] step %{{.*}} {
// CHECK-NEXT: func.call @__cellc_task_guarded_0(%[[T]], %arg1, %arg0)
// CHECK-NOT: __cellc_parallel_if
// CHECK-NOT: cellc.guard
func.func private @__cellc_parallel_if(i1)
func.func @guarded(%buf: memref<4x4xf32>, %s: f32, %large: i1) {
  call @__cellc_parallel_if(%large) {cellc.guard = 0 : i64} : (i1) -> ()
  scf.forall (%i) in (4) {
    memref.store %s, %buf[%i, %i] : memref<4x4xf32>
  } {cellc.guard = 0 : i64, cellc.parallel}
  return
}
