// RUN: cellc opt %s --pass-pipeline='builtin.module(cpu-tile-and-vectorize-matmuls{cpu=x86-64-v3})' --split-input-file | FileCheck %s

// (The CPU level is pinned: the tile width is two SIMD vectors of the level, 16 f32 on AVX2.)
// A matmul becomes register tiles of 6 rows x (2 SIMD vectors) columns, the reduction innermost
// one k at a time: a vector.contract of a 6x1 column of A and a 1xN row of B into the 6xN
// accumulator, which is read before the k loop and written after it (hoisted). The edges
// (67 = 11 * 6 + 1 rows) are peeled into statically shaped tiles of their own.

// CHECK-LABEL: func.func @plain
// CHECK: linalg.fill
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[C6:.*]] iter_args
// CHECK: scf.for
// CHECK: %[[ACC:.*]] = vector.transfer_read {{.*}} : tensor<6x{{[0-9]+}}xf32>, vector<6x{{[0-9]+}}xf32>
// CHECK: scf.for {{.*}} iter_args({{.*}}%{{.*}} = %[[ACC]]) -> ({{.*}}vector<6x{{[0-9]+}}xf32>)
// CHECK: vector.transfer_read {{.*}} vector<6x1xf32>
// CHECK: vector.transfer_read {{.*}} vector<1x{{[0-9]+}}xf32>
// CHECK: vector.contract {{.*}} : vector<6x1xf32>, vector<1x{{[0-9]+}}xf32> into vector<6x{{[0-9]+}}xf32>
// CHECK: vector.transfer_write
// The last row of the output: its own loop with 1-row tiles.
// CHECK: vector.contract {{.*}} : vector<1x1xf32>, vector<1x{{[0-9]+}}xf32> into vector<1x{{[0-9]+}}xf32>
// CHECK-NOT: linalg.matmul
// CHECK: return
func.func @plain(%a: tensor<67x45xf32>, %b: tensor<45x33xf32>) -> tensor<67x33xf32> {
  %e = tensor.empty() : tensor<67x33xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<67x33xf32>) -> tensor<67x33xf32>
  %m = linalg.matmul ins(%a, %b : tensor<67x45xf32>, tensor<45x33xf32>) outs(%f : tensor<67x33xf32>) -> tensor<67x33xf32>
  return %m : tensor<67x33xf32>
}

// -----

// A right operand read as (n, k) is transposed once into a contiguous (k, n) tensor; a left
// operand read as (k, m) stays in place (its 1x6 slice of A^T is contiguous).
// CHECK-LABEL: func.func @both_transposed
// CHECK: %[[BT:.*]] = linalg.transpose ins(%{{.*}} : tensor<33x45xf64>) outs(%{{.*}} : tensor<45x33xf64>) permutation = [1, 0]
// CHECK: vector.contract {{.*}} : vector<1x6xf64>, vector<1x{{[0-9]+}}xf64> into vector<6x{{[0-9]+}}xf64>
// CHECK-NOT: linalg.matmul
// CHECK: return
func.func @both_transposed(%a: tensor<45x67xf64>, %b: tensor<33x45xf64>) -> tensor<67x33xf64> {
  %e = tensor.empty() : tensor<67x33xf64>
  %c = arith.constant 0.0 : f64
  %f = linalg.fill ins(%c : f64) outs(%e : tensor<67x33xf64>) -> tensor<67x33xf64>
  %m = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<45x67xf64>, tensor<33x45xf64>) outs(%f : tensor<67x33xf64>) -> tensor<67x33xf64>
  return %m : tensor<67x33xf64>
}

// -----

