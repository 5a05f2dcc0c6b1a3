"""Activation layers, as MindSpore's: GELU, LeakyReLU, ELU, HSwish, HSigmoid, SiLU, Mish,
Softplus, ReLU6, Hardtanh, PReLU. Each is a composite of `ms` ops (ops.functional and the 2.x
functions), so its gradient comes from theirs."""

from __future__ import annotations

import numpy as np

from cellc import ops
from cellc.parameter import Parameter

from .cell import Cell


class GELU(Cell):
    """x * Phi(x): the tanh approximation by default (`approximate=True`, MindSpore's
    default), erf with `approximate=False`."""

    def __init__(self, approximate=True):
        super().__init__()
        if not isinstance(approximate, bool):
            raise TypeError(f"For 'GELU', 'approximate' should be bool, got {approximate!r}")
        self.approximate = "tanh" if approximate else "none"

    def construct(self, x):
        return ops.functional.gelu(x, self.approximate)


class LeakyReLU(Cell):
    """x where x > 0, else alpha * x."""

    def __init__(self, alpha=0.2):
        super().__init__()
        self.alpha = alpha

    def construct(self, x):
        return ops.functional.leaky_relu(x, self.alpha)


class ELU(Cell):
    """x where x > 0, else alpha * (exp(x) - 1)."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def construct(self, x):
        return ops.functional.elu(x, self.alpha)


class HSwish(Cell):
    """x * relu6(x + 3) / 6."""

    def construct(self, x):
        return ops.functional.hswish(x)


class HSigmoid(Cell):
    """relu6(x + 3) / 6."""

    def construct(self, x):
        return ops.functional.hsigmoid(x)


class SiLU(Cell):
    """x * sigmoid(x)."""

    def construct(self, x):
        return ops.silu(x)


class Mish(Cell):
    """x * tanh(softplus(x))."""

    def construct(self, x):
        return ops.mish(x)


class Softplus(Cell):
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold (`ops.softplus`)."""

    def __init__(self, beta=1, threshold=20):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def construct(self, x):
        return ops.softplus(x, self.beta, self.threshold)


class ReLU6(Cell):
    """min(max(x, 0), 6)."""

    def construct(self, x):
        return ops.relu6(x)


class Hardtanh(Cell):
    """x limited to [min_val, max_val]."""

    def __init__(self, min_val=-1.0, max_val=1.0):
        super().__init__()
        if min_val >= max_val:
            raise ValueError(
                f"For 'Hardtanh', min_val {min_val} must be less than max_val {max_val}"
            )
        self.min_val = min_val
        self.max_val = max_val

    def construct(self, x):
        return ops.hardtanh(x, self.min_val, self.max_val)


class PReLU(Cell):
    """max(0, x) + w * min(0, x), with a learned slope `w` per channel (axis 1), or one for all
    channels (channel=1); `w` starts at the given float (or array of `channel` floats)."""

    def __init__(self, channel=1, w=0.25):
        super().__init__()
        if not isinstance(channel, int) or channel < 1:
            raise ValueError(f"For 'PReLU', channel must be a positive int, got {channel!r}")
        slopes = np.asarray(w.asnumpy() if hasattr(w, "asnumpy") else w, np.float32)
        slopes = np.broadcast_to(slopes, (channel,)).copy()
        self.channel = channel
        self.w = Parameter(slopes, name="a")

    def construct(self, x):
        w = self.w
        if x.ndim >= 2 and self.channel > 1:
            if x.shape[1] != self.channel:
                raise ValueError(
                    f"For 'PReLU', the input's channels (axis 1) {x.shape[1]} must be channel "
                    f"{self.channel}"
                )
            w = ops.reshape(w, (self.channel,) + (1,) * (x.ndim - 2))
        negative = ops.functional.neg(ops.relu(ops.functional.neg(x)))
        return ops.relu(x) + w * negative


__all__ = [
    "ELU",
    "GELU",
    "HSigmoid",
    "HSwish",
    "Hardtanh",
    "LeakyReLU",
    "Mish",
    "PReLU",
    "ReLU6",
    "SiLU",
    "Softplus",
]
