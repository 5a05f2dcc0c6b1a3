"""MindSpore's implicit dtype promotion in binary arithmetic, `Cast` and `Tensor.astype`: the
frontend inserts an `ms.cast` on the lower operand (bool < int32 < int64 < float16 < float32 <
float64); eager calls give the same dtypes with numpy."""

import numpy as np
import pytest

from cellc import Tensor, nn, ops
from cellc import dtype as mstype
from cellc.frontend import trace

F = ops.functional


def t(values, dtype):
    return Tensor(np.asarray(values), dtype=dtype)


@pytest.mark.parametrize(
    "lhs, rhs, result",
    [
        (mstype.float32, mstype.float64, mstype.float64),
        (mstype.float64, mstype.float32, mstype.float64),
        (mstype.float16, mstype.float32, mstype.float32),
        (mstype.int32, mstype.float32, mstype.float32),
        (mstype.int64, mstype.float16, mstype.float16),
        (mstype.int32, mstype.int64, mstype.int64),
    ],
)
@pytest.mark.parametrize("op", [F.add, F.sub, F.mul, F.maximum, F.minimum])
def test_eager_binary_ops_promote(op, lhs, rhs, result):
    a, b = t([1, 2, 3], lhs), t([3, 2, 1], rhs)
    out = op(a, b)
    assert out.dtype is result
    expected = op.__name__
    reference = {"add": np.add, "sub": np.subtract, "mul": np.multiply}.get(expected)
    reference = reference or getattr(np, expected)
    np.testing.assert_array_equal(out.asnumpy(), reference(a.asnumpy(), b.asnumpy()))


def test_python_float_with_an_int_tensor_gives_float32():
    out = t([1, 2, 3], mstype.int32) * 1.5
    assert out.dtype is mstype.float32
    np.testing.assert_array_equal(out.asnumpy(), [1.5, 3.0, 4.5])
    assert (t([1, 2], mstype.int64) + 1).dtype is mstype.int64
    assert (t([1, 2], mstype.float16) + 1.5).dtype is mstype.float16


class Mixed(nn.Cell):
    def construct(self, x, y, n):
        return x + y, n * x


def test_traced_promotion_inserts_ms_cast():
    module = trace(
        Mixed(),
        t([[1.0, 2.0]], mstype.float32),
        t([[1.0, 2.0]], mstype.float64),
        t([[1, 2]], mstype.int32),
    )
    text = str(module)
    assert '"ms.cast"(%arg0) : (tensor<1x2xf32>) -> tensor<1x2xf64>' in text
    assert '"ms.cast"(%arg2) : (tensor<1x2xi32>) -> tensor<1x2xf32>' in text
    assert "-> (tensor<1x2xf64>, tensor<1x2xf32>)" in text


def test_compiled_promotion_matches_numpy(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLC_CACHE_DIR", str(tmp_path))
    x = np.array([[1.25, -2.0]], np.float32)
    y = np.array([[0.1, 0.2]], np.float64)
    n = np.array([[3, -4]], np.int32)
    total, scaled = Mixed()(Tensor(x), Tensor(y), Tensor(n))
    assert total.dtype is mstype.float64 and scaled.dtype is mstype.float32
    np.testing.assert_array_equal(total.asnumpy(), x.astype(np.float64) + y)
    np.testing.assert_array_equal(scaled.asnumpy(), n.astype(np.float32) * x)


def test_matmul_does_not_promote():
    with pytest.raises(TypeError, match="MatMul"):
        ops.MatMul()(t([[1.0]], mstype.float32), t([[1.0]], mstype.float64))


def test_cast_and_astype():
    x = t([-1.75, 0.5, 2.5], mstype.float32)
    assert ops.Cast()(x, mstype.float64).dtype is mstype.float64
    np.testing.assert_array_equal(ops.Cast()(x, mstype.int32).asnumpy(), [-1, 0, 2])
    assert x.astype(mstype.float16).dtype is mstype.float16
    assert x.astype(mstype.float32) is x
    with pytest.raises(TypeError, match="Cast"):
        ops.Cast()(x, np.float64)
    np.testing.assert_array_equal(ops.Cast()(x, mstype.bool_).asnumpy(), [True, True, True])
