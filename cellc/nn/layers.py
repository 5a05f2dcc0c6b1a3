"""A few of MindSpore's layers and losses, written as ordinary cells."""

from __future__ import annotations

import math

import numpy as np

from cellc import ops
from cellc.initializer import HeUniform, Uniform, initializer
from cellc.parameter import Parameter
from cellc.tensor import Tensor

from .cell import Cell
from .normalization import _numpy_dtype


def _initial(init, shape, *_) -> np.ndarray:
    """The initial value of a weight: a Tensor or array as given (float32), or drawn by an
    initializer (`cellc.initializer`: a name such as 'normal' or 'zeros', an Initializer, or a
    number) from numpy's global random state, which `set_seed` seeds."""
    if isinstance(init, np.ndarray):
        return init.astype(np.float32)
    if isinstance(init, Tensor):
        return init.asnumpy().astype(np.float32)
    return initializer(init, shape).asnumpy()


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
    """y = activation(x @ weight.T + bias); weight has shape (out_channels, in_channels); x of
    rank > 2 is (..., in_channels)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        weight_init=None,
        bias_init=None,
        has_bias: bool = True,
        activation=None,
        dtype=None,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        if weight_init is None:  # MindSpore's default: uniform in +-1/sqrt(in_channels)
            weight_init = HeUniform(math.sqrt(5))
        if bias_init is None:
            bias_init = Uniform(1 / math.sqrt(in_channels))
        cast = _numpy_dtype(dtype)
        weight = _initial(weight_init, (out_channels, in_channels)).astype(cast)
        self.weight = Parameter(weight, name="weight")
        self.has_bias = has_bias
        if has_bias:
            self.bias = Parameter(_initial(bias_init, (out_channels,)).astype(cast), name="bias")
        self.matmul = ops.MatMul(transpose_b=True)
        if isinstance(activation, str):
            activation = _ACTIVATIONS[activation.lower()]()
        self.activation = activation

    def extend_repr(self) -> str:
        text = f"input_channels={self.in_channels}, output_channels={self.out_channels}"
        if self.has_bias:
            text += f", has_bias={self.has_bias}"
        if self.activation is not None:
            text += f", activation={self.activation}"
        return text

    def construct(self, x):
        # On rank > 2, MindSpore applies the layer to the last axis: (..., in) -> (..., out).
        lead = x.shape[:-1]
        if x.ndim > 2:
            x = ops.functional.reshape(x, (-1, x.shape[-1]))
        y = self.matmul(x, self.weight)
        if self.has_bias:
            y = y + self.bias
        if self.activation is not None:
            y = self.activation(y)
        if len(lead) > 1:
            y = ops.functional.reshape(y, (*lead, self.out_channels))
        return y


class Softmax(Cell):
    """exp(x) / sum(exp(x)) over `axis` (computed stably: see `ops.functional.softmax`)."""

    def __init__(self, axis=-1):
        super().__init__()
        self.softmax = ops.Softmax(axis)

    def construct(self, x):
        return self.softmax(x)


class LogSoftmax(Cell):
    """x - log(sum(exp(x))) over `axis` (computed stably)."""

    def __init__(self, axis=-1):
        super().__init__()
        self.log_softmax = ops.LogSoftmax(axis)

    def construct(self, x):
        return self.log_softmax(x)


class _Loss(Cell):
    """Base of the losses: `reduction` is 'mean', 'sum' or 'none' (per element)."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(
                f"For '{type(self).__name__}', reduction must be 'mean', 'sum' or 'none', "
                f"got {reduction!r}"
            )
        self.reduction = reduction

    def get_loss(self, loss):
        if self.reduction == "mean":
            return ops.functional.reduce_mean(loss)
        if self.reduction == "sum":
            return ops.functional.reduce_sum(loss)
        return loss


class MSELoss(_Loss):
    """Mean (or sum, or none) of the squared difference."""

    def construct(self, logits, labels):
        diff = logits - labels
        return self.get_loss(diff * diff)


class L1Loss(_Loss):
    """Mean (or sum, or none) of the absolute difference."""

    def construct(self, logits, labels):
        return self.get_loss(ops.functional.abs(logits - labels))


class SoftmaxCrossEntropyWithLogits(_Loss):
    """-sum(labels * log_softmax(logits)) over the classes, per sample: logits (N, C), labels
    (N, C) probabilities, or with `sparse=True` (N,) int32/int64 class indices (one-hot
    encoded from ms ops, so traced labels work). `reduction` defaults to 'none' (one loss per
    sample), as in MindSpore. d loss / d logits = softmax(logits) - labels."""

    def __init__(self, sparse: bool = False, reduction: str = "none"):
        super().__init__(reduction)
        if not isinstance(sparse, bool):
            raise TypeError(
                f"For 'SoftmaxCrossEntropyWithLogits', 'sparse' should be bool, "
                f"got {type(sparse).__name__}"
            )
        self.sparse = sparse

    def construct(self, logits, labels):
        F = ops.functional
        if logits.ndim != 2:
            raise ValueError(
                f"For 'SoftmaxCrossEntropyWithLogits', logits must be 2-D (N, C), "
                f"got shape {logits.shape}"
            )
        if self.sparse:
            labels = F.one_hot(labels, logits.shape[-1], logits.dtype)
        loss = F.neg(F.reduce_sum(F.mul(labels, F.log_softmax(logits, -1)), -1))
        return self.get_loss(loss)


