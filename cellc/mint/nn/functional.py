"""`mindspore.mint.nn.functional`: MindSpore's PyTorch-style functions (`dim`, `keepdim`,
`negative_slope`...), on cellc's ops: traced inside a cell, evaluated at once outside one."""

from __future__ import annotations

from cellc import compat, ops
from cellc.ops import functional as F

__all__ = [
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "cross_entropy",
    "dropout",
    "elu",
    "gelu",
    "hardsigmoid",
    "hardswish",
    "interpolate",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "one_hot",
    "pad",
    "relu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "tanh",
]

relu, sigmoid, tanh, silu = ops.relu, ops.sigmoid, ops.tanh, ops.silu
gelu, elu, softplus = ops.gelu, ops.elu, ops.softplus
hardswish, hardsigmoid, interpolate = ops.hardswish, ops.hardsigmoid, ops.interpolate
mse_loss, l1_loss, cross_entropy = ops.mse_loss, ops.l1_loss, ops.cross_entropy
binary_cross_entropy_with_logits = ops.binary_cross_entropy_with_logits
batch_norm, avg_pool2d = ops.batch_norm, ops.avg_pool2d


def softmax(input, dim=None, dtype=None):  # noqa: A002  (MindSpore's names)
    return ops.softmax(input, -1 if dim is None else dim, dtype=dtype)


def log_softmax(input, dim=None, dtype=None):  # noqa: A002
    x = F.as_tensor(input)
    return F.log_softmax(x if dtype is None else F.cast(x, dtype), -1 if dim is None else dim)


def leaky_relu(input, negative_slope=0.01):  # noqa: A002
    return ops.leaky_relu(input, negative_slope)


def dropout(input, p=0.5, training=True):  # noqa: A002
    return ops.dropout(input, p, training)


def linear(input, weight, bias=None):  # noqa: A002
    """input @ weight.T + bias over the last dim."""
    return ops.dense(input, weight, bias)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    """`padding`: an int or (height, width) on both sides, or 'same' / 'valid'."""
    if isinstance(padding, str):
        return ops.conv2d(input, weight, bias, stride, padding, 0, dilation, groups)
    pad_h, pad_w = (padding, padding) if isinstance(padding, int) else tuple(padding)
    return ops.conv2d(
        input, weight, bias, stride, "pad", (pad_h, pad_h, pad_w, pad_w), dilation, groups
    )


def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):  # noqa: A002, E501
    return ops.max_pool2d(input, kernel_size, stride, padding, dilation, return_indices, ceil_mode)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) dims."""
    x = F.as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    _, centered, variance = F.moments(x, axes)
    y = F.standardized(centered, variance, eps)
    if weight is not None:
        y = F.mul(y, weight)
    return y if bias is None else F.add(y, bias)


def one_hot(tensor, num_classes=-1):
    """Int64 one-hot rows of `num_classes` (-1: the largest index + 1, read eagerly)."""
    indices = F.as_tensor(tensor)
    if num_classes == -1:
        num_classes = int(indices.asnumpy().max()) + 1
    return ops.one_hot(indices, num_classes)


def pad(input, pad, mode="constant", value=None):  # noqa: A002
    return ops.pad(input, pad, mode, value)


def __getattr__(name: str):
    raise compat.missing("mint.nn.functional", name)
