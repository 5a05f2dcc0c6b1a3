// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-linalg-to-llvm{cpu=x86-64-v3})' --split-input-file | FileCheck %s

// The CPU ABI: `void NAME(T* in0, ..., T* out0, ...)`, bare pointers, the caller's output
// buffers written directly (the matmul accumulates into the out-param, no temporary): zero
// fill (a loop nest: a function of its own, cpu-outline-loop-nests), accumulator rows loaded
// once as vectors, vector FMAs, rows stored back.

// CHECK-LABEL: llvm.func @seed_net
// CHECK-SAME: (%[[X:.*]]: !llvm.ptr, %[[Y:.*]]: !llvm.ptr, %[[Z:.*]]: !llvm.ptr, %[[OUT:.*]]: !llvm.ptr)
// CHECK-NOT: llvm.call @malloc
// CHECK: llvm.call @__cellc_nest_seed_net_0(%[[OUT]])
// CHECK: %[[ROW_AT:.*]] = llvm.getelementptr %[[OUT]]
// CHECK: llvm.load %[[ROW_AT]] {{.*}} -> vector<3xf32>
// CHECK: llvm.intr.fmuladd(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<3xf32>, vector<3xf32>, vector<3xf32>) -> vector<3xf32>
// CHECK: llvm.store %{{.*}}, %{{.*}} {{.*}} : vector<3xf32>, !llvm.ptr
// CHECK: llvm.return
// CHECK-NOT: llvm.return %
// CHECK: llvm.func internal @__cellc_nest_seed_net_0(%[[BUF:.*]]: !llvm.ptr) attributes {passthrough = ["noinline"]
// CHECK: %[[ZERO_AT:.*]] = llvm.getelementptr inbounds|nuw %[[BUF]]
// CHECK: llvm.store %{{.*}}, %[[ZERO_AT]] : f32, !llvm.ptr
func.func @seed_net(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>, %z: tensor<1xf32>) -> tensor<2x3xf32> attributes {ms.entry} {
  %e = tensor.empty() : tensor<2x3xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
  %m = linalg.matmul ins(%x, %y : tensor<2x3xf32>, tensor<3x3xf32>) outs(%f : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %m : tensor<2x3xf32>
}

// -----

// A result that is an argument or a constant is copied into the caller's buffer (never
// aliased); a value returned twice fills both buffers (the negation writes one, a loop copies
// it into the other).
// CHECK-LABEL: llvm.func @copies
// CHECK-SAME: (%[[A:.*]]: !llvm.ptr, %[[O0:.*]]: !llvm.ptr, %[[O1:.*]]: !llvm.ptr, %[[O2:.*]]: !llvm.ptr, %[[O3:.*]]: !llvm.ptr)
// CHECK-DAG: llvm.call @__cellc_nest_copies_0(%[[A]], %[[O2]])
// CHECK-DAG: llvm.call @__cellc_nest_copies_1(%[[O2]], %[[O3]])
// CHECK-DAG: "llvm.intr.memcpy"(%[[O0]], %[[A]], %{{.*}})
// CHECK-DAG: "llvm.intr.memcpy"(%[[O1]], %{{.*}}, %{{.*}})
// CHECK: llvm.return
// CHECK: llvm.func internal @__cellc_nest_copies_0
// CHECK: llvm.fneg
func.func @copies(%a: tensor<4xf64>) -> (tensor<4xf64>, tensor<4xf64>, tensor<4xf64>, tensor<4xf64>) {
  %c = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf64>
  %e = tensor.empty() : tensor<4xf64>
  %n = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%a : tensor<4xf64>) outs(%e : tensor<4xf64>) {
  ^bb0(%in: f64, %out: f64):
    %0 = arith.negf %in : f64
    linalg.yield %0 : f64
  } -> tensor<4xf64>
  return %a, %c, %n, %n : tensor<4xf64>, tensor<4xf64>, tensor<4xf64>, tensor<4xf64>
}

