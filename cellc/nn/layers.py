"""A few of MindSpore's layers and losses, written as ordinary cells."""

from __future__ import annotations

import numpy as np

from cellc import ops
from cellc.parameter import Parameter
from cellc.tensor import Tensor

from .cell import Cell


def _initial(init, shape, seed_offset: int) -> np.ndarray:
    if isinstance(init, Tensor):
        return init.asnumpy().astype(np.float32)
    if isinstance(init, np.ndarray):
        return init.astype(np.float32)
    if init == "zeros":
        return np.zeros(shape, np.float32)
    if init == "ones":
        return np.ones(shape, np.float32)
    if init == "normal":  # MindSpore's default: N(0, 0.01)
        return (np.random.default_rng(seed_offset).normal(0, 0.01, shape)).astype(np.float32)
    raise ValueError(f"unsupported initializer {init!r}; use a Tensor, 'zeros', 'ones' or 'normal'")


class ReLU(Cell):
    def construct(self, x):
        return ops.functional.relu(x)


class Tanh(Cell):
    def construct(self, x):
        return ops.functional.tanh(x)


class Sigmoid(Cell):
    def construct(self, x):
        return ops.functional.sigmoid(x)


_ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}


class Dense(Cell):
    """y = activation(x @ weight.T + bias); weight has shape (out_channels, in_channels)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        weight_init="normal",
        bias_init="zeros",
        has_bias: bool = True,
        activation=None,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.weight = Parameter(
            _initial(weight_init, (out_channels, in_channels), in_channels * 7919 + out_channels),
            name="weight",
        )
        self.has_bias = has_bias
        if has_bias:
            self.bias = Parameter(_initial(bias_init, (out_channels,), 0), name="bias")
        self.matmul = ops.MatMul(transpose_b=True)
        if isinstance(activation, str):
            activation = _ACTIVATIONS[activation.lower()]()
        self.activation = activation

    def construct(self, x):
        y = self.matmul(x, self.weight)
        if self.has_bias:
            y = y + self.bias
        if self.activation is not None:
            y = self.activation(y)
        return y


class MSELoss(Cell):
    """Mean (or sum, or none) of the squared difference."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def construct(self, logits, labels):
        diff = logits - labels
        loss = diff * diff
        if self.reduction == "mean":
            return ops.functional.reduce_mean(loss)
        if self.reduction == "sum":
            return ops.functional.reduce_sum(loss)
        return loss


class WithLossCell(Cell):
    """loss_fn(backbone(data), label)."""

    def __init__(self, backbone, loss_fn):
        super().__init__(auto_prefix=False)
        self._backbone = backbone
        self._loss_fn = loss_fn

    def construct(self, data, label):
        return self._loss_fn(self._backbone(data), label)
