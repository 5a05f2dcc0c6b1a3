"""Hand-written linalg-on-tensors programs (what convert-ms-to-linalg emits) with numpy references.

Each case: name -> (MLIR text, inputs (in plan order: inputs then weights), reference outputs fn,
number of weights).
"""

from __future__ import annotations

import numpy as np

MATMUL = """
func.func @matmul(%a: tensor<128x64xf32>, %b: tensor<64x128xf32>) -> tensor<128x128xf32>
    attributes {ms.entry} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<128x128xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<128x128xf32>) -> tensor<128x128xf32>
  %r = linalg.matmul ins(%a, %b : tensor<128x64xf32>, tensor<64x128xf32>)
                     outs(%c : tensor<128x128xf32>) -> tensor<128x128xf32>
  return %r : tensor<128x128xf32>
}
"""

MATMUL_ODD = """
func.func @matmul_odd(%a: tensor<10x7xf32>, %b: tensor<7x5xf32>) -> tensor<10x5xf32>
    attributes {ms.entry} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<10x5xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<10x5xf32>) -> tensor<10x5xf32>
  %r = linalg.matmul ins(%a, %b : tensor<10x7xf32>, tensor<7x5xf32>)
                     outs(%c : tensor<10x5xf32>) -> tensor<10x5xf32>
  return %r : tensor<10x5xf32>
}
"""

BROADCAST_ADD = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
func.func @bias_add(%x: tensor<37x50xf32>, %b: tensor<50xf32>) -> tensor<37x50xf32>
    attributes {ms.entry} {
  %e = tensor.empty() : tensor<37x50xf32>
  %r = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : tensor<37x50xf32>, tensor<50xf32>) outs(%e : tensor<37x50xf32>) {
    ^bb0(%u: f32, %v: f32, %o: f32):
      %s = arith.addf %u, %v : f32
      linalg.yield %s : f32
  } -> tensor<37x50xf32>
  return %r : tensor<37x50xf32>
}
"""

REDUCE_SUM = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
#all2 = affine_map<(d0, d1) -> ()>
func.func @reduce_sum(%x: tensor<33x70xf32>) -> (tensor<33xf32>, tensor<f32>)
    attributes {ms.entry} {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<33xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<33xf32>) -> tensor<33xf32>
  %r1 = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<33x70xf32>) outs(%f1 : tensor<33xf32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<33xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %r0 = linalg.generic {indexing_maps = [#id, #all2], iterator_types = ["reduction", "reduction"]}
      ins(%x : tensor<33x70xf32>) outs(%f0 : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %r1, %r0 : tensor<33xf32>, tensor<f32>
}
"""

