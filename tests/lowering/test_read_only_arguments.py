"""Compiled code never writes into its arguments (the caller's inputs and weights), even when
an op accumulates into one: bufferization copies it instead."""

import ctypes

import numpy as np
from mlir import ir

from cellc.compiler import lowering
from cellc.dialects import ms

REDUCE_INTO_ARGUMENT = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @f(%x: tensor<4x8xf32>, %init: tensor<4xf32>) -> tensor<4xf32> {
  %r = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
"""


def test_an_accumulated_argument_is_copied_not_overwritten(tmp_path):
    with ms.make_context():
        module = ir.Module.parse(REDUCE_INTO_ARGUMENT)
        lowering.lower_linalg_to_llvm(module)
        lowering.emit_shared_library(module, tmp_path / "f.so")
    library = ctypes.CDLL(str(tmp_path / "f.so"))
    x = np.ones((4, 8), np.float32)
    init = np.arange(4, dtype=np.float32)
    out = np.full(4, np.nan, np.float32)
    library.f(*(ctypes.c_void_p(a.ctypes.data) for a in (x, init, out)))
    np.testing.assert_array_equal(out, [8, 9, 10, 11])
    np.testing.assert_array_equal(init, [0, 1, 2, 3])
