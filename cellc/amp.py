"""`mindspore.amp`: mixed precision and loss scaling.

- Loss scalers, as MindSpore's rules: `StaticLossScaler`, `DynamicLossScaler` (scale, unscale,
  adjust; the scale and its counter are Parameters), `all_finite`. They are ops, so they run
  eagerly and inside a traced function alike.
- Loss-scale managers for `Model` and `build_train_network`: `FixedLossScaleManager`,
  `DynamicLossScaleManager` (their update cells are nn.FixedLossScaleUpdateCell and
  nn.DynamicLossScaleUpdateCell, run inside the compiled step; unlike MindSpore's CPU
  backend, cellc trains with either on the CPU).
- `auto_mixed_precision`, `custom_mixed_precision` and `build_train_network`'s `level` accept
  MindSpore's levels and lists, and keep the network's dtypes: cellc computes in float32 (a
  float16 network computes in float16 where its Parameters and inputs are float16). A level
  other than "O0" says so once, with a warning.
"""

from __future__ import annotations

import warnings

import numpy as np

from cellc import dtype as mstype
from cellc import nn, ops
from cellc.parameter import Parameter
from cellc.tensor import Tensor

_LEVELS = ("O0", "O1", "O2", "O3", "auto")
_warned = {"levels": False}


def _check_level(level: str, name: str = "amp_level") -> str:
    if level not in _LEVELS:
        raise ValueError(f"The argument '{name}' must be one of {list(_LEVELS)}, but got '{level}'")
    if level != "O0" and not _warned["levels"]:
        _warned["levels"] = True
        warnings.warn(
            f"mixed precision ({name}='{level}'): cellc keeps the network's dtypes and "
            "computes in float32 (loss scaling still applies)",
            stacklevel=3,
        )
    return level


def _check_network(network) -> None:
    if not isinstance(network, nn.Cell):
        raise TypeError(f"The network must be a Cell, but got {type(network).__name__}")


def auto_mixed_precision(network, amp_level="O0", dtype=mstype.float16):
    """MindSpore's automatic mixed precision: the network, its dtypes kept (module docstring)."""
    _check_network(network)
    _check_level(amp_level)
    if dtype is not mstype.float16:  # cellc has no bfloat16
        raise ValueError(f"The argument 'dtype' must be float16, but got {dtype}")
    return network


def custom_mixed_precision(network, *, white_list=None, black_list=None, dtype=mstype.float16):
    """MindSpore's mixed precision by lists of cells: the network, its dtypes kept."""
    _check_network(network)
    if (white_list is None) == (black_list is None):
        raise ValueError("Exactly one of 'white_list' and 'black_list' must be given")
    return auto_mixed_precision(network, "O1", dtype)


def get_white_list() -> list:
    """The cells MindSpore's "O1" level would compute in low precision (as it lists them)."""
    names = ("Conv1d", "Conv2d", "Conv3d", "Conv1dTranspose", "Conv2dTranspose",
             "Conv3dTranspose", "Dense", "LSTMCell", "RNNCell", "GRUCell")  # fmt: skip
    return [getattr(nn, name) for name in names if hasattr(nn, name)]


def get_black_list() -> list:
    """The cells MindSpore's "O2" level keeps in float32."""
    names = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm")
    return [getattr(nn, name) for name in names if hasattr(nn, name)]


# --- loss scalers -------------------------------------------------------------------------------


def _map(function, inputs):
    if isinstance(inputs, (tuple, list)):
        return type(inputs)(_map(function, item) for item in inputs)
    return function(inputs)


def _leaves(inputs) -> list:
    if isinstance(inputs, (tuple, list)):
        return [leaf for item in inputs for leaf in _leaves(item)]
    return [inputs]


def all_finite(inputs) -> Tensor:
    """A scalar bool Tensor: whether every element of the inputs (a Tensor or nested tuples of
    them) is finite."""
    flags = [ops.isfinite(x).all() for x in _leaves(inputs)]
    if not flags:
        return Tensor(np.array(True))
    result = flags[0]
    for flag in flags[1:]:
        result = ops.logical_and(result, flag)
    return result


