// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-linalg-to-gpu-mma{chip=sm_80 allow_tf32=1})' --split-input-file | FileCheck %s
// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-linalg-to-gpu-mma{chip=sm_80 allow_tf32=0})' --split-input-file | FileCheck %s --check-prefix=NOTF32
// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-linalg-to-gpu-mma{chip=sm_75 allow_tf32=1})' --split-input-file | FileCheck %s --check-prefix=SM75

// One block per 64x64 tile of C (grid 2x2), four warps of 32 lanes (block 64x2); each lane
// reads its C fragments once (rows groupID and groupID + 8, columns 2 * (lane % 4) + {0, 1}),
// carries the warp's 2 x 4 accumulators through the K loop, rounds A and B to tf32 and
// issues 8 mma.sync per k step of 4, and writes C once after the loop.
// CHECK-DAG: #[[ROW:.*]] = affine_map<()[s0, s1, s2] -> (s0 * 64 + s1 * 32 + s2 floordiv 4)>
// CHECK-DAG: #[[COL:.*]] = affine_map<()[s0, s1, s2] -> (s0 * 64 + s2 * 2 - (s2 floordiv 4) * 8 + (s1 floordiv 32) * 32)>
// CHECK-DAG: #[[K:.*]] = affine_map<(d0)[s0] -> (d0 + s0 mod 4)>
// CHECK-LABEL: func.func @matmul_tf32(
// CHECK-SAME: %[[A:.*]]: memref<128x64xf32>, %[[B:.*]]: memref<64x128xf32>, %[[C:.*]]: memref<128x128xf32>)
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %[[C2]], {{.*}} = %[[C2]], {{.*}} = %[[C1]]) threads({{.*}}) in ({{.*}} = %[[C64]], {{.*}} = %[[C2]], {{.*}} = %[[C1]])
// CHECK: %[[LANE:.*]] = gpu.lane_id
// CHECK: %[[R:.*]] = affine.apply #[[ROW]]()[%{{.*}}, %{{.*}}, %[[LANE]]]
// CHECK: %[[CC:.*]] = affine.apply #[[COL]]()[%{{.*}}, %{{.*}}, %[[LANE]]]
// CHECK: vector.load %[[C]][%[[R]], %[[CC]]] : memref<128x128xf32>, vector<2xf32>
// CHECK: %[[ACC:.*]]:8 = scf.for %[[KK:.*]] = %{{.*}} to %[[C64]] step %{{.*}} iter_args({{.*}}) -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK: %[[AK:.*]] = affine.apply #[[K]](%[[KK]])[%[[LANE]]]
// CHECK: vector.load %[[A]][%[[R]], %[[AK]]] : memref<128x64xf32>, vector<1xf32>
// CHECK: memref.load %[[B]][%[[AK]], %{{.*}}] : memref<64x128xf32>
// CHECK: nvvm.convert.float.to.tf32 %{{.*}} {rnd = #nvvm.fp_rnd_mode<rna>}
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 4], tf32Enabled} : (vector<2x1xf32>, vector<1x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK-COUNT-7: nvgpu.mma.sync
// CHECK-NOT: nvgpu.mma.sync
// CHECK: scf.yield
// CHECK-NOT: vector.load %[[C]]
// CHECK: vector.store %{{.*}}, %[[C]]
// CHECK-NOT: linalg.matmul
// NOTF32-LABEL: func.func @matmul_tf32(
// NOTF32-NOT: gpu.launch
// NOTF32: linalg.matmul
// SM75-LABEL: func.func @matmul_tf32(
// SM75-NOT: gpu.launch
// SM75: linalg.matmul
func.func @matmul_tf32(%a: memref<128x64xf32>, %b: memref<64x128xf32>, %c: memref<128x128xf32>) {
  linalg.matmul ins(%a, %b : memref<128x64xf32>, memref<64x128xf32>) outs(%c : memref<128x128xf32>)
  return
}

// -----

// f16: m16n8k16 with f16 accumulators, no opt-in, no rounding; K steps of 16.
// CHECK-LABEL: func.func @matmul_f16(
// CHECK: gpu.launch
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C16:.*]] iter_args
// CHECK-NOT: nvvm.convert.float.to.tf32
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf16>) -> vector<2x2xf16>
// NOTF32-LABEL: func.func @matmul_f16(
// NOTF32: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]}
// SM75-LABEL: func.func @matmul_f16(
// SM75-NOT: gpu.launch
// SM75: linalg.matmul
func.func @matmul_f16(%a: memref<64x32xf16>, %b: memref<32x128xf16>, %c: memref<64x128xf16>) {
  linalg.matmul ins(%a, %b : memref<64x32xf16>, memref<32x128xf16>) outs(%c : memref<64x128xf16>)
  return
}

// -----

// B read transposed through the maps (C += A @ B^T): each lane reads B[n, k], k contiguous.
// CHECK-LABEL: func.func @matmul_transposed_b(
// CHECK-SAME: %{{.*}}: memref<64x32xf32>, %[[BT:.*]]: memref<64x32xf32>
// CHECK: scf.for
// CHECK: vector.load %[[BT]][%{{.*}}, %{{.*}}] : memref<64x32xf32>, vector<1xf32>
// CHECK: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 4], tf32Enabled}
func.func @matmul_transposed_b(%a: memref<64x32xf32>, %b: memref<64x32xf32>, %c: memref<64x64xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
    ins(%a, %b : memref<64x32xf32>, memref<64x32xf32>) outs(%c : memref<64x64xf32>)
  return
}

// -----

// M, N not multiples of 64 (gpu-pad-matmuls pads these on tensors first), f64 (no tensor
// core instruction here): left to convert-linalg-to-gpu-launch.
// CHECK-LABEL: func.func @not_taken(
// CHECK-NOT: gpu.launch
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : memref<48x16xf32>
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : memref<64x16xf64>
func.func @not_taken(%a: memref<48x16xf32>, %b: memref<16x64xf32>, %c: memref<48x64xf32>,
                     %d: memref<64x16xf64>, %e: memref<16x64xf64>, %f: memref<64x64xf64>) {
  linalg.matmul ins(%a, %b : memref<48x16xf32>, memref<16x64xf32>) outs(%c : memref<48x64xf32>)
  linalg.matmul ins(%d, %e : memref<64x16xf64>, memref<16x64xf64>) outs(%f : memref<64x64xf64>)
  return
}
