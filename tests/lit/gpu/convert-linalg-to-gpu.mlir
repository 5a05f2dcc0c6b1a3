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

// A full reduction too small to split (100 < 256 elements) has no parallel loop: one block of
// 32 threads, each adding every 32nd element, then a tree across them (gpu.all_reduce); a
// reduction of fewer than 32 elements stays serial in one thread of one block.

#id1 = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @sum_all
// CHECK: gpu.launch_func @cellc_kernels::@[[R:.*]] blocks in (%[[ONE:.*]], %[[ONE]], %[[ONE]]) threads in (%[[C32:.*]], %[[ONE]], %[[ONE]])
// CHECK: gpu.launch_func @cellc_kernels::@[[S:.*]] blocks in (%[[ONE]], %[[ONE]], %[[ONE]]) threads in (%[[ONE]], %[[ONE]], %[[ONE]])
// CHECK: gpu.func @[[R]]
// CHECK: scf.for
// CHECK: arith.addf
// CHECK: gpu.all_reduce add
// CHECK: gpu.func @[[S]]
// CHECK: scf.for
// CHECK: arith.addf
// CHECK-NOT: gpu.all_reduce
func.func @sum_all(%x: tensor<100xf32>, %init: tensor<f32>, %few: tensor<20xf32>) -> tensor<f32> {
  %r = linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%x : tensor<100xf32>) outs(%init : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  %t = linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%few : tensor<20xf32>) outs(%r : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %t : tensor<f32>
}

// -----

// The whole composition on a large full reduction: gpu-split-reductions reads x as 32x512
// (a view, bound to x's buffer) and the first stage runs 2 blocks of 256 threads, thread p
// reading column p of the view, x[c * 512 + p] (neighbouring threads, neighbouring elements);
// the initial value is an argument, never written: it is copied into the output, and the last
// stage, one block of 128 threads (convert-linalg-to-gpu-block-reductions), adds the 512
// partial sums into that: a strided share per thread, then gpu.all_reduce.
// (Each stage's own rewrites: gpu-split-reductions.mlir, gpu-pad-matmuls.mlir, ...)

#id1 = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @sum_split
// CHECK-SAME: (%[[X:.*]]: memref<16384xf32>, %[[INIT:.*]]: memref<f32>, %[[OUT:.*]]: memref<f32>)
// CHECK: %[[X2:.*]] = memref.expand_shape %[[X]] {{\[}}[0, 1]] output_shape [32, 512]
// CHECK: %[[P1:.*]] = memref.alloc() {{.*}} : memref<512xf32>
// CHECK: gpu.launch_func @cellc_kernels::@[[S1:.*]] blocks in {{.*}} args(%[[X2]] : memref<32x512xf32>, %[[P1]] : memref<512xf32>)
// CHECK: memref.copy %[[INIT]], %[[OUT]]
// CHECK: gpu.launch_func @cellc_kernels::@[[S2:.*]] blocks in (%[[C1:.*]], %[[C1]], %[[C1]]) threads in (%[[C128:.*]], %[[C1]], %[[C1]]) args(%[[P1]] : memref<512xf32>, %[[OUT]] : memref<f32>)
// CHECK: gpu.func @[[S1]]({{.*}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>, known_grid_size = array<i32: 2, 1, 1>}
// CHECK: scf.for %[[C:.*]] =
// CHECK: memref.load %{{.*}}[%[[C]], %{{.*}}] : memref<32x1xf32, strided<[512, 1], offset: ?>>
// CHECK: arith.addf
// CHECK: gpu.func @[[S2]]({{.*}}) kernel attributes {known_block_size = array<i32: 128, 1, 1>, known_grid_size = array<i32: 1, 1, 1>}
// CHECK: gpu.all_reduce add
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

// Bool tensors are byte buffers (convert-bool-tensors-to-i8, as on the CPU): the mask argument
// and result are memref<...xi8>; the kernel truncates the loaded byte to i1 and extends the
// comparison before storing it.

#id = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @mask_and
// CHECK-SAME: (%[[X:.*]]: memref<64xf32>, %[[M:.*]]: memref<64xi8>, %[[OUT:.*]]: memref<64xi8>)
// CHECK: gpu.launch_func
// CHECK-SAME: args(%[[X]] : memref<64xf32>, %[[M]] : memref<64xi8>, %[[OUT]] : memref<64xi8>)
// CHECK: gpu.func
// CHECK-DAG: arith.trunci %{{.*}} : i8 to i1
// CHECK-DAG: arith.cmpf ogt
// CHECK: arith.extui %{{.*}} : i1 to i8
// CHECK: memref.store %{{.*}} : memref<{{.*}}xi8
func.func @mask_and(%x: tensor<64xf32>, %m: tensor<64xi1>) -> tensor<64xi1> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64xi1>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%x, %m : tensor<64xf32>, tensor<64xi1>) outs(%e : tensor<64xi1>) {
    ^bb0(%u: f32, %b: i1, %o: i1):
      %positive = arith.cmpf ogt, %u, %zero : f32
      %both = arith.andi %positive, %b : i1
      linalg.yield %both : i1
  } -> tensor<64xi1>
  return %r : tensor<64xi1>
}
