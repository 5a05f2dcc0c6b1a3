"""MindSpore 2.x's functional API (`ops.concat`, `ops.where`, `ops.cross_entropy`, ...) with
MindSpore's signatures, defaults and return structures, built on `cellc.ops.functional`.

Each name here is exported by `cellc.ops` (`__all__`). Losses take `reduction` 'mean', 'sum'
or 'none' like MindSpore's.
"""

from __future__ import annotations

import builtins

import numpy as np

from cellc import dtype as mstype
from cellc.tensor import Tensor

from . import functional as F

__all__ = [
    "abs",
    "arange",
    "argmax",
    "argmin",
    "binary_cross_entropy_with_logits",
    "cat",
    "clamp",
    "cast",
    "clip_by_global_norm",
    "clip_by_value",
    "concat",
    "cross_entropy",
    "eq",
    "equal",
    "exp",
    "fill",
    "full",
    "gather",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "l1_loss",
    "le",
    "less",
    "less_equal",
    "log",
    "log_softmax",
    "logical_and",
    "logical_not",
    "logical_or",
    "lt",
    "matmul",
    "max",
    "mean",
    "min",
    "mse_loss",
    "ne",
    "nll_loss",
    "not_equal",
    "ones",
    "ones_like",
    "pad",
    "relu",
    "reshape",
    "select",
    "sigmoid",
    "softmax",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "sum",
    "tile",
    "transpose",
    "unsqueeze",
    "where",
    "zeros",
    "zeros_like",
]

equal, not_equal, less, less_equal = F.equal, F.not_equal, F.less, F.less_equal
greater, greater_equal = F.greater, F.greater_equal
eq, ne, lt, le, gt, ge = equal, not_equal, less, less_equal, greater, greater_equal
logical_and, logical_or, logical_not = F.logical_and, F.logical_or, F.logical_not
relu, sigmoid, exp, log, sqrt, square, abs = (
    F.relu,
    F.sigmoid,
    F.exp,
    F.log,
    F.sqrt,
    F.square,
    F.abs,
)
reshape, gather = F.reshape, F.gather


def _shape(size) -> tuple[int, ...]:
    return (int(size),) if isinstance(size, (int, np.integer)) else tuple(int(d) for d in size)


def zeros(size, dtype=None) -> Tensor:
    return Tensor(np.zeros(_shape(size)), dtype=dtype or mstype.float32)


def ones(shape, dtype=None) -> Tensor:
    return Tensor(np.ones(_shape(shape)), dtype=dtype or mstype.float32)


def full(size, fill_value, *, dtype=None) -> Tensor:
    """A tensor of `fill_value`; without `dtype`, a bool, int or float one (Float32)."""
    if dtype is None:
        dtype = _dtype_of(fill_value)
    return Tensor(np.full(_shape(size), fill_value), dtype=dtype)


def _dtype_of(value) -> mstype.DType:
    if isinstance(value, (bool, np.bool_)):
        return mstype.bool_
    if isinstance(value, (int, np.integer)):
        return mstype.int64
    return mstype.float32


def fill(type, shape, value) -> Tensor:  # noqa: A002  (MindSpore's parameter name)
    return Tensor(np.full(_shape(shape), value), dtype=type)


def zeros_like(input, *, dtype=None) -> Tensor:  # noqa: A002
    """Zeros of input's shape (and dtype); traced, a computation on input (0 * input)."""
    return _like(input, 0, dtype)


def ones_like(input, *, dtype=None) -> Tensor:  # noqa: A002
    return _like(input, 1, dtype)


def _like(x, value, dtype) -> Tensor:
    x = F.as_tensor(x)
    dtype = dtype or x.dtype
    return Tensor(np.full(x.shape, value), dtype=dtype)


def arange(start=0, end=None, step=1, *, dtype=None) -> Tensor:
    if end is None:
        start, end = 0, start
    values = np.arange(start, end, step)
    if dtype is None:
        dtype = mstype.int64 if values.dtype.kind == "i" else mstype.float32
    return Tensor(values, dtype=dtype)