// -----

// Private functions are called, not exported; math becomes LLVM intrinsics (libm calls).
// CHECK-LABEL: llvm.func internal @helper
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK: llvm.call @__cellc_nest_helper_0
// CHECK-LABEL: llvm.func @main
// CHECK: llvm.call @helper
// CHECK: llvm.func internal @__cellc_nest_helper_0
// CHECK: llvm.intr.tanh
func.func private @helper(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.tanh %in : f32
    linalg.yield %0 : f32
  } -> tensor<4xf32>
  return %t : tensor<4xf32>
}

func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = func.call @helper(%a) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// The micro-kernels of a large matmul (2^21 multiply-adds or more: cache blocks on the thread
// pool) fuse each multiply-add (llvm.intr.fma, one rounding, as BLAS does); a small matmul's
// stay `fmuladd`, which llc splits unless CELLC_FP_CONTRACT=fast.
// CHECK-LABEL: llvm.func @large
// CHECK: llvm.call @__cellc_dispatch_large_0
// CHECK-LABEL: llvm.func @small
// CHECK-NOT: llvm.intr.fma(
// CHECK: llvm.intr.fmuladd
// CHECK-NOT: llvm.intr.fma(
// CHECK: llvm.return
// CHECK: llvm.func internal @__cellc_task_large_0
// CHECK-NOT: llvm.intr.fmuladd
// CHECK: llvm.intr.fma({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK-NOT: llvm.intr.fmuladd
// CHECK: llvm.return
func.func @large(%a: tensor<192x128xf32>, %b: tensor<128x256xf32>) -> tensor<192x256xf32> {
  %e = tensor.empty() : tensor<192x256xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<192x256xf32>) -> tensor<192x256xf32>
  %m = linalg.matmul ins(%a, %b : tensor<192x128xf32>, tensor<128x256xf32>) outs(%f : tensor<192x256xf32>) -> tensor<192x256xf32>
  return %m : tensor<192x256xf32>
}

func.func @small(%a: tensor<6x4xf32>, %b: tensor<4x16xf32>) -> tensor<6x16xf32> {
  %e = tensor.empty() : tensor<6x16xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<6x16xf32>) -> tensor<6x16xf32>
  %m = linalg.matmul ins(%a, %b : tensor<6x4xf32>, tensor<4x16xf32>) outs(%f : tensor<6x16xf32>) -> tensor<6x16xf32>
  return %m : tensor<6x16xf32>
}

// -----

// A large matmul of one cache block (24 x 256 outputs, 512 deep: 2^21.6 multiply-adds): no
// parallel blocks, but its loop over 256-deep reduction slices marks it, and its kernel fuses.
// CHECK-LABEL: llvm.func @one_block
// CHECK-NOT: llvm.intr.fmuladd
// CHECK: llvm.intr.fma({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK-NOT: llvm.intr.fmuladd
// CHECK: llvm.return
func.func @one_block(%a: tensor<24x512xf32>, %b: tensor<512x256xf32>) -> tensor<24x256xf32> {
  %e = tensor.empty() : tensor<24x256xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<24x256xf32>) -> tensor<24x256xf32>
  %m = linalg.matmul ins(%a, %b : tensor<24x512xf32>, tensor<512x256xf32>) outs(%f : tensor<24x256xf32>) -> tensor<24x256xf32>
  return %m : tensor<24x256xf32>
}

// -----

