"""`mindspore.mint`: MindSpore's PyTorch-style functions (`dim`, `keepdim`, `mint.transpose`
swapping two dims, `mint.flatten` from dim 0...), on cellc's ops, with `mint.nn` and
`mint.nn.functional`. A name of mindspore.mint that cellc lacks says so."""

from __future__ import annotations

from cellc import compat, ops
from cellc.ops import functional as F

from . import nn

__all__ = [
    "abs", "add", "arange", "argmax", "bmm", "broadcast_to", "cat", "chunk", "clamp", "clip",
    "concat", "cos", "cumsum", "div", "divide", "eq", "erf", "exp", "flatten", "flip", "full",
    "full_like", "ge", "greater", "greater_equal", "gt", "le", "less", "less_equal", "linspace",
    "log", "logical_and", "logical_not", "logical_or", "lt", "matmul", "max", "maximum", "mean",
    "min", "minimum", "mul", "narrow", "ne", "neg", "nn", "ones", "ones_like", "permute", "pow",
    "reciprocal", "reshape", "rsqrt", "sigmoid", "sin", "split", "sqrt", "square", "squeeze",
    "stack", "sub", "sum", "tanh", "tile", "transpose", "tril", "triu", "unsqueeze", "where",
    "zeros", "zeros_like",
]  # fmt: skip

abs, exp, log, sqrt, rsqrt, square = ops.abs, ops.exp, ops.log, ops.sqrt, ops.rsqrt, ops.square
sin, cos, tanh, sigmoid, erf, reciprocal = (
    ops.sin,
    ops.cos,
    ops.tanh,
    ops.sigmoid,
    ops.erf,
    ops.reciprocal,
)
neg, mul, pow, maximum, minimum = ops.neg, ops.mul, ops.pow, ops.maximum, ops.minimum
div = divide = ops.div
clamp = clip = ops.clamp
where, matmul, bmm, broadcast_to, tile = ops.where, ops.matmul, ops.bmm, ops.broadcast_to, ops.tile
eq, ne, gt, ge, lt, le = ops.eq, ops.ne, ops.gt, ops.ge, ops.lt, ops.le
greater, greater_equal, less, less_equal = ops.greater, ops.greater_equal, ops.less, ops.less_equal
logical_and, logical_or, logical_not = ops.logical_and, ops.logical_or, ops.logical_not
zeros, ones, full, full_like, arange = ops.zeros, ops.ones, ops.full, ops.full_like, ops.arange
zeros_like, ones_like, linspace = ops.zeros_like, ops.ones_like, ops.linspace
reshape, permute, flip, narrow, tril, triu = (
    ops.reshape,
    ops.permute,
    ops.flip,
    ops.narrow,
    ops.tril,
    ops.triu,
)


def add(input, other, *, alpha=1):  # noqa: A002  (MindSpore's names)
    """input + alpha * other."""
    return F.add(input, other if alpha == 1 else F.mul(other, alpha))


def sub(input, other, *, alpha=1):  # noqa: A002
    """input - alpha * other."""
    return F.sub(input, other if alpha == 1 else F.mul(other, alpha))


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001, A002
    return ops.sum(input, dim, keepdim, dtype=dtype)


def mean(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
    x = F.as_tensor(input)
    return F.reduce_mean(x if dtype is None else F.cast(x, dtype), dim, keepdim)


def max(input, dim=None, keepdim=False):  # noqa: A001, A002
    """The largest element, or along `dim` (values, int64 indices)."""
    if dim is None:
        return F.reduce_max(input)
    return ops.max(input, dim, keepdim)


def min(input, dim=None, keepdim=False):  # noqa: A001, A002
    if dim is None:
        return F.reduce_min(input)
    return ops.min(input, dim, keepdim)


def argmax(input, dim=None, keepdim=False):  # noqa: A002
    return ops.argmax(input, dim, keepdim)


def cat(tensors, dim=0):
    return ops.concat(tensors, dim)


concat = cat


def stack(tensors, dim=0):
    return ops.stack(tensors, dim)


def split(tensor, split_size_or_sections, dim=0):
    return ops.split(tensor, split_size_or_sections, dim)


def chunk(input, chunks, dim=0):  # noqa: A002
    return ops.chunk(input, chunks, dim)


def cumsum(input, dim, dtype=None):  # noqa: A002
    return ops.cumsum(input, dim, dtype)


def flatten(input, start_dim=0, end_dim=-1):  # noqa: A002
    """Dims start_dim..end_dim merged (from dim 0 by default, as PyTorch)."""
    return F.flatten(input, start_dim, end_dim)


def transpose(input, dim0, dim1):  # noqa: A002
    """The two dims swapped."""
    return ops.swapaxes(input, dim0, dim1)


def squeeze(input, dim=None):  # noqa: A002
    return ops.squeeze(input, dim)


def unsqueeze(input, dim):  # noqa: A002
    return ops.unsqueeze(input, dim)


# The elementwise math functions, whose signatures mint shares with ops (one tensor; atan2,
# remainder, fmod, logaddexp, hypot: two).
_ELEMENTWISE = (
    "acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh",
    "asin", "asinh", "atan", "atan2", "atanh", "cosh", "deg2rad", "erfc", "exp2", "expm1", "fix",
    "fmod", "frac", "hypot", "log10", "log1p", "log2", "logaddexp", "rad2deg", "remainder",
    "signbit", "sinc", "sinh", "tan", "trunc", "round", "nan_to_num", "xlogy", "floor", "ceil",
    "sign", "isnan", "isinf", "isfinite", "negative", "subtract", "multiply", "true_divide",
)  # fmt: skip
__all__ += list(_ELEMENTWISE)


def __getattr__(name: str):
    if name in _ELEMENTWISE:
        return getattr(ops, name)
    raise compat.missing("mint", name)