class LossScaler:
    """The interface of MindSpore's loss scalers: `scale`, `unscale`, `adjust`."""

    scale_value: Parameter

    def scale(self, inputs):
        """The inputs (a loss, or nested tuples of gradients) times the scale."""
        return _map(lambda x: x * self.scale_value.astype(x.dtype), inputs)

    def unscale(self, inputs):
        """The inputs divided by the scale (times its reciprocal, as MindSpore computes)."""
        return _map(lambda x: x * ops.reciprocal(self.scale_value).astype(x.dtype), inputs)

    def adjust(self, grads_finite):
        raise NotImplementedError


class StaticLossScaler(LossScaler):
    """Scales and unscales by a fixed `scale_value`."""

    def __init__(self, scale_value):
        if not isinstance(scale_value, (int, float)) or isinstance(scale_value, bool):
            raise TypeError(f"The argument 'scale_value' must be float or int, got {scale_value!r}")
        if scale_value < 1.0:
            raise ValueError(f"The argument 'scale_value' must be > 1, but got {scale_value}")
        self.scale_value = Parameter(Tensor(scale_value, mstype.float32), name="scale_value")

    def adjust(self, grads_finite):
        return False


class DynamicLossScaler(LossScaler):
    """MindSpore's dynamic loss scaling: after `scale_window` finite steps in a row the scale is
    multiplied by `scale_factor` (if that stays finite); on a step with an overflow it is divided
    by it (never below 1) and the count starts again."""

    def __init__(self, scale_value, scale_factor, scale_window):
        if not isinstance(scale_value, (int, float)) or isinstance(scale_value, bool):
            raise TypeError(f"The argument 'scale_value' must be float or int, got {scale_value!r}")
        if scale_value < 1.0:
            raise ValueError(f"The argument 'scale_value' must be > 1, but got {scale_value}")
        for name, value in (("scale_window", scale_window), ("scale_factor", scale_factor)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"The argument '{name}' must be a positive int, got {value!r}")
        self.scale_value = Parameter(Tensor(scale_value, mstype.float32), name="scale_value")
        self.scale_window = scale_window
        self.scale_factor = scale_factor
        self.counter = Parameter(Tensor(0, mstype.int32), name="counter")

    def adjust(self, grads_finite):
        if not isinstance(grads_finite, Tensor):  # a Python bool
            grads_finite = Tensor(np.array(bool(grads_finite)))
        one = ops.ones((), self.scale_value.dtype)
        scale_mul_factor = self.scale_value * self.scale_factor
        grown = ops.select(ops.isfinite(scale_mul_factor), scale_mul_factor, self.scale_value)
        at_window = self.counter == (self.scale_window - 1)
        scale_value = ops.select(
            grads_finite,
            ops.select(at_window, grown, self.scale_value),
            ops.maximum(one, self.scale_value / self.scale_factor),
        )
        ops.assign(self.scale_value, scale_value)
        counter = ((self.counter + 1) % self.scale_window) * grads_finite.astype(mstype.int32)
        ops.assign(self.counter, counter)
        return True


# --- loss-scale managers ------------------------------------------------------------------------


class LossScaleManager:
    """The interface of MindSpore's loss-scale managers."""

    def get_loss_scale(self):
        raise NotImplementedError

    def update_loss_scale(self, overflow):
        raise NotImplementedError

    def get_update_cell(self):
        raise NotImplementedError


class FixedLossScaleManager(LossScaleManager):
    """A fixed loss scale. With `drop_overflow_update` (the default) a step whose gradients
    overflow leaves the weights as they were; without it, the optimizer's `loss_scale` should
    equal this one (the step scales the loss's sensitivity, the optimizer divides)."""

    def __init__(self, loss_scale=128.0, drop_overflow_update=True):
        if loss_scale < 1:
            raise ValueError(f"The argument 'loss_scale' must be >= 1, but got {loss_scale}")
        self._loss_scale = loss_scale
        self._drop_overflow_update = drop_overflow_update

    def get_loss_scale(self):
        return self._loss_scale

    def get_drop_overflow_update(self):
        return self._drop_overflow_update

    def update_loss_scale(self, overflow):
        """The scale is fixed: nothing to update."""

    def get_update_cell(self):
        if not self._drop_overflow_update:
            return None
        return nn.FixedLossScaleUpdateCell(self._loss_scale)


