"""MindSpore 2.x's math and array functions (`mindspore.ops.function.math_func` and
`array_func`), exported by `cellc.ops`: `ops.add(x, y)`, `ops.tanh(x)`, `ops.flatten(x)`...

Each is composed of the `ms` dialect's ops (cellc.ops.functional), so it is traced inside a
cell, evaluated at once with numpy outside one, and differentiated by the ops' rules. The
signatures are MindSpore's (its `input`, `other`, `axis` names); a case MindSpore has and
cellc does not raises NotImplementedError saying which.
"""

from __future__ import annotations

import builtins

import numpy as np

from cellc import dtype as mstype
from cellc.tensor import Tensor

from . import functional as F

__all__ = [
    "gather_elements",
    "gather_d",
    "tensor_scatter_elements",
    "scatter",
    "index_add",
    "unsorted_segment_sum",
    "all",
    "any",
    "float_power",
    "copysign",
    "heaviside",
    "fmax",
    "fmin",
    "isclose",
    "allclose",
    "logical_xor",
    "isposinf",
    "isneginf",
    "movedim",
    "moveaxis",
    "swapdims",
    "unbind",
    "roll",
    "inner",
    "addmm",
    "addmv",
    "baddbmm",
    "addbmm",
    "fliplr",
    "flipud",
    "positive",
    "sgn",
    "absolute",
    "acos",
    "acosh",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "cosh",
    "count_nonzero",
    "deg2rad",
    "erfc",
    "exp2",
    "expm1",
    "fix",
    "fmod",
    "frac",
    "hypot",
    "log10",
    "log2",
    "logaddexp",
    "nan_to_num",
    "nansum",
    "rad2deg",
    "remainder",
    "round",
    "signbit",
    "sinc",
    "sinh",
    "tan",
    "trace",
    "true_divide",
    "trunc",
    "add",
    "addn",
    "argsort",
    "addcdiv",
    "addcmul",
    "amax",
    "amin",
    "bmm",
    "broadcast_to",
    "ceil",
    "chunk",
    "clip",
    "cos",
    "cumprod",
    "cumsum",
    "div",
    "divide",
    "erf",
    "expand_dims",
    "eye",
    "flatten",
    "flip",
    "floor",
    "floor_divide",
    "full_like",
    "hstack",
    "index_select",
    "isfinite",
    "isinf",
    "isnan",
    "lerp",
    "linspace",
    "log1p",
    "logsumexp",
    "masked_fill",
    "maximum",
    "minimum",
    "mul",
    "multiply",
    "narrow",
    "neg",
    "negative",
    "norm",
    "one_hot",
    "outer",
    "permute",
    "pow",
    "prod",
    "reciprocal",
    "repeat_interleave",
    "rsqrt",
    "sign",
    "sin",
    "slice",
    "sort",
    "std",
    "sub",
    "subtract",
    "swapaxes",
    "t",
    "tanh",
    "topk",
    "tril",
    "triu",
    "diagonal",
    "nanmean",
    "std_mean",
    "var",
    "var_mean",
    "vecdot",
    "vector_norm",
    "vstack",
    "xlogy",
]


# --- arithmetic --------------------------------------------------------------------------


def add(input, other):  # noqa: A002  (MindSpore's parameter names)
    return F.add(input, other)


def sub(input, other):  # noqa: A002
    return F.sub(input, other)


def mul(input, other):  # noqa: A002
    return F.mul(input, other)


def div(input, other, *, rounding_mode=None):  # noqa: A002
    """input / other; `rounding_mode` 'floor' rounds the quotient down, 'trunc' toward zero."""
    return F.div(input, other, rounding_mode=rounding_mode)


def floor_divide(input, other):  # noqa: A002
    return F.floor_div(input, other)


def neg(input):  # noqa: A002
    return F.neg(input)


multiply, subtract, divide, negative = mul, sub, div, neg


def maximum(input, other):  # noqa: A002
    return F.maximum(input, other)


def minimum(input, other):  # noqa: A002
    return F.minimum(input, other)


def pow(input, exponent):  # noqa: A001, A002
    return F.pow(input, exponent)


def addcmul(input, tensor1, tensor2, value=1):  # noqa: A002
    """input + value * tensor1 * tensor2."""
    return F.add(input, F.mul(F.mul(tensor1, tensor2), value))


def addcdiv(input, tensor1, tensor2, value=1):  # noqa: A002
    """input + value * tensor1 / tensor2."""
    return F.add(input, F.mul(F.div(tensor1, tensor2), value))


def lerp(input, end, weight):  # noqa: A002
    """input + weight * (end - input)."""
    x = F.as_tensor(input)
    return F.add(x, F.mul(weight, F.sub(end, x)))


def xlogy(input, other):  # noqa: A002
    """input * log(other), 0 where input is 0."""
    x = F._floating(input)
    product = F.mul(x, F.log(F._floating(other)))
    return F.select(F.equal(x, 0), 0, product)


# --- elementwise math ----------------------------------------------------------------------


def tanh(input):  # noqa: A002
    return F.tanh(input)


def sin(input):  # noqa: A002
    return F.sin(input)


def cos(input):  # noqa: A002
    return F.cos(input)


def erf(input):  # noqa: A002
    return F.erf(input)


def sign(input):  # noqa: A002
    return F.sign(input)


def reciprocal(input):  # noqa: A002
    """1 / input (a float; an integer input gives Float32)."""
    return F.div(1.0, input)


def rsqrt(input):  # noqa: A002
    return reciprocal(F.sqrt(input))


def log1p(input):  # noqa: A002
    """log(1 + input), accurate near 0."""
    return F.math_function("log1p", input)


def tan(input):  # noqa: A002
    return F.math_function("tan", input)


def atan(input):  # noqa: A002
    return F.math_function("atan", input)


def asin(input):  # noqa: A002
    return F.math_function("asin", input)


def acos(input):  # noqa: A002
    return F.math_function("acos", input)


def sinh(input):  # noqa: A002
    return F.math_function("sinh", input)


def cosh(input):  # noqa: A002
    return F.math_function("cosh", input)


def asinh(input):  # noqa: A002
    return F.math_function("asinh", input)


def acosh(input):  # noqa: A002
    return F.math_function("acosh", input)


def atanh(input):  # noqa: A002
    return F.math_function("atanh", input)


def log2(input):  # noqa: A002
    return F.math_function("log2", input)


def log10(input):  # noqa: A002
    return F.math_function("log10", input)