// A dynamic batch's result is written straight into the caller's buffer, as a static one's
// (buffer-results-to-out-params{hoist-dynamic-allocs}; the batch is appended to the
// arguments): no temporary and no copy.
// CHECK-LABEL: llvm.func @dynamic_batch
// CHECK-SAME: (%[[A:.*]]: !llvm.ptr, %[[OUT:.*]]: !llvm.ptr, %[[BATCH:.*]]: i64)
// CHECK-NOT: llvm.call @malloc
// CHECK: llvm.icmp "slt" %{{.*}}, %[[BATCH]]
// CHECK: llvm.fneg
// CHECK: %[[AT:.*]] = llvm.getelementptr inbounds|nuw %[[OUT]]
// CHECK: llvm.store %{{.*}}, %[[AT]]
// CHECK-NOT: memcpy
// CHECK: llvm.return
func.func @dynamic_batch(%a: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {ms.entry} {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %a, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%n) : tensor<?x4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<?x4xf32>) outs(%e : tensor<?x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.negf %in : f32
    linalg.yield %0 : f32
  } -> tensor<?x4xf32>
  return %r : tensor<?x4xf32>
}

// -----

// Two products zero-filled alike keep a fill each (numbered until bufferization, so CSE does
// not make them one): each is filled in its own out-param, nothing is copied. (Merged, the one
// fill's buffer went to the first product and a memcpy of it to the other.)
// CHECK-LABEL: llvm.func @two_zeroed_products
// CHECK-NOT: memcpy
// CHECK: llvm.return
// CHECK-NOT: cellc.fill
func.func @two_zeroed_products(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>, %c: tensor<64x64xf32>) -> (tensor<64x64xf32>, tensor<64x64xf32>) attributes {ms.entry} {
  %z = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<64x64xf32>
  %f1 = linalg.fill ins(%z : f32) outs(%e1 : tensor<64x64xf32>) -> tensor<64x64xf32>
  %m1 = linalg.matmul ins(%a, %b : tensor<64x64xf32>, tensor<64x64xf32>) outs(%f1 : tensor<64x64xf32>) -> tensor<64x64xf32>
  %e2 = tensor.empty() : tensor<64x64xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<64x64xf32>) -> tensor<64x64xf32>
  %m2 = linalg.matmul ins(%a, %c : tensor<64x64xf32>, tensor<64x64xf32>) outs(%f2 : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %m1, %m2 : tensor<64x64xf32>, tensor<64x64xf32>
}

// -----

// A temporary of at most 1 KiB lives on the stack (promote-buffers-to-stack): the 8 row sums
// are an alloca, the 1024 column sums (4 KiB) a malloc freed before the return.
// CHECK-LABEL: llvm.func @stack_and_heap
// CHECK-NOT: llvm.call @malloc
// CHECK: %[[ROWS:.*]] = llvm.alloca %{{.*}} x f32
// CHECK: %[[HEAP:.*]] = llvm.call @malloc
// CHECK-NOT: llvm.alloca
// CHECK: llvm.call @free(%[[HEAP]])
// CHECK-NEXT: llvm.return
func.func @stack_and_heap(%a: tensor<8x1024xf32>) -> tensor<8x1024xf32> attributes {ms.entry} {
  %z = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<8xf32>
  %f1 = linalg.fill ins(%z : f32) outs(%e1 : tensor<8xf32>) -> tensor<8xf32>
  %rows = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<8x1024xf32>) outs(%f1 : tensor<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %acc, %in : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %e2 = tensor.empty() : tensor<1024xf32>
  %f2 = linalg.fill ins(%z : f32) outs(%e2 : tensor<1024xf32>) -> tensor<1024xf32>
  %cols = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]}
      ins(%a : tensor<8x1024xf32>) outs(%f2 : tensor<1024xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %acc, %in : f32
    linalg.yield %s : f32
  } -> tensor<1024xf32>
  %e3 = tensor.empty() : tensor<8x1024xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%a, %rows, %cols : tensor<8x1024xf32>, tensor<8xf32>, tensor<1024xf32>) outs(%e3 : tensor<8x1024xf32>) {
  ^bb0(%x: f32, %r0: f32, %c0: f32, %out: f32):
    %0 = arith.subf %x, %r0 : f32
    %1 = arith.subf %0, %c0 : f32
    linalg.yield %1 : f32
  } -> tensor<8x1024xf32>
  return %r : tensor<8x1024xf32>
}
