// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-linalg-to-gpu)' --split-input-file | FileCheck %s

// An elementwise op with a broadcast operand: the two parallel loops tile onto blocks (x: the
// inner loop) and 32x8 threads; the result becomes a trailing out-param; one kernel.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @bias_add
// CHECK-SAME: (%[[X:.*]]: memref<37x50xf32>, %[[B:.*]]: memref<50xf32>, %[[OUT:.*]]: memref<37x50xf32>)
// CHECK-SAME: cellc.num_results = 1
// CHECK: gpu.launch_func @cellc_kernels::@[[K:.*]] blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in
// CHECK-SAME: args(%[[X]] : memref<37x50xf32>, %[[B]] : memref<50xf32>, %[[OUT]] : memref<37x50xf32>)
// CHECK: gpu.module @cellc_kernels
// CHECK: gpu.func @[[K]]({{.*}}) kernel attributes {known_block_size = array<i32: 32, 8, 1>, known_grid_size = array<i32: 2, 5, 1>}
// CHECK-DAG: gpu.block_id x
// CHECK-DAG: gpu.thread_id x
// CHECK: arith.addf
func.func @bias_add(%x: tensor<37x50xf32>, %b: tensor<50xf32>) -> tensor<37x50xf32> {
  %e = tensor.empty() : tensor<37x50xf32>
  %r = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<37x50xf32>, tensor<50xf32>) outs(%e : tensor<37x50xf32>) {
    ^bb0(%u: f32, %v: f32, %o: f32):
      %s = arith.addf %u, %v : f32
      linalg.yield %s : f32
  } -> tensor<37x50xf32>
  return %r : tensor<37x50xf32>
}

// -----

// A matmul whose sizes divide 64x64x16: blocks over output tiles, the K loop stages A and B
// tiles in shared memory (memref.global in the workgroup address space), copied by all 16x16
// threads between barriers.

// CHECK-LABEL: func.func @matmul
// CHECK: gpu.launch_func @cellc_kernels::@{{.*}} blocks in
// CHECK: gpu.launch_func @cellc_kernels::@[[MM:.*]] blocks in
// CHECK: gpu.module @cellc_kernels
// CHECK-DAG: memref.global "private" @{{.*}} : memref<64x16xf32, #gpu.address_space<workgroup>>
// CHECK-DAG: memref.global "private" @{{.*}} : memref<16x64xf32, #gpu.address_space<workgroup>>
// CHECK: gpu.func @[[MM]]({{.*}}) kernel attributes {known_block_size = array<i32: 16, 16, 1>, known_grid_size = array<i32: 2, 2, 1>}
// CHECK: scf.for
// CHECK: gpu.barrier
// CHECK: memref.store {{.*}}#gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK: arith.mulf
func.func @matmul(%a: tensor<128x64xf32>, %b: tensor<64x128xf32>) -> tensor<128x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x128xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<128x128xf32>) -> tensor<128x128xf32>
  %r = linalg.matmul ins(%a, %b : tensor<128x64xf32>, tensor<64x128xf32>)
                     outs(%c : tensor<128x128xf32>) -> tensor<128x128xf32>
  return %r : tensor<128x128xf32>
}

// -----

// A full reduction has no parallel loop: one block of one thread, the loop stays serial.

