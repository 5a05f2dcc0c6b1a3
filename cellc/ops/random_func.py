"""MindSpore's random tensor functions, outside compiled code: `ops.randn`, `rand`, `randint`,
`randn_like`, `rand_like`, `uniform`, `standard_normal`, `normal`.

They draw from the generator `cellc.set_seed` seeds (or, given `seed`, from one of their own),
so a script's inputs are reproducible. Inside a traced `construct` they are refused: compiled
code draws random numbers only as dropout masks, fresh at every call, and a tensor drawn once
when tracing would be the same constant at every call, silently.
"""

from __future__ import annotations

import numpy as np

from cellc import context
from cellc import dtype as mstype
from cellc.errors import UnsupportedError
from cellc.frontend import tracing
from cellc.tensor import Tensor

from . import functional as F

__all__ = [
    "normal",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "standard_normal",
    "uniform",
]


def randn(*size, dtype=None, seed=None):
    """Samples of N(0, 1) of shape `size` (ints, or one tuple)."""
    return _draw("randn", lambda g, shape: g.standard_normal(shape), _shape(size), dtype, seed)


def rand(*size, dtype=None, seed=None):
    """Samples of U[0, 1) of shape `size`."""
    return _draw("rand", lambda g, shape: g.random(shape), _shape(size), dtype, seed)


def randint(low, high, size, seed=None, *, dtype=None):
    """Integers uniform in [low, high) (Int64 unless `dtype`)."""
    shape = _shape((size,))
    draw = lambda g, s: g.integers(low, high, s)  # noqa: E731
    return _draw("randint", draw, shape, dtype or mstype.int64, seed)


def randn_like(input, seed=None, *, dtype=None):  # noqa: A002
    x = F.as_tensor(input)
    return randn(x.shape, dtype=dtype or x.dtype, seed=seed)


def rand_like(input, seed=None, *, dtype=None):  # noqa: A002
    x = F.as_tensor(input)
    return rand(x.shape, dtype=dtype or x.dtype, seed=seed)


def uniform(shape, minval, maxval, seed=None, dtype=mstype.float32):
    """Samples uniform in [minval, maxval) (Tensors or numbers), float or int by `dtype`."""
    low, high = (float(np.asarray(_value(v))) for v in (minval, maxval))
    if dtype is not None and not dtype.is_float:
        draw = lambda g, s: g.integers(int(low), int(high), s)  # noqa: E731
    else:
        draw = lambda g, s: g.uniform(low, high, s)  # noqa: E731
    return _draw("uniform", draw, _shape((shape,)), dtype, seed)


def standard_normal(shape, seed=None, seed2=None):
    return randn(_shape((shape,)), seed=seed)


def normal(shape, mean, stddev, seed=None):
    """Samples of N(mean, stddev) (numbers or Tensors broadcast to `shape`)."""
    mean, stddev = np.asarray(_value(mean)), np.asarray(_value(stddev))
    draw = lambda g, s: g.normal(mean, stddev, s)  # noqa: E731
    return _draw("normal", draw, _shape((shape,)), None, seed)


def _value(v):
    return v.asnumpy() if isinstance(v, Tensor) else v


def _shape(size) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    if isinstance(size, Tensor):
        size = size.asnumpy().tolist()
    return tuple(int(d) for d in size)


def _draw(name: str, draw, shape, dtype, seed) -> Tensor:
    if tracing.current() is not None:
        raise UnsupportedError(
            f"ops.{name} inside a compiled construct: compiled code draws random numbers only as "
            "dropout masks (a tensor drawn while tracing would be the same at every call); draw "
            "it outside the cell and pass it in"
        )
    generator = context.random_generator() if seed is None else np.random.default_rng(seed)
    values = np.asarray(draw(generator, shape))
    return Tensor(values, dtype=dtype or mstype.float32)