class WithLossCell(Cell):
    """loss_fn(backbone(data), label)."""

    def __init__(self, backbone, loss_fn):
        super().__init__(auto_prefix=False)
        self._backbone = backbone
        self._loss_fn = loss_fn

    def construct(self, data, label):
        return self._loss_fn(self._backbone(data), label)


class Identity(Cell):
    """Its input, unchanged."""

    def construct(self, x):
        return x


class Embedding(Cell):
    """Rows of `embedding_table` (vocab_size, embedding_size) looked up by integer ids: ids of
    any shape give (*ids.shape, embedding_size). The table starts from `embedding_table` (an
    initializer name, 'normal' by default: N(0, 0.01), or a Tensor), with the row of
    `padding_idx` zeroed; `use_one_hot` computes the lookup as a one-hot matmul instead of a
    gather (the same values)."""

    def __init__(
        self,
        vocab_size,
        embedding_size,
        use_one_hot=False,
        embedding_table="normal",
        dtype=None,
        padding_idx=None,
    ):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embedding_size", embedding_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"For 'Embedding', {name} must be a positive int, got {value!r}")
        if not isinstance(use_one_hot, bool):
            raise TypeError(f"For 'Embedding', use_one_hot must be bool, got {use_one_hot!r}")
        table = _initial(embedding_table, (vocab_size, embedding_size)).copy()
        if table.shape != (vocab_size, embedding_size):
            raise ValueError(
                f"For 'Embedding', the table's shape {table.shape} must be (vocab_size, "
                f"embedding_size) = {(vocab_size, embedding_size)}"
            )
        if padding_idx is not None:
            if not isinstance(padding_idx, int) or not 0 <= padding_idx < vocab_size:
                raise ValueError(
                    f"For 'Embedding', padding_idx must be in [0, {vocab_size}), got "
                    f"{padding_idx!r}"
                )
            table[padding_idx] = 0
        self.vocab_size = vocab_size
        self.embedding_size = embedding_size
        self.use_one_hot = use_one_hot
        self.padding_idx = padding_idx
        self.embedding_table = Parameter(table, name="embedding_table")

    def extend_repr(self) -> str:
        return (
            f"vocab_size={self.vocab_size}, embedding_size={self.embedding_size}, "
            f"use_one_hot={self.use_one_hot}, padding_idx={self.padding_idx}"
        )

    def construct(self, ids):
        flat = ops.functional.reshape(ids, (-1,))
        if self.use_one_hot:
            hot = ops.functional.one_hot(flat, self.vocab_size)
            rows = ops.functional.matmul(hot, self.embedding_table)
        else:
            rows = ops.functional.gather(self.embedding_table, flat, 0)
        return ops.functional.reshape(rows, (*ids.shape, self.embedding_size))


