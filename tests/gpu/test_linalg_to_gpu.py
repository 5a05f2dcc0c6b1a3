"""--target cuda without a GPU: PTX for each case passes ptxas (sm_80, sm_90); the plan is
consistent; with a GPU (and cuda-python) the kernels' results match numpy."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cases import CASES
from mlir import ir
from plan_checker import check_plan, ptx_entries

from cellc.compiler.lowering.gpu_to_nvvm import find_ptxas, ptx_to_cubin
from cellc.compiler.lowering.launch_plan import LaunchPlanError, extract_launch_plan
from cellc.compiler.lowering.linalg_to_gpu import convert_linalg_to_gpu, lower_linalg_to_gpu
from cellc.dialects import ms

_PROGRAMS = {}


def compile_case(name: str, chip: str = "sm_80"):
    key = (name, chip)
    if key not in _PROGRAMS:
        ctx = ms.make_context()
        module = ir.Module.parse(CASES[name][0], ctx)
        _PROGRAMS[key] = lower_linalg_to_gpu(module, chip=chip)
    return _PROGRAMS[key]


@pytest.mark.parametrize("name", sorted(CASES))
def test_ptx_and_plan(name):
    program = compile_case(name)
    assert ".visible .entry" in program.ptx
    assert ".target sm_80" in program.ptx
    check_plan(program.plan, program.ptx)
    assert set(program.stages) == {"gpu", "nvvm", "ptx"}
    assert "gpu.launch_func" in program.stages["gpu"]
    assert "nvvm" in program.stages["nvvm"]
    json.dumps(program.plan)


@pytest.mark.skipif(find_ptxas() is None, reason="ptxas not found (CUDA toolkit absent)")
@pytest.mark.parametrize("chip", ["sm_80", "sm_90"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_ptxas_accepts(name, chip):
    program = compile_case(name, chip)
    assert f".target {chip}" in program.ptx
    assert program.cubin is not None and program.cubin[:4] == b"\x7fELF"
    assert ptx_to_cubin(program.ptx, chip)[:4] == b"\x7fELF"


def test_plan_bindings_mlp():
    plan = compile_case("mlp").plan["entries"]["mlp"]
    assert [w["name"] for w in plan["weights"]] == ["fc1.weight", "fc1.bias", "fc2.weight"]
    assert [o["shape"] for o in plan["outputs"]] == [[], [64, 16]]
    assert plan["inputs"] == [{"shape": [64, 32], "dtype": "float32"}]
    launches = [s for s in plan["steps"] if s["op"] == "launch"]
    # matmul-1 (fill, tiled matmul), bias+relu, matmul-2 (fill, matmul), loss (fill, reduce)
    assert len(launches) >= 5
    bound = {a["buffer"] for s in launches for a in s["args"] if "buffer" in a}
    assert {"input:0", "weight:0", "weight:1", "weight:2", "output:0", "output:1"} <= bound


def test_matmul_is_tiled_with_shared_memory():
    program = compile_case("matmul")
    gpu = program.stages["gpu"]
    assert "#gpu.address_space<workgroup>" in gpu
    assert "gpu.barrier" in gpu
    launch = [s for s in program.plan["entries"]["matmul"]["steps"] if s["op"] == "launch"][-1]
    assert launch["grid"] == [2, 2, 1] and launch["block"] == [16, 16, 1]
    assert "ld.shared" in program.ptx


@pytest.mark.parametrize(
    "name", ["sum_1d", "sum_prime", "column_sum", "row_max", "sum_squares_2d", "reduce_sum"]
)
def test_large_reductions_spread_over_many_threads(name):
    """Every launch that reads the reduced input runs at least 256 threads (split reductions);
    the serial tail is a launch over the small partial results only."""
    entry = compile_case(name).plan["entries"][name]
    size = int(np.prod(entry["inputs"][0]["shape"]))
    readers = [
        s
        for s in entry["steps"]
        if s["op"] == "launch" and any(a.get("buffer") == "input:0" for a in s["args"])
    ]
    assert readers
    for step in readers:
        threads = int(np.prod(step["grid"])) * int(np.prod(step["block"]))
        assert threads >= 256 or size < 256 * 32, (step["kernel"], step["grid"], step["block"])
    for step in entry["steps"]:
        if step["op"] == "launch" and np.prod(step["grid"]) * np.prod(step["block"]) == 1:
            temps = [
                entry["temporaries"][int(a["buffer"][5:])]
                for a in step["args"]
                if a.get("buffer", "").startswith("temp:")
            ]
            assert all(np.prod(t["shape"]) <= 256 for t in temps), step["kernel"]


@pytest.mark.parametrize("name", ["matmul_prime", "matmul_acc_transposed", "matmul_f64"])
def test_odd_matmuls_run_the_tiled_kernel_on_padded_buffers(name):
    program = compile_case(name)
    entry = program.plan["entries"][name]
    tiled = [s for s in entry["steps"] if s["op"] == "launch" and s["block"] == [16, 16, 1]]
    assert len(tiled) == 1
    padded = [a["shape"] for a in tiled[0]["args"] if "buffer" in a]
    assert all(d % 16 == 0 for shape in padded for d in shape), padded
    assert "#gpu.address_space<workgroup>" in program.stages["gpu"]
    assert "ld.shared" in program.ptx


def test_small_odd_matmul_keeps_one_thread_per_output():
    """Less than one 64x64x16 tile of work: padding would cost more than it saves."""
    launches = [s for s in compile_case("matmul_odd").plan["entries"]["matmul_odd"]["steps"]]
    assert all(s["block"] != [16, 16, 1] for s in launches if s["op"] == "launch")


def test_seed_grad_constant_and_weight():
    plan = compile_case("seed_grad").plan["entries"]["seed_grad"]
    assert plan["weights"] == [{"shape": [1], "dtype": "float32", "name": "z"}]
    # the ones matrix is a splat: it is materialized by a fill kernel or a constant buffer
    for const in plan["constants"]:
        assert all(v == 1.0 for v in const["values"])


def test_kernels_named_uniquely():
    program = compile_case("mlp")
    names = list(ptx_entries(program.ptx))
    assert (
        len(names)
        == len(set(names))
        == len(
            {s["kernel"] for s in program.plan["entries"]["mlp"]["steps"] if s["op"] == "launch"}
        )
    )


def test_plan_rejects_unknown_host_op():
    ctx = ms.make_context()
    module = ir.Module.parse(CASES["bias_add"][0], ctx)
    convert_linalg_to_gpu(module)
    func = next(op for op in module.body if op.operation.name == "func.func")
    with ctx, ir.Location.unknown():
        block = func.regions[0].blocks[0]
        with ir.InsertionPoint.at_block_begin(block):
            ir.Operation.create("memref.alloca_scope", regions=1)
    with pytest.raises(LaunchPlanError, match="memref.alloca_scope"):
        extract_launch_plan(module)


# ---------------------------------------------------------------------------------------------
# Execution on a GPU (skips here: no driver)
# ---------------------------------------------------------------------------------------------


def _cuda():
    try:
        from cellc.runtime import cuda
    except ImportError as error:  # pragma: no cover
        pytest.skip(f"cellc.runtime.cuda unavailable: {error}")
    ok, reason = cuda.cuda_available()
    if not ok:
        pytest.skip(f"no GPU to run kernels: {reason}")
    return cuda


@pytest.mark.parametrize("image", ["ptx", "cubin"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_gpu_matches_numpy(name, image):
    cuda = _cuda()
    program = compile_case(name)
    _text, make_inputs, reference, num_weights = CASES[name]
    arrays = make_inputs()
    inputs, weights = arrays[: len(arrays) - num_weights], arrays[len(arrays) - num_weights :]
    entry = cuda.CudaEntry(program.plan["entries"][name], getattr(program, image))
    outputs = entry(*inputs, weights=weights)
    expected = reference(*arrays)
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    entry.close()


def test_runtime_error_without_gpu():
    from cellc.runtime import cuda

    ok, reason = cuda.cuda_available()
    if ok:
        pytest.skip("a GPU is present")
    assert "--target cpu" in reason
    with pytest.raises(cuda.CudaUnavailableError, match="--target cpu"):
        cuda.CudaModule(compile_case("bias_add").ptx)
