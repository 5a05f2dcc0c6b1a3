"""CUDA artifacts from cells run through `cellc.runtime.load` with the CPU target's results
(float32 tolerance). Without a GPU and driver, loading is refused with a clear reason and the
execution tests skip, saying why."""

import numpy as np
import pytest
from test_frontend_to_ptx import CASES

import cellc
import cellc.runtime
from cellc.runtime.cuda import CudaUnavailableError, cuda_available

GPU, WHY_NOT = cuda_available()


@pytest.mark.skipif(GPU, reason="a GPU is present: the refusal path cannot be shown")
def test_loading_without_a_gpu_says_so_and_suggests_the_cpu_target(tmp_path):
    cell, args = CASES["seed-gradient"]()
    path = cellc.export(cell, *args, file_name=str(tmp_path / "seed"), target="cuda")
    with pytest.raises(CudaUnavailableError, match="--target cpu"):
        cellc.runtime.load(path)


@pytest.mark.skipif(not GPU, reason=f"no GPU here: {WHY_NOT}")
@pytest.mark.parametrize("case", sorted(CASES))
def test_gpu_results_equal_the_cpu_target(case, tmp_path):
    cell, args = CASES[case]()
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(a.shape).astype(np.float32) for a in args]
    results = {}
    for target in ("cpu", "cuda"):
        path = cellc.export(cell, *args, file_name=str(tmp_path / target), target=target)
        module = cellc.runtime.load(path)
        entry = next(iter(module.entries.values()))
        results[target] = entry(*values)

    def leaves(tree):
        return [x for t in tree for x in leaves(t)] if isinstance(tree, tuple) else [tree]

    for cpu, gpu in zip(leaves(results["cpu"]), leaves(results["cuda"])):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-5)
