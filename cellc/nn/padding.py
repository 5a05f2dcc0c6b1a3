"""Padding layers, as MindSpore's: ConstantPad1d/2d, ZeroPad2d, ReflectionPad1d/2d,
ReplicationPad1d/2d. `padding` is an int (every side) or (left, right) of the last dim, then
(top, bottom) of the one before; each is `ops.pad` with its mode."""

from __future__ import annotations

from cellc import ops

from .cell import Cell


class _Pad(Cell):
    mode = "constant"
    dims = 2

    def __init__(self, padding, value=0.0):
        super().__init__()
        name = type(self).__name__
        pads = (padding,) * (2 * self.dims) if isinstance(padding, int) else tuple(padding)
        if len(pads) != 2 * self.dims or not all(isinstance(p, int) and p >= 0 for p in pads):
            raise ValueError(
                f"For '{name}', padding must be a non-negative int or {2 * self.dims} of them, "
                f"got {padding!r}"
            )
        self.padding = pads
        self.value = value

    def construct(self, x):
        if x.ndim < self.dims + 1:
            raise ValueError(
                f"For '{type(self).__name__}', the input must have at least {self.dims + 1} dims, "
                f"got shape {x.shape}"
            )
        return ops.pad(x, self.padding, self.mode, self.value)


class ConstantPad1d(_Pad):
    """`value` around the last dim."""

    dims = 1


class ConstantPad2d(_Pad):
    """`value` around the last two dims."""


class ZeroPad2d(_Pad):
    """Zeros around the last two dims: `padding` an int, or (left, right, top, bottom)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ReflectionPad1d(_Pad):
    """The last dim mirrored at its edges (the edge itself not repeated)."""

    mode, dims = "reflect", 1

    def __init__(self, padding):
        super().__init__(padding)


class ReflectionPad2d(ReflectionPad1d):
    dims = 2


class ReplicationPad1d(_Pad):
    """The edge values of the last dim repeated."""

    mode, dims = "replicate", 1

    def __init__(self, padding):
        super().__init__(padding)


class ReplicationPad2d(ReplicationPad1d):
    dims = 2


__all__ = [
    "ConstantPad1d",
    "ConstantPad2d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ZeroPad2d",
]