def expm1(input):  # noqa: A002
    """exp(input) - 1, accurate near 0."""
    return F.math_function("expm1", input)


def erfc(input):  # noqa: A002
    """1 - erf(input), accurate where erf is near 1."""
    return F.math_function("erfc", input)


def atan2(input, other):  # noqa: A002
    """The angle of the point (other, input), in [-pi, pi]."""
    return F.atan2(input, other)


def trunc(input):  # noqa: A002
    """Rounded toward zero."""
    return F.trunc(input)


def round(input, *, decimals=0):  # noqa: A001, A002
    """Rounded to `decimals` places, halves to even (MindSpore's Round)."""
    if not isinstance(decimals, int) or isinstance(decimals, bool):
        raise TypeError(f"For 'round', decimals must be an int, got {decimals!r}")
    if decimals == 0:
        return F.round_half_even(input)
    scale = 10.0**decimals
    return F.div(F.round_half_even(F.mul(input, scale)), scale)


def exp2(input):  # noqa: A002
    """2 ** input (an integer input as Float32)."""
    return F.pow(2.0, F._floating(input))


def deg2rad(x):
    return F.mul(F.as_tensor(x), float(np.pi / 180))


def rad2deg(x):
    return F.mul(F.as_tensor(x), float(180 / np.pi))


def sinc(input):  # noqa: A002
    """sin(pi x) / (pi x), 1 at 0."""
    x = F._floating(input)
    scaled = F.mul(x, float(np.pi))
    safe = F.select(F.equal(x, 0.0), full_like(x, 1.0), scaled)
    return F.select(F.equal(x, 0.0), full_like(x, 1.0), F.div(F.sin(safe), safe))


def frac(input):  # noqa: A002
    """The fractional part, input - trunc(input), with input's sign."""
    return F.sub(input, trunc(input))


def fmod(input, other):  # noqa: A002
    """The remainder of input / other rounded toward zero (C's fmod: the sign of input)."""
    x = F.as_tensor(input)
    quotient = F.div(x, other, rounding_mode="trunc")
    return F.sub(x, F.mul(quotient, other))


def remainder(input, other):  # noqa: A002
    """The remainder with the sign of `other` (Python's %)."""
    return F.floor_mod(input, other)


def logaddexp(input, other):  # noqa: A002
    """log(exp(input) + exp(other)), without overflow."""
    high = F.maximum(input, other)
    low = F.minimum(input, other)
    return F.add(high, log1p(F.exp(F.sub(low, high))))


def hypot(input, other):  # noqa: A002
    return F.sqrt(F.add(F.mul(input, input), F.mul(other, other)))


def nansum(input, axis=None, keepdims=False, *, dtype=None):  # noqa: A002
    """The sum with NaNs taken as zero."""
    x = F.as_tensor(input)
    cleared = F.select(isnan(x), full_like(x, 0), x) if x.dtype.is_float else x
    total = F.reduce_sum(cleared, () if axis is None else axis, keepdims)
    return total if dtype is None else F.cast(total, dtype)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):  # noqa: A002
    """NaN -> `nan`, +inf -> `posinf` (the dtype's largest), -inf -> `neginf` (its lowest)."""
    x = F.as_tensor(input)
    if not x.dtype.is_float:
        return x
    info = np.finfo(x.dtype.numpy)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    x = F.select(isnan(x), full_like(x, nan), x)
    x = F.select(F.equal(x, float("inf")), full_like(x, posinf), x)
    return F.select(F.equal(x, float("-inf")), full_like(x, neginf), x)


def signbit(input):  # noqa: A002
    """Whether the sign bit is set (True for -0.0 and negative values)."""
    x = F.as_tensor(input)
    if not x.dtype.is_float:
        return F.less(x, 0)
    # -0.0 is less than nothing, but 1 / -0.0 is -inf
    return F.logical_or(F.less(x, 0.0), F.less(F.div(1.0, x), 0.0))


def count_nonzero(input, axis=(), keep_dims=False, dtype=mstype.int32):  # noqa: A002
    """How many elements (along `axis`) are nonzero."""
    nonzero = F.cast(F.not_equal(F.as_tensor(input), 0), mstype.float32)
    counted = F.reduce_sum(nonzero, () if axis is None else axis, keep_dims)
    return F.cast(counted, dtype)


def trace(input):  # noqa: A002
    """The sum of the main diagonal of a 2-D tensor."""
    return F.reduce_sum(diagonal(input), (), False)


def all(input, axis=None, keep_dims=False):  # noqa: A001, A002
    """Whether every element (along `axis`; None: all of them) is nonzero (True for bools)."""
    return _truth(input, axis, keep_dims, every=True)


def any(input, axis=None, keep_dims=False):  # noqa: A001, A002
    """Whether some element (along `axis`) is nonzero."""
    return _truth(input, axis, keep_dims, every=False)


def _truth(input, axis, keep_dims, every: bool):  # noqa: A002
    """A min (all) or max (any) over the elements as 0.0 / 1.0, compared with 0.5."""
    x = F.as_tensor(input)
    values = F.cast(x if x.dtype is mstype.bool_ else F.not_equal(x, 0), mstype.float32)
    reduce = F.reduce_min if every else F.reduce_max
    return F.greater(reduce(values, () if axis is None else axis, keep_dims), 0.5)


def unsorted_segment_sum(input_x, segment_ids, num_segments):
    """Segment s of the result is the sum of the slices of `input_x` whose id is s (ids of
    shape `input_x.shape[:k]`; ids outside [0, num_segments) are dropped)."""
    ids = F.as_tensor(segment_ids)
    x = F.as_tensor(input_x)
    if x.shape[: ids.ndim] != ids.shape:
        raise ValueError(
            f"For 'UnsortedSegmentSum', segment_ids {ids.shape} must be a prefix of the input's "
            f"shape {x.shape}"
        )
    return F.scatter_add_slices(x, ids, 0, int(num_segments))


def index_add(x, indices, y, axis, use_lock=True, check_index_bound=True):
    """x with the slices of y along `axis` added at `indices` (1-D, one per slice)."""
    x, y, indices = F.as_tensor(x), F.as_tensor(y), F.as_tensor(indices)
    axis = axis % builtins.max(x.ndim, 1)
    if indices.ndim != 1 or y.ndim != x.ndim or y.shape[axis] != indices.shape[0]:
        raise ValueError(
            f"For 'index_add', y {y.shape} must have x's rank {x.ndim} and one slice along axis "
            f"{axis} per index ({indices.shape})"
        )
    return F.add(x, F.scatter_add_slices(y, indices, axis, x.shape[axis]))


