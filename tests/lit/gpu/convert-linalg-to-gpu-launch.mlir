// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-linalg-to-gpu-launch)' --split-input-file | FileCheck %s

// An elementwise op on 37x50: the inner loop tiles onto blocks x and 32 threads x, the outer
// onto blocks y and 8 threads y; the per-thread tile (a view of each operand) becomes a loop
// nest inside gpu.launch.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @bias_add
// CHECK-SAME: (%[[X:.*]]: memref<37x50xf32>, %[[B:.*]]: memref<50xf32>, %[[OUT:.*]]: memref<37x50xf32>)
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK: gpu.launch blocks({{.*}}) threads({{.*}}) in ({{.*}} = %[[C32]], {{.*}} = %[[C8]], {{.*}})
// CHECK: memref.subview %[[B]]
// CHECK: scf.for
// CHECK: memref.load
// CHECK: arith.addf
// CHECK: memref.store
// CHECK: gpu.terminator
// CHECK-NOT: linalg.
func.func @bias_add(%x: memref<37x50xf32>, %b: memref<50xf32>, %out: memref<37x50xf32>) {
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : memref<37x50xf32>, memref<50xf32>) outs(%out : memref<37x50xf32>) {
    ^bb0(%u: f32, %v: f32, %o: f32):
      %s = arith.addf %u, %v : f32
      linalg.yield %s : f32
  }
  return
}

// -----

// A matmul whose sizes divide the tile: 16x16 threads per 64x64 output tile; each K step
// stages A and B tiles in workgroup memory, copied by all threads between barriers.

// CHECK-LABEL: func.func @matmul
// CHECK: gpu.launch
// CHECK-DAG: memref.alloc() : memref<64x16xf32, #gpu.address_space<workgroup>>
// CHECK-DAG: memref.alloc() : memref<16x64xf32, #gpu.address_space<workgroup>>
// CHECK: scf.for
// CHECK: gpu.barrier
// CHECK: memref.store {{.*}}#gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK: arith.mulf
// CHECK-NOT: linalg.
func.func @matmul(%a: memref<128x64xf32>, %b: memref<64x128xf32>, %c: memref<128x128xf32>) {
  linalg.matmul ins(%a, %b : memref<128x64xf32>, memref<64x128xf32>)
                outs(%c : memref<128x128xf32>)
  return
}

// -----

// No parallel loop (a full reduction): one block of one thread, the loop stays serial.

#id1 = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @sum_all
// CHECK: %[[ONE:.*]] = arith.constant 1 : index
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[ONE]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]]) threads({{.*}}) in ({{.*}} = %[[ONE]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]])
// CHECK: scf.for
// CHECK: arith.addf
func.func @sum_all(%x: memref<100xf32>, %acc: memref<f32>) {
  linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%x : memref<100xf32>) outs(%acc : memref<f32>) {
    ^bb0(%u: f32, %a: f32):
      %s = arith.addf %u, %a : f32
      linalg.yield %s : f32
  }
  return
}
