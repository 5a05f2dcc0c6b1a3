"""Every VJP rule through the compiled CPU path: GradOperation(get_all=True) of a float64 cell
against central finite differences of the same cell, compiled too.

(tests/autodiff checks the rules over hypothesis-drawn shapes with the reference interpreter;
this file checks that what the user runs, native code, agrees.)
"""

import zlib

import numpy as np
import pytest
from support.cells import GradAll, Lambda
from support.finite_differences import numeric_vjp

from cellc import Tensor, nn, ops
from cellc import dtype as mstype

F = ops.functional
CROSS_ENTROPY = nn.SoftmaxCrossEntropyWithLogits(reduction="mean")
L1 = nn.L1Loss(reduction="sum")


CASES = {
    "add-broadcast": (lambda a, b: a + b, [(2, 3), (3,)]),
    "sub-broadcast": (lambda a, b: a - b, [(2, 1), (1, 3)]),
    "mul-broadcast": (lambda a, b: a * b, [(4, 3), (4, 1)]),
    "div": (lambda a, b: a / b, [(2, 3), (2, 3)]),
    "neg": (lambda a: -a, [(3,)]),
    "matmul": (lambda a, b: ops.MatMul()(a, b), [(2, 3), (3, 4)]),
    "matmul-ta": (lambda a, b: ops.MatMul(transpose_a=True)(a, b), [(3, 2), (3, 4)]),
    "matmul-tb": (lambda a, b: ops.MatMul(transpose_b=True)(a, b), [(2, 3), (4, 3)]),
    "matmul-tatb": (lambda a, b: ops.MatMul(True, True)(a, b), [(3, 2), (4, 3)]),
    "reduce-sum-axis": (lambda a: ops.ReduceSum()(a, 1), [(2, 3, 4)]),
    "reduce-sum-keep": (lambda a: ops.ReduceSum(keep_dims=True)(a, (0, 2)), [(2, 3, 4)]),
    "reduce-mean": (lambda a: ops.ReduceMean()(a), [(3, 4)]),
    "reshape": (lambda a: ops.Reshape()(a, (3, -1)), [(2, 3, 2)]),
    "transpose": (lambda a: ops.Transpose()(a, (2, 0, 1)), [(2, 3, 4)]),
    "broadcast-to": (lambda a: ops.BroadcastTo((2, 3, 4))(a), [(3, 1)]),
    "relu": (lambda a: ops.ReLU()(a), [(3, 4)]),
    "exp": (lambda a: ops.Exp()(a), [(3,)]),
    "log": (lambda a: ops.Log()(a * a + 1.0), [(3,)]),
    "tanh": (lambda a: ops.Tanh()(a), [(2, 3)]),
    "sigmoid": (lambda a: ops.Sigmoid()(a), [(2, 3)]),
    "maximum-broadcast": (lambda a, b: ops.Maximum()(a, b), [(2, 3), (3,)]),
    "minimum-broadcast": (lambda a, b: ops.Minimum()(a, b), [(2, 1), (1, 3)]),
    "sqrt": (lambda a: ops.Sqrt()(a * a + 0.5), [(2, 3)]),
    "sin": (lambda a: ops.Sin()(a), [(2, 3)]),
    "erf": (lambda a: ops.Erf()(a), [(2, 3)]),
    "cos": (lambda a: ops.Cos()(a), [(2, 3)]),
    "abs": (lambda a: ops.Abs()(a), [(2, 3)]),
    "reduce-max-axis": (lambda a: ops.ReduceMax()(a, 1), [(2, 3, 4)]),
    "reduce-max-keep": (lambda a: ops.ReduceMax(keep_dims=True)(a, (0, 2)), [(2, 3, 4)]),
    "astype-f64-to-f64": (lambda a: ops.Exp()(a).astype(mstype.float64), [(3,)]),
    "promote-f32-constant": (lambda a: a * Tensor(np.array([1.5, -2.0], np.float32)), [(3, 2)]),
    "promote-int-constant": (lambda a: a - Tensor(np.array([1, 2, 3], np.int32)), [(2, 3)]),
    "pow-scalar": (lambda a: ops.Pow()(a * a + 1.0, 1.5), [(2, 3)]),
    "pow-negative": (lambda a: ops.Pow()(a * a + 1.0, -2), [(3,)]),
    "softmax": (lambda a: ops.Softmax()(a), [(2, 4)]),
    "log-softmax-axis0": (lambda a: ops.LogSoftmax(axis=0)(a), [(3, 2)]),
    "softmax-cross-entropy": (lambda a, b: CROSS_ENTROPY(a, b), [(3, 4), (3, 4)]),
    "l1-loss": (lambda a, b: L1(a, b), [(2, 3), (2, 3)]),
    # stop_gradient is checked against closed forms (test_gradients_compiled.py): finite
    # differences see through it.
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_vjp_matches_finite_differences(name):
    fn, shapes = CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # the same points in every run
    forward = Lambda(fn)
    grad = GradAll(Lambda(fn))
    for _point in range(2):
        args = [rng.uniform(-1.5, 1.5, shape) for shape in shapes]
        if name in ("relu", "abs", "l1-loss"):  # keep away from the kink
            args = [np.where(np.abs(a) < 0.1, 0.5, a) for a in args]
        if name == "div":  # keep the divisor away from the pole
            args[1] = np.where(np.abs(args[1]) < 0.3, 0.8, args[1])
        out = forward(*[Tensor(a) for a in args]).asnumpy()
        sens = rng.uniform(-1, 1, out.shape)
        got = grad(*[Tensor(a) for a in args], Tensor(sens))
        expected = numeric_vjp(forward, args, sens)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g.asnumpy(), e, rtol=1e-6, atol=1e-7)
