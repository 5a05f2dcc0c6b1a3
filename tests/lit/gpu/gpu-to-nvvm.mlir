// RUN: cellc opt %s --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_80 features=+ptx80 O=3},gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},reconcile-unrealized-casts))' | FileCheck %s

// The kernel half of cellc's GPU back end (pass_pipelines.gpu_to_nvvm): the target is attached
// and kernels take bare pointers, one !llvm.ptr per memref argument, as the launch plan passes.

// CHECK: gpu.module @cellc_kernels [#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">]
module attributes {gpu.container_module} {
  gpu.module @cellc_kernels {
    // CHECK-LABEL: llvm.func @scale
    // CHECK-SAME: (%[[IN:.*]]: !llvm.ptr, %[[OUT:.*]]: !llvm.ptr)
    // CHECK-SAME: nvvm.kernel
    // CHECK-DAG: nvvm.read.ptx.sreg.ctaid.x
    // CHECK-DAG: nvvm.read.ptx.sreg.tid.x
    // CHECK: llvm.fmul
    gpu.func @scale(%in: memref<256xf32>, %out: memref<256xf32>) kernel {
      %b = gpu.block_id x
      %t = gpu.thread_id x
      %c64 = arith.constant 64 : index
      %base = arith.muli %b, %c64 : index
      %i = arith.addi %base, %t : index
      %v = memref.load %in[%i] : memref<256xf32>
      %two = arith.constant 2.0 : f32
      %r = arith.mulf %v, %two : f32
      memref.store %r, %out[%i] : memref<256xf32>
      gpu.return
    }
  }
}
