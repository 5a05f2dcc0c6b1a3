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


def _rand(*shape, seed=0):
    return np.random.default_rng(seed + len(shape)).standard_normal(shape).astype(np.float32)


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
}