// A large matmul (2**21 multiply-adds or more) is first cut into 96 x 256 blocks of the result,
// an scf.forall marked cellc.parallel (cpu-outline-parallel-loops runs it on the thread pool),
// each block a loop over 256-deep slices of the reduction around the register tiles. The
// accumulator's zero fill, used by nothing else, is fused into the blocks: each fills its own.
// CHECK-LABEL: func.func @cache_blocks
// CHECK-NOT: linalg.fill {{.*}} -> tensor<200x512xf32>
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (3, 2) shared_outs
// CHECK: linalg.fill {{.*}} -> tensor<?x256xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %[[KC:c256]]
// CHECK: vector.contract {{.*}} : vector<6x1xf32>, vector<1x{{[0-9]+}}xf32> into vector<6x{{[0-9]+}}xf32>
// CHECK: } {cellc.parallel}
// CHECK-NOT: linalg.matmul
// CHECK-NOT: linalg.fill {{.*}} -> tensor<200x512xf32>
func.func @cache_blocks(%a: tensor<200x300xf32>, %b: tensor<300x500xf32>) -> tensor<200x500xf32> {
  %e = tensor.empty() : tensor<200x500xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<200x500xf32>) -> tensor<200x500xf32>
  %m = linalg.matmul ins(%a, %b : tensor<200x300xf32>, tensor<300x500xf32>) outs(%f : tensor<200x500xf32>) -> tensor<200x500xf32>
  return %m : tensor<200x500xf32>
}

// -----

// A fill that something else reads too stays whole, before the blocks. (B is packed into
// panels of 16 columns; 200 rows are one block's (PANEL_ROWS), so the blocks are column blocks
// of all the rows, and each packs its own columns of B.)
// CHECK-LABEL: func.func @shared_fill
// CHECK: %[[ZEROS:.*]] = linalg.fill {{.*}} -> tensor<200x512xf32>
// CHECK: %[[VIEW:.*]] = linalg.fill {{.*}} -> tensor<200x32x16xf32>
// CHECK: scf.forall (%{{.*}}) in ({{[0-9]+}}) shared_outs(%{{.*}} = %[[VIEW]])
// CHECK-NOT: linalg.fill
// CHECK: linalg.transpose ins(%{{.*}} : tensor<300x{{[0-9]+}}x16xf32>)
// CHECK-NOT: linalg.fill
// CHECK: } {cellc.parallel}
func.func @shared_fill(%a: tensor<200x300xf32>, %b: tensor<300x512xf32>) -> (tensor<200x512xf32>, tensor<200x512xf32>) {
  %e = tensor.empty() : tensor<200x512xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<200x512xf32>) -> tensor<200x512xf32>
  %m = linalg.matmul ins(%a, %b : tensor<200x300xf32>, tensor<300x512xf32>) outs(%f : tensor<200x512xf32>) -> tensor<200x512xf32>
  return %m, %f : tensor<200x512xf32>, tensor<200x512xf32>
}

// -----

// 512 columns (B's rows 2 KiB apart) and 512 rows of A: B is copied into the first columns of a
// buffer one register tile (16) wider, which the matmul reads in place; the accumulator and
// the result keep their 512 columns (no copy of the result). (A reduction 8 deep is too shallow
// to pack B for.)
// CHECK-LABEL: func.func @rows_apart
// CHECK: %[[WIDE:.*]] = bufferization.alloc_tensor() : tensor<8x528xf32>
// CHECK: %[[WINDOW:.*]] = tensor.extract_slice %[[WIDE]][0, 0] [8, 512] [1, 1] : tensor<8x528xf32> to tensor<8x512xf32>
// CHECK: %[[B:.*]] = linalg.copy {{.*}}ins(%arg1 : tensor<8x512xf32>) outs(%[[WINDOW]] : tensor<8x512xf32>)
// CHECK: scf.forall {{.*}} -> (tensor<512x512xf32>)
// CHECK: tensor.extract_slice %[[B]]
// CHECK: } {cellc.parallel}
// CHECK-NOT: linalg.copy
// CHECK: return
func.func @rows_apart(%a: tensor<512x8xf32>, %b: tensor<8x512xf32>) -> tensor<512x512xf32> {
  %e = tensor.empty() : tensor<512x512xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<512x512xf32>) -> tensor<512x512xf32>
  %m = linalg.matmul ins(%a, %b : tensor<512x8xf32>, tensor<8x512xf32>) outs(%f : tensor<512x512xf32>) -> tensor<512x512xf32>
  return %m : tensor<512x512xf32>
}

// -----

