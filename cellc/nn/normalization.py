"""Normalization layers: BatchNorm1d, BatchNorm2d and LayerNorm, as MindSpore defines them.

They are compositions of existing ops (means, squares, square roots), so their gradients come
from those ops' rules. BatchNorm in training mode also updates its moving statistics with
`ops.assign`: the compiled code returns their new values and the runtime writes them into the
Parameters after each call. MindSpore's rules (checked against MindSpore 2.10):

    y            = (x - mean) / sqrt(var + eps) * gamma + beta     (var: the biased variance)
    moving_mean  = momentum * moving_mean + (1 - momentum) * mean
    moving_var   = momentum * moving_var  + (1 - momentum) * var * n / (n - 1)   (unbiased)

with n the number of elements per channel. `use_batch_statistics=None` (the default) uses the
batch's statistics and updates the moving ones in training mode (`set_train()`), the moving
ones otherwise; True always does the former, False always the latter.
"""

from __future__ import annotations

import math

import numpy as np

from cellc import dtype as mstype
from cellc import ops
from cellc.parameter import Parameter
from cellc.tensor import Tensor

from .cell import Cell

F = ops.functional


def _initial(init, shape, what: str, dtype=None) -> np.ndarray:
    """The initial value of a normalization weight, in `dtype` (a cellc or numpy dtype; None:
    float32)."""
    return _value(init, shape, what).astype(_numpy_dtype(dtype))


def _numpy_dtype(dtype) -> np.dtype:
    if dtype is None:
        return np.dtype(np.float32)
    return np.dtype(dtype.numpy if isinstance(dtype, mstype.DType) else dtype)


def _value(init, shape, what: str) -> np.ndarray:
    if isinstance(init, Tensor):
        init = init.asnumpy()
    if isinstance(init, (int, float)) and not isinstance(init, bool):
        return np.full(shape, init, np.float32)
    if isinstance(init, np.ndarray):
        if init.shape != tuple(shape):
            raise ValueError(f"{what}: the initial value's shape {init.shape} must be {shape}")
        return init.astype(np.float32)
    if init == "zeros":
        return np.zeros(shape, np.float32)
    if init == "ones":
        return np.ones(shape, np.float32)
    raise ValueError(f"{what}: unsupported initializer {init!r}; use a Tensor, 'zeros' or 'ones'")


