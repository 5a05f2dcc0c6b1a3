"""`--target cuda` from the user's side: the seed gradients and a small MLP, traced from cells,
compile to artifacts whose PTX `ptxas` accepts for sm_80 and sm_90."""

import numpy as np
import pytest
from support.cells import GradInputsAndWeights
from support.ptx import assert_ptxas_accepts, needs_ptxas

from cellc import Parameter, Tensor, nn, ops
from cellc.frontend import CompileOptions, compile

X = Tensor(np.array([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], np.float32))
Y = Tensor(np.array([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], np.float32))


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.matmul = ops.MatMul()
        self.z = Parameter(Tensor(np.array([1.0], np.float32)), name="z")

    def construct(self, x, y):
        return self.matmul(x * self.z, y)


class MLP(nn.Cell):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Dense(64, 128, activation="relu")
        self.fc2 = nn.Dense(128, 10)
        self.loss = nn.MSELoss()

    def construct(self, x, label):
        return self.loss(self.fc2(self.fc1(x)), label)


class MathFunctions(nn.Cell):
    """Every math function of its own op (libm's on the CPU; libdevice-free on the GPU)."""

    def construct(self, x, y):
        inverse = ops.asin(y) + ops.acos(y) + ops.atanh(y) + ops.acosh(x + 2.0)
        hyperbolic = ops.sinh(x) + ops.cosh(x) + ops.asinh(x) + ops.tan(y) + ops.atan(x)
        logs = ops.log2(x * x + 1.0) + ops.log10(x * x + 1.0) + ops.log1p(x * x) + ops.expm1(y)
        rounding = ops.erfc(x) + ops.trunc(x) + ops.round(x) + ops.atan2(x, y)
        return inverse * hyperbolic + logs * rounding


CASES = {
    "math-functions": lambda: (
        GradInputsAndWeights(MathFunctions()),
        [Tensor(np.full((4, 8), 0.5, np.float32)), Tensor(np.full((4, 8), 0.25, np.float32))],
    ),
    "seed-gradient": lambda: (GradInputsAndWeights(Net()), [X, Y]),
    "mlp-gradient": lambda: (
        GradInputsAndWeights(MLP()),
        [Tensor(np.ones((32, 64), np.float32)), Tensor(np.zeros((32, 10), np.float32))],
    ),
}


@needs_ptxas
@pytest.mark.parametrize("chip", ["sm_80", "sm_90"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_ptx_assembles(case, chip, tmp_path):
    cell, args = CASES[case]()
    result = compile(cell, *args, options=CompileOptions(target="cuda", chip=chip))
    assert result.artifact is not None
    assert_ptxas_accepts(result.stages["ptx"], chip, tmp_path)


def test_emit_ptx_needs_the_cuda_target():
    from cellc.errors import CellcError

    with pytest.raises(CellcError, match="target cuda"):
        CompileOptions(target="cpu", emit="ptx")
