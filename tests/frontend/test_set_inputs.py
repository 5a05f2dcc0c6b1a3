"""MindSpore's input descriptions: `Tensor(shape=[None, 4], dtype=...)` and `Cell.set_inputs`.

A described input of any batch size runs (one program for every batch size, see
tests/e2e/test_dynamic_batch.py); a call that does not fit the description is refused with
MindSpore's checks (count, dtype, rank, the fixed dimensions)."""

from __future__ import annotations

import numpy as np
import pytest

from cellc import Tensor, nn
from cellc import dtype as mstype
from cellc.initializer import Normal, One


class Affine(nn.Cell):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(4, 2, weight_init=Normal(0.5), bias_init="zeros")

    def construct(self, x):
        return self.dense(x)


def reference(net, x):
    return x @ net.dense.weight.asnumpy().T + net.dense.bias.asnumpy()


def test_a_described_batch_runs_at_every_size():
    net = Affine()
    net.set_inputs(Tensor(shape=[None, 4], dtype=mstype.float32))
    assert [t.shape for t in net.get_inputs()] == [(-1, 4)]
    rng = np.random.default_rng(0)
    for batch in (3, 5, 1):
        x = rng.standard_normal((batch, 4)).astype(np.float32)
        np.testing.assert_allclose(net(Tensor(x)).asnumpy(), reference(net, x), rtol=1e-5)


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((np.zeros((3, 5), np.float32),), ValueError, "the shape of set_inputs must be the same"),
        ((np.zeros((3, 4, 1), np.float32),), ValueError, "the dims of set_inputs must be the same"),
        ((np.zeros((3, 4), np.float64),), TypeError, "the dtype of set_inputs must be the same"),
        ((np.zeros((3, 4), np.float32),) * 2, ValueError, "length of network input"),
    ],
    ids=["fixed_dimension", "rank", "dtype", "count"],
)
def test_a_call_that_does_not_fit_is_refused(args, error, message):
    net = Affine()
    net.set_inputs(Tensor(shape=[None, 4], dtype=mstype.float32))
    with pytest.raises(error, match=message):
        net(*(Tensor(a) for a in args))


def test_any_rank():
    net = Affine()
    net.set_inputs(Tensor(shape=[-2], dtype=mstype.float32))
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(net(Tensor(x)).asnumpy(), reference(net, x), rtol=1e-5)


def test_shape_and_dtype_tensors():
    described = Tensor(shape=(None, 3), dtype=mstype.float16)
    assert described.shape == (-1, 3) and described.dtype == mstype.float16
    assert repr(described) == "Tensor(shape=[-1, 3], dtype=Float16)"
    with pytest.raises(TypeError, match="has no data"):
        described.asnumpy()
    filled = Tensor(shape=(2, 3), dtype=mstype.float32, init=One())
    np.testing.assert_array_equal(filled.asnumpy(), np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match="must hold ints"):
        Tensor(shape=(2, "3"), dtype=mstype.float32)