def gather_elements(input, dim, index):  # noqa: A002
    """out[i][j] = input[index[i][j]][j] for dim 0 (and so on: PyTorch's gather), `index` of
    input's rank, no larger than input along the other dims (MindSpore's GatherD)."""
    x, index = F.as_tensor(input), F.as_tensor(index)
    flat = _element_positions("gather_elements", x, dim, index)
    return F.gather(F.reshape(x, (-1,)), flat, 0)


gather_d = gather_elements


def tensor_scatter_elements(input_x, indices, updates, axis=0, reduction="none"):
    """input_x with updates[i][j] written (reduction 'none') or added ('add') at
    [indices[i][j]][j] for axis 0, and so on (the inverse of `gather_elements`). Where an
    index repeats, 'none' writes the mean of its updates (the value, when they agree;
    MindSpore leaves which one wins undefined)."""
    if reduction not in ("none", "add"):
        raise ValueError(
            f"For 'tensor_scatter_elements', reduction must be 'none' or 'add', got {reduction!r}"
        )
    x, indices = F.as_tensor(input_x), F.as_tensor(indices)
    flat = _element_positions("tensor_scatter_elements", x, axis, indices)
    updates = F.as_tensor(updates, x)
    if updates.ndim == 0:  # a number: written everywhere the indices say
        updates = F.broadcast_to(updates, indices.shape)
    elif updates.shape != indices.shape:  # PyTorch's: a larger src gives its leading block
        if updates.ndim != indices.ndim or builtins.any(
            u < i for u, i in zip(updates.shape, indices.shape)
        ):
            raise ValueError(
                f"For 'tensor_scatter_elements', updates {updates.shape} must have the indices' "
                f"shape {indices.shape} (or be at least as large along every dim)"
            )
        updates = F.getitem(updates, tuple(builtins.slice(0, n) for n in indices.shape))
    updates = F.cast(updates, x.dtype)

    def scattered(values):
        return F.reshape(F.scatter_add_slices(values, flat, 0, _size(x.shape)), x.shape)

    if reduction == "add":
        return F.add(x, scattered(updates))
    count = scattered(F.broadcast_to(F.as_tensor(1, x), indices.shape))
    divide = F.div if x.dtype.is_float else floor_divide
    written = divide(scattered(updates), F.maximum(count, F.as_tensor(1, x)))
    return F.select(F.greater(count, 0), written, x)


def scatter(input, axis, index, src):  # noqa: A002
    """input with src's elements (or the number src) written at `index` along `axis`
    (`tensor_scatter_elements` with reduction 'none')."""
    return tensor_scatter_elements(input, index, src, axis)


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _element_positions(name: str, x, dim: int, index):
    """The flat position in x of each element `index` addresses along `dim` (the others at
    their own coordinates), as an int64 tensor of index's shape."""
    if (
        not isinstance(dim, int)
        or isinstance(dim, bool)
        or not -x.ndim <= dim < builtins.max(x.ndim, 1)
    ):
        raise ValueError(
            f"For '{name}', dim must be an int in range for rank {x.ndim}, got {dim!r}"
        )
    dim %= builtins.max(x.ndim, 1)
    if index.dtype not in (mstype.int32, mstype.int64):
        raise TypeError(f"For '{name}', the index must be int32 or int64, got {index.dtype}")
    if index.ndim != x.ndim or builtins.any(
        i > n for d, (i, n) in enumerate(zip(index.shape, x.shape)) if d != dim
    ):
        raise ValueError(
            f"For '{name}', index {index.shape} must have input's rank ({x.shape}) and be no "
            f"larger along every dim but {dim}"
        )
    strides = np.cumprod((x.shape[1:] + (1,))[::-1], dtype=np.int64)[::-1]
    coordinates = np.indices(index.shape, dtype=np.int64)
    others = builtins.sum(coordinates[d] * strides[d] for d in range(x.ndim) if d != dim)
    positions = F.mul(F.cast(index, mstype.int64), int(strides[dim]))
    return F.add(positions, Tensor(np.asarray(others + np.zeros(index.shape, np.int64))))


def float_power(input, exponent):  # noqa: A002
    """input ** exponent in float64."""
    return F.pow(
        F.cast(F.as_tensor(input), mstype.float64), F.cast(F.as_tensor(exponent), mstype.float64)
    )


def copysign(input, other):  # noqa: A002
    """|input| with the sign of `other` (-0.0 counts as negative)."""
    x = F._floating(input)
    return F.select(signbit(F.as_tensor(other, x)), F.neg(F.abs(x)), F.abs(x))


def heaviside(input, values):  # noqa: A002
    """0 below zero, 1 above, `values` at zero (NaN stays NaN)."""
    x = F.as_tensor(input)
    step = F.select(isnan(x), x, F.cast(F.greater(x, 0), x.dtype))
    return F.select(F.equal(x, 0), F.as_tensor(values, x), step)


def fmax(input, other):  # noqa: A002
    """The larger element; where one is NaN, the other."""
    return _ignoring_nan(input, other, F.maximum)


def fmin(input, other):  # noqa: A002
    """The smaller element; where one is NaN, the other."""
    return _ignoring_nan(input, other, F.minimum)


def _ignoring_nan(input, other, combine):  # noqa: A002
    """combine(x, y), but where one of them is NaN, the other."""
    x = F.as_tensor(input)
    y = F.as_tensor(other, x)
    return F.select(isnan(x), y, F.select(isnan(y), x, combine(x, y)))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """|input - other| <= atol + rtol * |other|, elementwise (equal infinities are close)."""
    x = F.as_tensor(input)
    y = F.as_tensor(other, x)
    close = F.less_equal(F.abs(F.sub(x, y)), F.add(F.mul(F.abs(y), rtol), atol))
    close = F.logical_or(close, F.equal(x, y))
    if equal_nan:
        close = F.logical_or(close, F.logical_and(isnan(x), isnan(y)))
    return close


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """Whether every element is close (`isclose`): a Python bool, as MindSpore returns."""
    return bool(np.all(isclose(input, other, rtol, atol, equal_nan).asnumpy()))


def logical_xor(input, other):  # noqa: A002
    return F.not_equal(
        F.cast(F.as_tensor(input), mstype.bool_), F.cast(F.as_tensor(other), mstype.bool_)
    )