// A reduction over a dynamic batch (a weight gradient's depth) is planned at a batch of 64
// (MATMUL_BATCH; an argument's dynamic dim is the batch), so this is a large matmul: its 776 columns are widened to a multiple of the register tile (784), not of
// the SIMD width (776 already is). Its blocks are parallel only when it is large at run time:
// 512 x 784 x depth multiply-adds >= 2**21 (parallel_guards.py).
// CHECK-LABEL: func.func @dynamic_depth
// CHECK: %[[DEPTH:.*]] = tensor.dim %arg1, %c0 : tensor<?x776xf32>
// CHECK: linalg.fill {{.*}} -> tensor<?x784xf32>
// CHECK: %[[MACS:.*]] = arith.muli %[[DEPTH]], %c401408 : index
// CHECK: %[[LARGE:.*]] = arith.cmpi uge, %[[MACS]], %c2097152 : index
// CHECK: call @__cellc_parallel_if(%[[LARGE]]) {cellc.guard = [[G:[0-9]+]] : i64}
// CHECK: scf.forall
// CHECK: } {cellc.guard = [[G]] : i64, cellc.parallel}
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [512, 776] [1, 1] : tensor<512x784xf32> to tensor<512x776xf32>
func.func @dynamic_depth(%a: tensor<512x?xf32>, %b: tensor<?x776xf32>) -> tensor<512x776xf32> {
  %e = tensor.empty() : tensor<512x776xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<512x776xf32>) -> tensor<512x776xf32>
  %m = linalg.matmul ins(%a, %b : tensor<512x?xf32>, tensor<?x776xf32>) outs(%f : tensor<512x776xf32>) -> tensor<512x776xf32>
  return %m : tensor<512x776xf32>
}

// -----

// 20 columns are not a multiple of the register tile's 16 (two AVX2 vectors): B and the
// accumulator get zero columns up to a multiple of the SIMD width (24), the tiles are full
// vectors (a 16-wide and an 8-wide one), and the result is a copy of the first 20 columns.
// CHECK-LABEL: func.func @widened
// CHECK: %[[B:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [16, 20] [1, 1] : tensor<16x20xf32> into tensor<16x24xf32>
// The zero accumulator is a zero fill of the wider shape, not a copy.
// CHECK: linalg.fill {{.*}} -> tensor<12x24xf32>
// CHECK-NOT: tensor.insert_slice
// CHECK: vector.contract {{.*}} : vector<6x1xf32>, vector<1x16xf32> into vector<6x16xf32>
// CHECK: vector.contract {{.*}} : vector<6x1xf32>, vector<1x8xf32> into vector<6x8xf32>
// CHECK: %[[FIRST:.*]] = tensor.extract_slice %{{.*}}[0, 0] [12, 20] [1, 1] : tensor<12x24xf32> to tensor<12x20xf32>
// CHECK: linalg.copy {{.*}}ins(%[[FIRST]] : tensor<12x20xf32>)
func.func @widened(%a: tensor<12x16xf32>, %b: tensor<16x20xf32>) -> tensor<12x20xf32> {
  %e = tensor.empty() : tensor<12x20xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<12x20xf32>) -> tensor<12x20xf32>
  %m = linalg.matmul ins(%a, %b : tensor<12x16xf32>, tensor<16x20xf32>) outs(%f : tensor<12x20xf32>) -> tensor<12x20xf32>
  return %m : tensor<12x20xf32>
}

// -----

