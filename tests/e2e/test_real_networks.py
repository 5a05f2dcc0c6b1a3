"""Real networks written as MindSpore users write them: a ResNet basic block (identity and
strided 1x1-convolution shortcuts) and a small U-Net for 3-band 64x64 remote-sensing tiles
(convolutions, max pooling, Conv2dTranspose upsampling, skip connections by ops.concat, a 1x1
classifier).

CPU: their weight gradients (BatchNorm in training mode) against float64 central finite
differences on sampled weights, and against PyTorch with the same weights (the `bench` extra,
skipped when absent). CUDA: their gradient programs compile to PTX that `ptxas` accepts for
sm_80 and sm_90 (skipped without ptxas).
"""

from __future__ import annotations

import numpy as np
import pytest
from support.ptx import assert_ptxas_accepts, needs_ptxas

from cellc import Parameter, ParameterTuple, Tensor, nn, ops
from cellc.frontend import CompileOptions, compile


def conv3x3(in_channels, out_channels, stride=1):
    return nn.Conv2d(in_channels, out_channels, 3, stride, pad_mode="pad", padding=1)


class BasicBlock(nn.Cell):
    """ResNet's basic block: conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU; the
    shortcut is a strided 1x1 convolution and BN when the shape changes."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.down_sample = stride != 1 or in_channels != out_channels
        if self.down_sample:
            self.down_conv = nn.Conv2d(in_channels, out_channels, 1, stride, pad_mode="same")
            self.down_bn = nn.BatchNorm2d(out_channels)

    def construct(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.down_sample:
            identity = self.down_bn(self.down_conv(x))
        return self.relu(out + identity)


class ConvBNReLU(nn.Cell):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = conv3x3(in_channels, out_channels)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()

    def construct(self, x):
        return self.relu(self.bn(self.conv(x)))


class UNet(nn.Cell):
    """Two levels down (max pooling), two up (Conv2dTranspose, stride 2), the encoder's
    features concatenated on the channel axis, a 1x1 convolution to per-pixel class scores."""

    def __init__(self, bands=3, classes=4, width=4):
        super().__init__()
        self.enc1 = ConvBNReLU(bands, width)
        self.enc2 = ConvBNReLU(width, 2 * width)
        self.pool = nn.MaxPool2d(2, 2)
        self.bottom = ConvBNReLU(2 * width, 2 * width)
        self.up2 = nn.Conv2dTranspose(2 * width, 2 * width, 2, stride=2)
        self.dec2 = ConvBNReLU(4 * width, 2 * width)
        self.up1 = nn.Conv2dTranspose(2 * width, width, 2, stride=2)
        self.dec1 = ConvBNReLU(2 * width, width)
        self.classify = nn.Conv2d(width, classes, 1, has_bias=True)

    def construct(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottom(self.pool(e2))
        d2 = self.dec2(ops.concat((self.up2(b), e2), axis=1))
        d1 = self.dec1(ops.concat((self.up1(d2), e1), axis=1))
        return self.classify(d1)


class Loss(nn.Cell):
    """sum(net(x) * w): every output element weighted differently."""

    def __init__(self, net, w):
        super().__init__()
        self.net = net
        self.w = Tensor(w)

    def construct(self, x):
        return (self.net(x) * self.w).sum()


class WeightGrads(nn.Cell):
    def __init__(self, loss):
        super().__init__()
        self.loss = loss
        self.weights = ParameterTuple(loss.trainable_params())
        self.grad = ops.GradOperation(get_by_list=True)

    def construct(self, x):
        return self.grad(self.loss, self.weights)(x)


def to_float64(net: nn.Cell) -> nn.Cell:
    """Every Parameter of `net` replaced by a float64 one with the same value and name."""
    for _, cell in net.cells_and_names():
        for name, param in list(cell.parameters_and_names(expand=False)):
            value = param.asnumpy().astype(np.float64)
            setattr(
                cell, name, Parameter(value, name=param.name, requires_grad=param.requires_grad)
            )
    return net


NETWORKS = {
    "basic-block": lambda: (BasicBlock(4, 4), (2, 4, 6, 6)),
    "basic-block-strided": lambda: (BasicBlock(3, 6, stride=2), (2, 3, 8, 8)),
    "unet": lambda: (UNet(), (2, 3, 64, 64)),
}

# The U-Net takes ~15 s to compile per target: `-m 'not slow'` leaves it out.
NETWORK_NAMES = [
    pytest.param(name, marks=pytest.mark.slow) if name == "unet" else name
    for name in sorted(NETWORKS)
]


def build(name, dtype, seed=0):
    """(loss cell in training mode, input, parameters): weights drawn with numpy's seeded
    random state, BN's gamma/beta made non-trivial so their gradients are checked too."""
    np.random.seed(seed)
    net, x_shape = NETWORKS[name]()
    rng = np.random.default_rng(seed)
    for _, cell in net.cells_and_names():
        if isinstance(cell, nn.BatchNorm2d):
            cell.gamma.set_data(rng.uniform(0.5, 1.5, cell.gamma.shape).astype(np.float32))
            cell.beta.set_data(rng.normal(0, 0.1, cell.beta.shape).astype(np.float32))
    if dtype == np.float64:
        to_float64(net)
    x = rng.normal(size=x_shape).astype(dtype)
    out_shape = net(Tensor(x)).shape
    loss = Loss(net, rng.normal(size=out_shape).astype(dtype))
    loss.set_train(True)
    return loss, x