def isposinf(input):  # noqa: A002
    return _is(input, float("inf"))


def isneginf(input):  # noqa: A002
    return _is(input, float("-inf"))


def _is(input, infinity: float):  # noqa: A002
    """Where the elements equal `infinity` (nowhere for integers)."""
    x = F.as_tensor(input)
    return F.equal(x, infinity) if x.dtype.is_float else F.not_equal(x, x)


def movedim(x, source, destination):
    """x with the dims `source` moved to `destination` (the others keep their order)."""
    x = F.as_tensor(x)
    sources = [source] if isinstance(source, int) else list(source)
    destinations = [destination] if isinstance(destination, int) else list(destination)
    if len(sources) != len(destinations):
        raise ValueError(
            f"For 'movedim', source {source} and destination {destination} differ in length"
        )
    rank = builtins.max(x.ndim, 1)
    sources = [d % rank for d in sources]
    destinations = [d % rank for d in destinations]
    rest = iter(d for d in range(x.ndim) if d not in sources)
    placed = dict(zip(destinations, sources))
    return F.transpose(x, tuple(placed[d] if d in placed else next(rest) for d in range(x.ndim)))


def unbind(input, dim=0):  # noqa: A002
    """The slices of `input` along `dim`, each without it."""
    x = F.as_tensor(input)
    dim = F._single_axis("unbind", dim, x.ndim)
    return tuple(
        F.getitem(x, (builtins.slice(None),) * dim + (index,)) for index in range(x.shape[dim])
    )


def roll(input, shifts, dims=None):  # noqa: A002
    """Elements shifted along `dims` (the flattened tensor without), wrapping around."""
    x = F.as_tensor(input)
    if dims is None:
        return F.reshape(roll(F.reshape(x, (-1,)), shifts, 0), x.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"For 'roll', shifts {shifts} and dims {dims} must have the same length")
    for shift, dim in zip(shifts, dims):
        size = x.shape[dim]
        if size == 0 or shift % size == 0:
            continue
        cut = size - shift % size
        head = (builtins.slice(None),) * (dim % x.ndim)
        x = F.concat([F.getitem(x, head + (builtins.slice(cut, None),)),
                      F.getitem(x, head + (builtins.slice(0, cut),))], dim)  # fmt: skip
    return x


def inner(input, other):  # noqa: A002
    """The sum of products over the last dims of both."""
    x, y = F.as_tensor(input), F.as_tensor(other)
    if x.ndim == 0 or y.ndim == 0:
        return F.mul(x, y)
    depth = x.shape[-1]
    rows, cols = F.reshape(x, (-1, depth)), F.reshape(y, (-1, depth))
    product = F.matmul(rows, cols, transpose_b=True)
    return F.reshape(product, x.shape[:-1] + y.shape[:-1])


def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * (mat1 @ mat2)."""
    return F.add(F.mul(input, beta), F.mul(F.matmul(mat1, mat2), alpha))


def addmv(input, mat, vec, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * (mat @ vec)."""
    product = F.reshape(F.matmul(mat, F.reshape(vec, (-1, 1))), (-1,))
    return F.add(F.mul(input, beta), F.mul(product, alpha))


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * (batch1 @ batch2), batched."""
    return F.add(F.mul(input, beta), F.mul(F.batch_matmul(batch1, batch2), alpha))


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * the sum over the batch of batch1[i] @ batch2[i]."""
    total = F.reduce_sum(F.batch_matmul(batch1, batch2), (0,), False)
    return F.add(F.mul(input, beta), F.mul(total, alpha))


def fliplr(input):  # noqa: A002
    return flip(input, (1,))


def flipud(input):  # noqa: A002
    return flip(input, (0,))


arctan, arcsin, arccos, arcsinh, arccosh, arctanh = atan, asin, acos, asinh, acosh, atanh
arctan2, fix, absolute, true_divide = atan2, trunc, F.abs, div


def floor(input):  # noqa: A002
    """The largest integer not above each element: x - (x mod 1) where x is finite, x itself
    (an infinity, NaN) elsewhere; its gradient is zero."""
    x = F.as_tensor(input)
    if not x.dtype.is_float:
        return x
    return F.select(isfinite(x), F.sub(x, F.floor_mod(x, 1.0)), x)


def ceil(input):  # noqa: A002
    """The smallest integer not below each element: -floor(-x)."""
    x = F.as_tensor(input)
    return x if not x.dtype.is_float else F.neg(floor(F.neg(x)))


def isnan(input):  # noqa: A002
    x = F.as_tensor(input)
    return F.not_equal(x, x)


def isinf(input):  # noqa: A002
    x = F.as_tensor(input)
    if not x.dtype.is_float:
        return F.not_equal(x, x)  # all False
    return F.equal(F.abs(x), float("inf"))


def isfinite(input):  # noqa: A002
    """Neither infinite nor NaN: x - x is 0 only for finite x."""
    x = F.as_tensor(input)
    if not x.dtype.is_float:
        return F.equal(x, x)  # all True
    return F.equal(F.sub(x, x), 0.0)


# --- reductions ----------------------------------------------------------------------------


def amax(input, axis=None, keepdims=False, *, initial=None, where=None):  # noqa: A002
    """The maximum over `axis` (None or (): all), values only."""
    _no_initial_or_where("amax", initial, where)
    return F.reduce_max(input, axis, keepdims)


def amin(input, axis=None, keepdims=False, *, initial=None, where=None):  # noqa: A002
    _no_initial_or_where("amin", initial, where)
    return F.reduce_min(input, axis, keepdims)


def _no_initial_or_where(name: str, initial, where) -> None:
    if initial is not None or where is not None:
        raise NotImplementedError(f"ops.{name}: 'initial' and 'where' are not supported")


def var(input, axis=None, ddof=0, keepdims=False):  # noqa: A002
    """The variance over `axis`, dividing by N - ddof (`ddof` True: 1)."""
    x = F.as_tensor(input)
    axes = F.normalize_axes("var", axis, x.ndim)
    count = int(np.prod([x.shape[a] for a in axes]))
    centered = F.sub(x, F.reduce_mean(x, axes, True))
    total = F.reduce_sum(F.mul(centered, centered), axes, keepdims)
    return F.div(total, float(builtins.max(count - int(ddof), 0)))


def std(input, axis=None, ddof=0, keepdims=False):  # noqa: A002
    return F.sqrt(var(input, axis, ddof, keepdims))


