// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-linalg-to-gpu-block-reductions)' --split-input-file | FileCheck %s

// A row sum of exp: one block per row (33), 32 threads (70 elements, about 4 per thread);
// thread t adds exp(x[row, g]) for g = t, t + 32, ...; gpu.all_reduce combines the threads'
// partial sums; thread 0 adds the total into the output (its initial value).

#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @row_sum_exp
// CHECK-SAME: (%[[X:.*]]: memref<33x70xf32>, %[[OUT:.*]]: memref<33xf32>)
// CHECK-DAG: %[[ROWS:.*]] = arith.constant 33 : index
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[THREADS:.*]] = arith.constant 32 : index
// CHECK: gpu.launch blocks(%[[B:[^,]+]], %{{[^,]+}}, %{{[^)]+}}) in (%{{[^ ]+}} = %[[ROWS]], %{{[^ ]+}} = %[[ONE]], %{{[^ ]+}} = %[[ONE]])
// CHECK-SAME: threads(%[[T:[^,]+]], %{{[^,]+}}, %{{[^)]+}}) in (%{{[^ ]+}} = %[[THREADS]], %{{[^ ]+}} = %[[ONE]], %{{[^ ]+}} = %[[ONE]])
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[N:.*]] = arith.constant 70 : index
// CHECK-DAG: %[[STEP:.*]] = arith.constant 32 : index
// CHECK: %[[PARTIAL:.*]] = scf.for %[[G:.*]] = %[[T]] to %[[N]] step %[[STEP]] iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32)
// CHECK: %[[V:.*]] = memref.load %[[X]][%[[B]], %[[G]]]
// CHECK: %[[E:.*]] = math.exp %[[V]]
// CHECK: %[[S:.*]] = arith.addf %[[E]], %[[ACC]]
// CHECK: scf.yield %[[S]]
// CHECK: %[[TOTAL:.*]] = gpu.all_reduce add %[[PARTIAL]] uniform
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[T]], %{{.*}}
// CHECK: scf.if %[[FIRST]]
// CHECK: %[[INIT:.*]] = memref.load %[[OUT]][%[[B]]]
// CHECK: %[[R:.*]] = arith.addf %[[TOTAL]], %[[INIT]]
// CHECK: memref.store %[[R]], %[[OUT]][%[[B]]]
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
func.func @row_sum_exp(%x: memref<33x70xf32>, %out: memref<33xf32>) {
  linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<33x70xf32>) outs(%out : memref<33xf32>) {
    ^bb0(%u: f32, %acc: f32):
      %e = math.exp %u : f32
      %s = arith.addf %e, %acc : f32
      linalg.yield %s : f32
  }
  return
}

// -----

// Two parallel loops (blocks: 4 x 3 = 12, delinearized) and two reduced loops (8 x 64 = 512
// elements: 128 threads; g delinearized into g / 64, g % 64); a scale read at a constant index;
// the max combines as the body did (accumulator first), from -inf.

