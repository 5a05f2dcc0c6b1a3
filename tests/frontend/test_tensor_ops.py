"""Tensor ops on concrete tensors (each op's numpy reference) and their errors: indexing,
comparisons and bools, combining, MindSpore 2.x's functions and losses."""

from __future__ import annotations

import numpy as np
import pytest

from cellc import Tensor, nn, ops
from cellc import dtype as mstype
from cellc.errors import UnsupportedError

A = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], np.float32)
X = Tensor(A)


@pytest.mark.parametrize(
    "index",
    [
        0,
        -1,
        (1, 2),
        (slice(None), slice(None, None, -1)),
        (None, 1),
        (Ellipsis, 1),
        (slice(1, None), slice(0, 3, 2)),
        (slice(-5, 10),),
        (0, None, slice(None, None, -2)),
    ],
)
def test_getitem_is_numpy_indexing(index):
    np.testing.assert_array_equal(X[index].asnumpy(), A[index])


def test_getitem_with_an_int_tensor_or_list_gathers():
    np.testing.assert_array_equal(X[Tensor(np.array([1, 0]), mstype.int32)].asnumpy(), A[[1, 0]])
    np.testing.assert_array_equal(X[:, [2, -1]].asnumpy(), A[:, [2, -1]])


def test_getitem_errors():
    with pytest.raises(IndexError, match="out of bounds for dim 0 of size 2"):
        X[2]
    with pytest.raises(IndexError, match="too many indices"):
        X[0, 0, 0]
    with pytest.raises(UnsupportedError, match="bool mask"):
        X[X > 0]


def test_comparisons_are_elementwise_bool_tensors():
    y = Tensor(np.array([1.0, 5.0, 3.0], np.float32))
    for got, want in [
        (X == y, A == y.asnumpy()),
        (X != y, A != y.asnumpy()),
        (X < 2.0, A < 2),
        (X <= 3, A <= 3),
        (X > y, A > y.asnumpy()),
        (X >= 1.0, A >= 1),
    ]:
        assert got.dtype == mstype.bool_
        np.testing.assert_array_equal(got.asnumpy(), want)
    assert (X == None) is False  # noqa: E711  (not a computation: identity)
    assert len({X, y}) == 2  # Tensors stay hashable (by identity), as in MindSpore


def test_bool_logic_select_and_casts():
    mask = X > 0
    np.testing.assert_array_equal((~mask).asnumpy(), ~(A > 0))
    np.testing.assert_array_equal(ops.logical_and(mask, X < 4).asnumpy(), (A > 0) & (A < 4))
    np.testing.assert_array_equal(ops.where(mask, X, 0.0).asnumpy(), np.where(A > 0, A, 0))
    assert mask.astype(mstype.float32).mean().asnumpy() == pytest.approx(4 / 6)
    assert X.astype(mstype.bool_).asnumpy().all()


def test_floor_division_and_remainder_follow_python():
    a = Tensor(np.array([-7, 7, -7, 5], np.int32))
    b = Tensor(np.array([2, -2, -2, 3], np.int32))
    np.testing.assert_array_equal((a % b).asnumpy(), [1, -1, -1, 2])
    np.testing.assert_array_equal((a // b).asnumpy(), [-4, -4, 3, 1])
    np.testing.assert_allclose((Tensor(np.float32(-7.5)) % 2.0).asnumpy(), 0.5)


def test_combining():
    np.testing.assert_array_equal(ops.concat((X, X), 1).asnumpy(), np.concatenate([A, A], 1))
    np.testing.assert_array_equal(ops.stack((X, X), 2).asnumpy(), np.stack([A, A], 2))
    pieces = ops.split(X, 2, 1)
    assert [p.shape for p in pieces] == [(2, 2), (2, 1)]
    assert ops.Split(1, 3)(X)[2].shape == (2, 1)
    np.testing.assert_array_equal(
        ops.Pad(((1, 1), (0, 2)))(X).asnumpy(), np.pad(A, ((1, 1), (0, 2)))
    )
    np.testing.assert_array_equal(ops.tile(X, (2, 1)).asnumpy(), np.tile(A, (2, 1)))
    batch = np.arange(12.0).reshape(2, 2, 3)
    np.testing.assert_allclose(
        ops.BatchMatMul(transpose_b=True)(Tensor(batch), Tensor(batch)).asnumpy(),
        batch @ batch.transpose(0, 2, 1),
    )


def test_combining_errors_name_the_op():
    with pytest.raises(
        ValueError, match=r"Concat \(ms.concat\): dim 1 differs(.|\n)*test_tensor_ops.py"
    ):
        ops.concat((X, Tensor(np.zeros((2, 2), np.float32))), 0)
    with pytest.raises(
        ValueError, match=r"BatchMatMul \(ms.batch_matmul\): contracting dimensions differ"
    ):
        ops.BatchMatMul()(Tensor(np.zeros((2, 2, 3))), Tensor(np.zeros((2, 2, 3))))
    with pytest.raises(TypeError, match="Gather.*int32 or int64"):
        ops.gather(X, Tensor(np.array([0.0])), 0)


def test_arg_reductions_and_tuple_max():
    assert X.argmax().asnumpy() == 4 and X.argmax().dtype == mstype.int64
    np.testing.assert_array_equal(ops.argmin(X, 1).asnumpy(), [1, 2])
    assert ops.Argmax()(X).dtype == mstype.int32
    values, indices = ops.max(X, 1)
    np.testing.assert_array_equal(values.asnumpy(), [3, 5])
    np.testing.assert_array_equal(indices.asnumpy(), [2, 1])
    assert X.min().asnumpy() == -6


def test_tensor_methods():
    assert X.view(3, 2).shape == (3, 2) and X.flatten().shape == (6,)
    assert X.expand_dims(0).shape == (1, 2, 3) and X[None].squeeze().shape == (2, 3)
    np.testing.assert_array_equal(X.clip(0, 1).asnumpy(), np.clip(A, 0, 1))
    np.testing.assert_allclose(X.sum(axis=1).asnumpy(), A.sum(1))
    np.testing.assert_allclose(X.mean(axis=1).asnumpy(), A.mean(1))
    assert X[0, 0].item() == 1.0


# MindSpore 2.10's values (checked with the oracle) for the same inputs.
def test_losses_match_mindspore():
    labels = Tensor(np.array([2, 0], np.int32))
    target = Tensor(np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.5]], np.float32))
    weight = Tensor(np.array([0.5, 1.0, 2.0], np.float32))
    assert ops.cross_entropy(X, labels).asnumpy() == pytest.approx(0.72306, abs=1e-5)
    assert ops.nll_loss(ops.log_softmax(X, 1), labels, weight).asnumpy() == pytest.approx(
        ops.cross_entropy(X, labels, weight).asnumpy()
    )
    assert ops.binary_cross_entropy_with_logits(X, target).asnumpy() == pytest.approx(
        1.25269, abs=1e-5
    )
    assert nn.BCEWithLogitsLoss()(X, target).asnumpy() == pytest.approx(1.25269, abs=1e-5)

    class Weighted(nn.LossBase):
        def construct(self, a, b):
            return self.get_loss(ops.abs(a - b), 2.0)

    assert Weighted()(X, target).asnumpy() == pytest.approx(2 * np.abs(A - target.asnumpy()).mean())
    with pytest.raises(ValueError, match="reduction"):
        nn.CrossEntropyLoss(reduction="average")
