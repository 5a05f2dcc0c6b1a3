"""Activation layers, as MindSpore's: GELU, LeakyReLU, ELU, HSwish, HSigmoid. Each is a
composite of `ms` ops (ops.functional), so its gradient comes from theirs."""

from __future__ import annotations

from cellc import ops

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


__all__ = ["ELU", "GELU", "HSigmoid", "HSwish", "LeakyReLU"]
