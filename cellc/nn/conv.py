"""Convolution layers (NCHW), as MindSpore's: Conv2d, Conv1d (a Conv2d of unit height, with
MindSpore's (O, C/group, 1, K) weight) and Conv2dTranspose."""

from __future__ import annotations

import numpy as np

from cellc import ops
from cellc.initializer import Uniform
from cellc.parameter import Parameter

from .cell import Cell
from .layers import _initial


def _conv_initial(init, shape, fan_in: int) -> np.ndarray:
    """MindSpore's default for a convolution's weight and bias (init None): HeUniform with
    a = sqrt(5), i.e. uniform in +-1 / sqrt(fan_in); otherwise as Dense's initializers."""
    if init is None:
        init = Uniform(1 / np.sqrt(fan_in))  # = HeUniform(math.sqrt(5)) for the weight
    return _initial(init, shape)


class _Conv(Cell):
    """The parameters of a convolution: weight `weight_shape`, bias (out_channels,)."""

    def __init__(self, name, weight_shape, out_channels, has_bias, weight_init, bias_init):
        super().__init__()
        if not isinstance(has_bias, bool):
            raise TypeError(f"For '{name}', 'has_bias' should be bool, got {has_bias!r}")
        fan_in = int(np.prod(weight_shape[1:]))  # MindSpore's rule, transposed weights too
        self.weight = Parameter(_conv_initial(weight_init, weight_shape, fan_in), name="weight")
        self.has_bias = has_bias
        if has_bias:
            self.bias = Parameter(_conv_initial(bias_init, (out_channels,), fan_in), name="bias")

    def add_bias(self, y):
        if not self.has_bias:
            return y
        # one bias per channel (axis 1), over the spatial dims after it (1 for Conv1d, 2 for 2d)
        return y + ops.functional.reshape(self.bias, (-1,) + (1,) * (y.ndim - 2))


def _check_channels(name: str, in_channels, out_channels, group):
    for what, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if not isinstance(value, int) or value < 1 or value % group:
            raise ValueError(
                f"For '{name}', '{what}' must be a positive int divisible by group {group}, "
                f"got {value!r}"
            )


class Conv2d(_Conv):
    """2-D convolution of (N, C_in, H, W); weight (out_channels, in_channels / group, KH, KW).
    MindSpore's defaults: pad_mode 'same', no bias, HeUniform initial weights."""

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        pad_mode="same",
        padding=0,
        dilation=1,
        group=1,
        has_bias=False,
        weight_init=None,
        bias_init=None,
        data_format="NCHW",
    ):
        _check_channels("Conv2d", in_channels, out_channels, group)
        kernel = ops.functional._pair("Conv2d", "kernel_size", kernel_size)
        shape = (out_channels, in_channels // group, *kernel)
        super().__init__("Conv2d", shape, out_channels, has_bias, weight_init, bias_init)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.pad_mode = kernel, stride, pad_mode
        self.padding, self.dilation, self.group = padding, dilation, group

    def construct(self, x):
        y = ops.functional.conv2d(
            x,
            self.weight,
            None,
            self.stride,
            self.pad_mode,
            self.padding,
            self.dilation,
            self.group,
        )
        return self.add_bias(y)


class Conv1d(_Conv):
    """1-D convolution of (N, C_in, L): a Conv2d of unit height; weight (out_channels,
    in_channels / group, 1, K), as MindSpore stores it; `padding` an int (both sides) or
    (left, right)."""

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        pad_mode="same",
        padding=0,
        dilation=1,
        group=1,
        has_bias=False,
        weight_init=None,
        bias_init=None,
    ):
        _check_channels("Conv1d", in_channels, out_channels, group)
        shape = (out_channels, in_channels // group, 1, kernel_size)
        super().__init__("Conv1d", shape, out_channels, has_bias, weight_init, bias_init)
        self.in_channels, self.out_channels = in_channels, out_channels
        left, right = (padding, padding) if isinstance(padding, int) else tuple(padding)
        self.kernel_size, self.stride, self.pad_mode = kernel_size, stride, pad_mode
        self.padding, self.dilation, self.group = (0, 0, left, right), dilation, group

    def construct(self, x):
        F = ops.functional
        if x.ndim != 3:
            raise ValueError(f"For 'Conv1d', the input must be 3-D (N, C, L), got {x.shape}")
        y = F.conv2d(
            F.expand_dims(x, 2),
            self.weight,
            None,
            (1, self.stride),
            self.pad_mode,
            self.padding,
            (1, self.dilation),
            self.group,
        )
        return self.add_bias(F.squeeze(y, 2))


class Conv2dTranspose(_Conv):
    """The transposed 2-D convolution (the gradient of a Conv2d with respect to its input):
    weight (in_channels, out_channels / group, KH, KW). The output's size is H * stride
    ('same'), (H - 1) * stride + dilation * (K - 1) + 1 ('valid'), that less the padding
    ('pad'), plus `output_padding`, as MindSpore computes it."""

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        pad_mode="same",
        padding=0,
        output_padding=0,
        dilation=1,
        group=1,
        has_bias=False,
        weight_init=None,
        bias_init=None,
    ):
        _check_channels("Conv2dTranspose", in_channels, out_channels, group)
        kernel = ops.functional._pair("Conv2dTranspose", "kernel_size", kernel_size)
        shape = (in_channels, out_channels // group, *kernel)
        super().__init__("Conv2dTranspose", shape, out_channels, has_bias, weight_init, bias_init)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.pad_mode, self.padding = kernel, pad_mode, padding
        self.stride = ops.functional._pair("Conv2dTranspose", "stride", stride)
        self.dilation = ops.functional._pair("Conv2dTranspose", "dilation", dilation)
        self.output_padding, self.group = output_padding, group

    def output_size(self, size, axis: int) -> int:
        k, s, d = self.kernel_size[axis], self.stride[axis], self.dilation[axis]
        mode = self.pad_mode.lower()
        if mode == "same":
            out = size * s
        else:
            out = (size - 1) * s + d * (k - 1) + 1
        if mode == "pad":
            pads = self.pads_given()
            out -= pads[2 * axis] + pads[2 * axis + 1]
        return out + self.output_padding

    def pads_given(self):
        return (self.padding,) * 4 if isinstance(self.padding, int) else tuple(self.padding)

    def construct(self, x):
        F = ops.functional
        F._require_nchw("Conv2dTranspose", x)
        out = tuple(self.output_size(x.shape[2 + axis], axis) for axis in range(2))
        pads = F.window_padding(
            "Conv2dTranspose",
            out,
            self.pad_mode,
            self.kernel_size,
            self.stride,
            self.dilation,
            self.padding,
        )
        y = F.conv2d_transpose(x, self.weight, out, self.stride, pads, self.dilation, self.group)
        return self.add_bias(y)


__all__ = ["Conv1d", "Conv2d", "Conv2dTranspose"]