#id1 = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @sum_all
// CHECK: gpu.launch_func @cellc_kernels::@[[R:.*]] blocks in (%[[ONE:.*]], %[[ONE]], %[[ONE]]) threads in (%[[ONE]], %[[ONE]], %[[ONE]])
// CHECK: gpu.func @[[R]]
// CHECK: scf.for
// CHECK: arith.addf
func.func @sum_all(%x: tensor<100xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%x : tensor<100xf32>) outs(%init : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// A large full reduction is split before mapping (linalg_to_gpu.split_reductions): 16384 ->
// 512 partial sums (2 blocks of 256 threads, each thread a strided 32-element chunk: thread p
// reads x[c * 512 + p]), split again 512 -> 16 (one block of 16 threads), then a 16-term last
// stage that adds into the initial value.

#id1 = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @sum_split
// CHECK-SAME: (%[[X:.*]]: memref<16384xf32>, %[[INIT:.*]]: memref<f32>, %[[OUT:.*]]: memref<f32>)
// CHECK: %[[P1:.*]] = memref.alloc() {{.*}} : memref<512xf32>
// CHECK: gpu.launch_func @cellc_kernels::@{{.*}} args(%[[P1]] : memref<512xf32>)
// CHECK: gpu.launch_func @cellc_kernels::@[[S1:.*]] blocks in {{.*}} args(%[[P1]] : memref<512xf32>, %[[X]] : memref<16384xf32>)
// CHECK: %[[P2:.*]] = memref.alloc() {{.*}} : memref<16xf32>
// CHECK: gpu.launch_func @cellc_kernels::@{{.*}} args(%[[P2]] : memref<16xf32>)
// CHECK: gpu.launch_func @cellc_kernels::@[[S2:.*]] blocks in {{.*}} args(%[[P2]] : memref<16xf32>, %[[P1]] : memref<512xf32>)
// The initial value is an argument, which code never writes: it is copied into the output,
// and the last stage adds into that.
// CHECK: memref.copy %[[INIT]], %[[OUT]]
// CHECK: gpu.launch_func @cellc_kernels::@[[S3:.*]] blocks in {{.*}} args(%[[P2]] : memref<16xf32>, %[[OUT]] : memref<f32>)
// CHECK: gpu.func @[[S1]]({{.*}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>, known_grid_size = array<i32: 2, 1, 1>}
// CHECK-DAG: %[[C512:.*]] = arith.constant 512 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: gpu.block_id x
// CHECK-DAG: gpu.thread_id x
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %[[C32]]
// CHECK: %[[BASE:.*]] = arith.muli %[[C]], %[[C512]]
// CHECK: %[[G:.*]] = arith.addi %[[BASE]], %{{.*}}
// CHECK: memref.load %{{.*}}[%[[G]]] : memref<16384xf32>
// CHECK: arith.addf
// CHECK: gpu.func @[[S2]]({{.*}}) kernel attributes {known_block_size = array<i32: 16, 1, 1>, known_grid_size = array<i32: 1, 1, 1>}
// CHECK: gpu.func @[[S3]]({{.*}}) kernel attributes {known_block_size = array<i32: 1, 1, 1>, known_grid_size = array<i32: 1, 1, 1>}
// CHECK: scf.for
// CHECK: memref.load %{{.*}} : memref<16xf32>
func.func @sum_split(%x: tensor<16384xf32>, %init: tensor<f32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%x : tensor<16384xf32>) outs(%init : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}

// -----

// A column reduce over 3001 rows into 7 outputs: the first stage runs 94 chunks x 7 columns
// (threads x over the columns, y over the chunks), with the last chunk masked (3001 is prime).

#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @column_sum
// CHECK: %[[P:.*]] = memref.alloc() {{.*}} : memref<94x7xf32>
// CHECK: gpu.launch_func @cellc_kernels::@[[S1:.*]] blocks in {{.*}} args(%[[P]] : memref<94x7xf32>, %{{.*}} : memref<3001x7xf32>)
// CHECK: gpu.launch_func @cellc_kernels::@[[S2:.*]] blocks in {{.*}} args(%[[P]] : memref<94x7xf32>, %{{.*}} : memref<7xf32>)
// CHECK: gpu.func @[[S1]]({{.*}}) kernel attributes {known_block_size = array<i32: 8, 32, 1>, known_grid_size = array<i32: 1, 3, 1>}
// CHECK: scf.for
// CHECK: %[[IN:.*]] = arith.cmpi ult
// CHECK: %[[ROW:.*]] = arith.minui
// CHECK: memref.load %{{.*}}[%[[ROW]], %{{.*}}] : memref<3001x7xf32>
// CHECK: %[[SUM:.*]] = arith.addf
// CHECK: arith.select %[[IN]], %[[SUM]]
// CHECK: gpu.func @[[S2]]({{.*}}) kernel attributes {known_block_size = array<i32: 8, 1, 1>, known_grid_size = array<i32: 1, 1, 1>}
func.func @column_sum(%x: tensor<3001x7xf32>) -> tensor<7xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<7xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<7xf32>) -> tensor<7xf32>
  %r = linalg.generic {indexing_maps = [#id, #cols], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<3001x7xf32>) outs(%f : tensor<7xf32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<7xf32>
  return %r : tensor<7xf32>
}

// -----

// A matmul whose sizes do not divide 64x64x16 (67x45 @ 45x33): A and B are copied, zero-padded,
// into 128x48 and 48x64 buffers, the accumulator is filled at 128x64, the shared-memory tiled
// kernel runs on them (2 blocks of 16x16 threads), and the 67x33 corner is copied out.

// CHECK-LABEL: func.func @matmul_padded
// CHECK-SAME: (%[[A:.*]]: memref<67x45xf32>, %[[B:.*]]: memref<45x33xf32>, %[[OUT:.*]]: memref<67x33xf32>)
// CHECK: %[[AP:.*]] = memref.alloc() {{.*}} : memref<128x48xf32>
// CHECK: gpu.launch_func @cellc_kernels::@[[PAD:.*]] blocks in {{.*}} args(%[[AP]] : memref<128x48xf32>, %[[A]] : memref<67x45xf32>)
// CHECK: %[[BP:.*]] = memref.alloc() {{.*}} : memref<48x64xf32>
// CHECK: gpu.launch_func @cellc_kernels::@{{.*}} args(%[[BP]] : memref<48x64xf32>, %[[B]] : memref<45x33xf32>)
// CHECK: %[[CP:.*]] = memref.alloc() {{.*}} : memref<128x64xf32>
// CHECK: gpu.launch_func @cellc_kernels::@{{.*}} args(%[[CP]] : memref<128x64xf32>)
// CHECK: gpu.launch_func @cellc_kernels::@[[MM:.*]] blocks in {{.*}} args(%[[AP]] : memref<128x48xf32>, %[[BP]] : memref<48x64xf32>, %[[CP]] : memref<128x64xf32>)
// CHECK: gpu.launch_func @cellc_kernels::@[[CROP:.*]] blocks in {{.*}} args(%[[OUT]] : memref<67x33xf32>, %[[CP]] : memref<128x64xf32>)
// CHECK: gpu.func @[[PAD]]
// CHECK: %[[INSIDE:.*]] = arith.andi
// CHECK: %[[V:.*]] = memref.load %{{.*}} : memref<67x45xf32>
// CHECK: arith.select %[[INSIDE]], %[[V]]
// CHECK: gpu.func @[[MM]]({{.*}}) kernel attributes {known_block_size = array<i32: 16, 16, 1>, known_grid_size = array<i32: 1, 2, 1>}
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: gpu.barrier
// CHECK: memref.store {{.*}}#gpu.address_space<workgroup>>
// CHECK: arith.mulf
// CHECK: gpu.func @[[CROP]]
func.func @matmul_padded(%a: tensor<67x45xf32>, %b: tensor<45x33xf32>) -> tensor<67x33xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<67x33xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<67x33xf32>) -> tensor<67x33xf32>
  %r = linalg.matmul ins(%a, %b : tensor<67x45xf32>, tensor<45x33xf32>)
                     outs(%c : tensor<67x33xf32>) -> tensor<67x33xf32>
  return %r : tensor<67x33xf32>
}
