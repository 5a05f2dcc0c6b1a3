"""The GPU back end's linalg-level rewrites (linalg_to_gpu.rewrite_for_gpu: the passes
gpu-split-reductions and gpu-pad-matmuls) run through the CPU back end and match numpy: the IR
the GPU kernels are cut from computes the right thing, checked on a machine without a GPU."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from cases import CASES
from mlir import ir
from mlir.passmanager import PassManager

from cellc.compiler import lowering, pass_pipelines
from cellc.compiler.lowering.linalg_to_gpu import rewrite_for_gpu
from cellc.dialects import ms

# What each case must be rewritten into (cases not listed: whatever the heuristics choose).
EXPECTED = {
    "matmul": {"split_reductions": 0, "padded_matmuls": 0},
    "matmul_odd": {"split_reductions": 0, "padded_matmuls": 0},  # less than one tile of work
    "matmul_prime": {"split_reductions": 0, "padded_matmuls": 1},
    "matmul_acc_transposed": {"split_reductions": 0, "padded_matmuls": 1},
    "matmul_f64": {"split_reductions": 0, "padded_matmuls": 1},
    "bias_add": {"split_reductions": 0, "padded_matmuls": 0},
    "sum_1d": {"split_reductions": 1, "padded_matmuls": 0},  # 100000 -> 3125 -> 1 (a block)
    "sum_prime": {"split_reductions": 1, "padded_matmuls": 0},
    "column_sum": {"split_reductions": 1, "padded_matmuls": 0},
    "row_max": {"split_reductions": 1, "padded_matmuls": 0},
    "sum_squares_2d": {"split_reductions": 1, "padded_matmuls": 0},
    "reduce_sum": {"split_reductions": 1, "padded_matmuls": 0},  # the full sum; rows: 70 only
}


def _rewritten(name: str) -> tuple[ir.Module, dict[str, int]]:
    module = ir.Module.parse(CASES[name][0], ms.make_context())
    PassManager.parse(pass_pipelines.GPU_PRE_BUFFERIZE, module.context).run(module.operation)
    done = rewrite_for_gpu(module)
    module.operation.verify()
    return module, done


def _result_types(module: ir.Module, name: str) -> list[ir.RankedTensorType]:
    for op in module.body:
        if (
            op.operation.name == "func.func"
            and ir.StringAttr(op.attributes["sym_name"]).value == name
        ):
            return [ir.RankedTensorType(t) for t in ir.FunctionType(op.type).results]
    raise KeyError(name)


_NUMPY = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64}


def _unwritten(shape, dtype) -> np.ndarray:
    """An output buffer whose unwritten elements show: NaN, or 0x5A5A... for integers."""
    return np.full(shape, np.nan if np.dtype(dtype).kind == "f" else 0x5A5A, dtype)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rewritten_linalg_matches_numpy_on_cpu(name, tmp_path):
    module, done = _rewritten(name)
    if name in EXPECTED:
        assert done == EXPECTED[name]
    results = _result_types(module, name)
    lowering.lower_linalg_to_llvm(module)
    lowering.emit_shared_library(module, tmp_path / "lib.so")
    lib = ctypes.CDLL(str(tmp_path / "lib.so"))
    _text, make_inputs, reference, _num_weights = CASES[name]
    arrays = [np.ascontiguousarray(a) for a in make_inputs()]
    outputs = [_unwritten(t.shape, _NUMPY[str(t.element_type)]) for t in results]
    function = getattr(lib, name)
    function.restype = None
    function(*[ctypes.c_void_p(a.ctypes.data) for a in [*arrays, *outputs]])
    expected = reference(*arrays)
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        assert got.shape == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-4)


def test_split_reduction_stages():
    """sum over 100000: a first stage of 3125 parallel partial sums (loop p parallel, 32-element
    chunks reduced serially, no mask: 100000 = 3125 * 32), then a 3125-term last stage, which
    is not split again (one block reduces it: convert-linalg-to-gpu-block-reductions)."""
    module, _ = _rewritten("sum_1d")
    text = str(module)
    assert text.count("linalg.generic") == 2
    assert text.count('iterator_types = ["reduction", "parallel"]') == 1
    assert "tensor<3125xf32>" in text
    assert "arith.select" not in text
    assert "tensor.pad" not in text


def test_split_reduction_masks_a_remainder():
    module, _ = _rewritten("sum_prime")
    text = str(module)
    assert "arith.select" in text and "arith.minui" in text
    assert "tensor<3126xf32>" in text  # ceil(100003 / 32) partial sums


def test_padded_matmul_runs_on_tile_multiples():
    module, _ = _rewritten("matmul_prime")
    text = str(module)
    assert "tensor<128x48xf32>, tensor<48x64xf32>) outs(" in text
    assert "-> tensor<67x33xf32>" in text
