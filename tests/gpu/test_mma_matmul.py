"""Tensor-core matmuls (convert-linalg-to-gpu-mma, sm_80+) without a GPU: ptxas accepts the PTX
for sm_80 and sm_90 and the launch plan is consistent; the numpy SIMT interpreter, whose
nvgpu.mma.sync gathers fragments by the PTX ISA's layouts (kernel_interpreter.MMA_LAYOUTS),
gives numpy's result on tf32-rounded inputs (f32) and exactly (f16 on small integers).

Not shown here: that the hardware sums as the interpreter assumes (one rounding per
instruction), and the kernels' speed."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASES
from kernel_interpreter import MMA_LAYOUTS, mma_layout, run_plan, tf32_rna
from mlir import ir
from plan_checker import check_plan

from cellc.compiler.lowering.gpu_to_nvvm import find_ptxas, ptx_to_cubin
from cellc.compiler.lowering.linalg_to_gpu import lower_linalg_to_gpu
from cellc.dialects import ms

MATMUL_F16 = """
func.func @matmul_f16(%a: tensor<64x32xf16>, %b: tensor<32x128xf16>) -> tensor<64x128xf16>
    attributes {ms.entry} {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<64x128xf16>
  %c = linalg.fill ins(%zero : f16) outs(%e : tensor<64x128xf16>) -> tensor<64x128xf16>
  %r = linalg.matmul ins(%a, %b : tensor<64x32xf16>, tensor<32x128xf16>)
                     outs(%c : tensor<64x128xf16>) -> tensor<64x128xf16>
  return %r : tensor<64x128xf16>
}
"""

TF32_MMA = "mma.sync.aligned.m16n8k4.row.col.f32.tf32.tf32.f32"
F16_MMA = "mma.sync.aligned.m16n8k16.row.col.f16.f16.f16.f16"

# name -> (MLIR text, the PTX mma instruction expected)
MMA_CASES = {
    "matmul": (CASES["matmul"][0], TF32_MMA),
    "matmul_prime": (CASES["matmul_prime"][0], TF32_MMA),
    "matmul_acc_transposed": (CASES["matmul_acc_transposed"][0], TF32_MMA),
    "mlp": (CASES["mlp"][0], TF32_MMA),
    "matmul_f16": (MATMUL_F16, F16_MMA),
}

_PROGRAMS = {}


def compiled(name: str, chip: str = "sm_80", allow_tf32: bool = True):
    key = (name, chip, allow_tf32)
    if key not in _PROGRAMS:
        text = MMA_CASES[name][0] if name in MMA_CASES else CASES[name][0]
        module = ir.Module.parse(text, ms.make_context())
        _PROGRAMS[key] = lower_linalg_to_gpu(module, chip=chip, allow_tf32=allow_tf32)
    return _PROGRAMS[key]


def _launches(program, name: str) -> list[dict]:
    return [s for s in program.plan["entries"][name]["steps"] if s["op"] == "launch"]


@pytest.mark.parametrize("chip", ["sm_80", "sm_90"])
@pytest.mark.parametrize("name", sorted(MMA_CASES))
def test_tensor_core_ptx_and_plan(name, chip):
    program = compiled(name, chip)
    instruction = MMA_CASES[name][1]
    assert f".target {chip}" in program.ptx
    assert instruction in program.ptx
    assert ("cvt.rna.tf32.f32" in program.ptx) == (instruction == TF32_MMA)
    assert "mma.sync" in program.stages["nvvm"] and "nvgpu.mma.sync" in program.stages["gpu"]
    assert program.plan["target"]["allow_tf32"] is True
    check_plan(program.plan, program.ptx)
    if find_ptxas() is None:
        pytest.skip("ptxas not found (CUDA toolkit absent)")
    assert program.cubin is not None and program.cubin[:4] == b"\x7fELF"
    assert ptx_to_cubin(program.ptx, chip)[:4] == b"\x7fELF"


def test_one_block_per_64x64_tile_of_four_warps():
    """matmul is 128x128: a grid of 2x2 blocks of 64x2 threads (warps 2 x 2), each warp
    issuing 2 x 4 mma.sync per k step of 4 over K = 64."""
    program = compiled("matmul")
    mma = [s for s in _launches(program, "matmul") if s["block"] == [64, 2, 1]]
    assert [s["grid"] for s in mma] == [[2, 2, 1]]
    gpu = program.stages["gpu"]
    assert gpu.count("nvgpu.mma.sync") == 8
    assert gpu.count("tf32Enabled") == 8
    assert gpu.count("nvvm.convert.float.to.tf32") == 8  # 2 A fragments x 2 + 4 B fragments


@pytest.mark.parametrize("chip, allow_tf32", [("sm_80", False), ("sm_90", False), ("sm_75", True)])
def test_f32_matmuls_need_the_opt_in_and_sm_80(chip, allow_tf32):
    program = compiled("matmul", chip, allow_tf32)
    assert "mma.sync" not in program.ptx and "nvgpu" not in program.stages["gpu"]
    assert [s["block"] for s in _launches(program, "matmul")][-1] == [16, 16, 1]
    assert program.plan["target"]["allow_tf32"] is allow_tf32


def test_f16_needs_no_opt_in_but_sm_80():
    assert F16_MMA in compiled("matmul_f16", "sm_80", allow_tf32=False).ptx
    assert "mma.sync" not in compiled("matmul_f16", "sm_75", allow_tf32=False).ptx


# ---------------------------------------------------------------------------------------------
# Numerics, interpreted
# ---------------------------------------------------------------------------------------------


def interpreted(name: str, arrays: list[np.ndarray]) -> list[np.ndarray]:
    program = compiled(name)
    return run_plan(program.plan["entries"][name], program.stages["gpu"], arrays)


def _relative_error(got, want) -> float:
    return float(np.max(np.abs(got.astype(np.float64) - want)) / np.max(np.abs(want)))


@pytest.mark.parametrize("name", ["matmul", "matmul_prime"])
def test_tf32_matmul_is_numpys_on_tf32_rounded_inputs(name):
    """To f32 rounding against the product of the inputs rounded to tf32 (rna), and at tf32's
    error against the f32 product: the inputs are rounded, by the kernel itself."""
    a, b = CASES[name][1]()
    (got,) = interpreted(name, [a, b])
    rounded = tf32_rna(a).astype(np.float64) @ tf32_rna(b).astype(np.float64)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    assert got.shape == exact.shape and got.dtype == np.float32
    assert _relative_error(got, rounded) < 2e-6
    assert 1e-5 < _relative_error(got, exact) < 2e-3


def test_tf32_matmul_with_transposed_b_and_accumulator():
    """C += A @ B^T, C an argument: the accumulators start from C (not rounded), B's
    fragments are read through the transposed map."""
    a, b, c = CASES["matmul_acc_transposed"][1]()
    (got,) = interpreted("matmul_acc_transposed", [a, b, c])
    want = c + tf32_rna(a).astype(np.float64) @ tf32_rna(b).astype(np.float64).T
    assert _relative_error(got, want) < 2e-6


def test_f16_matmul_on_small_integers_is_exact():
    """f16 with f16 accumulators: small integers keep every partial sum exact, so the
    kernel's result is numpy's exactly (any fragment out of place would show)."""
    rng = np.random.default_rng(5)
    a = rng.integers(-3, 4, (64, 32)).astype(np.float16)
    b = rng.integers(-3, 4, (32, 128)).astype(np.float16)
    (got,) = interpreted("matmul_f16", [a, b])
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, (a.astype(np.int64) @ b.astype(np.int64)).astype(np.float16))


def test_tensor_core_mlp_matches_numpy_at_tf32_precision():
    arrays = CASES["mlp"][1]()
    inputs, weights = arrays[:1], arrays[1:]
    program = compiled("mlp")
    got = run_plan(program.plan["entries"]["mlp"], program.stages["gpu"], inputs, weights)
    for value, want in zip(got, CASES["mlp"][2](*arrays)):
        np.testing.assert_allclose(value, want, rtol=5e-3, atol=5e-3)


# ---------------------------------------------------------------------------------------------
# The interpreter's model
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", sorted(MMA_LAYOUTS))
@pytest.mark.parametrize("operand", ["a", "b", "c"])
def test_fragment_layouts_cover_each_element_once(shape, operand):
    m, n, k = shape
    rows, cols = {"a": (m, k), "b": (k, n), "c": (m, n)}[operand]
    row, col = mma_layout(shape, operand)
    assert row.shape[0] == 32 and row.size == rows * cols
    assert sorted(zip(row.ravel(), col.ravel())) == [
        (r, c) for r in range(rows) for c in range(cols)
    ]


def test_tf32_rna_rounds_to_nearest_ties_away():
    ulp = 2.0**-10  # tf32 keeps 10 mantissa bits
    x = np.array(
        [1 + ulp / 2, 1 + ulp / 4, 1 + 3 * ulp / 4, -(1 + ulp / 2), 3.0, np.inf, -np.inf],
        np.float32,
    )
    want = np.array([1 + ulp, 1, 1 + ulp, -(1 + ulp), 3.0, np.inf, -np.inf], np.float32)
    np.testing.assert_array_equal(tf32_rna(x), want)
    assert np.isnan(tf32_rna(np.array([np.nan], np.float32)))[0]
