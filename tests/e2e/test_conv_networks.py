"""Convolution, pooling and activation layers compiled for the CPU, from the user's side.

Against PyTorch (an independent implementation; the `bench` extra, skipped when absent):
convolution geometries (stride, dilation, padding, groups, depthwise) and their gradients,
Conv2dTranspose, and a LeNet's outputs and weight gradients. Against values and rules checked
on MindSpore 2.10 (pooling's 'same' padding and tie rule, the activations' defaults), and
finite differences (the activations' gradients).
"""

from __future__ import annotations

import numpy as np
import pytest

from cellc import ParameterTuple, Tensor, nn, ops


@pytest.fixture
def torch():
    """PyTorch, the independent implementation; the tests using it skip without it."""
    return pytest.importorskip("torch", reason="torch (the `bench` extra) is not installed")


RNG = np.random.default_rng(7)


def rand(*shape):
    return RNG.normal(size=shape).astype(np.float32)


class Grad(nn.Cell):
    """d <net(x), sens> / d (x, weights)."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.weights = ParameterTuple(net.trainable_params())
        self.grad = ops.GradOperation(get_all=True, get_by_list=True, sens_param=True)

    def construct(self, x, sens):
        return self.grad(self.net, self.weights)(x, sens)


CONV_CASES = {
    "plain": dict(x=(2, 3, 9, 8), cin=3, cout=4, k=3, stride=1, pad_mode="valid", pad=0, d=1, g=1),
    "stride-pad": dict(
        x=(1, 4, 9, 7), cin=4, cout=6, k=3, stride=2, pad_mode="pad", pad=1, d=1, g=2
    ),
    "dilated-same": dict(
        x=(2, 2, 8, 8), cin=2, cout=3, k=3, stride=1, pad_mode="same", pad=0, d=2, g=1
    ),
    "depthwise": dict(
        x=(1, 4, 6, 6), cin=4, cout=4, k=3, stride=2, pad_mode="same", pad=0, d=1, g=4
    ),
}


def torch_padding(case, x_shape):
    """MindSpore's padding of a case, as torch.nn.functional.pad's (left, right, top, bottom)."""
    top, bottom, left, right = ops.functional.window_padding(
        "test",
        x_shape[2:],
        case["pad_mode"],
        (case["k"], case["k"]),
        (case["stride"],) * 2,
        (case["d"],) * 2,
        case["pad"],
    )
    return left, right, top, bottom


@pytest.mark.parametrize("name", sorted(CONV_CASES))
def test_conv2d_and_its_gradients_match_torch(name, torch):
    case = CONV_CASES[name]
    net = nn.Conv2d(
        case["cin"],
        case["cout"],
        case["k"],
        case["stride"],
        case["pad_mode"],
        case["pad"],
        case["d"],
        case["g"],
        has_bias=True,
        bias_init="normal",
    )
    x = rand(*case["x"])
    y = net(Tensor(x)).asnumpy()
    sens = rand(*y.shape)
    (dx,), (dw, db) = Grad(net)(Tensor(x), Tensor(sens))

    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(net.weight.asnumpy(), requires_grad=True)
    tb = torch.tensor(net.bias.asnumpy(), requires_grad=True)
    padded = torch.nn.functional.pad(tx, torch_padding(case, x.shape))
    ty = torch.nn.functional.conv2d(
        padded, tw, tb, stride=case["stride"], dilation=case["d"], groups=case["g"]
    )
    (ty * torch.tensor(sens)).sum().backward()
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    for got, want in ((dx, tx), (dw, tw), (db, tb)):
        np.testing.assert_allclose(got.asnumpy(), want.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("stride, pad_mode", [(1, "same"), (2, "same"), (2, "valid"), (3, "pad")])
def test_conv2d_transpose_matches_torch(stride, pad_mode, torch):
    """Output sizes as MindSpore computes them (checked on 2.10: 5x6 -> 10x12 for 'same',
    stride 2, kernel 3; 11x13 'valid'; 13x16 'pad' 1, stride 3)."""
    net = nn.Conv2dTranspose(2, 4, 3, stride, pad_mode, padding=1 if pad_mode == "pad" else 0)
    x = rand(1, 2, 5, 6)
    y = net(Tensor(x)).asnumpy()
    expected_size = {"same": (5 * stride, 6 * stride), "valid": (4 * stride + 3, 5 * stride + 3)}
    expected_size["pad"] = (4 * stride + 1, 5 * stride + 1)
    assert y.shape == (1, 4, *expected_size[pad_mode])
    full = torch.nn.functional.conv_transpose2d(
        torch.tensor(x), torch.tensor(net.weight.asnumpy()), stride=stride
    ).numpy()
    # torch's full output, cropped by the padding the equivalent forward conv has
    top, _, left, _ = ops.functional.window_padding(
        "test", y.shape[2:], pad_mode, (3, 3), (stride, stride), (1, 1), 1
    )
    cropped = full[:, :, top : top + y.shape[2], left : left + y.shape[3]]
    np.testing.assert_allclose(
        y,
        np.pad(cropped, [(0, 0), (0, 0)] + [(0, y.shape[a] - cropped.shape[a]) for a in (2, 3)]),
        rtol=1e-4,
        atol=1e-5,
    )


class LeNet(nn.Cell):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, pad_mode="valid", has_bias=True)
        self.conv2 = nn.Conv2d(6, 16, 5, pad_mode="valid", has_bias=True)
        self.pool = nn.MaxPool2d(2, 2)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Dense(400, 120)
        self.fc2 = nn.Dense(120, 10)

    def construct(self, x):
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        return self.fc2(self.relu(self.fc1(self.flatten(x))))


def torch_lenet(torch, x, params):
    F = torch.nn.functional
    c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b = params
    x = F.max_pool2d(F.relu(F.conv2d(x, c1w, c1b)), 2)
    x = F.max_pool2d(F.relu(F.conv2d(x, c2w, c2b)), 2)
    return F.linear(F.relu(F.linear(x.flatten(1), f1w, f1b)), f2w, f2b)


def test_lenet_outputs_and_weight_gradients_match_torch(torch):
    net = LeNet()
    x = rand(4, 1, 32, 32)
    y = net(Tensor(x)).asnumpy()
    sens = rand(*y.shape)
    (dx,), grads = Grad(net)(Tensor(x), Tensor(sens))
    names = [p.name for p in net.trainable_params()]
    params = [torch.tensor(p.asnumpy(), requires_grad=True) for p in net.trainable_params()]
    tx = torch.tensor(x, requires_grad=True)
    ty = torch_lenet(torch, tx, params)
    (ty * torch.tensor(sens)).sum().backward()
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx.asnumpy(), tx.grad.numpy(), rtol=1e-3, atol=1e-5)
    for name, got, want in zip(names, grads, params):
        np.testing.assert_allclose(
            got.asnumpy(), want.grad.numpy(), rtol=1e-3, atol=1e-5, err_msg=name
        )


class Pool(nn.Cell):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def construct(self, x):
        return self.layer(x)


def test_pooling_same_padding_as_mindspore():
    """Values printed by MindSpore 2.10 for a 5x5 arange: 'same' puts the extra padding at the
    bottom/right, and AvgPool2d does not count padding."""
    x = Tensor(np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5))
    avg = Pool(nn.AvgPool2d(3, 2, pad_mode="same"))(x).asnumpy()
    np.testing.assert_allclose(avg[0, 0], [[3, 4.5, 6], [10.5, 12, 13.5], [18, 19.5, 21]])
    biggest = Pool(nn.MaxPool2d(2, 2, pad_mode="same"))(x).asnumpy()
    np.testing.assert_array_equal(biggest[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    biggest = Pool(nn.MaxPool2d(3, 2, pad_mode="same"))(x).asnumpy()
    np.testing.assert_array_equal(biggest[0, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    """MindSpore 2.10: ones(4x4), 3x3 windows, stride 1 -> each window's gradient at its
    top-left element."""
    net = Pool(nn.MaxPool2d(3, 1))
    grad = ops.GradOperation()(net)
    dx = grad(Tensor(np.ones((1, 1, 4, 4), np.float32))).asnumpy()
    expected = np.zeros((4, 4))
    expected[:2, :2] = 1
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_adaptive_avg_pool_and_flatten():
    x = rand(2, 3, 6, 8)
    global_mean = Pool(nn.AdaptiveAvgPool2d(1))(Tensor(x)).asnumpy()
    np.testing.assert_allclose(global_mean, x.mean(axis=(2, 3), keepdims=True), rtol=1e-5)
    grid = Pool(nn.AdaptiveAvgPool2d((3, 2)))(Tensor(x)).asnumpy()
    np.testing.assert_allclose(grid, x.reshape(2, 3, 3, 2, 2, 4).mean(axis=(3, 5)), rtol=1e-5)
    assert Pool(nn.Flatten())(Tensor(x)).shape == (2, 144)


def test_adaptive_avg_pool_refuses_sizes_that_do_not_divide():
    from cellc.errors import UnsupportedError

    with pytest.raises(UnsupportedError, match="AdaptiveAvgPool2d.*divide"):
        Pool(nn.AdaptiveAvgPool2d((4, 3)))(Tensor(rand(1, 1, 6, 8)))


X_ACT = np.arange(-3, 3, 0.5, dtype=np.float32)

# Printed by MindSpore 2.10 on X_ACT (first six values of each).
MINDSPORE_VALUES = {
    "HSwish": [0.0, -0.20833333, -0.33333334, -0.375, -0.33333334, -0.20833333],
    "HSigmoid": [0.0, 0.08333334, 0.16666667, 0.25, 0.33333334, 0.41666666],
    "ELU": [-0.95021296, -0.9179151, -0.8646648, -0.7768699, -0.6321212, -0.3934695],
    "LeakyReLU": [-0.6, -0.5, -0.4, -0.3, -0.2, -0.1],
    "Softplus": [0.04858733, 0.07888964, 0.12692794, 0.20141321, 0.3132612, 0.47407684],
}

ACTIVATIONS = {
    "HSwish": nn.HSwish,
    "HSigmoid": nn.HSigmoid,
    "ELU": nn.ELU,
    "LeakyReLU": nn.LeakyReLU,
    "Softplus": lambda: Pool(ops.Softplus()),
    "GELU": nn.GELU,
    "GELU-erf": lambda: nn.GELU(approximate=False),
}

NUMPY_FORMS = {
    "HSwish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "HSigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "ELU": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "LeakyReLU": lambda x: np.where(x > 0, x, 0.2 * x),
    "Softplus": lambda x: np.log1p(np.exp(x)),
    "GELU": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
    "GELU-erf": lambda x: 0.5 * x * (1 + np.vectorize(__import__("math").erf)(x / np.sqrt(2))),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values_and_gradients(name):
    """Values: MindSpore's where printed, the closed form otherwise (GELU's default is the tanh
    form, as nn.GELU() and ops.GeLU compute it on MindSpore 2.10). Gradients: float64 central
    differences of the closed form, away from the kinks."""
    net = ACTIVATIONS[name]()
    x = X_ACT + 0.1  # no kink of relu6 / relu at a sample point
    y = net(Tensor(x)).asnumpy()
    np.testing.assert_allclose(y, NUMPY_FORMS[name](x.astype(np.float64)), rtol=1e-5, atol=1e-6)
    if name in MINDSPORE_VALUES:
        np.testing.assert_allclose(
            net(Tensor(X_ACT)).asnumpy()[:6], MINDSPORE_VALUES[name], rtol=1e-5, atol=1e-6
        )
    dx = ops.GradOperation()(net)(Tensor(x)).asnumpy()
    xs, eps = x.astype(np.float64), 1e-6
    numeric = (NUMPY_FORMS[name](xs + eps) - NUMPY_FORMS[name](xs - eps)) / (2 * eps)
    np.testing.assert_allclose(dx, numeric, rtol=1e-4, atol=1e-5)


def test_dense_on_rank_3_applies_to_the_last_axis():
    """MindSpore 2.10: Dense(4, 3) on (2, 5, 4) gives (2, 5, 3)."""
    net = nn.Dense(4, 3)
    x = rand(2, 5, 4)
    y = net(Tensor(x)).asnumpy()
    expected = x @ net.weight.asnumpy().T + net.bias.asnumpy()
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


class Conv(nn.Cell):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def construct(self, x):
        return self.conv(x)


def test_mismatched_channels_name_the_op_the_types_and_the_line():
    from cellc.errors import ShapeMismatchError

    with pytest.raises(ShapeMismatchError) as error:
        Conv()(Tensor(rand(1, 2, 8, 8)))
    message = str(error.value)
    assert "Conv2D (ms.conv2d)" in message
    assert "tensor<1x2x8x8xf32> and filter tensor<4x3x3x3xf32>" in message
    assert "return self.conv(x)" in message


def test_a_window_larger_than_the_input_is_refused():
    from cellc.errors import ShapeMismatchError

    with pytest.raises(ShapeMismatchError, match=r"MaxPool \(ms.max_pool\): window \[5, 5\]"):
        Pool(nn.MaxPool2d(5, 1))(Tensor(rand(1, 2, 3, 3)))


def test_unknown_pad_mode_is_refused():
    with pytest.raises(ValueError, match="'pad_mode' must be 'valid', 'same' or 'pad'"):
        Pool(nn.MaxPool2d(2, 2, pad_mode="full"))(Tensor(rand(1, 2, 4, 4)))