// A large matmul whose only user is an elementwise generic of its shape, itself the only user
// of the next (a bias-add, then a ReLU): the blocks are the last generic's, a parallel forall
// into which the bias-add, the matmul and its zero fill are fused, so each block's product is
// consumed while it is in cache. B is packed (see @packed), so the generics work on the same
// (rows, panels, 16) view, the bias viewed as (panels, 16). Its 200 rows are one block's
// (PANEL_ROWS): the blocks are all the rows by some panels, and each packs its own panels of B.
// CHECK-LABEL: func.func @epilogue
// CHECK: %[[BIAS:.*]] = tensor.expand_shape %arg2 {{\[\[}}0, 1]] output_shape [32, 16] : tensor<512xf32> into tensor<32x16xf32>
// CHECK-NOT: linalg.transpose
// CHECK: scf.forall (%{{.*}}) in ({{[0-9]+}}) shared_outs
// CHECK: linalg.transpose ins(%{{.*}} : tensor<300x{{[0-9]+}}x16xf32>)
// CHECK: linalg.fill {{.*}} -> tensor<200x{{[0-9]+}}x16xf32>
// CHECK: vector.contract
// CHECK: } {cellc.fma}
// CHECK: linalg.generic
// CHECK: arith.addf
// CHECK: linalg.generic
// CHECK: arith.maximumf
// CHECK: } {cellc.parallel}
// CHECK-NOT: linalg.fill
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<200x32x16xf32> into tensor<200x512xf32>
#rows = affine_map<(i, j) -> (i, j)>
#bias = affine_map<(i, j) -> (j)>
func.func @epilogue(%a: tensor<200x300xf32>, %b: tensor<300x512xf32>, %c: tensor<512xf32>) -> tensor<200x512xf32> {
  %e = tensor.empty() : tensor<200x512xf32>
  %zero = arith.constant 0.0 : f32
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<200x512xf32>) -> tensor<200x512xf32>
  %m = linalg.matmul ins(%a, %b : tensor<200x300xf32>, tensor<300x512xf32>) outs(%f : tensor<200x512xf32>) -> tensor<200x512xf32>
  %biased = linalg.generic {indexing_maps = [#rows, #bias, #rows], iterator_types = ["parallel", "parallel"]}
      ins(%m, %c : tensor<200x512xf32>, tensor<512xf32>) outs(%e : tensor<200x512xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<200x512xf32>
  %r = linalg.generic {indexing_maps = [#rows, #rows], iterator_types = ["parallel", "parallel"]}
      ins(%biased : tensor<200x512xf32>) outs(%e : tensor<200x512xf32>) {
  ^bb0(%x: f32, %o: f32):
    %t = arith.maximumf %x, %zero : f32
    linalg.yield %t : f32
  } -> tensor<200x512xf32>
  return %r : tensor<200x512xf32>
}

// -----

// A large matmul with 64 rows or more and a multiple of the register tile's 16 columns reads
// B packed into panels: B (300, 512) is copied into (32, 300, 16), each 16 columns contiguous,
// and the product is computed over the accumulator viewed as (200, 32, 16). Its 200 rows are at
// most PANEL_ROWS: its blocks (a parallel forall, the zero fill fused) are all the rows by a
// few panels, and each block packs its own panels, just before it reads them; then it loops
// over its panels, each a matmul of the rows by the panel's (300, 16) slice into its 16
// columns, tiled as any other.
// CHECK-LABEL: func.func @packed
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %arg1 {{\[\[}}0], [1, 2]] output_shape [300, 32, 16] : tensor<300x512xf32> into tensor<300x32x16xf32>
// CHECK-NOT: linalg.transpose
// CHECK: scf.forall (%{{.*}}) in ({{[0-9]+}}) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<200x32x16xf32>)
// CHECK: %[[SLICE:.*]] = tensor.extract_slice %[[VIEW]][0, %{{.*}}, 0] [300, [[NP:[0-9]+]], 16]
// CHECK: %[[PANELS:.*]] = linalg.transpose ins(%[[SLICE]] : tensor<300x[[NP]]x16xf32>) outs(%{{.*}} : tensor<[[NP]]x300x16xf32>) permutation = [1, 0, 2]
// CHECK: linalg.fill {{.*}} -> tensor<200x[[NP]]x16xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<200x[[NP]]x16xf32>)
// CHECK: tensor.extract_slice %[[PANELS]]
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 0] [1, 300, 16] [1, 1, 1] : tensor<1x300x16xf32> to tensor<300x16xf32>
// CHECK: vector.contract {{.*}} : vector<6x1xf32>, vector<1x16xf32> into vector<6x16xf32>
// CHECK: } {cellc.fma}
// CHECK: } {cellc.parallel}
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2]] : tensor<200x32x16xf32> into tensor<200x512xf32>
// CHECK-NOT: linalg.matmul
// CHECK: return
func.func @packed(%a: tensor<200x300xf32>, %b: tensor<300x512xf32>) -> tensor<200x512xf32> {
  %e = tensor.empty() : tensor<200x512xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<200x512xf32>) -> tensor<200x512xf32>
  %m = linalg.matmul ins(%a, %b : tensor<200x300xf32>, tensor<300x512xf32>) outs(%f : tensor<200x512xf32>) -> tensor<200x512xf32>
  return %m : tensor<200x512xf32>
}

// -----

