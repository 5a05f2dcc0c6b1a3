"""Tensor ops compiled for the CPU: indexing, comparisons and bools, combining, losses.

Values: the compiled cell against the same construct run eagerly (each op's numpy reference).
Gradients: the compiled VJP (GradOperation with a sensitivity) against float64 central finite
differences of the compiled forward.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from support.cells import GradAll, Lambda
from support.finite_differences import numeric_vjp

import cellc
from cellc import Tensor, nn, ops, runtime
from cellc import dtype as mstype
from cellc.errors import UnsupportedError

F = ops.functional


X = Tensor(np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], np.float32))
INDICES = Tensor(np.array([1, 0, -1], np.int32))


def _values(x, i):
    mask = x > 0
    return (
        x[0],
        x[:, ::-1],
        x[None, 1],
        x[..., 1:3],
        x[-1, ::2],
        x[i],
        x[:, i],
        ops.where(mask, x, 0.0),
        ops.concat((x, x * 2.0, x), 1),
        ops.stack([x, x], 0),
        ops.Pad(((1, 0), (0, 2)))(x),
        x % 2.5,
        x // 2.5,
        ops.logical_or(mask, ~mask),
        ops.logical_and(mask, x < 4.0),
        x.argmin(0),
        ops.matmul(x.reshape(1, 2, 3), x.reshape(1, 3, 2)),
        mask.astype(mstype.int32),
        (x == x[0]).astype(mstype.float32),
        x != 5.0,
        x >= 3.0,
        x <= 1.0,
        ops.tile(x, (2, 1)),
        ops.split(x, 1, 1)[2],
        ops.clamp(x, -1.0, 2.0),
        ops.max(x, 1)[1],
        mask.astype(mstype.float32).astype(mstype.bool_),
    )


def test_compiled_tensor_ops_match_eager():
    compiled = Lambda(_values)(X, INDICES)
    eager = _values(X, INDICES)
    assert len(compiled) == len(eager)
    for position, (got, want) in enumerate(zip(compiled, eager)):
        assert got.dtype == want.dtype and got.shape == want.shape, position
        np.testing.assert_array_equal(got.asnumpy(), want.asnumpy(), err_msg=str(position))


def test_integer_floor_division_and_bools_compiled():
    a = Tensor(np.array([-7, 7, -7, 5], np.int32))
    b = Tensor(np.array([2, -2, -2, 3], np.int32))
    mod, div, equal = Lambda(lambda a, b: (a % b, a // b, a == b))(a, b)
    np.testing.assert_array_equal(mod.asnumpy(), [1, -1, -1, 2])  # MindSpore's (floor) values
    np.testing.assert_array_equal(div.asnumpy(), [-4, -4, 3, 1])
    assert equal.dtype == mstype.bool_


def test_accuracy_end_to_end():
    """(pred == label).astype(float32).mean(): bool tensors computed in compiled code."""
    logits = Tensor(np.array([[0.1, 0.9, 0.0], [2.0, 1.0, 0.5], [0.0, 0.2, 0.3]], np.float32))
    labels = Tensor(np.array([1, 2, 2], np.int32))
    accuracy = Lambda(lambda x, y: (x.argmax(1) == y).astype(mstype.float32).mean())
    np.testing.assert_allclose(accuracy(logits, labels).asnumpy(), 2 / 3, rtol=1e-6)


def test_bool_inputs_and_outputs_compiled():
    mask = Tensor(np.array([True, False, True]))
    x = Tensor(np.array([1.0, 2.0, 3.0], np.float32))
    out, inverted = Lambda(lambda m, x: (ops.where(m, x, -x), ~m))(mask, x)
    np.testing.assert_array_equal(out.asnumpy(), [1.0, -2.0, 3.0])
    np.testing.assert_array_equal(inverted.asnumpy(), [False, True, False])


LABELS = Tensor(np.array([2, 0, 1], np.int32))

CASES = {
    "getitem-int": (lambda a: a[1], [(3, 4)]),
    "getitem-step": (lambda a: a[:, 1::2], [(2, 5)]),
    "getitem-negative-step": (lambda a: a[::-2, None], [(5, 2)]),
    "getitem-tensor": (lambda a: a[INDICES], [(3, 2)]),
    "gather-repeated": (lambda a: ops.gather(a, Tensor(np.array([[0, 0], [2, 0]])), 1), [(2, 3)]),
    "concat": (lambda a, b: ops.concat((a, b, a), 0), [(2, 3), (1, 3)]),
    "stack": (lambda a, b: ops.stack((a, b), 1), [(2, 3), (2, 3)]),
    "split": (lambda a: ops.split(a, (1, 3), 1)[1], [(2, 4)]),
    "pad": (lambda a: ops.Pad(((1, 0), (2, 1)))(a), [(2, 3)]),
    "select": (lambda a, b: ops.where(a > 0, a * b, b), [(2, 3), (3,)]),
    "batch-matmul": (lambda a, b: ops.BatchMatMul()(a, b), [(2, 2, 3), (2, 3, 4)]),
    "batch-matmul-tb-broadcast": (
        lambda a, b: ops.BatchMatMul(transpose_b=True)(a, b),
        [(2, 2, 3), (1, 4, 3)],
    ),
    "matmul-nd": (lambda a, b: ops.matmul(a, b), [(2, 2, 3), (3,)]),
    "floor-mod": (lambda a, b: a % b, [(2, 3), (2, 3)]),
    "tile": (lambda a: ops.tile(a, (2, 1, 3)), [(2, 2)]),
    "clamp": (lambda a: ops.clamp(a, -0.5, 0.5), [(2, 3)]),
    "cross-entropy": (lambda a: ops.cross_entropy(a, LABELS), [(3, 4)]),
    "bce-with-logits": (lambda a, b: ops.binary_cross_entropy_with_logits(a, b), [(2, 3)] * 2),
    "nll-loss": (lambda a: nn.NLLLoss(reduction="sum")(a, LABELS), [(3, 4)]),
    "mse-loss": (lambda a, b: ops.mse_loss(a, b), [(2, 3), (2, 3)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_vjp_matches_finite_differences(name):
    fn, shapes = CASES[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    forward = Lambda(fn)
    grad = GradAll(Lambda(fn))
    args = [rng.uniform(-1.5, 1.5, shape) for shape in shapes]
    if name in ("select", "clamp"):  # keep away from the switching points
        args[0] = np.where(np.abs(args[0]) < 0.1, 0.7, args[0])
        args[0] = np.where(np.abs(np.abs(args[0]) - 0.5) < 0.05, 0.7, args[0])
    if name == "floor-mod":  # away from the jumps of floor(a / b)
        args[1] = np.where(np.abs(args[1]) < 0.5, 0.9, args[1])
        args[0] = np.round(args[0] / args[1]) * args[1] + 0.3 * args[1]
    out = forward(*[Tensor(a) for a in args]).asnumpy()
    sens = rng.uniform(-1, 1, out.shape)
    got = grad(*[Tensor(a) for a in args], Tensor(sens))
    got = got if isinstance(got, tuple) else (got,)
    expected = numeric_vjp(forward, args, sens)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.asnumpy(), e, rtol=1e-6, atol=1e-7)


def test_integer_results_have_no_gradient():
    grad = GradAll(Lambda(lambda a: a * ops.argmax(a, 1).astype(mstype.float64).sum()))
    a = np.array([[0.1, 0.5], [0.7, 0.2]])
    (g,) = grad(Tensor(a), Tensor(np.ones((2, 2))))
    np.testing.assert_allclose(g.asnumpy(), np.full((2, 2), 1.0))  # d(a * const) = const


def test_transposing_a_scalar_or_a_vector_is_the_identity():
    # MindSpore's tests/st/tensor: `Tensor(1).T` (linalg has no rank-0 transpose: MLIR asserted)
    net = Lambda(lambda x, v: (x.T, v.T, ops.transpose(v, (0,)) * 2))
    scalar, vector, doubled = net(Tensor(1), Tensor(np.array([1.0, 2.0], np.float32)))
    assert scalar.asnumpy() == 1 and scalar.dtype == mstype.int64
    np.testing.assert_array_equal(vector.asnumpy(), [1.0, 2.0])
    np.testing.assert_array_equal(doubled.asnumpy(), [2.0, 4.0])


def test_a_construct_may_return_python_constants(tmp_path):
    # MindSpore's graph mode returns them as they are (its tests/st/tensor return x.ndim,
    # x.shape, x.is_contiguous() ... from a construct)
    x = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert Lambda(lambda x: x.ndim)(x) == 2
    assert Lambda(lambda x: x.is_contiguous())(x) is True
    doubled, shape = Lambda(lambda x: (x * 2, x.shape))(x)
    np.testing.assert_array_equal(doubled.asnumpy(), np.arange(6).reshape(2, 3) * 2)
    assert shape == (2, 3) and type(shape[0]) is int
    nothing, name, scale, dtype, size = Lambda(lambda x: (None, "x", 0.5, x.dtype, x.size))(x)
    assert (nothing, name, scale, dtype, size) == (None, "x", 0.5, mstype.float32, 6)
    # in an artifact: the manifest holds them, the runtime (no cellc.Tensor) returns them
    path = cellc.export(
        Lambda(lambda x: (x + 1, x.shape, x.dtype)), x, file_name=str(tmp_path / "consts")
    )
    entry = runtime.load(path)["Lambda"]
    assert entry.structure["tuple"][1:] == [
        {"tuple": [{"constant": 2}, {"constant": 3}]},
        {"dtype": "float32"},
    ]
    plus_one, shape, dtype = entry(x.asnumpy())
    np.testing.assert_array_equal(plus_one, x.asnumpy() + 1)
    assert shape == (2, 3) and dtype == np.float32


def test_a_construct_returning_something_else_is_refused():
    with pytest.raises(UnsupportedError, match=r"Python constants .* got dict"):
        Lambda(lambda x: {"x": x})(X)
