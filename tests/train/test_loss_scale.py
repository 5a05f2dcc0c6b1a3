"""TrainOneStepWithLossScaleCell: the update applied only without overflow, and the dynamic
loss-scale rule (halve on overflow, grow after scale_window clean steps), checked against
MindSpore's documented rule worked by hand; ops.clip_by_global_norm."""

import numpy as np
import pytest
from support.cells import Linear

from cellc import Tensor, nn, ops

X = Tensor(np.array([[1.0, 1.0]], np.float32))
Y = Tensor(np.array([[0.0]], np.float32))


def train_cell(scale_sense, lr=0.1):
    net = Linear()
    optimizer = nn.SGD(net.trainable_params(), learning_rate=lr)
    cell = nn.TrainOneStepWithLossScaleCell(nn.WithLossCell(net, nn.MSELoss()), optimizer,
                                            scale_sense)  # fmt: skip
    return net, optimizer, cell


def test_without_overflow_the_step_is_the_plain_step():
    manager = nn.DynamicLossScaleUpdateCell(
        loss_scale_value=2.0**10, scale_factor=2, scale_window=2
    )
    net, optimizer, cell = train_cell(manager)
    loss, overflow, scale = cell(X, Y)
    # loss = (x.w)^2 = 9; d/dw = 2 * 3 * x = [6, 6]; w -= 0.1 * 6
    assert loss.asnumpy() == pytest.approx(9.0)
    assert not overflow.asnumpy()
    np.testing.assert_allclose(net.w.asnumpy().ravel(), [0.4, 1.4], rtol=1e-6)
    assert optimizer.global_step.asnumpy().tolist() == [1]
    # scale_window = 2: cur_iter - last_overflow_iter reaches 2 at the second clean step
    assert cell.scale_sense.asnumpy() == pytest.approx(2.0**10)
    cell(X, Y)
    assert cell.scale_sense.asnumpy() == pytest.approx(2.0**11)


def test_an_overflow_skips_the_update_and_shrinks_the_scale():
    manager = nn.DynamicLossScaleUpdateCell(loss_scale_value=3.0e38, scale_factor=4, scale_window=5)
    net, optimizer, cell = train_cell(manager)
    loss, overflow, scale = cell(X, Y)
    assert overflow.asnumpy()
    np.testing.assert_array_equal(net.w.asnumpy().ravel(), [1.0, 2.0])  # untouched
    assert optimizer.global_step.asnumpy().tolist() == [0]
    assert cell.scale_sense.asnumpy() == pytest.approx(3.0e38 / 4, rel=1e-6)


def test_a_fixed_scale_tensor():
    net, _, cell = train_cell(Tensor(np.array([8.0], np.float32)))
    loss, overflow, scale = cell(X, Y)
    assert not overflow.asnumpy() and scale.asnumpy().tolist() == [8.0]
    np.testing.assert_allclose(net.w.asnumpy().ravel(), [0.4, 1.4], rtol=1e-6)
    with pytest.raises(ValueError, match="shape of 'scale_sense' must be"):
        train_cell(Tensor(np.ones((2,), np.float32)))


def test_clip_by_global_norm():
    a, b = ops.clip_by_global_norm(
        (Tensor(np.array([3.0, 0.0], np.float32)), Tensor(np.array([4.0], np.float32))), 1.0
    )
    np.testing.assert_allclose(a.asnumpy(), [0.6, 0.0], rtol=1e-6)  # norm 5 -> 1
    np.testing.assert_allclose(b.asnumpy(), [0.8], rtol=1e-6)
    small = ops.clip_by_global_norm((Tensor(np.array([0.3], np.float32)),), 1.0)
    np.testing.assert_allclose(small[0].asnumpy(), [0.3], rtol=1e-6)  # inside: unchanged