def logsumexp(input, dim, keepdim=False):  # noqa: A002
    """log(sum(exp(input))) over `dim`, shifted by the maximum so that exp never overflows."""
    x = F.as_tensor(input)
    top = F.stop_gradient(F.reduce_max(x, dim, True))
    total = F.log(F.reduce_sum(F.exp(F.sub(x, top)), dim, True))
    result = F.add(total, top)
    return result if keepdim else F.squeeze(result, F.normalize_axes("logsumexp", dim, x.ndim))


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002, N803
    """The 2-norm of the elements over `dim` (all: the Frobenius norm of a matrix), or with
    `ord` 'fro', 1, 2 (over one dim or a vector), inf, -inf for vectors."""
    x = F.as_tensor(A)
    if dtype is not None:
        x = F.cast(x, dtype)
    axes = F.normalize_axes("norm", dim, x.ndim)
    vector = len(axes) == 1
    if ord is None or ord == "fro" or (ord == 2 and vector):
        return F.sqrt(F.reduce_sum(F.mul(x, x), axes, keepdim))
    if vector and ord == 1:
        return F.reduce_sum(F.abs(x), axes, keepdim)
    if vector and ord == float("inf"):
        return F.reduce_max(F.abs(x), axes, keepdim)
    if vector and ord == float("-inf"):
        return F.reduce_min(F.abs(x), axes, keepdim)
    raise NotImplementedError(
        f"ops.norm: ord={ord!r} over dims {axes} is not supported (only the 2-norm, 'fro', "
        "and 1, inf, -inf over one dim)"
    )


# --- shapes --------------------------------------------------------------------------------


def broadcast_to(input, shape):  # noqa: A002
    """input broadcast to `shape`; a -1 keeps the input's size there."""
    x = F.as_tensor(input)
    shape = tuple(shape)
    offset = len(shape) - x.ndim
    sizes = tuple(
        x.shape[i - offset] if size == -1 and i >= offset else size for i, size in enumerate(shape)
    )
    return F.broadcast_to(x, sizes)


def expand_dims(input_x, axis):
    return F.expand_dims(input_x, axis)


def flatten(input, order="C", *, start_dim=1, end_dim=-1):  # noqa: A002
    """Dims start_dim..end_dim merged into one (a 0-D input becomes 1-D); order 'C' only."""
    if order != "C":
        raise NotImplementedError(f"ops.flatten: order={order!r} is not supported (only 'C')")
    return F.flatten(input, start_dim, end_dim)


def permute(input, axis):  # noqa: A002
    return F.transpose(input, tuple(axis))


def swapaxes(input, axis0, axis1):  # noqa: A002
    x = F.as_tensor(input)
    perm = list(range(x.ndim))
    first, second = axis0 % builtins.max(x.ndim, 1), axis1 % builtins.max(x.ndim, 1)
    perm[first], perm[second] = perm[second], perm[first]
    return F.transpose(x, tuple(perm))


def t(input):  # noqa: A002
    """A 2-D tensor transposed; a 1-D one as it is."""
    x = F.as_tensor(input)
    if x.ndim > 2:
        raise ValueError(f"For 't', the input must be 1-D or 2-D, got shape {x.shape}")
    return F.transpose(x, (1, 0)) if x.ndim == 2 else x


def flip(input, dims):  # noqa: A002
    """input reversed along `dims`."""
    x = F.as_tensor(input)
    axes = F.normalize_axes("flip", tuple(dims) if not isinstance(dims, int) else dims, x.ndim)
    return F.getitem(
        x,
        tuple(
            builtins.slice(None, None, -1) if a in axes else builtins.slice(None)
            for a in range(x.ndim)
        ),
    )


def narrow(input, axis, start, length):  # noqa: A002
    """`length` elements of `input` along `axis` from `start`."""
    x = F.as_tensor(input)
    axis = axis % builtins.max(x.ndim, 1)
    if not 0 <= start <= x.shape[axis] or length < 0 or start + length > x.shape[axis]:
        raise ValueError(
            f"For 'narrow', start {start} and length {length} do not fit dim {axis} of size "
            f"{x.shape[axis]}"
        )
    return F.getitem(x, (builtins.slice(None),) * axis + (builtins.slice(start, start + length),))