// B read transposed, (512, 300), is packed from there directly: its (32, 16, 300) view is
// transposed into the panels. A read transposed is copied into (400, 300). 400 rows are more
// than PANEL_ROWS: B is packed once, before the blocks of 96 rows that all read it.
// CHECK-LABEL: func.func @packed_transposed
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %arg1 {{\[\[}}0, 1], [2]] output_shape [32, 16, 300] : tensor<512x300xf32> into tensor<32x16x300xf32>
// CHECK: linalg.transpose ins(%[[VIEW]] : tensor<32x16x300xf32>) outs(%{{.*}} : tensor<32x300x16xf32>) permutation = [0, 2, 1]
// CHECK: linalg.transpose ins(%arg0 : tensor<300x400xf32>) outs(%{{.*}} : tensor<400x300xf32>) permutation = [1, 0]
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (5, {{[0-9]+}})
// CHECK-NOT: linalg.transpose
// CHECK: vector.contract {{.*}} : vector<6x1xf32>, vector<1x16xf32> into vector<6x16xf32>
// CHECK: } {cellc.parallel}
func.func @packed_transposed(%a: tensor<300x400xf32>, %b: tensor<512x300xf32>) -> tensor<400x512xf32> {
  %e = tensor.empty() : tensor<400x512xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<400x512xf32>) -> tensor<400x512xf32>
  %m = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<300x400xf32>, tensor<512x300xf32>) outs(%f : tensor<400x512xf32>) -> tensor<400x512xf32>
  return %m : tensor<400x512xf32>
}

// -----

