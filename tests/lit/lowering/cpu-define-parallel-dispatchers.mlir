// RUN: cellc opt %s --pass-pipeline='builtin.module(cpu-define-parallel-dispatchers)' | FileCheck %s

// After the conversion to the LLVM dialect, the dispatcher declaration that
// cpu-outline-parallel-loops left gets a body: its captures go into a stack array of 8-byte
// slots, and the runtime's cellc_parallel_for(iterations, trampoline, slots) runs the
// trampoline once per iteration, which loads them back and calls the task.
// CHECK: llvm.func internal @__cellc_dispatch_f_0(%[[N:[a-z0-9]+]]: i64, %[[BUF:[a-z0-9]+]]: !llvm.ptr, %[[S:[a-z0-9]+]]: f32)
// CHECK: %[[SLOTS:.*]] = llvm.alloca %{{.*}} x i64
// CHECK: %[[P0:.*]] = llvm.getelementptr %[[SLOTS]][0]
// CHECK: llvm.store %[[BUF]], %[[P0]] : !llvm.ptr, !llvm.ptr
// CHECK: %[[P1:.*]] = llvm.getelementptr %[[SLOTS]][1]
// CHECK: llvm.store %[[S]], %[[P1]] : f32, !llvm.ptr
// CHECK: %[[FN:.*]] = llvm.mlir.addressof @__cellc_trampoline_f_0
// CHECK: llvm.call @cellc_parallel_for(%[[N]], %[[FN]], %[[SLOTS]])
// CHECK: llvm.func internal @__cellc_trampoline_f_0(%[[CTX:[a-z0-9]+]]: !llvm.ptr, %[[T:[a-z0-9]+]]: i64)
// CHECK: %[[B:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[V:.*]] = llvm.load %{{.*}} : !llvm.ptr -> f32
// CHECK: llvm.call @__cellc_task_f_0(%[[T]], %[[B]], %[[V]])
// CHECK: llvm.func @cellc_parallel_for(i64, !llvm.ptr, !llvm.ptr)
// CHECK-NOT: llvm.func @__cellc_dispatch_f_0(
llvm.func @f(%buf: !llvm.ptr, %s: f32) {
  %n = llvm.mlir.constant(6 : i64) : i64
  llvm.call @__cellc_dispatch_f_0(%n, %buf, %s) : (i64, !llvm.ptr, f32) -> ()
  llvm.return
}
llvm.func internal @__cellc_task_f_0(%t: i64, %buf: !llvm.ptr, %s: f32) {
  llvm.return
}
llvm.func @__cellc_dispatch_f_0(i64, !llvm.ptr, f32)