class DynamicLossScaleManager(LossScaleManager):
    """A loss scale that grows by `scale_factor` after `scale_window` steps without overflow
    and shrinks by it on an overflow (MindSpore's rule; `update_loss_scale` applies it in
    Python, the update cell inside the compiled step)."""

    def __init__(self, init_loss_scale=2**24, scale_factor=2, scale_window=2000):
        if init_loss_scale < 1.0:
            raise ValueError(
                f"The argument 'init_loss_scale' must be > 1, but got {init_loss_scale}"
            )
        if not isinstance(scale_window, int) or isinstance(scale_window, bool) or scale_window <= 0:
            raise ValueError(
                f"The argument 'scale_window' must be a positive int, got {scale_window!r}"
            )
        if scale_factor <= 0:
            raise ValueError(f"The argument 'scale_factor' must be > 0, but got {scale_factor}")
        self.loss_scale = init_loss_scale
        self.scale_window = scale_window
        self.scale_factor = scale_factor
        self.increase_ratio = scale_factor
        self.decrease_ratio = 1 / scale_factor
        self.cur_iter = 1
        self.last_overflow_iter = 0
        self.bad_step_max = 1000
        self.bad_step = 0

    def get_loss_scale(self):
        return self.loss_scale

    def update_loss_scale(self, overflow):
        if overflow:
            self.loss_scale = max(self.loss_scale * self.decrease_ratio, 1)
            self.last_overflow_iter = self.cur_iter
            self.bad_step += 1
        else:
            if (self.cur_iter - self.last_overflow_iter) % self.scale_window == 0:
                self.loss_scale *= self.increase_ratio
            self.bad_step = 0
        if self.bad_step > self.bad_step_max:
            raise RuntimeError(
                f"Dynamic loss scale Continuous overflow {self.bad_step} times, has exceeded "
                "maximum threshold."
            )
        self.cur_iter += 1

    def get_drop_overflow_update(self):
        return True

    def get_update_cell(self):
        return nn.DynamicLossScaleUpdateCell(self.loss_scale, self.scale_factor, self.scale_window)


def build_train_network(network, optimizer, loss_fn=None, level="O0", boost_level="O0", **kwargs):
    """MindSpore's `amp.build_train_network`: the network with `loss_fn` (WithLossCell), then a
    training step: TrainOneStepWithLossScaleCell when `loss_scale_manager` has an update cell,
    else TrainOneStepCell with the manager's scale as the sensitivity."""
    _check_network(network)
    if not isinstance(optimizer, nn.Optimizer):
        raise TypeError(
            f"The optimizer must be an nn.Optimizer, but got {type(optimizer).__name__}"
        )
    _check_level(level, "level")
    unknown = set(kwargs) - {"loss_scale_manager", "keep_batchnorm_fp32", "cast_model_type"}
    if unknown:
        raise ValueError(f"build_train_network: unknown keyword argument '{sorted(unknown)[0]}'")
    if loss_fn is not None:
        network = nn.WithLossCell(network, loss_fn)
    manager = kwargs.get("loss_scale_manager")
    loss_scale = None
    if manager is not None:
        loss_scale = manager.get_loss_scale()
        update_cell = manager.get_update_cell()
        if update_cell is not None:
            return nn.TrainOneStepWithLossScaleCell(
                network, optimizer, scale_sense=update_cell
            ).set_train()
    return nn.TrainOneStepCell(network, optimizer, loss_scale).set_train()


__all__ = [
    "DynamicLossScaleManager",
    "DynamicLossScaler",
    "FixedLossScaleManager",
    "LossScaleManager",
    "LossScaler",
    "StaticLossScaler",
    "all_finite",
    "auto_mixed_precision",
    "build_train_network",
    "custom_mixed_precision",
    "get_black_list",
    "get_white_list",
]