# The seed tutorial's gradient: net(x, y) = matmul(x, y) * z, d/dx with ones sensitivity:
# dx = (ones(2, 3) @ y^T) * z, z a Parameter of shape (1,).
SEED_GRAD = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#scalar = affine_map<(d0, d1) -> (0)>
func.func @seed_grad(%x: tensor<2x3xf32>, %y: tensor<3x3xf32>,
                     %z: tensor<1xf32> {ms.weight = "z"}) -> tensor<2x3xf32>
    attributes {ms.entry} {
  %ones = arith.constant dense<1.0> : tensor<2x3xf32>
  %zero = arith.constant 0.0 : f32
  %te = tensor.empty() : tensor<3x3xf32>
  %yt = linalg.transpose ins(%y : tensor<3x3xf32>) outs(%te : tensor<3x3xf32>) permutation = [1, 0]
  %e = tensor.empty() : tensor<2x3xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
  %m = linalg.matmul ins(%ones, %yt : tensor<2x3xf32>, tensor<3x3xf32>)
                     outs(%c : tensor<2x3xf32>) -> tensor<2x3xf32>
  %r = linalg.generic {indexing_maps = [#id, #scalar, #id],
                      iterator_types = ["parallel", "parallel"]}
      ins(%m, %z : tensor<2x3xf32>, tensor<1xf32>) outs(%e : tensor<2x3xf32>) {
    ^bb0(%u: f32, %v: f32, %o: f32):
      %p = arith.mulf %u, %v : f32
      linalg.yield %p : f32
  } -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}
"""

# matmul + bias + relu + matmul + reduce_sum, with a reshape of the logits on the way.
MLP = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#id1 = affine_map<(d0) -> (d0)>
#all1 = affine_map<(d0) -> ()>
func.func @mlp(%x: tensor<64x32xf32>, %w1: tensor<32x64xf32> {ms.weight = "fc1.weight"},
               %b1: tensor<64xf32> {ms.weight = "fc1.bias"},
               %w2: tensor<64x16xf32> {ms.weight = "fc2.weight"})
    -> (tensor<f32>, tensor<64x16xf32>) attributes {ms.entry} {
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<64x64xf32>
  %c1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<64x64xf32>) -> tensor<64x64xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<64x32xf32>, tensor<32x64xf32>)
                     outs(%c1 : tensor<64x64xf32>) -> tensor<64x64xf32>
  %a = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%h, %b1 : tensor<64x64xf32>, tensor<64xf32>) outs(%e1 : tensor<64x64xf32>) {
    ^bb0(%u: f32, %v: f32, %o: f32):
      %s = arith.addf %u, %v : f32
      %r = arith.maximumf %s, %zero : f32
      linalg.yield %r : f32
  } -> tensor<64x64xf32>
  %e2 = tensor.empty() : tensor<64x16xf32>
  %c2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<64x16xf32>) -> tensor<64x16xf32>
  %y = linalg.matmul ins(%a, %w2 : tensor<64x64xf32>, tensor<64x16xf32>)
                     outs(%c2 : tensor<64x16xf32>) -> tensor<64x16xf32>
  %flat = tensor.collapse_shape %y [[0, 1]] : tensor<64x16xf32> into tensor<1024xf32>
  %e0 = tensor.empty() : tensor<f32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %loss = linalg.generic {indexing_maps = [#id1, #all1], iterator_types = ["reduction"]}
      ins(%flat : tensor<1024xf32>) outs(%f0 : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %loss, %y : tensor<f32>, tensor<64x16xf32>
}
"""

# Matmuls whose sizes do not divide the 64x64x16 tile: padded to it (gpu-pad-matmuls).
MATMUL_PRIME = """
func.func @matmul_prime(%a: tensor<67x45xf32>, %b: tensor<45x33xf32>) -> tensor<67x33xf32>
    attributes {ms.entry} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<67x33xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<67x33xf32>) -> tensor<67x33xf32>
  %r = linalg.matmul ins(%a, %b : tensor<67x45xf32>, tensor<45x33xf32>)
                     outs(%c : tensor<67x33xf32>) -> tensor<67x33xf32>
  return %r : tensor<67x33xf32>
}
"""

# C += A @ B^T (B read transposed through the maps, as ms.matmul transpose_b lowers), the
# accumulator an argument (padded, not refilled).
MATMUL_ACC_TRANSPOSED = """
func.func @matmul_acc_transposed(%a: tensor<70x40xf32>, %b: tensor<50x40xf32>,
                                 %c: tensor<70x50xf32>) -> tensor<70x50xf32>
    attributes {ms.entry} {
  %r = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<70x40xf32>, tensor<50x40xf32>)
      outs(%c : tensor<70x50xf32>) -> tensor<70x50xf32>
  return %r : tensor<70x50xf32>
}
"""

MATMUL_F64 = """
func.func @matmul_f64(%a: tensor<100x30xf64>, %b: tensor<30x90xf64>) -> tensor<100x90xf64>
    attributes {ms.entry} {
  %zero = arith.constant 0.0 : f64
  %e = tensor.empty() : tensor<100x90xf64>
  %c = linalg.fill ins(%zero : f64) outs(%e : tensor<100x90xf64>) -> tensor<100x90xf64>
  %r = linalg.matmul ins(%a, %b : tensor<100x30xf64>, tensor<30x90xf64>)
                     outs(%c : tensor<100x90xf64>) -> tensor<100x90xf64>
  return %r : tensor<100x90xf64>
}
"""

# Large reductions, split into a parallel first stage and a small second one
# (gpu-split-reductions): a 1-D sum, a prime-length sum (masked last chunk), a column
# reduce, a row max over few long rows, and a full sum of squares over a 2-D tensor (fused
# body, two reduced loops merged).
SUM_1D = """
#id1 = affine_map<(d0) -> (d0)>
#all1 = affine_map<(d0) -> ()>
func.func @sum_1d(%x: tensor<100000xf32>) -> tensor<f32> attributes {ms.entry} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [#id1, #all1], iterator_types = ["reduction"]}
      ins(%x : tensor<100000xf32>) outs(%f : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}
"""

SUM_PRIME = """
#id1 = affine_map<(d0) -> (d0)>
#all1 = affine_map<(d0) -> ()>
func.func @sum_prime(%x: tensor<100003xf32>, %init: tensor<f32>) -> tensor<f32>
    attributes {ms.entry} {
  %r = linalg.generic {indexing_maps = [#id1, #all1], iterator_types = ["reduction"]}
      ins(%x : tensor<100003xf32>) outs(%init : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}
"""

COLUMN_SUM = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#cols = affine_map<(d0, d1) -> (d1)>
func.func @column_sum(%x: tensor<3001x7xf32>) -> tensor<7xf32> attributes {ms.entry} {
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
"""

ROW_MAX = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @row_max(%x: tensor<3x5000xf32>) -> tensor<3xf32> attributes {ms.entry} {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<3xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<3xf32>) -> tensor<3xf32>
  %r = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<3x5000xf32>) outs(%f : tensor<3xf32>) {
    ^bb0(%u: f32, %acc: f32):
      %m = arith.maximumf %acc, %u : f32
      linalg.yield %m : f32
  } -> tensor<3xf32>
  return %r : tensor<3xf32>
}
"""

SUM_SQUARES_2D = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#all2 = affine_map<(d0, d1) -> ()>
#scalar = affine_map<(d0, d1) -> (0)>
func.func @sum_squares_2d(%x: tensor<257x129xf32>, %s: tensor<1xf32>) -> tensor<f32>
    attributes {ms.entry} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [#id, #scalar, #all2],
                       iterator_types = ["reduction", "reduction"]}
      ins(%x, %s : tensor<257x129xf32>, tensor<1xf32>) outs(%f : tensor<f32>) {
    ^bb0(%u: f32, %k: f32, %acc: f32):
      %sq = arith.mulf %u, %u : f32
      %t = arith.mulf %sq, %k : f32
      %a = arith.addf %t, %acc : f32
      linalg.yield %a : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}
"""


# In-block tree reductions (convert-linalg-to-gpu-block-reductions): rows too short to split
# but long enough for a block each (exp fused into the sum), a max over two reduced loops into
# a 4x3 grid of outputs with a scale read at a constant index (the accumulator first), a NaN
# that the max must propagate, and integer sums (split, then one block).
ROW_SUM_EXP = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @row_sum_exp(%x: tensor<33x70xf32>) -> tensor<33xf32> attributes {ms.entry} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<33xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<33xf32>) -> tensor<33xf32>
  %r = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<33x70xf32>) outs(%f : tensor<33xf32>) {
    ^bb0(%u: f32, %acc: f32):
      %x_exp = math.exp %u : f32
      %s = arith.addf %x_exp, %acc : f32
      linalg.yield %s : f32
  } -> tensor<33xf32>
  return %r : tensor<33xf32>
}
"""

MAX_4D = """
#x = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1, d3)>
#scale = affine_map<(d0, d1, d2, d3) -> (0)>
#out = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
func.func @max_4d(%x: tensor<4x8x3x24xf32>, %k: tensor<1xf32>) -> tensor<4x3xf32>
    attributes {ms.entry} {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
  %r = linalg.generic {indexing_maps = [#x, #scale, #out],
                       iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %k : tensor<4x8x3x24xf32>, tensor<1xf32>) outs(%f : tensor<4x3xf32>) {
    ^bb0(%u: f32, %s: f32, %acc: f32):
      %p = arith.mulf %u, %s : f32
      %m = arith.maximumf %acc, %p : f32
      linalg.yield %m : f32
  } -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
"""

INT_SUMS = """
#id1 = affine_map<(d0) -> (d0)>
#all1 = affine_map<(d0) -> ()>
#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @int_sums(%x: tensor<5000xi32>, %y: tensor<5x300xi64>) -> (tensor<i32>, tensor<5xi64>)
    attributes {ms.entry} {
  %zero32 = arith.constant 0 : i32
  %zero64 = arith.constant 0 : i64
  %e0 = tensor.empty() : tensor<i32>
  %f0 = linalg.fill ins(%zero32 : i32) outs(%e0 : tensor<i32>) -> tensor<i32>
  %s = linalg.generic {indexing_maps = [#id1, #all1], iterator_types = ["reduction"]}
      ins(%x : tensor<5000xi32>) outs(%f0 : tensor<i32>) {
    ^bb0(%u: i32, %acc: i32):
      %a = arith.addi %u, %acc : i32
      linalg.yield %a : i32
  } -> tensor<i32>
  %e1 = tensor.empty() : tensor<5xi64>
  %f1 = linalg.fill ins(%zero64 : i64) outs(%e1 : tensor<5xi64>) -> tensor<5xi64>
  %r = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<5x300xi64>) outs(%f1 : tensor<5xi64>) {
    ^bb0(%u: i64, %acc: i64):
      %a = arith.addi %u, %acc : i64
      linalg.yield %a : i64
  } -> tensor<5xi64>
  return %s, %r : tensor<i32>, tensor<5xi64>
}
"""


def _rand(*shape, seed=0):
    return np.random.default_rng(seed + len(shape)).standard_normal(shape).astype(np.float32)


def _with_nan(x):
    """x with one NaN, in output (2, 1)'s window: the max must propagate it there only."""
    x = x.copy()
    x[2, 5, 1, 17] = np.nan
    return x


def _ints(shape, dtype):
    return np.random.default_rng(7).integers(-1000, 1000, shape).astype(dtype)


def _scalar(value, dtype=np.float32):
    return np.asarray(value, dtype=dtype)


def _mlp_reference(x, w1, b1, w2):
    y = np.maximum(x @ w1 + b1, 0) @ w2
    return (np.asarray(y.sum(), dtype=np.float32), y)


CASES = {
    "matmul": (MATMUL, lambda: [_rand(128, 64), _rand(64, 128, seed=1)], lambda a, b: (a @ b,), 0),
    "matmul_odd": (
        MATMUL_ODD,
        lambda: [_rand(10, 7), _rand(7, 5, seed=1)],
        lambda a, b: (a @ b,),
        0,
    ),
    "bias_add": (BROADCAST_ADD, lambda: [_rand(37, 50), _rand(50)], lambda x, b: (x + b,), 0),
    "reduce_sum": (
        REDUCE_SUM,
        lambda: [_rand(33, 70)],
        lambda x: (x.sum(axis=1), np.asarray(x.sum(), dtype=np.float32)),
        0,
    ),
    "seed_grad": (
        SEED_GRAD,
        lambda: [_rand(2, 3), _rand(3, 3, seed=1), np.array([0.7], np.float32)],
        lambda x, y, z: ((np.ones((2, 3), np.float32) @ y.T) * z,),
        1,
    ),
    "mlp": (
        MLP,
        lambda: [
            _rand(64, 32),
            _rand(32, 64, seed=1) * 0.2,
            _rand(64, seed=2),
            _rand(64, 16, seed=3) * 0.2,
        ],
        _mlp_reference,
        3,
    ),
    "matmul_prime": (
        MATMUL_PRIME,
        lambda: [_rand(67, 45), _rand(45, 33, seed=1)],
        lambda a, b: (a @ b,),
        0,
    ),
    "matmul_acc_transposed": (
        MATMUL_ACC_TRANSPOSED,
        lambda: [_rand(70, 40), _rand(50, 40, seed=1), _rand(70, 50, seed=2)],
        lambda a, b, c: (c + a @ b.T,),
        0,
    ),
    "matmul_f64": (
        MATMUL_F64,
        lambda: [_rand(100, 30).astype(np.float64), _rand(30, 90, seed=1).astype(np.float64)],
        lambda a, b: (a @ b,),
        0,
    ),
    "sum_1d": (SUM_1D, lambda: [_rand(100000)], lambda x: (_scalar(x.sum(dtype=np.float64)),), 0),
    "sum_prime": (
        SUM_PRIME,
        lambda: [_rand(100003), np.array(1.5, np.float32)],
        lambda x, init: (_scalar(1.5 + x.sum(dtype=np.float64)),),
        0,
    ),
    "column_sum": (COLUMN_SUM, lambda: [_rand(3001, 7)], lambda x: (x.sum(axis=0),), 0),
    "row_max": (ROW_MAX, lambda: [_rand(3, 5000)], lambda x: (x.max(axis=1),), 0),
    "sum_squares_2d": (
        SUM_SQUARES_2D,
        lambda: [_rand(257, 129), np.array([0.5], np.float32)],
        lambda x, s: (_scalar((x.astype(np.float64) ** 2).sum() * 0.5),),
        0,
    ),
    "row_sum_exp": (
        ROW_SUM_EXP,
        lambda: [_rand(33, 70)],
        lambda x: (np.exp(x.astype(np.float64)).sum(axis=1).astype(np.float32),),
        0,
    ),
    "max_4d": (
        MAX_4D,
        lambda: [_rand(4, 8, 3, 24), np.array([-0.5], np.float32)],
        lambda x, k: ((x * k).max(axis=(1, 3)),),
        0,
    ),
    "max_nan": (
        MAX_4D.replace("@max_4d", "@max_nan"),
        lambda: [_with_nan(_rand(4, 8, 3, 24)), np.array([2.0], np.float32)],
        lambda x, k: ((x * k).max(axis=(1, 3)),),
        0,
    ),
    "int_sums": (
        INT_SUMS,
        lambda: [_ints(5000, np.int32), _ints((5, 300), np.int64)],
        lambda x, y: (np.asarray(x.sum(dtype=np.int32)), y.sum(axis=1)),
        0,
    ),
}