def matmul(input, other) -> Tensor:  # noqa: A002
    """numpy's matmul: 2-D products, or batched with broadcast batch dims; a 1-D operand is
    a vector (its dim added, then dropped)."""
    a, b = F.as_tensor(input), F.as_tensor(other)
    squeeze_a, squeeze_b = a.ndim == 1, b.ndim == 1
    a = F.reshape(a, (1,) + a.shape) if squeeze_a else a
    b = F.reshape(b, b.shape + (1,)) if squeeze_b else b
    if a.ndim == 2 and b.ndim == 2:
        result = F.matmul(a, b)
    else:
        result = F.batch_matmul(a, b)
    shape = result.shape
    if squeeze_a:
        shape = shape[:-2] + shape[-1:]
    if squeeze_b:
        shape = shape[:-1]
    return result if shape == result.shape else F.reshape(result, shape)


def transpose(input, dims) -> Tensor:  # noqa: A002
    return F.transpose(input, dims)


def squeeze(input, axis=None) -> Tensor:  # noqa: A002
    return F.squeeze(input, () if axis is None else axis)


def unsqueeze(input, dim) -> Tensor:  # noqa: A002
    return F.expand_dims(input, dim)


def softmax(input, axis=-1, *, dtype=None) -> Tensor:  # noqa: A002
    x = F.as_tensor(input)
    return F.softmax(x if dtype is None else F.cast(x, dtype), axis)


def log_softmax(logits, axis=-1) -> Tensor:
    return F.log_softmax(logits, axis)


def mean(x, axis=None, keep_dims=False) -> Tensor:
    return F.reduce_mean(x, axis, keep_dims)


def sum(input, dim=None, keepdim=False, *, dtype=None) -> Tensor:  # noqa: A001, A002
    total = F.reduce_sum(input, dim, keepdim)
    return total if dtype is None else F.cast(total, dtype)


def max(input, axis=None, keepdims=False, *, initial=None, where=None):  # noqa: A001, A002
    """(values, int64 indices) of the maximum along `axis` (None: over everything), as
    MindSpore 2.x's `ops.max` returns."""
    return _extreme(input, axis, keepdims, initial, where, largest=True)


def min(input, axis=None, keepdims=False, *, initial=None, where=None):  # noqa: A001, A002
    """(values, int64 indices) of the minimum along `axis`."""
    return _extreme(input, axis, keepdims, initial, where, largest=False)


def _extreme(x, axis, keepdims, initial, where, largest):
    if initial is not None or where is not None:
        raise NotImplementedError("ops.max/ops.min: 'initial' and 'where' are not supported")
    x = F.as_tensor(x)
    reduce = F.reduce_max if largest else F.reduce_min
    values = reduce(x, axis, keepdims)
    indices = F.arg_reduce("Argmax" if largest else "Argmin", x, axis, keepdims, largest)
    return values, indices


def argmax(input, dim=None, keepdim=False) -> Tensor:  # noqa: A002
    return F.arg_reduce("Argmax", input, dim, keepdim, largest=True)


def argmin(input, axis=None, keepdims=False) -> Tensor:  # noqa: A002
    return F.arg_reduce("Argmin", input, axis, keepdims, largest=False)


def clamp(input, min=None, max=None) -> Tensor:  # noqa: A002
    return F.clip_by_value(input, min, max)


clip_by_value = F.clip_by_value


def where(condition, input, other) -> Tensor:  # noqa: A002
    return F.select(condition, input, other)


select = where


def concat(tensors, axis=0) -> Tensor:
    return F.concat(tensors, axis)


cat = concat


def stack(tensors, axis=0) -> Tensor:
    return F.stack(tensors, axis)