def chunk(input, chunks, axis=0):  # noqa: A002
    """`input` split along `axis` into at most `chunks` pieces of ceil(size / chunks) elements
    (the last one shorter), as MindSpore splits."""
    x = F.as_tensor(input)
    if not isinstance(chunks, int) or chunks <= 0:
        raise ValueError(
            f"For ops.chunk parameter 'chunks' must be greater than 0, but got {chunks}"
        )
    length = x.shape[axis]
    block = -(-length // chunks) if length else 1
    sizes = [block] * (length // block) + ([length % block] if length % block else [])
    return F.split(x, axis, sizes or [0])


def index_select(input, axis, index):  # noqa: A002
    """The elements of `input` at the 1-D `index` along `axis`."""
    index = F.as_tensor(index)
    if index.ndim != 1:
        raise ValueError(f"For 'index_select', the index must be 1-D, got shape {index.shape}")
    return F.gather(input, index, axis)


def masked_fill(input_x, mask, value):
    """`value` where `mask` is True, input_x elsewhere."""
    x = F.as_tensor(input_x)
    return F.select(mask, F.cast(F.as_tensor(value, x), x.dtype), x)


def tril(input, diagonal=0):  # noqa: A002
    """The lower triangle of the last two dims (on and below `diagonal`), zeros above."""
    return _triangle(input, diagonal, lower=True)


def triu(input, diagonal=0):  # noqa: A002
    """The upper triangle of the last two dims (on and above `diagonal`), zeros below."""
    return _triangle(input, diagonal, lower=False)


def _triangle(input, diagonal, lower):  # noqa: A002
    x = F.as_tensor(input)
    if x.ndim < 2:
        raise ValueError(
            f"For '{'tril' if lower else 'triu'}', the input must be at least 2-D, got {x.shape}"
        )
    rows, cols = x.shape[-2:]
    triangle = np.tril if lower else np.triu
    return F.select(Tensor(triangle(np.ones((rows, cols), bool), diagonal)), x, 0)


def outer(input, vec2):  # noqa: A002
    """input[i] * vec2[j] for 1-D input and vec2."""
    x, y = F.as_tensor(input), F.as_tensor(vec2)
    return F.mul(F.reshape(x, (x.shape[0], 1)), F.reshape(y, (1, y.shape[0])))


def bmm(input_x, mat2):
    """Batched matrix products of 3-D (or higher) tensors."""
    return F.batch_matmul(input_x, mat2)


def vstack(inputs):
    """1-D tensors as rows, then concatenated along dim 0."""
    tensors = [F.as_tensor(x) for x in inputs]
    return F.concat([F.reshape(x, (1, x.shape[0])) if x.ndim == 1 else x for x in tensors], 0)


def hstack(tensors):
    """Concatenated along dim 1 (dim 0 for 1-D tensors)."""
    tensors = [F.as_tensor(x) for x in tensors]
    return F.concat(tensors, 0 if tensors[0].ndim == 1 else 1)


def one_hot(indices, depth, on_value=1, off_value=0, axis=-1):
    """`on_value` at each index along a new dim of `depth` at `axis`, `off_value` elsewhere,
    in on_value's dtype (Int64 for the default 1, Float32 for a Python float)."""
    indices, on = F.as_tensor(indices), F.as_tensor(on_value)
    rank = indices.ndim + 1
    if not -rank <= axis < rank:
        raise ValueError(f"For 'OneHot', axis {axis} is out of range for the output's rank {rank}")
    hot = F.one_hot(indices, depth, on.dtype)
    if not (isinstance(on_value, int) and on_value == 1 and off_value == 0):
        hot = F.add(F.mul(hot, F.sub(on, F.as_tensor(off_value, on))), F.as_tensor(off_value, on))
    axis %= rank
    if axis == rank - 1:
        return hot
    perm = [*range(axis), rank - 1, *range(axis, rank - 1)]
    return F.transpose(hot, tuple(perm))


# --- constants -----------------------------------------------------------------------------


def eye(n, m=None, dtype=None):
    return Tensor(np.eye(n, m), dtype=dtype or mstype.float32)


def linspace(start, end, steps):
    return Tensor(np.linspace(start, end, steps), dtype=mstype.float32)


def full_like(input, fill_value, *, dtype=None):  # noqa: A002
    x = F.as_tensor(input)
    return Tensor(np.full(x.shape, fill_value), dtype=dtype or x.dtype)


def clip(input, min=None, max=None):  # noqa: A001, A002
    return F.clip_by_value(input, min, max)


def addn(x):
    """The elementwise sum of a tuple or list of tensors."""
    tensors = [F.as_tensor(t) for t in x]
    if not tensors:
        raise ValueError("For 'addn', the input must not be empty")
    total = tensors[0]
    for t in tensors[1:]:
        total = F.add(total, t)
    return total


def cumsum(input, axis, dtype=None):  # noqa: A002
    """The running sums along `axis` (in `dtype` when given)."""
    x = F.as_tensor(input)
    if dtype is not None:
        x = F.cast(x, dtype)
    return prefix_sums(x, axis)


def cumprod(input, dim, dtype=None):  # noqa: A002
    """The running products along `dim` (log2(n) shifted multiplies, as prefix_sums adds)."""
    x = F.as_tensor(input)
    if dtype is not None:
        x = F.cast(x, dtype)
    axis = F._single_axis("CumProd", dim, x.ndim)
    shift = 1
    while shift < x.shape[axis]:
        x = F.mul(x, _shifted(x, axis, shift, fill=1))
        shift *= 2
    return x


def prod(input, axis=None, keep_dims=False, dtype=None):  # noqa: A002
    """The product over `axis` (all by default): halves multiplied together, log2(n) times
    (exact for integers; the gradient of each factor the product of the others, zeros
    included)."""
    x = F.as_tensor(input)
    if dtype is not None:
        x = F.cast(x, dtype)
    axes = F.normalize_axes("ReduceProd", axis, x.ndim)
    for a in axes:
        while x.shape[a] > 1:
            size = x.shape[a]
            if size % 2:  # a factor of one makes the length even
                pairs = [(0, 0)] * x.ndim
                pairs[a] = (0, 1)
                x = F.add(F.pad(x, pairs), _ones_at_end(x, a))
                size += 1
            half = size // 2
            lower = F.getitem(x, (builtins.slice(None),) * a + (builtins.slice(0, half),))
            upper = F.getitem(x, (builtins.slice(None),) * a + (builtins.slice(half, size),))
            x = F.mul(lower, upper)
    if not keep_dims:
        x = F.squeeze(x, axes) if axes else x
    return x


def _ones_at_end(x, axis: int):
    """A constant of x's shape with one more element along `axis`: 1 at that last place."""
    shape = list(x.shape)
    shape[axis] += 1
    ones = np.zeros(shape, x.dtype.numpy)
    ones[(builtins.slice(None),) * axis + (-1,)] = 1
    return Tensor(ones)


def repeat_interleave(input, repeats, axis=None):  # noqa: A002
    """Each element repeated `repeats` (an int) times along `axis` (None: of the flattened
    input)."""
    x = F.as_tensor(input)
    if axis is None:
        x, axis = F.reshape(x, (x.size,)), 0
    if not isinstance(repeats, int) or repeats < 0:
        raise NotImplementedError(
            f"ops.repeat_interleave: repeats must be a non-negative int, got {repeats!r}"
        )
    axis %= x.ndim
    expanded = F.expand_dims(x, axis + 1)
    shape = list(expanded.shape)
    shape[axis + 1] = repeats
    tiled = F.broadcast_to(expanded, tuple(shape))
    out = list(x.shape)
    out[axis] *= repeats
    return F.reshape(tiled, tuple(out))


def vecdot(x, y, *, axis=-1):
    """sum(x * y) along `axis`."""
    return F.reduce_sum(F.mul(x, y), axis)


def prefix_sums(x, axis, exclusive=False, reverse=False):
    """Running sums along `axis` in log2(n) steps, each the tensor plus itself shifted by a
    power of two (Hillis and Steele): exact for integers, and differentiable as adds, slices
    and pads are. `exclusive` leaves each element out of its own sum; `reverse` sums from the
    end."""
    x = F.as_tensor(x)
    axis = F._single_axis("CumSum", axis, x.ndim)
    if reverse:
        x = flip(x, (axis,))
    size = x.shape[axis]
    if exclusive and size:
        x = _shifted(x, axis, 1)
    shift = 1
    while shift < size:
        x = F.add(x, _shifted(x, axis, shift))
        shift *= 2
    return flip(x, (axis,)) if reverse else x


def _shifted(x, axis: int, shift: int, fill=0):
    """x moved `shift` places forward along `axis`, `fill` (0, 1, -inf) coming in at the front."""
    size = x.shape[axis]
    kept = F.getitem(x, (builtins.slice(None),) * axis + (builtins.slice(0, size - shift),))
    pairs = [(0, 0)] * x.ndim
    pairs[axis] = (shift, 0)
    padded = F.pad(kept, pairs)
    if fill == 0:
        return padded
    front = np.zeros(x.shape, x.dtype.numpy)
    front[(builtins.slice(None),) * axis + (builtins.slice(0, shift),)] = fill
    return F.add(padded, Tensor(front))


def slice(input_x, begin, size):  # noqa: A001  (MindSpore's name; the builtin is builtins.slice here)
    """`size` elements from `begin` along each dim (-1: the rest of the dim)."""
    x = F.as_tensor(input_x)
    end = [x.shape[d] if n == -1 else b + n for d, (b, n) in enumerate(zip(begin, size))]
    return F.python_slice("Slice", x, list(begin), end, [1] * len(begin))


def var_mean(input, axis=None, ddof=0, keepdims=False):  # noqa: A002
    """(variance, mean) over `axis`."""
    return var(input, axis, ddof, keepdims), F.reduce_mean(input, axis, keepdims)


def std_mean(input, axis=None, ddof=0, keepdims=False):  # noqa: A002
    """(standard deviation, mean) over `axis`."""
    return std(input, axis, ddof, keepdims), F.reduce_mean(input, axis, keepdims)


def nanmean(input, axis=None, keepdims=False, *, dtype=None):  # noqa: A002
    """The mean of the elements that are not NaN."""
    x = F.as_tensor(input)
    if dtype is not None:
        x = F.cast(x, dtype)
    nan = isnan(x)
    total = F.reduce_sum(F.select(nan, 0, x), axis, keepdims)
    count = F.reduce_sum(F.cast(F.logical_not(nan), x.dtype), axis, keepdims)
    return F.div(total, count)


def vector_norm(x, ord=2, axis=None, keepdims=False, *, dtype=None):  # noqa: A002
    """The ord-norm of the elements over `axis` (all by default): 2, 1, inf, -inf, 0 (the count
    of nonzeros) or any other p, (sum |x|^p)^(1/p)."""
    dim, keepdim = axis, keepdims
    x = F.as_tensor(x)
    if dtype is not None:
        x = F.cast(x, dtype)
    magnitude = F.abs(x)
    if ord == 2:
        return F.sqrt(F.reduce_sum(F.mul(x, x), dim, keepdim))
    if ord == float("inf"):
        return F.reduce_max(magnitude, dim, keepdim)
    if ord == float("-inf"):
        return F.reduce_min(magnitude, dim, keepdim)
    if ord == 0:
        return F.reduce_sum(F.cast(F.not_equal(x, 0), x.dtype), dim, keepdim)
    if ord == 1:
        return F.reduce_sum(magnitude, dim, keepdim)
    return F.pow(F.reduce_sum(F.pow(magnitude, float(ord)), dim, keepdim), 1.0 / ord)


def diagonal(input, offset=0, dim1=0, dim2=1):  # noqa: A002
    """The diagonal of dims dim1 and dim2 (shifted by `offset`), as a new last dim."""
    x = F.as_tensor(input)
    first, second = dim1 % x.ndim, dim2 % x.ndim
    if first == second:
        raise ValueError(f"For 'diagonal', dim1 and dim2 must differ, got {dim1} and {dim2}")
    rest = [d for d in range(x.ndim) if d not in (first, second)]
    moved = F.transpose(x, (*rest, first, second))
    rows, cols = x.shape[first], x.shape[second]
    start_row, start_col = builtins.max(-offset, 0), builtins.max(offset, 0)
    length = builtins.max(builtins.min(rows - start_row, cols - start_col), 0)
    lead = [x.shape[d] for d in rest]
    flat = F.reshape(moved, (*lead, rows * cols))
    index = (np.arange(length) + start_row) * cols + np.arange(length) + start_col
    return F.gather(flat, Tensor(index.astype(np.int32)), len(lead))


def topk(input, k, dim=None, largest=True, sorted=True):  # noqa: A002
    """(values, int32 indices) of the k largest (or smallest) elements along `dim` (the last by
    default), in order. Each is one argmax of what is left (the first of a tie), picked with a
    one-hot product, so the values' gradient reaches the elements picked; k steps are unrolled,
    so this is for small k."""
    x = F.as_tensor(input)
    axis = x.ndim - 1 if dim is None else dim % x.ndim
    size = x.shape[axis]
    if not isinstance(k, int) or not 0 <= k <= size:
        raise ValueError(f"For 'topk', k must be an int in [0, {size}], got {k!r}")
    moved = swapaxes(x, axis, -1) if axis != x.ndim - 1 else x
    keys = moved if largest else F.neg(moved)
    if not keys.dtype.is_float:
        keys = F.cast(keys, mstype.float64)
    excluded = F.mul(keys, 0.0)  # -inf where an element is taken already
    values, indices = [], []
    for _ in range(k):
        index = F.arg_reduce("TopK", F.add(keys, excluded), -1)
        hot = F.one_hot(index, size, moved.dtype)
        values.append(F.reduce_sum(F.mul(moved, hot), -1))
        indices.append(F.cast(index, mstype.int32))
        excluded = F.select(F.greater(F.cast(hot, keys.dtype), 0.5), float("-inf"), excluded)
    if not k:
        empty = F.getitem(moved, (Ellipsis, builtins.slice(0, 0)))
        return empty, F.cast(empty, mstype.int32)
    top, where = F.stack(values, -1), F.stack(indices, -1)
    if axis != x.ndim - 1:
        top, where = swapaxes(top, axis, -1), swapaxes(where, axis, -1)
    return top, where


def sort(input_x, axis=-1, descending=False):
    """(sorted values, int32 indices) along `axis`: ascending unless `descending` (topk of the
    whole axis; for short axes)."""
    x = F.as_tensor(input_x)
    return topk(x, x.shape[axis], axis % x.ndim, largest=descending)


def argsort(input, axis=-1, descending=False):  # noqa: A002
    return sort(input, axis, descending)[1]


moveaxis, swapdims, positive, sgn = movedim, swapaxes, F.as_tensor, sign


# --- more of MindSpore 2.x's array functions, as compositions --------------------------------


def aminmax(input, *, axis=0, keepdims=False):  # noqa: A002
    """(the minimum, the maximum) over `axis` (None: all; a 0-d input as one element)."""
    x = F.as_tensor(input)
    if x.ndim == 0 and axis is not None:
        x = F.reshape(x, (1,))
    return F.reduce_min(x, axis, keepdims), F.reduce_max(x, axis, keepdims)


def diff(x, n=1, axis=-1, prepend=None, append=None):
    """The n-th forward difference along `axis` (after `prepend` and `append` are joined)."""
    x = F.as_tensor(x)
    axis %= builtins.max(x.ndim, 1)
    pieces = [F.as_tensor(p, x) for p in (prepend, x, append) if p is not None]
    if len(pieces) > 1:
        x = F.concat(pieces, axis)
    before = (builtins.slice(None),) * axis
    for _ in range(n):
        x = F.sub(
            F.getitem(x, before + (builtins.slice(1, None),)),
            F.getitem(x, before + (builtins.slice(0, -1),)),
        )
    return x


def take(x, indices, axis=None, mode="clip"):
    """numpy's take: the elements of the flattened x (or the slices along `axis`) at
    `indices`; out-of-range indices clipped ('clip') or wrapped ('wrap')."""
    x, indices = F.as_tensor(x), F.as_tensor(indices)
    if axis is None:
        x, axis = F.reshape(x, (-1,)), 0
    size = x.shape[axis]
    if mode == "wrap":
        indices = F.floor_mod(indices, size)
    elif mode in ("clip", "raise"):  # 'raise' cannot check traced indices: clipped too
        indices = F.clip_by_value(indices, 0, size - 1)
    else:
        raise ValueError(f"For 'take', mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    return F.gather(x, indices, axis)


def msort(input):  # noqa: A002
    """The values sorted ascending along the first dim."""
    return sort(input, axis=0)[0]


def median(input, axis=-1, keepdims=False):  # noqa: A002
    """(the median, its index) along `axis`: of an even count, the lower of the two middle
    values, as MindSpore's (and PyTorch's)."""
    x = F.as_tensor(input)
    axis %= builtins.max(x.ndim, 1)
    values, indices = sort(x, axis)
    middle = (builtins.slice(None),) * axis + ((x.shape[axis] - 1) // 2,)
    value, index = F.getitem(values, middle), F.cast(F.getitem(indices, middle), mstype.int64)
    if keepdims:
        value, index = F.expand_dims(value, axis), F.expand_dims(index, axis)
    return value, index


def logcumsumexp(input, axis):  # noqa: A002
    """log(cumsum(exp(input))) along `axis`: `prefix_sums`' steps in log space (each a
    logaddexp of the tensor and itself shifted), so that nothing overflows or underflows."""
    x = F._floating(input)
    axis = F._single_axis("LogCumSumExp", axis, x.ndim)
    shift = 1
    while shift < x.shape[axis]:
        x = logaddexp(x, _shifted(x, axis, shift, fill=-np.inf))
        shift *= 2
    return x


def logaddexp2(input, other):  # noqa: A002
    """log2(2**input + 2**other), without overflow."""
    x = F._floating(input)
    y = F.as_tensor(other, x)
    top, spread = F.maximum(x, y), F.neg(F.abs(F.sub(x, y)))
    return F.add(top, F.div(log1p(F.pow(2.0, spread)), float(np.log(2.0))))


def ldexp(x, other):
    """x * 2**other."""
    x = F._floating(x)
    return F.mul(x, F.pow(2.0, F.cast(F.as_tensor(other), x.dtype)))


def diagflat(input, offset=0):  # noqa: A002
    """A 2-D tensor with the flattened input on its `offset` diagonal, zeros elsewhere."""
    x = F.reshape(F.as_tensor(input), (-1,))
    n = x.shape[0]
    size = n + builtins.abs(offset)
    rows = np.arange(n) + builtins.max(-offset, 0)
    positions = rows * size + rows + offset
    flat = F.scatter_add_slices(x, Tensor(positions.astype(np.int64)), 0, size * size)
    return F.reshape(flat, (size, size))


def fill_diagonal(input, fill_value, wrap=False):  # noqa: A002
    """input with `fill_value` on its main diagonal (numpy's fill_diagonal, not in place; a
    tall 2-D input's diagonal starts again below a gap row when `wrap`)."""
    x = F.as_tensor(input)
    mask = np.zeros(x.shape, bool)
    np.fill_diagonal(mask, True, wrap=wrap)
    return F.select(Tensor(mask), F.as_tensor(fill_value, x), x)


def masked_scatter(input, mask, source):  # noqa: A002
    """input with the True positions of `mask` (broadcast to input) taking source's elements
    in order (the k-th True position the k-th element of the flattened source)."""
    x = F.as_tensor(input)
    mask = F.broadcast_to(F.as_tensor(mask), x.shape)
    flat_mask = F.reshape(mask, (-1,))
    order = F.sub(prefix_sums(F.cast(flat_mask, mstype.int64), 0), 1)  # k for the k-th True
    source = F.reshape(F.as_tensor(source, x), (-1,))
    taken = F.gather(source, F.clip_by_value(order, 0, builtins.max(source.shape[0] - 1, 0)), 0)
    return F.select(mask, F.reshape(taken, x.shape), x)


def histc(input, bins=100, min=0.0, max=0.0):  # noqa: A002
    """A histogram of `bins` equal bins over [min, max] (both 0: the data's own range);
    elements outside are not counted; a count per bin, in input's dtype."""
    x = F.reshape(F._floating(input), (-1,))
    low, high = F.as_tensor(float(min), x), F.as_tensor(float(max), x)
    if min == max:
        low, high = F.reduce_min(x, None, False), F.reduce_max(x, None, False)
    width = F.div(F.sub(high, low), bins)
    index = floor(F.div(F.sub(x, low), F.maximum(width, F.as_tensor(1e-30, x))))
    index = F.select(F.equal(x, high), F.as_tensor(bins - 1, x), index)  # the last bin is closed
    inside = F.logical_and(F.greater_equal(x, low), F.less_equal(x, high))
    counted = F.cast(inside, x.dtype)
    hits = F.equal(F.expand_dims(index, 1), Tensor(np.arange(bins, dtype=x.dtype.numpy)))
    return F.reduce_sum(F.mul(F.cast(hits, x.dtype), F.expand_dims(counted, 1)), 0, False)


__all__ += [
    "aminmax", "diff", "take", "msort", "median", "logcumsumexp", "logaddexp2", "ldexp",
    "diagflat", "fill_diagonal", "masked_scatter", "histc",
]  # fmt: skip