@pytest.fixture(scope="module", params=NETWORK_NAMES)
def float64_case(request):
    """One network in float64 and its compiled weight gradients, shared by the tests."""
    loss, x = build(request.param, np.float64)
    grads = WeightGrads(loss)
    grads.set_train(True)
    values = [g.asnumpy() for g in grads(Tensor(x))]
    return request.param, loss, x, values


def test_weight_gradients_match_finite_differences(float64_case):
    """Central differences (step 1e-6) of the float64 loss at three sampled entries of every
    weight; BN's moving statistics change at each call but the training-mode output does not
    read them."""
    name, loss, x, grads = float64_case
    rng = np.random.default_rng(1)
    step = 1e-6
    for param, grad in zip(loss.trainable_params(), grads, strict=True):
        assert grad.shape == param.shape, param.name
        value = param.asnumpy().copy()
        for _ in range(3):
            index = tuple(int(rng.integers(n)) for n in value.shape)
            sides = []
            for delta in (step, -step):
                moved = value.copy()
                moved[index] += delta
                param.set_data(moved)
                sides.append(float(loss(Tensor(x)).asnumpy()))
            param.set_data(value)
            numeric = (sides[0] - sides[1]) / (2 * step)
            np.testing.assert_allclose(
                grad[index], numeric, rtol=1e-5, atol=1e-6, err_msg=f"{name}: {param.name}{index}"
            )


# --- PyTorch, the same network written functionally -------------------------------------------


def torch_forward(torch, net, x, p):
    """`net`'s forward in PyTorch, its parameters looked up by name in `p`."""
    F = torch.nn.functional

    def bn(prefix, y):
        return F.batch_norm(y, None, None, p[f"{prefix}.gamma"], p[f"{prefix}.beta"], True)

    def conv(prefix, y, stride=1, padding=1):
        return F.conv2d(y, p[f"{prefix}.weight"], p.get(f"{prefix}.bias"), stride, padding)

    def conv_bn_relu(prefix, y):
        return F.relu(bn(f"{prefix}.bn", conv(f"{prefix}.conv", y)))

    if isinstance(net, BasicBlock):
        stride = net.conv1.stride
        out = F.relu(bn("bn1", conv("conv1", x, stride)))
        out = bn("bn2", conv("conv2", out))
        identity = bn("down_bn", conv("down_conv", x, stride, 0)) if net.down_sample else x
        return F.relu(out + identity)
    e1 = conv_bn_relu("enc1", x)
    e2 = conv_bn_relu("enc2", F.max_pool2d(e1, 2))
    b = conv_bn_relu("bottom", F.max_pool2d(e2, 2))
    up2 = F.conv_transpose2d(b, p["up2.weight"], stride=2)
    d2 = conv_bn_relu("dec2", torch.cat((up2, e2), 1))
    up1 = F.conv_transpose2d(d2, p["up1.weight"], stride=2)
    d1 = conv_bn_relu("dec1", torch.cat((up1, e1), 1))
    return conv("classify", d1, padding=0)


def test_weight_gradients_match_torch(float64_case):
    torch = pytest.importorskip("torch", reason="torch (the `bench` extra) is not installed")
    name, loss, x, grads = float64_case
    names = [n for n, p in loss.net.parameters_and_names() if p.requires_grad]
    params = {
        n: torch.tensor(p.asnumpy(), requires_grad=True)
        for n, p in loss.net.parameters_and_names()
        if p.requires_grad
    }
    out = torch_forward(torch, loss.net, torch.tensor(x), params)
    (out * torch.tensor(loss.w.asnumpy())).sum().backward()
    for param_name, grad in zip(names, grads, strict=True):
        np.testing.assert_allclose(
            grad, params[param_name].grad.numpy(), rtol=1e-7, atol=1e-9, err_msg=param_name
        )


# --- CUDA: PTX that ptxas accepts -----------------------------------------------------------


@needs_ptxas
@pytest.mark.parametrize("chip", ["sm_80", "sm_90"])
@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_weight_gradients_compile_for_cuda(name, chip, tmp_path):
    """float32, as trained on a GPU; the artifact's PTX assembles for the chip."""
    loss, x = build(name, np.float32)
    grads = WeightGrads(loss)
    grads.set_train(True)
    result = compile(grads, Tensor(x), options=CompileOptions(target="cuda", chip=chip))
    assert_ptxas_accepts(result.stages["ptx"], chip, tmp_path)
