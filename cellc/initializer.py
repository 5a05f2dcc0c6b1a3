"""MindSpore's initializers (`mindspore.common.initializer`): `initializer(init, shape, dtype)`
and the classes `Normal`, `Uniform`, `TruncatedNormal`, `HeUniform`, `HeNormal`,
`XavierUniform`, `XavierNormal`, `Zero`, `One`, `Constant`.

Each draws from numpy's global random state, as MindSpore's do (they take their seed from
`np.random`), so `mindspore.set_seed` / `np.random.seed` make two runs identical. The
distributions and fan computations follow MindSpore's documented formulas; the random bits
differ from MindSpore's (its generator is its own C++ Philox).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import dtype as mstype
from .tensor import Tensor


class Initializer:
    """Base of the initializers: `init(shape)` fills a float32 array of `shape`."""

    def __call__(self, shape) -> np.ndarray:
        return np.asarray(self._initialize(tuple(shape)), dtype=np.float32)

    def _initialize(self, shape) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class Zero(Initializer):
    def _initialize(self, shape):
        return np.zeros(shape)


class One(Initializer):
    def _initialize(self, shape):
        return np.ones(shape)


class Constant(Initializer):
    def __init__(self, value):
        self.value = value

    def _initialize(self, shape):
        return np.full(shape, self.value)


class Normal(Initializer):
    """N(mean, sigma**2)."""

    def __init__(self, sigma=0.01, mean=0.0):
        self.sigma = sigma
        self.mean = mean

    def _initialize(self, shape):
        return np.random.normal(self.mean, self.sigma, shape)


class Uniform(Initializer):
    """U(-scale, scale)."""

    def __init__(self, scale=0.07):
        self.scale = scale

    def _initialize(self, shape):
        return np.random.uniform(-self.scale, self.scale, shape)


class TruncatedNormal(Initializer):
    """N(mean, sigma**2) restricted to [a, b]: values outside are drawn again."""

    def __init__(self, sigma=0.01, mean=0.0, a=-2.0, b=2.0):
        self.sigma = sigma
        self.mean = mean
        self.a = a
        self.b = b

    def _initialize(self, shape):
        values = np.random.normal(self.mean, self.sigma, shape)
        outside = (values < self.a) | (values > self.b)
        while outside.any():
            values[outside] = np.random.normal(self.mean, self.sigma, int(outside.sum()))
            outside = (values < self.a) | (values > self.b)
        return values


def fan_in_and_fan_out(shape) -> tuple[int, int]:
    """MindSpore's fans: (in, out) features of a 2-D weight, times the receptive field for a
    convolution's (out, in, kh, kw)."""
    if len(shape) < 2:
        raise ValueError(
            "'fan_in' and 'fan_out' can not be computed for tensor with fewer than 2 "
            f"dimensions, but got dimensions {len(shape)}."
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _gain(nonlinearity: str, negative_slope) -> float:
    if nonlinearity in (
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "sigmoid",
    ) or nonlinearity.startswith("conv_transpose"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if negative_slope is None else negative_slope
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(
        "For 'HeUniform', the argument 'nonlinearity' should be one of ['sigmoid', 'tanh', "
        f"'relu' or 'leaky_relu'], but got {nonlinearity}."
    )


class _He(Initializer):
    def __init__(self, negative_slope=0, mode="fan_in", nonlinearity="leaky_relu"):
        if mode not in ("fan_in", "fan_out"):
            raise ValueError(
                f"'mode' {mode} not supported, please use one of ['fan_in', 'fan_out']"
            )
        self.negative_slope = negative_slope
        self.mode = mode
        self.nonlinearity = nonlinearity

    def _std(self, shape) -> float:
        fan_in, fan_out = fan_in_and_fan_out(shape)
        fan = fan_in if self.mode == "fan_in" else fan_out
        return _gain(self.nonlinearity, self.negative_slope) / math.sqrt(fan)


class HeUniform(_He):
    """U(-b, b), b = gain * sqrt(3 / fan) (Kaiming uniform)."""

    def _initialize(self, shape):
        bound = math.sqrt(3.0) * self._std(shape)
        return np.random.uniform(-bound, bound, shape)


class HeNormal(_He):
    """N(0, (gain / sqrt(fan))**2) (Kaiming normal)."""

    def _initialize(self, shape):
        return np.random.normal(0.0, self._std(shape), shape)


class XavierUniform(Initializer):
    """U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)) (Glorot uniform)."""

    def __init__(self, gain=1):
        self.gain = gain

    def _initialize(self, shape):
        fan_in, fan_out = fan_in_and_fan_out(shape)
        bound = self.gain * math.sqrt(6.0 / (fan_in + fan_out))
        return np.random.uniform(-bound, bound, shape)


class XavierNormal(Initializer):
    """N(0, (gain * sqrt(2 / (fan_in + fan_out)))**2) (Glorot normal)."""

    def __init__(self, gain=1):
        self.gain = gain

    def _initialize(self, shape):
        fan_in, fan_out = fan_in_and_fan_out(shape)
        return np.random.normal(0.0, self.gain * math.sqrt(2.0 / (fan_in + fan_out)), shape)


# MindSpore's string names for initializers (`weight_init="he_uniform"`).
ALIASES = {
    "zeros": Zero,
    "zero": Zero,
    "ones": One,
    "one": One,
    "normal": Normal,
    "uniform": Uniform,
    "truncatednormal": TruncatedNormal,
    "he_uniform": HeUniform,
    "heuniform": HeUniform,
    "he_normal": HeNormal,
    "henormal": HeNormal,
    "xavier_uniform": XavierUniform,
    "xavieruniform": XavierUniform,
    "xavier_normal": XavierNormal,
    "xaviernormal": XavierNormal,
    "constant": Constant,
}


def initializer(init, shape=None, dtype=mstype.float32) -> Tensor:
    """A Tensor of `shape` and `dtype` initialized by `init`: a Tensor (returned as it is), an
    initializer's name, an Initializer, or a number (a Constant)."""
    if not isinstance(init, (Tensor, numbers.Number, str, Initializer)):
        raise TypeError(
            "For 'initializer', the type of the 'init' argument should be 'Tensor', 'number', "
            f"'string' or 'initializer', but got {type(init)}."
        )
    if isinstance(shape, numbers.Number):
        shape = (shape,)
    if isinstance(init, Tensor):
        if shape is not None and tuple(init.shape) != tuple(shape):
            raise ValueError(
                "For 'initializer', the shape of the 'init' argument should be same as the "
                f"argument 'shape', but got the 'init' shape {list(init.shape)} and the "
                f"'shape' {list(shape)}."
            )
        return init
    if shape is None or any(not isinstance(d, int) or d <= 0 for d in shape):
        raise ValueError(
            "For 'initializer', the argument 'shape' is invalid, the value of 'shape' must be "
            f"positive integer, but got {shape}"
        )
    if isinstance(init, str):
        if init.lower() not in ALIASES:
            raise ValueError(
                f"For 'initializer', the class corresponding to '{init}' was not found."
            )
        init = ALIASES[init.lower()]()
    elif isinstance(init, numbers.Number):
        init = Constant(init)
    return Tensor(init(tuple(shape)), dtype=dtype)
