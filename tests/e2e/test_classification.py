"""Softmax, LogSoftmax, SoftmaxCrossEntropyWithLogits and L1Loss, compiled: values against
numpy and gradients against the closed form d CE / d logits = softmax(logits) - labels."""

import numpy as np
import pytest
from support.cells import Lambda

from cellc import Tensor, nn, ops
from cellc import dtype as mstype


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


class GradLogits(nn.Cell):
    """d loss / d logits, with a sensitivity (the default: ones)."""

    def __init__(self, loss, sens_param=False):
        super().__init__()
        self.loss = loss
        self.grad_op = ops.GradOperation(sens_param=sens_param)

    def construct(self, *args):
        return self.grad_op(self.loss)(*args)


RNG = np.random.default_rng(7)
LOGITS = RNG.normal(0, 2, (5, 4))
LABELS = softmax(RNG.normal(0, 1, (5, 4)))  # rows are probabilities
CLASSES = np.array([3, 0, 1, 1, 2], np.int32)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_and_log_softmax_values(axis):
    x = Tensor(LOGITS)
    np.testing.assert_allclose(nn.Softmax(axis)(x).asnumpy(), softmax(LOGITS, axis), rtol=1e-12)
    np.testing.assert_allclose(
        nn.LogSoftmax(axis)(x).asnumpy(), np.log(softmax(LOGITS, axis)), rtol=1e-12
    )
    # eager (PyNative-style) primitives agree
    np.testing.assert_allclose(ops.Softmax(axis)(x).asnumpy(), softmax(LOGITS, axis), rtol=1e-12)


def test_softmax_is_stable_for_large_logits():
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -1000.0]], np.float32)
    out = nn.Softmax()(Tensor(x)).asnumpy()
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, softmax(x.astype(np.float64)), rtol=1e-6)
    log_out = nn.LogSoftmax()(Tensor(x)).asnumpy()
    np.testing.assert_allclose(log_out, np.log(softmax(x.astype(np.float64))), rtol=1e-6)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_gradient_is_the_jacobian_transpose(axis):
    sens = RNG.uniform(-1, 1, LOGITS.shape)
    (dx,) = [GradLogits(nn.Softmax(axis), sens_param=True)(Tensor(LOGITS), Tensor(sens))]
    s = softmax(LOGITS, axis)
    expected = s * (sens - (sens * s).sum(axis, keepdims=True))
    np.testing.assert_allclose(dx.asnumpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_values(reduction):
    loss = nn.SoftmaxCrossEntropyWithLogits(reduction=reduction)
    per_sample = -(LABELS * np.log(softmax(LOGITS))).sum(-1)
    expected = {"none": per_sample, "mean": per_sample.mean(), "sum": per_sample.sum()}
    got = loss(Tensor(LOGITS), Tensor(LABELS)).asnumpy()
    np.testing.assert_allclose(got, expected[reduction], rtol=1e-12)


def test_cross_entropy_default_reduction_is_none():
    out = nn.SoftmaxCrossEntropyWithLogits()(Tensor(LOGITS), Tensor(LABELS))
    assert out.shape == (5,)


@pytest.mark.parametrize("reduction, scale", [("sum", 1.0), ("mean", 1 / 5)])
def test_cross_entropy_gradient_is_softmax_minus_labels(reduction, scale):
    loss = nn.SoftmaxCrossEntropyWithLogits(reduction=reduction)
    dx = GradLogits(loss)(Tensor(LOGITS), Tensor(LABELS))
    np.testing.assert_allclose(
        dx.asnumpy(), scale * (softmax(LOGITS) - LABELS), rtol=1e-10, atol=1e-13
    )


def test_sparse_cross_entropy_equals_dense_one_hot():
    one_hot = np.eye(4)[CLASSES]
    sparse = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    dense = nn.SoftmaxCrossEntropyWithLogits(sparse=False, reduction="mean")
    np.testing.assert_allclose(
        sparse(Tensor(LOGITS), Tensor(CLASSES)).asnumpy(),
        dense(Tensor(LOGITS), Tensor(one_hot)).asnumpy(),
        rtol=1e-12,
    )
    dx = GradLogits(sparse)(Tensor(LOGITS), Tensor(CLASSES))
    np.testing.assert_allclose(dx.asnumpy(), (softmax(LOGITS) - one_hot) / 5, rtol=1e-10)


def test_one_hot_of_traced_indices():
    indices = np.array([2, 0, 5, -1, 1], np.int64)  # out of range: a row of zeros
    one_hot = ops.OneHot()
    fn = Lambda(lambda i: one_hot(i, 3, Tensor(1.0, mstype.float32), Tensor(0.0, mstype.float32)))
    expected = np.zeros((5, 3), np.float32)
    for row, index in enumerate(indices):
        if 0 <= index < 3:
            expected[row, index] = 1.0
    np.testing.assert_array_equal(fn(Tensor(indices)).asnumpy(), expected)


def test_cross_entropy_rejects_bad_inputs():
    with pytest.raises(ValueError, match="reduction"):
        nn.SoftmaxCrossEntropyWithLogits(reduction="avg")
    with pytest.raises(TypeError, match="sparse"):
        nn.SoftmaxCrossEntropyWithLogits(sparse=1)
    sparse = nn.SoftmaxCrossEntropyWithLogits(sparse=True)
    with pytest.raises(TypeError, match="OneHot"):
        sparse(Tensor(LOGITS), Tensor(LABELS))
    with pytest.raises(TypeError, match="Softmax"):
        ops.Softmax()(Tensor(np.array([1, 2], np.int32)))


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_l1_loss(reduction):
    a, b = RNG.normal(0, 1, (3, 4)), RNG.normal(0, 1, (3, 4))
    got = nn.L1Loss(reduction)(Tensor(a), Tensor(b)).asnumpy()
    diff = np.abs(a - b)
    expected = {"none": diff, "mean": diff.mean(), "sum": diff.sum()}[reduction]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    if reduction == "mean":
        dx = GradLogits(nn.L1Loss())(Tensor(a), Tensor(b))
        np.testing.assert_allclose(dx.asnumpy(), np.sign(a - b) / a.size, rtol=1e-12)


def test_pow_with_a_python_scalar_exponent():
    x = np.array([0.5, 1.0, 2.0, 3.0])
    for exponent in (3, -2, 0.5, 1.5, 0):
        got = ops.Pow()(Tensor(x), exponent).asnumpy()
        np.testing.assert_allclose(got, x**exponent, rtol=1e-12, err_msg=str(exponent))
    dx = GradLogits(Lambda(lambda v: ops.Pow()(v, 1.5)))(Tensor(x))
    np.testing.assert_allclose(dx.asnumpy(), 1.5 * x**0.5, rtol=1e-12)
