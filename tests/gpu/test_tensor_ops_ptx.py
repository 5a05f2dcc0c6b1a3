"""`--target cuda` for the tensor ops and bool tensors: comparisons, logic, select, getitem,
concat, stack, gather, argmax/argmin, batch matmul, bool inputs and outputs, the gradients of
the differentiable ones, and a program with no kernel compile to PTX that `ptxas` accepts for
sm_80 and sm_90.

Bool tensors are bytes on the GPU as on the CPU (convert-bool-tensors-to-i8); the launch plan
labels a bool argument's or result's buffer `bool`, as the manifest does, so the runtime's
check of the plan against the manifest (runtime/cuda.py, read_plan) accepts the artifact. With
a GPU, the results equal the CPU target's.
"""

import numpy as np
import pytest
from support.cells import GradAll, Lambda
from support.ptx import assert_ptxas_accepts, needs_ptxas

import cellc
import cellc.runtime
from cellc import Tensor, ops
from cellc import dtype as mstype
from cellc.frontend import CompileOptions, compile
from cellc.runtime.artifact import read_artifact
from cellc.runtime.cuda import cuda_available, read_plan

GPU, WHY_NOT = cuda_available()


GATHER_INDICES = Tensor(np.array([[0, 2], [1, 1]], np.int32))
COLUMNS = Tensor(np.array([2, 0, 0], np.int32))


def tensor_ops(x, i):
    mask = x > 0
    return (
        mask,
        x == x[0],
        x != 2.0,
        ops.logical_and(mask, x <= 1.0),
        ops.logical_or(mask, ~mask),
        ops.where(mask, x, 0.0),
        x[:, ::-1],
        x[None, 1],
        x[i],
        ops.concat((x, x * 2.0), 1),
        ops.stack([x, x], 0),
        ops.gather(x, GATHER_INDICES, 1),
        x.argmax(1),
        x.argmin(0),
        ops.BatchMatMul()(x.reshape(1, 2, 3), x.reshape(1, 3, 2)),
        mask.astype(mstype.float32),
    )


def bool_inputs(mask, x):
    return ops.where(mask, x, -x), ~mask, ops.logical_and(mask, x > 1.0)


def differentiable(a, b):
    picked = ops.gather(a, COLUMNS, 1)[:, ::-1]
    joined = ops.concat((ops.where(a > 0, a, b), picked), 1)
    stacked = ops.stack([a, b], 0)
    return ops.BatchMatMul()(stacked, stacked.transpose(0, 2, 1)).sum() + (joined * joined).sum()


A = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], np.float32)
B = np.array([[0.5, 2.0, -1.0], [-3.0, 1.5, 2.5]], np.float32)
MASK = np.array([[True, False, True], [False, False, True]])
INDICES = np.array([1, 0, -1], np.int32)

CASES = {
    "tensor-ops": lambda: (Lambda(tensor_ops), [A, INDICES]),
    "bool-inputs": lambda: (Lambda(bool_inputs), [MASK, A]),
    # no kernel at all: the plan only copies, the PTX image is empty
    "copies-only": lambda: (Lambda(lambda mask, x: (x, mask)), [MASK, A]),
    "pow": lambda: (
        Lambda(
            lambda a, b: (a**b, ops.pow(a.astype(mstype.int32), 3), a.astype(mstype.float16) ** b)
        ),
        [A, B],
    ),
    "tensor-ops-gradient": lambda: (
        GradAll(Lambda(differentiable)),
        [A, B, np.array(1.0, np.float32)],
    ),
}


def compiled(case, chip):
    cell, arrays = CASES[case]()
    return compile(
        cell, *[Tensor(a) for a in arrays], options=CompileOptions(target="cuda", chip=chip)
    )


@needs_ptxas
@pytest.mark.parametrize("chip", ["sm_80", "sm_90"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_ptx_assembles(case, chip, tmp_path):
    assert_ptxas_accepts(compiled(case, chip).stages["ptx"], chip, tmp_path)


def test_bool_buffers_are_bool_in_the_plan_and_the_manifest(tmp_path):
    """The plan says bool where the manifest does (the runtime's check passes without a GPU);
    the bytes the kernels pass around inside stay int8."""
    path = tmp_path / "bools.cellc"
    path.write_bytes(compiled("bool-inputs", "sm_80").artifact)
    plan = read_plan(read_artifact(path))
    (entry,) = plan["entries"].values()
    assert [spec["dtype"] for spec in entry["inputs"]] == ["bool", "float32"]
    assert [spec["dtype"] for spec in entry["outputs"]] == ["float32", "bool", "bool"]
    buffer_args = [a for step in entry["steps"] if step["op"] == "launch" for a in step["args"]]
    assert "bool" not in {a.get("dtype") for a in buffer_args}
    assert "int8" in {a.get("dtype") for a in buffer_args}


@pytest.mark.skipif(not GPU, reason=f"no GPU here: {WHY_NOT}")
@pytest.mark.parametrize("case", sorted(CASES))
def test_gpu_results_equal_the_cpu_target(case, tmp_path):
    cell, arrays = CASES[case]()
    tensors = [Tensor(a) for a in arrays]
    results = {}
    for target in ("cpu", "cuda"):
        path = cellc.export(cell, *tensors, file_name=str(tmp_path / target), target=target)
        entry = next(iter(cellc.runtime.load(path).entries.values()))
        results[target] = entry(*arrays)

    def leaves(tree):
        return [x for t in tree for x in leaves(t)] if isinstance(tree, tuple) else [tree]

    for cpu, gpu in zip(leaves(results["cpu"]), leaves(results["cuda"]), strict=True):
        assert gpu.dtype == cpu.dtype
        np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=1e-5)