#x = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1, d3)>
#scale = affine_map<(d0, d1, d2, d3) -> (0)>
#out = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-LABEL: func.func @max_4d
// CHECK-SAME: (%[[X:.*]]: memref<4x8x3x64xf32>, %[[K:.*]]: memref<1xf32>, %[[OUT:.*]]: memref<4x3xf32>)
// CHECK-DAG: %[[BLOCKS:.*]] = arith.constant 12 : index
// CHECK-DAG: %[[THREADS:.*]] = arith.constant 128 : index
// CHECK: gpu.launch blocks(%[[B:[^,]+]], %{{[^)]+}}) in (%{{[^ ]+}} = %[[BLOCKS]], %{{[^)]+}}) threads(%[[T:[^,]+]], %{{[^)]+}}) in (%{{[^ ]+}} = %[[THREADS]],
// CHECK-DAG: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[B0:.*]] = arith.divui %[[B]], %{{.*}}
// CHECK-DAG: %[[B1:.*]] = arith.remui %[[B]], %{{.*}}
// CHECK: scf.for %[[G:.*]] = %[[T]] to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[NINF]])
// CHECK-DAG: %[[G0:.*]] = arith.divui %[[G]], %{{.*}}
// CHECK-DAG: %[[G1:.*]] = arith.remui %[[G]], %{{.*}}
// CHECK: %[[V:.*]] = memref.load %[[X]][%[[B0]], %[[G0]], %[[B1]], %[[G1]]]
// CHECK: %[[S:.*]] = memref.load %[[K]][%{{.*}}]
// CHECK: %[[P:.*]] = arith.mulf %[[V]], %[[S]]
// CHECK: arith.maximumf %[[ACC]], %[[P]]
// CHECK: %[[TOTAL:.*]] = gpu.all_reduce maximumf
// CHECK: scf.if
// CHECK: %[[INIT:.*]] = memref.load %[[OUT]][%[[B0]], %[[B1]]]
// CHECK: arith.maximumf %[[INIT]], %[[TOTAL]]
func.func @max_4d(%x: memref<4x8x3x64xf32>, %k: memref<1xf32>, %out: memref<4x3xf32>) {
  linalg.generic {indexing_maps = [#x, #scale, #out],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %k : memref<4x8x3x64xf32>, memref<1xf32>) outs(%out : memref<4x3xf32>) {
    ^bb0(%u: f32, %s: f32, %acc: f32):
      %p = arith.mulf %u, %s : f32
      %m = arith.maximumf %acc, %p : f32
      linalg.yield %m : f32
  }
  return
}

// -----

// Integers: an i32 sum and an i64 signed max (from the type's minimum), 256 threads for
// 4096 elements.

#id1 = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @integers
// CHECK: gpu.launch
// CHECK: gpu.all_reduce add %{{.*}} uniform
// CHECK-NEXT: } : (i32) -> i32
// CHECK: gpu.launch
// CHECK: arith.constant -9223372036854775808 : i64
// CHECK: gpu.all_reduce maxsi %{{.*}} uniform
// CHECK-NEXT: } : (i64) -> i64
func.func @integers(%x: memref<4096xi32>, %y: memref<4096xi64>, %s: memref<i32>, %m: memref<i64>) {
  linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%x : memref<4096xi32>) outs(%s : memref<i32>) {
    ^bb0(%u: i32, %acc: i32):
      %r = arith.addi %u, %acc : i32
      linalg.yield %r : i32
  }
  linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%y : memref<4096xi64>) outs(%m : memref<i64>) {
    ^bb0(%u: i64, %acc: i64):
      %r = arith.maxsi %u, %acc : i64
      linalg.yield %r : i64
  }
  return
}

// -----

// Left to one thread per output: a column sum (the innermost index of x is a parallel loop:
// a thread per column reads coalesced), a row sum of fewer than 32 elements, an f16 sum (no
// 16-bit shuffles), an argmax-like body reading linalg.index, and an op on tensors.

#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
#cols = affine_map<(d0, d1) -> (d1)>
#id1 = affine_map<(d0) -> (d0)>
#all = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-5: linalg.generic
// CHECK-NOT: gpu.launch
func.func @left_alone(%x: memref<300x64xf32>, %cols: memref<64xf32>, %y: memref<8x20xf32>,
                      %rows: memref<8xf32>, %h: memref<512xf16>, %hs: memref<f16>,
                      %i: memref<512xi64>, %is: memref<i64>, %t: tensor<512xf32>,
                      %ts: tensor<f32>) -> tensor<f32> {
  linalg.generic {indexing_maps = [#id, #cols], iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<300x64xf32>) outs(%cols : memref<64xf32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<8x20xf32>) outs(%rows : memref<8xf32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%h : memref<512xf16>) outs(%hs : memref<f16>) {
    ^bb0(%u: f16, %acc: f16):
      %s = arith.addf %u, %acc : f16
      linalg.yield %s : f16
  }
  linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%i : memref<512xi64>) outs(%is : memref<i64>) {
    ^bb0(%u: i64, %acc: i64):
      %k = linalg.index 0 : index
      %ki = arith.index_cast %k : index to i64
      %s = arith.addi %ki, %acc : i64
      linalg.yield %s : i64
  }
  %r = linalg.generic {indexing_maps = [#id1, #all], iterator_types = ["reduction"]}
      ins(%t : tensor<512xf32>) outs(%ts : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}
