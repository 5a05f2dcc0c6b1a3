"""Pooling layers (NCHW), as MindSpore's: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d; and
Flatten, which sits between them and a Dense."""

from __future__ import annotations

from cellc import ops
from cellc.errors import UnsupportedError

from .cell import Cell


class _Pool2d(Cell):
    """A window pooling layer: `pool` (ops.functional.max_pool or avg_pool) of its input."""

    def __init__(self, name, pool, kernel_size, stride, pad_mode, padding, data_format):
        super().__init__()
        if data_format != "NCHW":
            raise UnsupportedError(f"For '{name}', cellc supports data_format 'NCHW' only")
        self.pool = pool
        self.kernel_size, self.stride = kernel_size, stride
        self.pad_mode, self.padding = pad_mode, padding

    def construct(self, x):
        return self.pool(x, self.kernel_size, self.stride, self.pad_mode, self.padding)


class MaxPool2d(_Pool2d):
    """The maximum of each kernel_size window moved by stride; pad_mode 'valid', 'same' or
    'pad' (with `padding`). The gradient of a window goes to its first maximum."""

    def __init__(
        self,
        kernel_size=1,
        stride=1,
        pad_mode="valid",
        padding=0,
        dilation=1,
        return_indices=False,
        ceil_mode=False,
        data_format="NCHW",
    ):
        if dilation != 1 or return_indices or ceil_mode:
            raise UnsupportedError(
                "For 'MaxPool2d', cellc supports dilation=1, return_indices=False and "
                "ceil_mode=False only"
            )
        pool = ops.functional.max_pool
        super().__init__("MaxPool2d", pool, kernel_size, stride, pad_mode, padding, data_format)


class AvgPool2d(_Pool2d):
    """The mean of each kernel_size window moved by stride; pad_mode 'valid', 'same' (the padding
    not counted) or 'pad' (counted with count_include_pad, MindSpore's default);
    `divisor_override` divides each window's sum instead."""

    def __init__(
        self,
        kernel_size=1,
        stride=1,
        pad_mode="valid",
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
        data_format="NCHW",
    ):
        if ceil_mode:
            raise UnsupportedError("For 'AvgPool2d', cellc supports ceil_mode=False only")
        pool = ops.functional.avg_pool
        super().__init__("AvgPool2d", pool, kernel_size, stride, pad_mode, padding, data_format)
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def construct(self, x):
        F = ops.functional
        explicit = self.pad_mode.lower() == "pad" and (self.count_include_pad and self.padding)
        if not explicit and self.divisor_override is None:
            return super().construct(x)
        # the zeros of the padding count in each window (or a fixed divisor): pad, then pool
        kernel = F._pair("AvgPool2d", "kernel_size", self.kernel_size)
        pads = F.window_padding(
            "AvgPool2d",
            x.shape[2:],
            self.pad_mode,
            kernel,
            F._pair("AvgPool2d", "stride", self.stride),
            padding=self.padding,
        )
        if any(pads):
            x = F.pad(x, [(0, 0), (0, 0), pads[:2], pads[2:]])
        mean = F.avg_pool(x, kernel, self.stride, "valid")
        if self.divisor_override is None:
            return mean
        return F.mul(mean, kernel[0] * kernel[1] / self.divisor_override)


class AdaptiveAvgPool2d(Cell):
    """The mean over an output_size grid of equal windows: global average pooling for
    output_size 1; otherwise sizes that divide the input's."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def construct(self, x):
        return ops.functional.adaptive_avg_pool2d(x, self.output_size)


class Flatten(Cell):
    """Dims start_dim..end_dim merged into one: (N, C, H, W) -> (N, C * H * W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def construct(self, x):
        return ops.functional.flatten(x, self.start_dim, self.end_dim)


class _Pool1d(Cell):
    """A 1-D pool of (N, C, L): its 2-D pool over a unit height (`pool2d`)."""

    def __init__(self, name, pool2d):
        super().__init__()
        self.name = name
        self.pool2d = pool2d

    def construct(self, x):
        F = ops.functional
        if x.ndim != 3:
            raise ValueError(f"For '{self.name}', the input must be 3-D (N, C, L), got {x.shape}")
        return F.squeeze(self.pool2d(F.expand_dims(x, 2)), 2)


def _unit_height(name: str, kernel_size, stride, padding):
    for what, value in (("kernel_size", kernel_size), ("stride", stride)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"For '{name}', {what} must be a positive int, got {value!r}")
    left, right = (padding, padding) if isinstance(padding, int) else tuple(padding)
    return (1, kernel_size), (1, stride), (0, 0, left, right)


class MaxPool1d(_Pool1d):
    """The maximum of each kernel_size window of (N, C, L) moved by stride."""

    def __init__(
        self,
        kernel_size=1,
        stride=1,
        pad_mode="valid",
        padding=0,
        dilation=1,
        return_indices=False,
        ceil_mode=False,
    ):
        kernel, strides, pads = _unit_height("MaxPool1d", kernel_size, stride, padding)
        pool = MaxPool2d(kernel, strides, pad_mode, pads, dilation, return_indices, ceil_mode)
        super().__init__("MaxPool1d", pool)


class AvgPool1d(_Pool1d):
    """The mean of each kernel_size window of (N, C, L) moved by stride; 'pad' padding
    counted or not (`count_include_pad`)."""

    def __init__(
        self,
        kernel_size=1,
        stride=1,
        pad_mode="valid",
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
    ):
        kernel, strides, pads = _unit_height("AvgPool1d", kernel_size, stride, padding)
        pool = AvgPool2d(kernel, strides, pad_mode, pads, ceil_mode, count_include_pad)
        super().__init__("AvgPool1d", pool)


__all__ = ["AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "Flatten", "MaxPool1d", "MaxPool2d"]