class PixelShuffle(Cell):
    """(N, C * r * r, H, W) -> (N, C, H * r, W * r): each group of r * r channels becomes an
    r x r block of pixels."""

    def __init__(self, upscale_factor):
        super().__init__()
        if not isinstance(upscale_factor, int) or upscale_factor < 1:
            raise ValueError(
                f"For 'PixelShuffle', upscale_factor must be a positive int, got {upscale_factor!r}"
            )
        self.upscale_factor = upscale_factor

    def construct(self, x):
        F = ops.functional
        r = self.upscale_factor
        *lead, channels, height, width = x.shape
        if x.ndim < 3 or channels % (r * r):
            raise ValueError(
                f"For 'PixelShuffle', the input {x.shape} must be (..., C * {r * r}, H, W)"
            )
        batch = int(np.prod(lead))
        blocks = F.reshape(x, (batch, channels // (r * r), r, r, height, width))
        moved = F.transpose(blocks, (0, 1, 4, 2, 5, 3))
        return F.reshape(moved, (*lead, channels // (r * r), height * r, width * r))


class ChannelShuffle(Cell):
    """(N, C, ...) with its channels in `groups` groups interleaved: channel g * (C / groups) + i
    moves to i * groups + g."""

    def __init__(self, groups):
        super().__init__()
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"For 'ChannelShuffle', groups must be a positive int, got {groups!r}")
        self.groups = groups

    def construct(self, x):
        F = ops.functional
        if x.ndim < 3 or x.shape[1] % self.groups:
            raise ValueError(
                f"For 'ChannelShuffle', the input {x.shape} must be (N, C, ...) with C divisible "
                f"by groups {self.groups}"
            )
        n, c, *rest = x.shape
        grouped = F.reshape(x, (n, self.groups, c // self.groups, *rest))
        order = (0, 2, 1, *range(3, grouped.ndim))
        return F.reshape(F.transpose(grouped, order), x.shape)


class BiDense(Cell):
    """y = x1^T A x2 + b per output: weight (out_channels, in1_channels, in2_channels), from
    U(+-1/sqrt(in1_channels)) unless given, over the last dims of x1 and x2."""

    def __init__(
        self,
        in1_channels,
        in2_channels,
        out_channels,
        weight_init=None,
        bias_init=None,
        has_bias=True,
        dtype=None,
    ):
        super().__init__()
        for what, value in (
            ("in1_channels", in1_channels),
            ("in2_channels", in2_channels),
            ("out_channels", out_channels),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"For 'BiDense', {what} must be a positive int, got {value!r}")
        self.in1_channels, self.in2_channels = in1_channels, in2_channels
        self.out_channels, self.has_bias = out_channels, has_bias
        bound = 1 / math.sqrt(in1_channels)
        shape = (out_channels, in1_channels, in2_channels)
        cast = _numpy_dtype(dtype)
        weight = _initial(Uniform(bound) if weight_init is None else weight_init, shape)
        self.weight = Parameter(weight.astype(cast), name="weight")
        if has_bias:
            bias = _initial(Uniform(bound) if bias_init is None else bias_init, (out_channels,))
            self.bias = Parameter(bias.astype(cast), name="bias")

    def construct(self, input1, input2):
        if input1.shape[:-1] != input2.shape[:-1] or (input1.shape[-1], input2.shape[-1]) != (
            self.in1_channels,
            self.in2_channels,
        ):
            raise ValueError(
                f"For 'BiDense', the inputs {input1.shape} and {input2.shape} must agree but for "
                f"their last dims, which must be {self.in1_channels} and {self.in2_channels}"
            )
        return ops.bidense(input1, input2, self.weight, self.bias if self.has_bias else None)


class PixelUnshuffle(Cell):
    """(N, C, H * r, W * r) -> (N, C * r * r, H, W): PixelShuffle undone."""

    def __init__(self, downscale_factor):
        super().__init__()
        if not isinstance(downscale_factor, int) or downscale_factor < 1:
            raise ValueError(
                f"For 'PixelUnshuffle', downscale_factor must be a positive int, got "
                f"{downscale_factor!r}"
            )
        self.downscale_factor = downscale_factor

    def construct(self, x):
        F = ops.functional
        r = self.downscale_factor
        *lead, channels, height, width = x.shape
        if x.ndim < 3 or height % r or width % r:
            raise ValueError(
                f"For 'PixelUnshuffle', the input {x.shape} must be (..., C, H * {r}, W * {r})"
            )
        batch = int(np.prod(lead))
        blocks = F.reshape(x, (batch, channels, height // r, r, width // r, r))
        moved = F.transpose(blocks, (0, 1, 3, 5, 2, 4))
        return F.reshape(moved, (*lead, channels * r * r, height // r, width // r))


class Threshold(Cell):
    """x where x > threshold, else value."""

    def __init__(self, threshold, value):
        super().__init__()
        self.threshold, self.value = threshold, value

    def construct(self, x):
        return ops.where(x > self.threshold, x, self.value)


class Unflatten(Cell):
    """Dim `axis` split into `unflattened_size`."""

    def __init__(self, axis, unflattened_size):
        super().__init__()
        self.axis, self.unflattened_size = axis, tuple(unflattened_size)

    def construct(self, x):
        axis = self.axis % x.ndim
        return ops.reshape(x, (*x.shape[:axis], *self.unflattened_size, *x.shape[axis + 1 :]))


class OneHot(Cell):
    """`ops.one_hot(indices, depth, on_value, off_value, axis)` in `dtype`."""

    def __init__(self, axis=-1, depth=1, on_value=1.0, off_value=0.0, dtype=None):
        super().__init__()
        self.axis, self.depth = axis, depth
        self.on_value, self.off_value, self.dtype = on_value, off_value, dtype

    def construct(self, indices):
        hot = ops.one_hot(
            indices, self.depth, float(self.on_value), float(self.off_value), self.axis
        )
        return hot if self.dtype is None else ops.cast(hot, self.dtype)


class Upsample(Cell):
    """`ops.interpolate(x, size, scale_factor, mode, align_corners, recompute_scale_factor)`:
    'nearest', 'linear' (3-D) or 'bilinear' (4-D)."""

    def __init__(
        self,
        size=None,
        scale_factor=None,
        mode="nearest",
        align_corners=None,
        recompute_scale_factor=None,
    ):
        super().__init__()
        self.size = size
        self.scale_factor = scale_factor
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def construct(self, x):
        return ops.interpolate(
            x,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            self.recompute_scale_factor,
        )


# Every public layer of this module (a new class needs no line elsewhere).
__all__ = sorted(
    name
    for name, value in dict(globals()).items()
    if isinstance(value, type)
    and issubclass(value, Cell)
    and value.__module__ == __name__
    and not name.startswith("_")
)
