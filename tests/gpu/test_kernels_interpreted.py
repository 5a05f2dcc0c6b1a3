"""The CUDA target's kernels and launch plans, run without a GPU by a numpy SIMT interpreter
(kernel_interpreter.py), match numpy: every case of cases.py, and the in-block tree reductions
of convert-linalg-to-gpu-block-reductions in particular (their combine order included).

What the interpreter does not check (races, the NVVM lowering, the hardware) is listed in its
docstring; test_linalg_to_gpu.py runs the same cases on a GPU when there is one."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASES
from kernel_interpreter import all_reduce, run_plan
from mlir import ir

from cellc.compiler.lowering.linalg_to_gpu import lower_linalg_to_gpu
from cellc.compiler.lowering.linalg_to_gpu_block_reductions import block_threads
from cellc.dialects import ms

_PROGRAMS = {}


def compiled(name: str):
    if name not in _PROGRAMS:
        module = ir.Module.parse(CASES[name][0], ms.make_context())
        _PROGRAMS[name] = lower_linalg_to_gpu(module)
    return _PROGRAMS[name]


def interpreted(name: str, arrays=None) -> list[np.ndarray]:
    _text, make_inputs, _reference, num_weights = CASES[name]
    arrays = make_inputs() if arrays is None else arrays
    inputs, weights = arrays[: len(arrays) - num_weights], arrays[len(arrays) - num_weights :]
    program = compiled(name)
    return run_plan(program.plan["entries"][name], program.stages["gpu"], inputs, weights)


@pytest.mark.parametrize("name", sorted(CASES))
def test_interpreted_kernels_match_numpy(name):
    _text, make_inputs, reference, _num_weights = CASES[name]
    arrays = make_inputs()
    outputs = interpreted(name, arrays)
    expected = reference(*arrays)
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        assert got.shape == np.shape(want) and got.dtype == np.asarray(want).dtype
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-4)


def _has_all_reduce(gpu_text: str, kernel: str) -> bool:
    body = gpu_text.split(f"gpu.func @{kernel}(")[1].split("gpu.return")[0]
    return "gpu.all_reduce" in body


@pytest.mark.parametrize(
    "name, grid, threads",
    [
        ("row_sum_exp", 33, 32),  # 70 per row: not split, one block per row
        ("max_4d", 12, 64),  # 8 x 24 per output: too few to split
        ("reduce_sum", 33, 32),  # the rows; the full sum (2310) is split first
        ("sum_1d", 1, 256),  # the 3125 partial sums of the split's first stage
    ],
)
def test_block_reduction_launches(name, grid, threads):
    """One block per output, `threads` threads each, combining with warp shuffles and shared
    memory (gpu.all_reduce lowered by upstream MLIR)."""
    program = compiled(name)
    steps = program.plan["entries"][name]["steps"]
    trees = [
        (s["grid"], s["block"])
        for s in steps
        if s["op"] == "launch" and _has_all_reduce(program.stages["gpu"], s["kernel"])
    ]
    assert ([grid, 1, 1], [threads, 1, 1]) in trees
    assert "shfl.sync.bfly" in program.ptx and "bar.sync" in program.ptx


def _pairwise(values: np.ndarray) -> np.ndarray:
    """Neighbours combined level by level ((v0 + v1) + (v2 + v3)) + ...: what an xor
    butterfly leaves in lane 0, over warps of 32 and then over the warps (powers of two)."""
    while values.shape[-1] > 1:
        values = values[..., 0::2] + values[..., 1::2]
    return values[..., 0]


def test_row_sums_combine_in_a_fixed_tree_order():
    """Each row of row_sum_exp is one block of 32 threads: thread t adds exp(x[r, t]),
    exp(x[r, t + 32]), ... in order, then the threads' sums combine pairwise. The result is
    that float32 value exactly (deterministic, independent of scheduling)."""
    x = np.random.default_rng(3).standard_normal((33, 70)).astype(np.float32)
    (got,) = interpreted("row_sum_exp", [x])
    threads = block_threads(70)
    partial = np.zeros((33, threads), np.float32)
    for start in range(0, 70, threads):
        chunk = np.exp(x[:, start : start + threads])
        partial[:, : chunk.shape[1]] += chunk
    np.testing.assert_array_equal(got, _pairwise(partial))


def test_all_reduce_model_is_the_pairwise_tree():
    """The interpreter's model of upstream's gpu.all_reduce lowering: 256 threads (8 full
    warps, then a partial second level) give the pairwise tree, bit for bit."""
    values = np.random.default_rng(4).standard_normal((3, 256)).astype(np.float32)
    np.testing.assert_array_equal(all_reduce(values, 256, "add"), _pairwise(values))
    ints = np.arange(96, dtype=np.int64).reshape(1, 96)  # 3 warps: a non-power-of-two level
    assert all_reduce(ints, 96, "add")[0] == ints.sum()
    assert all_reduce(-ints, 96, "maxsi")[0] == 0


def test_max_propagates_nan_to_its_output_only():
    (got,) = interpreted("max_nan")
    assert np.isnan(got[2, 1]) and np.isnan(got).sum() == 1