def split(tensor, split_size_or_sections, axis=0) -> tuple[Tensor, ...]:
    """Pieces of `split_size_or_sections` elements each (the last may be shorter), or of the
    listed sizes."""
    tensor = F.as_tensor(tensor)
    length = tensor.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        sizes = [size] * (length // size) + ([length % size] if length % size else [])
    else:
        sizes = [int(s) for s in split_size_or_sections]
    return F.split(tensor, axis, sizes)


def tile(input, dims) -> Tensor:  # noqa: A002
    """input repeated `dims` times along each dim: reshape, broadcast, reshape."""
    x = F.as_tensor(input)
    dims = tuple(int(d) for d in dims)
    shape = (1,) * (len(dims) - x.ndim) + x.shape
    dims = (1,) * (len(shape) - len(dims)) + dims
    x = F.reshape(x, tuple(d for n in shape for d in (1, n)))
    x = F.broadcast_to(x, tuple(d for pair in zip(dims, shape) for d in pair))
    return F.reshape(x, tuple(m * n for m, n in zip(dims, shape)))


def pad(input_x, padding, mode="constant", value=None) -> Tensor:
    """input_x padded: `padding` = (left, right) of the last dim, then of the one before, ...
    (MindSpore 2.x's `ops.pad`). mode 'constant' fills with `value` (0 by default); 'reflect'
    mirrors the input without repeating its edge, 'replicate' repeats the edge, 'circular'
    wraps around (those three are gathers of constant indices)."""
    x = F.as_tensor(input_x)
    padding = tuple(int(p) for p in padding)
    if len(padding) % 2 or len(padding) // 2 > x.ndim:
        raise ValueError(
            f"For 'pad', padding must be (left, right) pairs for at most {x.ndim} dims, got "
            f"{padding!r}"
        )
    pairs = [(0, 0)] * x.ndim
    for i in range(len(padding) // 2):
        pairs[x.ndim - 1 - i] = (padding[2 * i], padding[2 * i + 1])
    if builtins.min(padding, default=0) < 0:  # a negative side crops
        crop = tuple(
            builtins.slice(-builtins.min(a, 0), n + builtins.min(b, 0))
            for n, (a, b) in zip(x.shape, pairs)
        )
        if any(c.start >= c.stop for c, n in zip(crop, x.shape) if n):
            raise ValueError(f"For 'pad', padding {padding!r} crops all of {x.shape}")
        x = F.getitem(x, crop)
        pairs = [(builtins.max(a, 0), builtins.max(b, 0)) for a, b in pairs]
    if mode == "constant":
        padded = F.pad(x, pairs)
        if value is None or value == 0:
            return padded
        border = np.ones([n + a + b if a or b else 1 for n, (a, b) in zip(x.shape, pairs)], bool)
        border[
            tuple(slice(a, a + n) if a or b else slice(None) for n, (a, b) in zip(x.shape, pairs))
        ] = False
        return F.select(Tensor(border), F.cast(F.as_tensor(value, x), x.dtype), padded)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(
            "For 'pad', mode must be 'constant', 'reflect', 'replicate' or 'circular', got "
            f"{mode!r}"
        )
    for axis, (before, after) in enumerate(pairs):
        if before or after:
            x = F.gather(x, Tensor(_pad_indices(mode, x.shape[axis], before, after)), axis)
    return x


def _pad_indices(mode: str, size: int, before: int, after: int) -> np.ndarray:
    index = np.arange(-before, size + after)
    if mode == "replicate":
        return np.clip(index, 0, size - 1).astype(np.int32)
    if mode == "circular":
        if before > size or after > size:
            raise ValueError(
                f"For 'pad', circular padding ({before}, {after}) exceeds the size {size}"
            )
        return (index % size).astype(np.int32)
    if before >= size or after >= size:
        raise ValueError(
            f"For 'pad', reflect padding ({before}, {after}) must be less than the size {size}"
        )
    index = np.abs(index)
    return np.where(index >= size, 2 * (size - 1) - index, index).astype(np.int32)


# --- losses ---------------------------------------------------------------------------------


def reduce_loss(loss: Tensor, reduction: str, primitive: str) -> Tensor:
    if reduction == "mean":
        return F.reduce_mean(loss)
    if reduction == "sum":
        return F.reduce_sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(
        f"For '{primitive}', reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
    )


def mse_loss(input, target, reduction="mean") -> Tensor:  # noqa: A002
    return reduce_loss(F.square(F.sub(input, target)), reduction, "mse_loss")


def l1_loss(input, target, reduction="mean") -> Tensor:  # noqa: A002
    return reduce_loss(F.abs(F.sub(input, target)), reduction, "l1_loss")


def binary_cross_entropy_with_logits(
    input,  # noqa: A002
    target,
    weight=None,
    pos_weight=None,
    reduction="mean",
) -> Tensor:
    """-w [pos_weight * t * log(sigmoid(x)) + (1 - t) * log(1 - sigmoid(x))], computed
    stably: log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log(1 + exp(-|x|))."""
    x, t = F.as_tensor(input), F.as_tensor(target)
    log_sigmoid = F.sub(F.minimum(x, 0.0), F.log(F.add(F.exp(F.neg(F.abs(x))), 1.0)))
    log_one_minus = F.sub(log_sigmoid, x)  # log(1 - sigmoid(x)) = log_sigmoid(x) - x
    positive = F.mul(t, log_sigmoid)
    if pos_weight is not None:
        positive = F.mul(positive, pos_weight)
    loss = F.neg(F.add(positive, F.mul(F.sub(1.0, t), log_one_minus)))
    if weight is not None:
        loss = F.mul(loss, weight)
    return reduce_loss(loss, reduction, "binary_cross_entropy_with_logits")


def nll_loss(
    inputs,
    target,
    weight=None,
    ignore_index=-100,
    reduction="mean",
    label_smoothing=0.0,
) -> Tensor:
    """-w[t] * inputs[n, t] per sample (inputs (N, C) log-probabilities, target (N,) class
    indices); 'mean' divides by the sum of the samples' weights, targets equal to
    `ignore_index` count for nothing."""
    logp, target = F.as_tensor(inputs), F.as_tensor(target)
    classes = logp.shape[1]
    hot = F.one_hot(target, classes, logp.dtype)  # all zeros for ignore_index (out of range)
    if weight is not None:
        hot = F.mul(hot, weight)
    picked = F.neg(F.reduce_sum(F.mul(hot, logp), 1))
    if label_smoothing:
        smooth = F.neg(F.reduce_mean(logp if weight is None else F.mul(logp, weight), 1))
        picked = F.add(F.mul(picked, 1.0 - label_smoothing), F.mul(smooth, label_smoothing))
    if reduction == "mean":
        return F.div(F.reduce_sum(picked), F.reduce_sum(hot))
    return reduce_loss(picked, reduction, "nll_loss")


def cross_entropy(
    input,  # noqa: A002
    target,
    weight=None,
    ignore_index=-100,
    reduction="mean",
    label_smoothing=0.0,
) -> Tensor:
    """nll_loss(log_softmax(input, 1), target) for class indices; for class probabilities
    (target of input's shape and dtype), -sum(target * log_softmax) per sample."""
    x, target = F.as_tensor(input), F.as_tensor(target)
    logp = F.log_softmax(x, 1)
    if target.dtype.is_float and target.shape == x.shape:
        per_class = F.mul(target, logp) if weight is None else F.mul(F.mul(target, logp), weight)
        return reduce_loss(F.neg(F.reduce_sum(per_class, 1)), reduction, "cross_entropy")
    return nll_loss(logp, target, weight, ignore_index, reduction, label_smoothing)


def clip_by_global_norm(x, clip_norm=1.0, use_norm=None):
    """The tensors of `x` scaled by clip_norm / max(global_norm, clip_norm), where global_norm
    is the l2 norm of all of them together (`use_norm` in its place when given): MindSpore's
    `ops.clip_by_global_norm`, for gradients."""
    tensors = tuple(x)
    if not tensors:
        raise ValueError("For 'clip_by_global_norm', x must hold at least one Tensor")
    if not isinstance(clip_norm, (int, float)) or clip_norm <= 0:
        raise ValueError(f"For 'clip_by_global_norm', clip_norm must be > 0, got {clip_norm!r}")
    if use_norm is None:
        squares = [F.reduce_sum(F.mul(t, t)) for t in tensors]
        total = squares[0]
        for square in squares[1:]:
            total = F.add(total, square)
        use_norm = F.sqrt(total)
    scale = F.div(float(clip_norm), F.maximum(use_norm, float(clip_norm)))
    return tuple(F.mul(t, F.cast(scale, t.dtype)) for t in tensors)


def cast(input, dtype):  # noqa: A002 (MindSpore's name)
    """`input` converted to `dtype` (MindSpore 2.x's `ops.cast`)."""
    return F.cast(input, dtype)