class _BatchNorm(Cell):
    """Batch normalization over every axis but the channel axis (1)."""

    _ranks: tuple[int, ...] = ()

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.9,
        affine=True,
        gamma_init="ones",
        beta_init="zeros",
        moving_mean_init="zeros",
        moving_var_init="ones",
        use_batch_statistics=None,
        data_format="NCHW",
        dtype=None,
    ):
        super().__init__()
        name = type(self).__name__
        if not isinstance(num_features, int) or isinstance(num_features, bool) or num_features < 1:
            raise ValueError(
                f"For '{name}', num_features must be a positive int, got {num_features!r}"
            )
        if not 0 <= momentum <= 1:
            raise ValueError(f"For '{name}', momentum must be in [0, 1], got {momentum}")
        if data_format != "NCHW":
            raise ValueError(
                f"For '{name}', cellc supports data_format 'NCHW' only, got {data_format!r}"
            )
        if use_batch_statistics not in (None, True, False):
            raise TypeError(f"For '{name}', use_batch_statistics must be a bool or None")
        shape = (num_features,)
        self.num_features = num_features
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.affine = affine
        self.use_batch_statistics = use_batch_statistics
        self.moving_mean = Parameter(
            _initial(moving_mean_init, shape, name, dtype), name="mean", requires_grad=False
        )
        self.moving_variance = Parameter(
            _initial(moving_var_init, shape, name, dtype), name="variance", requires_grad=False
        )
        self.gamma = Parameter(
            _initial(gamma_init, shape, name, dtype), name="gamma", requires_grad=affine
        )
        self.beta = Parameter(
            _initial(beta_init, shape, name, dtype), name="beta", requires_grad=affine
        )

    def _uses_batch_statistics(self) -> bool:
        if self.use_batch_statistics is None:
            return bool(self.training)
        return self.use_batch_statistics

    def construct(self, x):
        name = type(self).__name__
        if x.ndim not in self._ranks or x.shape[1] != self.num_features:
            ranks = " or ".join(f"{r}-D" for r in self._ranks)
            raise ValueError(
                f"For '{name}', the input must be {ranks} with {self.num_features} channels "
                f"(axis 1), got shape {x.shape}"
            )
        axes = tuple(a for a in range(x.ndim) if a != 1)
        channel = (1, self.num_features) + (1,) * (x.ndim - 2)  # broadcasts along axis 1
        if self._uses_batch_statistics():
            mean, centered, variance = F.moments(x, axes)
            count = math.prod(x.shape) // x.shape[1]
            momentum = self.momentum
            ops.state.update_running_statistics(
                self.moving_mean,
                self.moving_variance,
                mean,
                variance,
                count,
                keep=momentum,
                take=1.0 - momentum,
            )
        else:
            mean = F.reshape(self.moving_mean, channel)
            variance = F.reshape(self.moving_variance, channel)
            centered = x - mean
        normalized = F.standardized(centered, variance, self.eps)
        return normalized * F.reshape(self.gamma, channel) + F.reshape(self.beta, channel)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(num_features={self.num_features}, eps={self.eps}, "
            f"momentum={self.momentum}, gamma={self.gamma!r}, beta={self.beta!r}, "
            f"moving_mean={self.moving_mean!r}, moving_variance={self.moving_variance!r})"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs over every axis but C."""

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs over N, H and W."""

    _ranks = (4,)


class LayerNorm(Cell):
    """Normalizes over the axes from `begin_norm_axis` on, then scales by `gamma` and shifts by
    `beta`, shaped `normalized_shape` and applied to the axes from `begin_params_axis` on:
    y = (x - mean) / sqrt(var + epsilon) * gamma + beta, var biased (MindSpore's)."""

    def __init__(
        self,
        normalized_shape,
        begin_norm_axis=-1,
        begin_params_axis=-1,
        gamma_init="ones",
        beta_init="zeros",
        epsilon=1e-7,
        dtype=None,
    ):
        super().__init__()
        if not isinstance(normalized_shape, (tuple, list)):
            raise TypeError(
                "For 'LayerNorm', normalized_shape must be a tuple or list, got "
                f"{type(normalized_shape).__name__}"
            )
        self.normalized_shape = tuple(normalized_shape)
        self.begin_norm_axis = begin_norm_axis
        self.begin_params_axis = begin_params_axis
        self.epsilon = float(epsilon)
        self.gamma = Parameter(
            _initial(gamma_init, self.normalized_shape, "LayerNorm", dtype), name="gamma"
        )
        self.beta = Parameter(
            _initial(beta_init, self.normalized_shape, "LayerNorm", dtype), name="beta"
        )

    def construct(self, x):
        rank = x.ndim
        norm_axis = self._axis("begin_norm_axis", self.begin_norm_axis, rank)
        params_axis = self._axis("begin_params_axis", self.begin_params_axis, rank)
        if tuple(x.shape[params_axis:]) != self.normalized_shape:
            raise ValueError(
                f"For 'LayerNorm', the input's shape {x.shape} from begin_params_axis "
                f"{self.begin_params_axis} on must be normalized_shape {self.normalized_shape}"
            )
        axes = tuple(range(norm_axis, rank))
        _, centered, variance = F.moments(x, axes)
        return F.standardized(centered, variance, self.epsilon) * self.gamma + self.beta

    @staticmethod
    def _axis(what: str, axis: int, rank: int) -> int:
        if not -rank <= axis < rank:
            raise ValueError(f"For 'LayerNorm', {what} {axis} is out of range for a {rank}-D input")
        return axis % rank

    def __repr__(self) -> str:
        return (
            f"LayerNorm(normalized_shape={self.normalized_shape}, begin_norm_axis="
            f"{self.begin_norm_axis}, begin_params_axis={self.begin_params_axis}, "
            f"gamma={self.gamma!r}, beta={self.beta!r})"
        )


class GroupNorm(Cell):
    """Normalizes each sample's channels in `num_groups` groups (over the group's channels and
    the spatial dims), then scales and shifts each channel by gamma and beta (`affine`):
    y = (x - mean) / sqrt(var + eps) * gamma + beta, var biased."""

    def __init__(
        self,
        num_groups,
        num_channels,
        eps=1e-05,
        affine=True,
        gamma_init="ones",
        beta_init="zeros",
        dtype=None,
    ):
        super().__init__()
        if not (isinstance(num_groups, int) and isinstance(num_channels, int)) or num_groups < 1:
            raise ValueError(
                f"For 'GroupNorm', num_groups and num_channels must be positive ints, got "
                f"{num_groups!r} and {num_channels!r}"
            )
        if num_channels % num_groups:
            raise ValueError(
                f"For 'GroupNorm', num_channels {num_channels} must be divisible by num_groups "
                f"{num_groups}"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = float(eps)
        self.affine = affine
        self.gamma = Parameter(
            _initial(gamma_init, (num_channels,), "GroupNorm", dtype),
            name="gamma",
            requires_grad=affine,
        )
        self.beta = Parameter(
            _initial(beta_init, (num_channels,), "GroupNorm", dtype),
            name="beta",
            requires_grad=affine,
        )

    def construct(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"For 'GroupNorm', the input {x.shape} must have num_channels "
                f"{self.num_channels} at axis 1"
            )
        grouped = F.reshape(x, (x.shape[0], self.num_groups, -1))
        _, centered, variance = F.moments(grouped, 2)
        normalized = F.reshape(F.standardized(centered, variance, self.eps), x.shape)
        per_channel = (self.num_channels,) + (1,) * (x.ndim - 2)
        return normalized * F.reshape(self.gamma, per_channel) + F.reshape(self.beta, per_channel)


class _InstanceNorm(Cell):
    """Each sample's channels normalized over their own spatial dims (in training and inference
    alike), then scaled by gamma and shifted by beta (`affine`): y = (x - mean) /
    sqrt(var + eps) * gamma + beta, var biased. (MindSpore's `momentum` is accepted; there are
    no running statistics to update.)"""

    spatial = 2

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        gamma_init="ones",
        beta_init="zeros",
        dtype=None,
    ):
        super().__init__()
        name = type(self).__name__
        if not isinstance(num_features, int) or num_features < 1:
            raise ValueError(
                f"For '{name}', num_features must be a positive int, got {num_features!r}"
            )
        self.num_features = num_features
        self.eps = float(eps)
        self.gamma = Parameter(
            _initial(gamma_init, (num_features,), name, dtype), name="gamma", requires_grad=affine
        )
        self.beta = Parameter(
            _initial(beta_init, (num_features,), name, dtype), name="beta", requires_grad=affine
        )

    def construct(self, x):
        rank = 2 + self.spatial
        if x.ndim != rank or x.shape[1] != self.num_features:
            raise ValueError(
                f"For '{type(self).__name__}', the input {x.shape} must be {rank}-D with "
                f"{self.num_features} channels at axis 1"
            )
        axes = tuple(range(2, rank))
        _, centered, variance = F.moments(x, axes)
        normalized = F.standardized(centered, variance, self.eps)
        shape = (self.num_features,) + (1,) * self.spatial
        return normalized * F.reshape(self.gamma, shape) + F.reshape(self.beta, shape)


class InstanceNorm1d(_InstanceNorm):
    spatial = 1


class InstanceNorm2d(_InstanceNorm):
    spatial = 2


class InstanceNorm3d(_InstanceNorm):
    spatial = 3


__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LayerNorm",
]
