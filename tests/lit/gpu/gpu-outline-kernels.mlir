// RUN: cellc opt %s --pass-pipeline='builtin.module(gpu-outline-kernels)' | FileCheck %s

// Two launches become two kernels of one gpu.module @cellc_kernels, each named after the module
// outlining gave it; the workgroup buffer of the second becomes a shared-memory global.

// CHECK-LABEL: func.func @two_kernels
// CHECK-SAME: (%[[X:.*]]: memref<256xf32>, %[[Y:.*]]: memref<256xf32>)
// CHECK: gpu.launch_func @cellc_kernels::@[[K0:.*]] blocks in {{.*}} args(%[[X]] : memref<256xf32>)
// CHECK: gpu.launch_func @cellc_kernels::@[[K1:.*]] blocks in {{.*}} args(%[[X]] : memref<256xf32>, %[[Y]] : memref<256xf32>)
// CHECK-NOT: gpu.launch blocks
// CHECK: gpu.module @cellc_kernels
// CHECK-DAG: memref.global "private" @[[SHARED:.*]] : memref<64xf32, #gpu.address_space<workgroup>>
// CHECK-DAG: gpu.func @[[K0]](%{{.*}}: memref<256xf32>) kernel
// CHECK-DAG: gpu.func @[[K1]](%{{.*}}: memref<256xf32>, %{{.*}}: memref<256xf32>) kernel
// CHECK: memref.get_global @[[SHARED]]
// CHECK-NOT: gpu.module
func.func @two_kernels(%x: memref<256xf32>, %y: memref<256xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %base = arith.muli %bx, %c64 : index
    %i = arith.addi %base, %tx : index
    %v = memref.load %x[%i] : memref<256xf32>
    %two = arith.addf %v, %v : f32
    memref.store %two, %x[%i] : memref<256xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %tile = memref.alloc() : memref<64xf32, #gpu.address_space<workgroup>>
    %base = arith.muli %bx, %c64 : index
    %i = arith.addi %base, %tx : index
    %v = memref.load %x[%i] : memref<256xf32>
    memref.store %v, %tile[%tx] : memref<64xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %w = memref.load %tile[%tx] : memref<64xf32, #gpu.address_space<workgroup>>
    memref.store %w, %y[%i] : memref<256xf32>
    gpu.terminator
  }
  return
}
