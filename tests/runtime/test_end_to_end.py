"""The real compiler's artifact for the seed tutorial, run by the Python and the C runtime."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import SEED_X, SEED_Y, parse_outputs, run_program

pytest.importorskip("mlir", reason="the MLIR Python bindings are needed to compile")

SEED_SCRIPT = """
import sys
import numpy as np
import cellc
from cellc import Parameter, Tensor, nn, ops


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.matmul = ops.MatMul()
        self.z = Parameter(Tensor(np.array([1.0], np.float32)), name="z")

    def construct(self, x, y):
        x = x * self.z
        return self.matmul(x, y)


class GradNetWrtX(nn.Cell):
    def __init__(self, net):
        super().__init__()
        self.net = net
        self.grad_op = ops.GradOperation()

    def construct(self, x, y):
        return self.grad_op(self.net)(x, y)


x = Tensor([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], dtype=cellc.dtype.float32)
y = Tensor([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], dtype=cellc.dtype.float32)
cellc.export(GradNetWrtX(Net()), x, y, file_name=sys.argv[1])
"""


@pytest.fixture(scope="module")
def seed_artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("e2e") / "seed.cellc"
    result = subprocess.run(
        [sys.executable, "-c", SEED_SCRIPT, str(path)], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return path


def test_compiled_seed_gradient(seed_artifact):
    from cellc import runtime

    module = runtime.load(seed_artifact)
    entry = module.GradNetWrtX
    (weight,) = entry.weights  # "net.z": MindSpore prefixes a child cell's Parameter names
    assert weight.endswith("z") and entry.outputs[0].meaning == "d/d input 0 (x)"
    assert entry.gradient["get_all"] is False and entry.structure == {"tensor": 0}
    dx = entry(SEED_X, SEED_Y)
    np.testing.assert_allclose(dx, [[4.51, 2.7, 3.6], [4.51, 2.7, 3.6]], rtol=1e-6)
    module.set_parameter(weight, np.array([2.0], np.float32))
    np.testing.assert_allclose(entry(SEED_X, SEED_Y), 2 * dx, rtol=1e-6)


def test_compiled_seed_from_c(seed_artifact, seed_program):
    result = run_program(seed_program, seed_artifact, "GradNetWrtX")
    assert result.returncode == 0, result.stderr
    (dx,) = parse_outputs(result.stdout)
    np.testing.assert_allclose(dx, [[4.51, 2.7, 3.6], [4.51, 2.7, 3.6]], rtol=1e-6)
