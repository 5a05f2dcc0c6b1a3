"""`--target cuda` for convolution networks: a LeNet's weight gradients (conv2d, its two
transposes, max pooling and its gradient, Flatten, Dense) and a block of the other window ops
(depthwise and dilated convolution, average pooling, Conv2dTranspose, GELU) compile to PTX that
`ptxas` accepts for sm_80 and sm_90; with a GPU, their results equal the CPU target's."""

import numpy as np
import pytest
from support.cells import GradInputsAndWeights
from support.ptx import assert_ptxas_accepts, needs_ptxas

import cellc
import cellc.runtime
from cellc import Tensor, nn
from cellc.frontend import CompileOptions, compile
from cellc.runtime.cuda import cuda_available

GPU, WHY_NOT = cuda_available()


class LeNet(nn.Cell):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, pad_mode="valid", has_bias=True)
        self.conv2 = nn.Conv2d(6, 16, 5, pad_mode="valid")
        self.pool = nn.MaxPool2d(2, 2)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc = nn.Dense(400, 10)

    def construct(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        return self.fc(self.flatten(x))


class Blocks(nn.Cell):
    def __init__(self):
        super().__init__()
        self.depthwise = nn.Conv2d(4, 4, 3, stride=2, group=4)
        self.dilated = nn.Conv2d(4, 8, 3, dilation=2, pad_mode="pad", padding=1)
        self.pool = nn.AvgPool2d(2, 2, pad_mode="same")
        self.up = nn.Conv2dTranspose(8, 2, 3, stride=2)
        self.gelu = nn.GELU()

    def construct(self, x):
        return self.up(self.pool(self.gelu(self.dilated(self.depthwise(x)))))


CASES = {
    "lenet-gradient": lambda: (
        GradInputsAndWeights(LeNet()),
        [Tensor(np.ones((2, 1, 32, 32), np.float32))],
    ),
    "window-blocks-gradient": lambda: (
        GradInputsAndWeights(Blocks()),
        [Tensor(np.ones((1, 4, 12, 12), np.float32))],
    ),
}


@needs_ptxas
@pytest.mark.parametrize("chip", ["sm_80", "sm_90"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_ptx_assembles(case, chip, tmp_path):
    cell, args = CASES[case]()
    result = compile(cell, *args, options=CompileOptions(target="cuda", chip=chip))
    assert_ptxas_accepts(result.stages["ptx"], chip, tmp_path)


@pytest.mark.skipif(not GPU, reason=f"no GPU here: {WHY_NOT}")
@pytest.mark.parametrize("case", sorted(CASES))
def test_gpu_results_equal_the_cpu_target(case, tmp_path):
    cell, args = CASES[case]()
    values = [np.random.default_rng(0).standard_normal(a.shape).astype(np.float32) for a in args]
    results = {}
    for target in ("cpu", "cuda"):
        path = cellc.export(cell, *args, file_name=str(tmp_path / target), target=target)
        entry = next(iter(cellc.runtime.load(path).entries.values()))
        results[target] = entry(*values)

    def leaves(tree):
        return [x for t in tree for x in leaves(t)] if isinstance(tree, tuple) else [tree]

    for cpu, gpu in zip(leaves(results["cpu"]), leaves(results["cuda"]), strict=True):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-4, atol=1e-4)
