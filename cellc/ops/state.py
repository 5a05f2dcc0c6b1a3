"""State and randomness: `assign` (a Parameter's new value), `depend`, `dropout`.

Inside a cell's `construct`, `assign(param, value)` records the Parameter's new value in the
traced program: the compiled code returns it as a hidden output and the runtime writes it into
the Parameter's array after each call (see `cellc.compiler.program`); later reads of the
Parameter in the same construct see the new value, as in MindSpore. Outside a trace it writes
the value at once, like MindSpore's PyNative mode.

`dropout` multiplies by a mask that the caller draws afresh for every call (a hidden input of
the compiled code, filled by the runtime from the generator `cellc.context.set_seed` seeds).
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from cellc import context
from cellc.frontend import tracing
from cellc.parameter import Parameter
from cellc.tensor import Tensor

from . import functional as F
from .primitives import Primitive


def assign(variable, value):
    """Gives the Parameter `variable` the value `value` (same shape; a number or a tensor of
    another dtype is cast to the Parameter's) and returns the new value (MindSpore's
    `ops.assign`)."""
    if not isinstance(variable, Parameter):
        raise TypeError(
            f"For 'Assign', the 'variable' must be a Parameter, got {type(variable).__name__}"
        )
    value = F.as_tensor(value, like=variable)
    if value.dtype is not variable.dtype:
        value = F.cast(value, variable.dtype)
    tracer = tracing.current()
    if tracer is not None:
        for condition in _conditions():  # inside only_if: the old value where it is False
            value = F.select(condition, value, variable)
        return Tensor(_symbol=tracer.assign("Assign", variable, value))
    if value.shape != variable.shape:
        raise ValueError(
            f"For 'Assign', the value's shape {value.shape} must be the Parameter "
            f"'{variable.name}''s shape {variable.shape}"
        )
    np.copyto(variable.asnumpy(), value.asnumpy())  # in place: compiled code shares the array
    return variable


_LOCAL = threading.local()


def _conditions() -> list:
    if not hasattr(_LOCAL, "conditions"):
        _LOCAL.conditions = []
    return _LOCAL.conditions


@contextlib.contextmanager
def only_if(condition):
    """Inside a traced construct, the Parameter updates made in the `with` block take effect
    only where the bool tensor `condition` is True (a 0-d or one-element condition: all or
    nothing). The compiled code has no branches: each update becomes a select between the new
    and the old value. This is how `if not overflow: optimizer(grads)` is written here
    (`nn.TrainOneStepWithLossScaleCell`)."""
    _conditions().append(condition)
    try:
        yield
    finally:
        _conditions().pop()


def depend(value, expr):
    """`value` itself (MindSpore's `ops.depend`): cellc's compiled code has no side effects
    other than Parameter updates, which are ordered by the data they read, so `expr` adds
    nothing to wait for."""
    del expr
    return value


def dropout(input, p=0.5, training=True, seed=None):  # noqa: A002 (MindSpore's names)
    """Zeroes each element with probability `p` and scales the rest by 1/(1-p) when
    `training`; the identity otherwise (MindSpore's `ops.dropout`)."""
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p < 1:
        raise ValueError(f"For 'dropout', the 'p' must be a float in [0, 1), got {p!r}")
    return dropout_keep(input, 1.0 - float(p), training)


def dropout_keep(x, keep_prob: float, training: bool = True):
    """Dropout with MindSpore's older spelling: each element kept with probability
    `keep_prob` and scaled by 1/keep_prob."""
    x = F.as_tensor(x)
    if not training or keep_prob == 1.0:
        return x
    return F.mul(x, scaled_mask(x, x.shape, keep_prob))


def scaled_mask(x: Tensor, shape, keep_prob: float) -> Tensor:
    """A fresh dropout mask of `shape` in x's dtype: 1/keep_prob with probability keep_prob,
    else 0 (traced: a hidden weight drawn at every call)."""
    if not x.dtype.is_float:
        raise TypeError(f"For 'Dropout', the input must be a float tensor, got {x.dtype}")
    tracer = tracing.current()
    if tracer is not None:
        spec = type(x.spec)(tuple(shape), x.spec.element)
        return Tensor(_symbol=tracer.random_mask(spec, keep_prob))
    return Tensor(bernoulli_mask(context.random_generator(), tuple(shape), x.dtype, keep_prob))


def bernoulli_mask(generator: np.random.Generator, shape, dtype, keep_prob: float):
    """A dropout mask: 1/keep_prob with probability keep_prob, else 0."""
    keep = generator.random(shape) < keep_prob
    return (keep / np.float64(keep_prob)).astype(dtype.numpy)


def batch_norm(
    input_x, running_mean, running_var, weight, bias, training=False, momentum=0.1, eps=1e-5
):
    """Batch normalization over every axis but the channels (axis 1): with `training`, by the
    batch's statistics, and running_mean/running_var (Parameters) move toward them by
    `momentum` (the variance unbiased); else by the running statistics."""
    x = F.as_tensor(input_x)
    axes = tuple(a for a in range(x.ndim) if a != 1)
    channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        mean, centered, variance = F.moments(x, axes)
        count = int(np.prod(x.shape)) // x.shape[1]
        update_running_statistics(
            running_mean,
            running_var,
            mean,
            variance,
            count,
            keep=1.0 - momentum,
            take=float(momentum),
        )
    else:
        mean, variance = F.reshape(running_mean, channel), F.reshape(running_var, channel)
        centered = F.sub(x, mean)
    normalized = F.standardized(centered, variance, eps)
    return F.add(F.mul(normalized, F.reshape(weight, channel)), F.reshape(bias, channel))


def update_running_statistics(running_mean, running_var, mean, variance, count, keep, take):
    """A batch normalization's running statistics (the Parameters among them) moved toward the
    batch's: running * keep + batch * take, the variance made unbiased (count / (count - 1)),
    the batch's statistics held constant."""
    for running, value in ((running_mean, mean), (running_var, variance)):
        if not isinstance(running, Parameter):
            continue
        value = F.stop_gradient(F.reshape(value, (running.shape[0],)))
        if running is running_var and count > 1:
            value = F.mul(value, count / (count - 1))
        assign(running, F.add(F.mul(running, keep), F.mul(value, take)))


class Dropout(Primitive):
    """`Dropout(keep_prob=0.5)(x)`: (x with each element zeroed with probability 1 - keep_prob
    and the rest scaled by 1/keep_prob, the 0/1 mask in x's dtype)."""

    name = "Dropout"

    def __init__(self, keep_prob=0.5, Seed0=0, Seed1=0):  # noqa: N803 (MindSpore's names)
        if not isinstance(keep_prob, (int, float)) or not 0 < keep_prob <= 1:
            raise ValueError(
                f"For 'Dropout', the 'keep_prob' must be in (0.0, 1.0], got {keep_prob!r}"
            )
        self.keep_prob = float(keep_prob)

    def __call__(self, x):
        x = F.as_tensor(x)
        if self.keep_prob == 1.0:
            return F.mul(x, 1.0), F.add(F.mul(x, 0.0), 1.0)
        mask = scaled_mask(x, x.shape, self.keep_prob)
        return F.mul(x, mask), F.cast(F.greater(mask, 0.0), x.dtype)


class Dropout2D(Primitive):
    """`Dropout2D(keep_prob=0.5)(x)`: whole channels of (N, C, H, W) zeroed with probability
    1 - keep_prob, the rest scaled by 1/keep_prob; and the bool mask, shaped like x."""

    name = "Dropout2D"
    _spatial = 2

    def __init__(self, keep_prob=0.5):
        if not isinstance(keep_prob, (int, float)) or not 0 <= keep_prob <= 1:
            raise ValueError(
                f"For '{self.name}', the 'keep_prob' must be in [0.0, 1.0], got {keep_prob!r}"
            )
        self.keep_prob = float(keep_prob)

    def __call__(self, x):
        x = F.as_tensor(x)
        if x.ndim != 2 + self._spatial:
            raise ValueError(
                f"For '{self.name}', the input must be {2 + self._spatial}-D, got shape {x.shape}"
            )
        if self.keep_prob == 0.0:
            zeros = F.mul(x, 0.0)
            return zeros, F.greater(zeros, 1.0)
        if self.keep_prob == 1.0:
            return F.mul(x, 1.0), F.greater(F.add(F.mul(x, 0.0), 1.0), 0.0)
        channels = x.shape[:2] + (1,) * self._spatial
        mask = scaled_mask(x, channels, self.keep_prob)
        return F.mul(x, mask), F.broadcast_to(F.greater(mask, 0.0), x.shape)


class Dropout3D(Dropout2D):
    name = "Dropout3D"
    _spatial = 3


class Assign(Primitive):
    name = "Assign"

    def __call__(self, variable, value):
        return assign(variable, value)


class Depend(Primitive):
    name = "Depend"

    def __call__(self, value, expr):
        return depend(value, expr)


__all__ = [
    "Assign",
    "Depend",
    "Dropout",
    "Dropout2D",
    "Dropout3D",
    "assign",
    "batch_norm",
    "depend",
    "dropout",
]