// B gathered by a generic read by nothing else (a convolution's im2col: (C, KH, KW, N, OH, OW)
// reshaped to (C*KH*KW, N*OH*OW)) is gathered into the panels directly: the generic loops over
// (N, OH/2, C, KH, KW, 2, OW), a panel being two output rows of 8, and reads the image at the
// same places; no copy of B into panels follows. The gather is fused into the parallel blocks
// (gathered_blocks.py): each block of two panels (one image's 2 x 2 output rows) gathers them
// from its image's slice (6 input rows for 4 output rows of a 3x3 kernel).
// CHECK: #[[IN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d2, d3 + d1 * 2 + d5, d4 + d6)>
// CHECK-LABEL: func.func @gathered
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<2x4x8x3x3x2x8xf32>
// CHECK-NOT: linalg.generic
// CHECK: scf.forall
// CHECK: %[[IMAGE:.*]] = tensor.extract_slice %arg1[%{{.*}}, 0, %{{.*}}, 0] [1, 8, 6, 10] [1, 1, 1, 1] : tensor<2x8x10x10xf32> to tensor<1x8x6x10xf32>
// CHECK: %[[MINE:.*]] = tensor.extract_slice %[[EMPTY]][%{{.*}}, %{{.*}}, 0, 0, 0, 0, 0] [1, 2, 8, 3, 3, 2, 8]
// CHECK: %[[G:.*]] = linalg.generic {indexing_maps = [#[[IN]], #{{.*}}], {{.*}} ins(%[[IMAGE]] : tensor<1x8x6x10xf32>) outs(%[[MINE]] : tensor<1x2x8x3x3x2x8xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: %[[PANELS:.*]] = tensor.collapse_shape %[[G]] {{\[\[}}0, 1], [2, 3, 4], [5, 6]] : tensor<1x2x8x3x3x2x8xf32> into tensor<2x72x16xf32>
// CHECK: tensor.extract_slice %[[PANELS]]
// CHECK: vector.contract
#gather = affine_map<(c, kh, kw, n, h, w) -> (n, c, h + kh, w + kw)>
#id6 = affine_map<(c, kh, kw, n, h, w) -> (c, kh, kw, n, h, w)>
func.func @gathered(%a: tensor<256x72xf32>, %x: tensor<2x8x10x10xf32>) -> tensor<256x128xf32> {
  %e = tensor.empty() : tensor<8x3x3x2x8x8xf32>
  %g = linalg.generic {indexing_maps = [#gather, #id6], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x8x10x10xf32>) outs(%e : tensor<8x3x3x2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x3x3x2x8x8xf32>
  %flat = tensor.collapse_shape %g [[0, 1, 2, 3, 4, 5]] : tensor<8x3x3x2x8x8xf32> into tensor<9216xf32>
  %b = tensor.expand_shape %flat [[0, 1]] output_shape [72, 128] : tensor<9216xf32> into tensor<72x128xf32>
  %ee = tensor.empty() : tensor<256x128xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%ee : tensor<256x128xf32>) -> tensor<256x128xf32>
  %m = linalg.matmul ins(%a, %b : tensor<256x72xf32>, tensor<72x128xf32>) outs(%f : tensor<256x128xf32>) -> tensor<256x128xf32>
  return %m : tensor<256x128xf32>
}

// -----

// Output rows of 7 make no panel of 16 columns: the gather stays as it is, and B is copied
// into panels after it.
// CHECK-LABEL: func.func @gathered_rows_of_7
// CHECK: %[[G:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<8x3x3x2x8x7xf32>)
// CHECK: linalg.transpose ins(%{{.*}} : tensor<72x7x16xf32>) outs(%{{.*}} : tensor<7x72x16xf32>) permutation = [1, 0, 2]
#gather7 = affine_map<(c, kh, kw, n, h, w) -> (n, c, h + kh, w + kw)>
#id6_7 = affine_map<(c, kh, kw, n, h, w) -> (c, kh, kw, n, h, w)>
func.func @gathered_rows_of_7(%a: tensor<300x72xf32>, %x: tensor<2x8x10x9xf32>) -> tensor<300x112xf32> {
  %e = tensor.empty() : tensor<8x3x3x2x8x7xf32>
  %g = linalg.generic {indexing_maps = [#gather7, #id6_7], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x8x10x9xf32>) outs(%e : tensor<8x3x3x2x8x7xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x3x3x2x8x7xf32>
  %flat = tensor.collapse_shape %g [[0, 1, 2, 3, 4, 5]] : tensor<8x3x3x2x8x7xf32> into tensor<8064xf32>
  %b = tensor.expand_shape %flat [[0, 1]] output_shape [72, 112] : tensor<8064xf32> into tensor<72x112xf32>
  %ee = tensor.empty() : tensor<300x112xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%ee : tensor<300x112xf32>) -> tensor<300x112xf32>
  %m = linalg.matmul ins(%a, %b : tensor<300x72xf32>, tensor<72x112xf32>) outs(%f : tensor<300x112xf32>) -> tensor<300x112xf32>
  return %m : tensor<300x112xf32>
}

// -----

// A dynamic batch (N of the gather, merged into B's columns N*OH*OW): the clone loops over the
// batch too, its size taken from the gather's destination, and the panels count is dynamic.
// CHECK-LABEL: func.func @gathered_dynamic_batch
// CHECK: %[[N:.*]] = tensor.dim %arg1, %c0
// CHECK: %[[EMPTY:.*]] = tensor.empty(%[[N]]) : tensor<?x4x8x3x3x2x8xf32>
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%arg1 : tensor<?x8x10x10xf32>) outs(%[[EMPTY]] : tensor<?x4x8x3x3x2x8xf32>)
// CHECK: %[[PANELS:.*]] = tensor.collapse_shape %[[G]] {{\[\[}}0, 1], [2, 3, 4], [5, 6]] : tensor<?x4x8x3x3x2x8xf32> into tensor<?x72x16xf32>
// CHECK-NOT: linalg.transpose
// CHECK: scf.forall
// CHECK: tensor.extract_slice %[[PANELS]]
// CHECK: vector.contract
#gather_n = affine_map<(c, kh, kw, n, h, w) -> (n, c, h + kh, w + kw)>
#id6_n = affine_map<(c, kh, kw, n, h, w) -> (c, kh, kw, n, h, w)>
func.func @gathered_dynamic_batch(%a: tensor<256x72xf32>, %x: tensor<?x8x10x10xf32>) -> tensor<256x?xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x8x10x10xf32>
  %e = tensor.empty(%n) : tensor<8x3x3x?x8x8xf32>
  %g = linalg.generic {indexing_maps = [#gather_n, #id6_n], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x8x10x10xf32>) outs(%e : tensor<8x3x3x?x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x3x3x?x8x8xf32>
  %flat = tensor.collapse_shape %g [[0, 1, 2, 3, 4, 5]] : tensor<8x3x3x?x8x8xf32> into tensor<?xf32>
  %size = tensor.dim %flat, %c0 : tensor<?xf32>
  %c72 = arith.constant 72 : index
  %cols = arith.divui %size, %c72 : index
  %b = tensor.expand_shape %flat [[0, 1]] output_shape [72, %cols] : tensor<?xf32> into tensor<72x?xf32>
  %ee = tensor.empty(%cols) : tensor<256x?xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%ee : tensor<256x?xf32>) -> tensor<256x?xf32>
  %m = linalg.matmul ins(%a, %b : tensor<256x72xf32>, tensor<72x?xf32>) outs(%f : tensor<256x?xf32>) -> tensor<256x?xf32>
  return %m : tensor<256x?xf32>
}

// -----

// Dynamic columns that are not gathered: nothing says the tile width divides them, so B is not
// packed (register tiles read it in place).
// CHECK-LABEL: func.func @dynamic_columns
// CHECK-NOT: linalg.transpose
// CHECK-NOT: cellc.packed
// CHECK: vector.contract
func.func @dynamic_columns(%a: tensor<256x72xf32>, %b: tensor<72x?xf32>, %f: tensor<256x?xf32>) -> tensor<256x?xf32> {
  %m = linalg.matmul ins(%a, %b : tensor<256x72xf32>, tensor<72x?xf32>) outs(%f : tensor<256x?xf32>) -> tensor<256x?xf32>
  return %m : tensor<256x?xf32>
}

// -----

// A dynamic depth (a filter gradient's N*OH*OW): B (?, 64) is packed into (2, ?, 16) panels.
// CHECK-LABEL: func.func @dynamic_depth
// CHECK: %[[K:.*]] = tensor.dim %arg1, %c0
// CHECK: %[[EMPTY:.*]] = tensor.empty(%[[K]]) : tensor<4x?x16xf32>
// CHECK: linalg.transpose ins(%{{.*}} : tensor<?x4x16xf32>) outs(%[[EMPTY]] : tensor<4x?x16xf32>) permutation = [1, 0, 2]
// CHECK: scf.forall
// CHECK: vector.contract
func.func @dynamic_depth(%a: tensor<576x?xf32>, %b: tensor<?x64xf32>) -> tensor<576x64xf32> {
  %ee = tensor.empty() : tensor<576x64xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%ee : tensor<576x64xf32>) -> tensor<576x64xf32>
  %m = linalg.matmul ins(%a, %b : tensor<576x?xf32>, tensor<?x64xf32>) outs(%f : tensor<576x64xf32>) -> tensor<576x64xf32>
  return %m : tensor<576x64xf32>
}

