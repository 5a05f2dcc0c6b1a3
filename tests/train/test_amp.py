"""mindspore.amp: the loss scalers against MindSpore's rule written in numpy, all_finite, the
loss-scale managers, and Model / build_train_network building the loss-scaled step."""

import numpy as np
import pytest
from support.cells import Linear

from cellc import Model, Tensor, amp, nn
from cellc import dtype as mstype


def dynamic_rule(scale, counter, finite, factor, window):
    """MindSpore's DynamicLossScaler.adjust, in numpy (float32 scale, int32 counter)."""
    scale = np.float32(scale)
    if finite:
        grown = scale * np.float32(factor)
        if counter == window - 1:
            scale = grown if np.isfinite(grown) else scale
    else:
        scale = max(np.float32(1), scale / np.float32(factor))
    return np.float32(scale), ((counter + 1) % window) * int(finite)


def test_dynamic_loss_scaler_follows_mindsporess_rule():
    flags = [True, True, True, False, True, True, False, False, True, True, True, True]
    scaler = amp.DynamicLossScaler(scale_value=2.0**10, scale_factor=2, scale_window=3)
    scale, counter = np.float32(2.0**10), 0
    for flag in flags:
        assert scaler.adjust(Tensor(np.array(flag))) is True
        scale, counter = dynamic_rule(scale, counter, flag, 2, 3)
        assert scaler.scale_value.asnumpy() == scale
        assert scaler.counter.asnumpy() == counter


def test_the_scale_never_falls_below_one_nor_grows_past_float32():
    scaler = amp.DynamicLossScaler(scale_value=1.5, scale_factor=4, scale_window=1)
    scaler.adjust(Tensor(np.array(False)))
    assert scaler.scale_value.asnumpy() == 1.0
    big = amp.DynamicLossScaler(scale_value=3.0e38, scale_factor=2, scale_window=1)
    big.adjust(Tensor(np.array(True)))  # 6e38 overflows float32: the scale stays
    assert big.scale_value.asnumpy() == np.float32(3.0e38)


def test_mindsporess_documented_example():
    scaler = amp.DynamicLossScaler(scale_value=2**10, scale_factor=2, scale_window=1)
    grads = (
        Tensor(np.array([np.inf, 1.0]), mstype.float16),
        Tensor(np.array([0.2]), mstype.float16),
    )
    finite = amp.all_finite(scaler.unscale(grads))
    assert not finite.asnumpy()
    assert scaler.adjust(finite) is True
    assert scaler.scale_value.asnumpy() == 512.0


def test_static_scaler_and_all_finite_on_nested_gradients():
    scaler = amp.StaticLossScaler(scale_value=2**10)
    grads = (Tensor(np.array([1.5, 1.0], np.float16)), (Tensor(np.array([0.25], np.float32)),))
    unscaled = scaler.unscale(grads)
    assert unscaled[0].dtype == mstype.float16 and isinstance(unscaled[1], tuple)
    np.testing.assert_array_equal(unscaled[0].asnumpy(), np.float16([1.5, 1.0]) / 1024)
    np.testing.assert_array_equal(scaler.scale(unscaled)[1][0].asnumpy(), [0.25])
    assert amp.all_finite(grads).asnumpy()
    assert not amp.all_finite((grads, Tensor(np.array([np.nan], np.float32)))).asnumpy()
    assert scaler.adjust(Tensor(np.array(True))) is False
    with pytest.raises(ValueError, match="'scale_value' must be > 1"):
        amp.StaticLossScaler(0.5)


def test_dynamic_manager_rule():
    manager = amp.DynamicLossScaleManager(init_loss_scale=2**4, scale_factor=2, scale_window=2)
    scales = []
    for overflow in [False, False, True, False, False, False]:
        manager.update_loss_scale(overflow)
        scales.append(manager.get_loss_scale())
    # grows at cur_iter - last_overflow_iter = 2, 4...; halves on the overflow at iter 3
    assert scales == [16, 32, 16, 16, 32, 32]
    assert isinstance(manager.get_update_cell(), nn.DynamicLossScaleUpdateCell)
    fixed = amp.FixedLossScaleManager(128.0, drop_overflow_update=False)
    assert fixed.get_update_cell() is None and fixed.get_loss_scale() == 128.0


X = Tensor(np.array([[1.0, 1.0]], np.float32))
Y = Tensor(np.array([[0.0]], np.float32))


@pytest.mark.parametrize(
    "manager, optimizer_scale, cell",
    [
        (amp.DynamicLossScaleManager(2.0**8, 2, 10), 1.0, nn.TrainOneStepWithLossScaleCell),
        (amp.FixedLossScaleManager(64.0), 1.0, nn.TrainOneStepWithLossScaleCell),
        (amp.FixedLossScaleManager(64.0, False), 64.0, nn.TrainOneStepCell),
    ],
)
def test_model_builds_the_loss_scaled_step(manager, optimizer_scale, cell):
    net = Linear()
    optimizer = nn.SGD(net.trainable_params(), learning_rate=0.1, loss_scale=optimizer_scale)
    model = Model(net, nn.MSELoss(), optimizer, loss_scale_manager=manager)
    assert type(model.train_network) is cell
    model.train_network(X, Y)
    # loss (x.w)^2 = 9, gradient 2 * 3 * x = [6, 6]: the scale cancels, w -= 0.1 * 6
    np.testing.assert_allclose(net.w.asnumpy().ravel(), [0.4, 1.4], rtol=1e-6)


def test_mixed_precision_levels_keep_the_network_and_are_checked():
    net = Linear()
    with pytest.warns(UserWarning, match="computes in float32"):
        amp._warned["levels"] = False
        assert amp.auto_mixed_precision(net, "O2") is net
    with pytest.raises(ValueError, match="'amp_level' must be one of"):
        amp.auto_mixed_precision(net, "O4")
    with pytest.raises(TypeError, match="must be an nn.Optimizer"):
        amp.build_train_network(net, "sgd")
    assert nn.Dense in amp.get_white_list() and nn.BatchNorm2d in amp.get_black_list()