// -----

// The im2col read by another product too (a filter gradient reads it as A): the gather into
// panels is a clone (each block gathers its own panels), and the gather stays for the other
// reader. No copy into panels.
// CHECK-LABEL: func.func @gathered_shared
// CHECK-DAG: %[[G:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<8x3x3x2x8x8xf32>)
// CHECK-DAG: %[[PANELED:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x2x8x3x3x2x8xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: return
#gather_s = affine_map<(c, kh, kw, n, h, w) -> (n, c, h + kh, w + kw)>
#id6_s = affine_map<(c, kh, kw, n, h, w) -> (c, kh, kw, n, h, w)>
func.func @gathered_shared(%a: tensor<256x72xf32>, %x: tensor<2x8x10x10xf32>, %d: tensor<128x16xf32>) -> (tensor<256x128xf32>, tensor<72x16xf32>) {
  %e = tensor.empty() : tensor<8x3x3x2x8x8xf32>
  %g = linalg.generic {indexing_maps = [#gather_s, #id6_s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x8x10x10xf32>) outs(%e : tensor<8x3x3x2x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x3x3x2x8x8xf32>
  %flat = tensor.collapse_shape %g [[0, 1, 2, 3, 4, 5]] : tensor<8x3x3x2x8x8xf32> into tensor<9216xf32>
  %b = tensor.expand_shape %flat [[0, 1]] output_shape [72, 128] : tensor<9216xf32> into tensor<72x128xf32>
  %ee = tensor.empty() : tensor<256x128xf32>
  %c = arith.constant 0.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%ee : tensor<256x128xf32>) -> tensor<256x128xf32>
  %m = linalg.matmul ins(%a, %b : tensor<256x72xf32>, tensor<72x128xf32>) outs(%f : tensor<256x128xf32>) -> tensor<256x128xf32>
  %ew = tensor.empty() : tensor<72x16xf32>
  %fw = linalg.fill ins(%c : f32) outs(%ew : tensor<72x16xf32>) -> tensor<72x16xf32>
  %w = linalg.matmul ins(%b, %d : tensor<72x128xf32>, tensor<128x16xf32>) outs(%fw : tensor<72x16xf32>) -> tensor<72x16xf32>
  return %m, %w : tensor<256x128xf32>, tensor<72x16xf32>
}

// -----

// A dynamic number of rows (a batch): full 6-row tiles, then the partial tile (fewer than 6
// rows, how many known only at run time) switches on its row count: a static tile of each
// count from 1 to 5, inserted into the loop's result inside the case (so each case writes in
// place), and a default that computes the rows one at a time, each a static 1 x 16 tile.
// No matmul is left unvectorized.
// CHECK-LABEL: func.func @dynamic_rows
// CHECK: vector.contract {{.*}} : vector<6x1xf32>, vector<1x16xf32> into vector<6x16xf32>
// CHECK: scf.index_switch %{{.*}} -> tensor<?x32xf32>
// CHECK: case 1 {
// CHECK: vector.contract {{.*}} : vector<1x1xf32>, vector<1x16xf32> into vector<1x16xf32>
// CHECK: case 4 {
// CHECK: %[[A:.*]] = tensor.extract_slice %{{.*}} [4, 64] [1, 1] : tensor<?x64xf32> to tensor<4x64xf32>
// CHECK: %[[ACC:.*]] = tensor.extract_slice %[[RESULT:.*]][%{{.*}}, %{{.*}}] [4, 16] [1, 1] : tensor<?x32xf32> to tensor<4x16xf32>
// CHECK: vector.contract {{.*}} : vector<4x1xf32>, vector<1x16xf32> into vector<4x16xf32>
// CHECK: %[[TILE:.*]] = vector.transfer_write %{{.*}} : vector<4x16xf32>, tensor<4x16xf32>
// CHECK: %[[PLACED:.*]] = tensor.insert_slice %[[TILE]] into %[[RESULT]][%{{.*}}, %{{.*}}] [4, 16] [1, 1] : tensor<4x16xf32> into tensor<?x32xf32>
// CHECK: scf.yield %[[PLACED]]
// CHECK: case 5 {
// CHECK: vector.contract {{.*}} : vector<5x1xf32>, vector<1x16xf32> into vector<5x16xf32>
// CHECK: default {
// CHECK: scf.for
// CHECK: vector.contract {{.*}} : vector<1x1xf32>, vector<1x16xf32> into vector<1x16xf32>
// CHECK-NOT: linalg.matmul
// CHECK: return
func.func @dynamic_rows(%a: tensor<?x64xf32>, %b: tensor<64x32xf32>, %c: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %m = linalg.matmul ins(%a, %b : tensor<?x64xf32>, tensor<64x32xf32>) outs(%c : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %m : tensor<?x32xf32>
}

// -----

// A dynamic dim is planned at its size when the batch is 64 (nominal_sizes.py): rows that are
// the batch (a Dense's) make this 64 x 64 x 32 product small, register tiles only, no parallel
// blocks; rows that are the batch merged with 8 x 8 pixels (a convolution's) make the same
// product 4096 x 64 x 32, in cache blocks, parallel when large at run time.
// CHECK-LABEL: func.func @batch_rows
// CHECK-NOT: scf.forall
// CHECK-NOT: call @__cellc_parallel_if
// CHECK: vector.contract
// CHECK-LABEL: func.func @merged_rows
// CHECK: call @__cellc_parallel_if
// CHECK: scf.forall
// CHECK: vector.contract
// CHECK: cellc.parallel
func.func @batch_rows(%x: tensor<?x64xf32>, %b: tensor<64x32xf32>, %c: tensor<?x32xf32>) -> tensor<?x32xf32> {
  %m = linalg.matmul ins(%x, %b : tensor<?x64xf32>, tensor<64x32xf32>) outs(%c : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %m : tensor<?x32xf32>
}
func.func @merged_rows(%x: tensor<?x8x8x64xf32>, %b: tensor<64x32xf32>) -> tensor<?x32xf32> {
  %a = tensor.collapse_shape %x [[0, 1, 2], [3]] : tensor<?x8x8x64xf32> into tensor<?x64xf32>
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %a, %c0 : tensor<?x64xf32>
  %e = tensor.empty(%rows) : tensor<?x32xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<?x32xf32>) -> tensor<?x32xf32>
  %m = linalg.matmul ins(%a, %b : tensor<?x64xf32>, tensor<64x32xf32>) outs(%f : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %m : tensor<?x32xf32>
}
