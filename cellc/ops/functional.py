"""The op functions every primitive and Tensor operator calls.

Inside a trace, an op is recorded (and shape-checked) by the active tracer; outside one, it is
evaluated at once with numpy, like MindSpore's PyNative mode for a single primitive. Cells are
never run this way: calling a cell compiles it (see `cellc.nn.Cell`).
"""

from __future__ import annotations

import numpy as np

from cellc import dtype as mstype
from cellc.dialects import ms_ops
from cellc.dialects.types import TensorSpec
from cellc.errors import DTypeMismatchError, UnsupportedError
from cellc.frontend import eager, tracing
from cellc.runtime.dtypes import promotion_rank
from cellc.tensor import Tensor


def apply(primitive: str, op: type[ms_ops.Op], operands: list[Tensor], **attrs) -> Tensor:
    """Applies `op` to Tensors: recorded when a cell is traced, evaluated at once otherwise.
    `primitive` is MindSpore's name for it, used in errors."""
    tracer = tracing.current()
    if tracer is not None:
        return Tensor(_symbol=tracer.record(primitive, op, operands, attrs))
    return Tensor(eager.evaluate(primitive, op, [t.asnumpy() for t in operands], attrs))


def check_bool_flag(primitive: str, flag: str, value) -> None:
    """MindSpore's TypeError for a non-bool flag (`GradOperation(get_all=1)`)."""
    if not isinstance(value, bool):
        raise TypeError(
            f"For '{primitive}', the '{flag}' should be bool, but got {type(value).__name__}"
        )


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """A Tensor operand: Tensors pass through; Python/numpy numbers take `like`'s dtype, except
    a float with an integer or bool `like`, which becomes Float32 (MindSpore's rule: the
    tensor is then promoted, see `promote`)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float, np.number, np.ndarray, list, tuple)):
        if like is None:
            return Tensor(value)
        array = np.asarray(value)
        if array.dtype.kind == "f" and not like.dtype.is_float:
            return Tensor(array, dtype=mstype.float32)
        return Tensor(array, dtype=like.dtype)
    raise TypeError(f"expected a Tensor or a number, got {type(value).__name__}")


def promote(lhs: Tensor, rhs: Tensor) -> tuple[Tensor, Tensor]:
    """The two operands with a common dtype: the lower one in MindSpore's promotion order
    (`cellc.runtime.dtypes`) is cast (an `ms.cast` when traced)."""
    if lhs.dtype is rhs.dtype:
        return lhs, rhs
    if promotion_rank(lhs.dtype.element) < promotion_rank(rhs.dtype.element):
        return cast(lhs, rhs.dtype), rhs
    return lhs, cast(rhs, lhs.dtype)


def _binary(primitive: str, op: str, lhs, rhs) -> Tensor:
    like = lhs if isinstance(lhs, Tensor) else rhs if isinstance(rhs, Tensor) else None
    lhs, rhs = promote(as_tensor(lhs, like), as_tensor(rhs, like))
    return apply(primitive, op, [lhs, rhs])


def cast(x, dtype: mstype.DType) -> Tensor:
    """x converted to `dtype` (MindSpore's `Cast`); float to integer truncates toward zero.
    A cast to x's own dtype returns x."""
    if not isinstance(dtype, mstype.DType):
        raise TypeError(
            f"For 'Cast', the dtype must be a cellc dtype such as mstype.float32, got {dtype!r}"
        )
    x = as_tensor(x)
    if x.dtype is dtype:
        return x
    return apply("Cast", ms_ops.CastOp, [x], result=_spec_like(x, x.shape, dtype))


def add(lhs, rhs):
    return _binary("Add", ms_ops.AddOp, lhs, rhs)


def sub(lhs, rhs):
    return _binary("Sub", ms_ops.SubOp, lhs, rhs)


def mul(lhs, rhs):
    return _binary("Mul", ms_ops.MulOp, lhs, rhs)


def div(lhs, rhs, *, rounding_mode=None):
    """lhs / rhs (MindSpore's `Div`, `ops.div`): integers and bools are divided as float32, as
    MindSpore divides them; `rounding_mode` 'floor' rounds the quotient down (FloorDiv, in the
    operands' type), 'trunc' toward zero."""
    if rounding_mode == "floor":
        return floor_div(lhs, rhs)
    if rounding_mode not in (None, "trunc"):
        raise ValueError(
            f"For 'div', rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}"
        )
    like = lhs if isinstance(lhs, Tensor) else rhs if isinstance(rhs, Tensor) else None
    lhs, rhs = promote(as_tensor(lhs, like), as_tensor(rhs, like))
    if rounding_mode == "trunc":
        quotient = floor_div(abs(lhs), abs(rhs)) if not lhs.dtype.is_float else None
        if quotient is not None:  # integers: |a| // |b| with the quotient's sign
            return mul(quotient, mul(sign(lhs), sign(rhs)))
        exact = apply("Div", ms_ops.DivOp, [lhs, rhs])
        return mul(sign(exact), floor_div(abs(exact), 1.0))
    if not lhs.dtype.is_float:
        lhs, rhs = cast(lhs, mstype.float32), cast(rhs, mstype.float32)
    return apply("Div", ms_ops.DivOp, [lhs, rhs])


def maximum(lhs, rhs):
    """The elementwise maximum, numpy broadcasting (MindSpore's `Maximum`)."""
    return _binary("Maximum", ms_ops.MaximumOp, lhs, rhs)


def minimum(lhs, rhs):
    """The elementwise minimum, numpy broadcasting (MindSpore's `Minimum`)."""
    return _binary("Minimum", ms_ops.MinimumOp, lhs, rhs)


def neg(x):
    return apply("Neg", ms_ops.NegOp, [as_tensor(x)])


def relu(x):
    return apply("ReLU", ms_ops.ReluOp, [as_tensor(x)])


def exp(x):
    return apply("Exp", ms_ops.ExpOp, [as_tensor(x)])


def log(x):
    return apply("Log", ms_ops.LogOp, [as_tensor(x)])


def tanh(x):
    return apply("Tanh", ms_ops.TanhOp, [as_tensor(x)])


def sigmoid(x):
    return apply("Sigmoid", ms_ops.SigmoidOp, [as_tensor(x)])


def sqrt(x):
    return apply("Sqrt", ms_ops.SqrtOp, [as_tensor(x)])


def sin(x):
    return apply("Sin", ms_ops.SinOp, [as_tensor(x)])


def erf(x):
    return apply("Erf", ms_ops.ErfOp, [as_tensor(x)])


def _floating(x) -> Tensor:
    """x, an integer or bool tensor converted to Float32 (as MindSpore's math functions take
    them)."""
    x = as_tensor(x)
    return x if x.dtype.is_float else cast(x, mstype.float32)


# Functions of one float tensor, each an op of its own: name -> (primitive name, op class).
_MATH_FUNCTIONS = {
    "tan": ("Tan", ms_ops.TanOp),
    "atan": ("Atan", ms_ops.AtanOp),
    "asin": ("Asin", ms_ops.AsinOp),
    "acos": ("ACos", ms_ops.AcosOp),
    "sinh": ("Sinh", ms_ops.SinhOp),
    "cosh": ("Cosh", ms_ops.CoshOp),
    "asinh": ("Asinh", ms_ops.AsinhOp),
    "acosh": ("Acosh", ms_ops.AcoshOp),
    "atanh": ("Atanh", ms_ops.AtanhOp),
    "log2": ("Log2", ms_ops.Log2Op),
    "log10": ("Log10", ms_ops.Log10Op),
    "log1p": ("Log1p", ms_ops.Log1pOp),
    "expm1": ("Expm1", ms_ops.Expm1Op),
    "erfc": ("Erfc", ms_ops.ErfcOp),
}


def math_function(name: str, x) -> Tensor:
    """`_MATH_FUNCTIONS[name]` of x (an integer x as Float32)."""
    primitive, op_class = _MATH_FUNCTIONS[name]
    return apply(primitive, op_class, [_floating(x)])


def trunc(x) -> Tensor:
    """x rounded toward zero; an integer x is itself."""
    x = as_tensor(x)
    return x if not x.dtype.is_float else apply("Trunc", ms_ops.TruncOp, [x])


def round_half_even(x) -> Tensor:
    """x rounded to the nearest integer, halves to even; an integer x is itself."""
    x = as_tensor(x)
    return x if not x.dtype.is_float else apply("Round", ms_ops.RoundOp, [x])


def atan2(y, x) -> Tensor:
    """The angle of (x, y) in [-pi, pi], broadcast; integers as Float32."""
    like = y if isinstance(y, Tensor) else x if isinstance(x, Tensor) else None
    y, x = promote(_floating(as_tensor(y, like)), _floating(as_tensor(x, like)))
    return apply("Atan2", ms_ops.Atan2Op, [y, x])


def cos(x):
    return apply("Cos", ms_ops.CosOp, [as_tensor(x)])


def abs(x):  # MindSpore's name; this module uses `builtins.abs` for the builtin
    return apply("Abs", ms_ops.AbsOp, [as_tensor(x)])


def sign(x):
    return apply("Sign", ms_ops.SignOp, [as_tensor(x)])


def stop_gradient(x):
    """The identity, whose gradient is zero (MindSpore's `ops.stop_gradient`)."""
    if isinstance(x, (tuple, list)):
        return type(x)(stop_gradient(item) for item in x)
    return apply("stop_gradient", ms_ops.StopGradientOp, [as_tensor(x)])


def matmul(a, b, transpose_a=False, transpose_b=False):
    return apply(
        "MatMul",
        ms_ops.MatMulOp,
        [as_tensor(a), as_tensor(b)],
        transpose_a=bool(transpose_a),
        transpose_b=bool(transpose_b),
    )


def normalize_axes(primitive: str, axis, rank: int) -> tuple[int, ...]:
    """MindSpore's axis argument (int, tuple, or () for all) as sorted non-negative axes."""
    if axis is None or axis == () or axis == []:
        return tuple(range(rank))
    if isinstance(axis, (list, tuple)) and all(_is_int(a) for a in axis):
        axes = tuple(int(a) for a in axis)
    elif _is_int(axis):
        axes = (int(axis),)
    else:
        raise TypeError(
            f"For '{primitive}', the 'axis' must be an int or a tuple or list of ints, got {axis!r}"
        )
    normalized = []
    for a in axes:
        if not -rank <= a < max(rank, 1):
            raise ValueError(f"For '{primitive}', axis {axis} is out of range for rank {rank}")
        normalized.append(a % rank if rank else 0)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"For '{primitive}', axis {axis} has duplicates")
    return tuple(sorted(normalized))


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def reduce_sum(x, axis=(), keep_dims=False):
    x = as_tensor(x)
    axes = normalize_axes("ReduceSum", axis, x.ndim)
    return apply("ReduceSum", ms_ops.ReduceSumOp, [x], axes=axes, keep_dims=bool(keep_dims))


def reduce_mean(x, axis=(), keep_dims=False):
    x = as_tensor(x)
    axes = normalize_axes("ReduceMean", axis, x.ndim)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    total = apply("ReduceMean", ms_ops.ReduceSumOp, [x], axes=axes, keep_dims=bool(keep_dims))
    return mul(total, 1.0 / count if count else np.nan)  # the mean of nothing is NaN (numpy)


def reduce_max(x, axis=(), keep_dims=False):
    x = as_tensor(x)
    axes = normalize_axes("ReduceMax", axis, x.ndim)
    return apply("ReduceMax", ms_ops.ReduceMaxOp, [x], axes=axes, keep_dims=bool(keep_dims))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over `axis`, computed as exp(x - max) with the max held constant
    (stop_gradient): the result, and its gradient, are the same, without overflow."""
    x = as_tensor(x)
    _require_float("Softmax", x)
    if x.size == 0:
        return mul(x, 1.0)  # nothing to normalize (and no maximum to shift by)
    shifted = sub(x, stop_gradient(reduce_max(x, axis, keep_dims=True)))
    exps = exp(shifted)
    return div(exps, reduce_sum(exps, axis, keep_dims=True))


def log_softmax(x, axis=-1):
    """x - log(sum(exp(x))) over `axis`, as (x - max) - log(sum(exp(x - max))) with the max
    held constant (stop_gradient)."""
    x = as_tensor(x)
    _require_float("LogSoftmax", x)
    if x.size == 0:
        return mul(x, 1.0)  # nothing to normalize (and no maximum to shift by)
    shifted = sub(x, stop_gradient(reduce_max(x, axis, keep_dims=True)))
    return sub(shifted, log(reduce_sum(exp(shifted), axis, keep_dims=True)))


def one_hot(indices, depth: int, dtype: mstype.DType = mstype.float32) -> Tensor:
    """Rows of `depth` with a 1 at each integer index (all zeros for an index out of range).

    Built from ms ops, so traced indices work: 1 - |sign(index - c)| is 1 exactly where
    index == c. (Exact for indices below 2**24 in float32.)"""
    indices = as_tensor(indices)
    if indices.dtype.is_float or indices.dtype is mstype.bool_:
        raise DTypeMismatchError(
            f"For 'OneHot', the indices must be int32 or int64, got {indices.dtype}"
        )
    classes = Tensor(np.arange(depth), dtype=dtype)
    offsets = sub(expand_dims(cast(indices, dtype), -1), classes)
    return sub(Tensor(1, dtype=dtype), abs(sign(offsets)))


def _require_float(primitive: str, x: Tensor):
    if not x.dtype.is_float:
        raise DTypeMismatchError(
            f"For '{primitive}', the input must be a float tensor, got {x.dtype}"
        )


def _spec_like(x: Tensor, shape, dtype: mstype.DType | None = None):
    return TensorSpec(tuple(shape), (dtype or x.dtype).element)


def reshape(x, shape):
    x = as_tensor(x)
    if not isinstance(shape, (tuple, list)) or not all(_is_int(d) for d in shape):
        raise TypeError(f"For 'Reshape', the shape must be a tuple of ints, got {shape!r}")
    shape = tuple(int(d) for d in shape)
    if shape.count(-1) > 1 or any(d < -1 for d in shape):
        raise ValueError(
            f"For 'Reshape', each dimension must be >= 0, or -1 for at most one of them, "
            f"got {shape}"
        )
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
        if known == 0 or x.size % known:
            raise ValueError(f"For 'Reshape', cannot reshape {x.shape} to {shape}")
        shape = tuple(x.size // known if d == -1 else d for d in shape)
    return apply("Reshape", ms_ops.ReshapeOp, [x], result=_spec_like(x, shape))


def broadcast_to(x, shape):
    x = as_tensor(x)
    shape = tuple(int(d) for d in shape)
    shape = tuple(x.shape[i - (len(shape) - x.ndim)] if d == -1 else d for i, d in enumerate(shape))
    return apply("BroadcastTo", ms_ops.BroadcastToOp, [x], result=_spec_like(x, shape))


def transpose(x, perm):
    x = as_tensor(x)
    return apply("Transpose", ms_ops.TransposeOp, [x], perm=tuple(int(p) for p in perm))


def expand_dims(x, axis: int):
    x = as_tensor(x)
    if not _is_int(axis) or not -x.ndim - 1 <= axis <= x.ndim:
        raise ValueError(
            f"For 'ExpandDims', the 'axis' must be an int in [{-x.ndim - 1}, {x.ndim}] for a "
            f"tensor of rank {x.ndim}, got {axis!r}"
        )
    axis = int(axis) % (x.ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, axis=()):
    x = as_tensor(x)
    axes = (
        normalize_axes("Squeeze", axis, x.ndim)
        if axis != ()
        else tuple(i for i, d in enumerate(x.shape) if d == 1)
    )
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(
                f"For 'Squeeze', dimension {a} of the input of shape {x.shape} has size "
                f"{x.shape[a]}; only dimensions of size 1 can be squeezed"
            )
    return reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))


def square(x):
    return mul(x, x)


def power(x, exponent):
    """x ** exponent (MindSpore's `Pow`). A Python-number exponent: repeated products for a
    positive integer up to 8 on a float tensor, sqrt for 0.5, else the `ms.pow` op; a Tensor
    exponent: `ms.pow`, the two promoted to one dtype (integers raise integers; a negative base
    with an integral exponent is defined)."""
    if isinstance(exponent, Tensor) or isinstance(x, Tensor) is False:
        return _binary("Pow", ms_ops.PowOp, x, exponent)
    x = as_tensor(x)
    if not isinstance(exponent, (int, float, np.number)) or isinstance(exponent, bool):
        raise TypeError(f"For 'Pow', the exponent must be a number or a Tensor, got {exponent!r}")
    if x.dtype.is_float and float(exponent).is_integer() and 1 <= exponent <= 8:
        result = x
        for _ in range(int(exponent) - 1):
            result = mul(result, x)
        return result
    if x.dtype.is_float and exponent == 0.5:
        return sqrt(x)
    return _binary("Pow", ms_ops.PowOp, x, exponent)


def pow(x, exponent):  # MindSpore's `ops.pow`
    return power(x, exponent)


# --- comparisons, logic, selection (bool results) -------------------------------------------


def _compare(primitive: str, op, lhs, rhs) -> Tensor:
    like = lhs if isinstance(lhs, Tensor) else rhs if isinstance(rhs, Tensor) else None
    lhs, rhs = promote(as_tensor(lhs, like), as_tensor(rhs, like))
    return apply(primitive, op, [lhs, rhs])


def equal(lhs, rhs):
    """lhs == rhs elementwise, a bool Tensor (MindSpore's `Equal`)."""
    return _compare("Equal", ms_ops.EqualOp, lhs, rhs)


def not_equal(lhs, rhs):
    return _compare("NotEqual", ms_ops.NotEqualOp, lhs, rhs)


def less(lhs, rhs):
    return _compare("Less", ms_ops.LessOp, lhs, rhs)


def less_equal(lhs, rhs):
    return _compare("LessEqual", ms_ops.LessEqualOp, lhs, rhs)


def greater(lhs, rhs):
    return _compare("Greater", ms_ops.GreaterOp, lhs, rhs)


def greater_equal(lhs, rhs):
    return _compare("GreaterEqual", ms_ops.GreaterEqualOp, lhs, rhs)


def _as_bool(x) -> Tensor:
    """x as a bool Tensor (nonzero is true), as MindSpore's logical ops take numbers."""
    x = as_tensor(x)
    return x if x.dtype is mstype.bool_ else cast(x, mstype.bool_)


def logical_and(lhs, rhs):
    return apply("LogicalAnd", ms_ops.LogicalAndOp, [_as_bool(lhs), _as_bool(rhs)])


def logical_or(lhs, rhs):
    return apply("LogicalOr", ms_ops.LogicalOrOp, [_as_bool(lhs), _as_bool(rhs)])


def logical_not(x):
    return apply("LogicalNot", ms_ops.LogicalNotOp, [_as_bool(x)])


def select(condition, on_true, on_false):
    """`on_true` where `condition`, else `on_false`, broadcast together (MindSpore's `Select`,
    `ops.where`); a Python number takes the other operand's dtype."""
    condition = as_tensor(condition)
    if condition.dtype is not mstype.bool_:
        raise DTypeMismatchError(
            f"For 'Select', the condition must be a bool tensor, got {condition.dtype}"
        )
    like = on_true if isinstance(on_true, Tensor) else on_false
    like = like if isinstance(like, Tensor) else None
    on_true, on_false = promote(as_tensor(on_true, like), as_tensor(on_false, like))
    return apply("Select", ms_ops.SelectOp, [condition, on_true, on_false])


def floor_div(lhs, rhs):
    """floor(lhs / rhs) (Python's `//`, MindSpore's `FloorDiv`)."""
    return _binary("FloorDiv", ms_ops.FloorDivOp, lhs, rhs)


def floor_mod(lhs, rhs):
    """lhs - floor(lhs / rhs) * rhs, with rhs's sign (Python's `%`, MindSpore's `FloorMod`)."""
    return _binary("FloorMod", ms_ops.FloorModOp, lhs, rhs)


def _single_axis(primitive: str, axis, rank: int) -> int:
    if not _is_int(axis) or not -max(rank, 1) <= axis < max(rank, 1):
        raise ValueError(
            f"For '{primitive}', the 'axis' must be an int in range for rank {rank}, got {axis!r}"
        )
    return int(axis) % max(rank, 1)


def arg_reduce(primitive: str, x, axis=None, keep_dims=False, largest=True) -> Tensor:
    """The int64 index of the max (`largest`) or min along `axis` (None: of the flattened x),
    the first one on a tie."""
    x = as_tensor(x)
    op = ms_ops.ArgmaxOp if largest else ms_ops.ArgminOp
    if axis is None:
        flat = reshape(x, (x.size,))
        index = apply(primitive, op, [flat], axis=0)
        return reshape(index, (1,) * x.ndim) if keep_dims else index
    axis = _single_axis(primitive, axis, x.ndim)
    if x.ndim == 0:
        return apply(primitive, op, [reshape(x, (1,))], axis=0)
    index = apply(primitive, op, [x], axis=axis)
    return expand_dims(index, axis) if keep_dims else index


# --- indexing and combining ------------------------------------------------------------------


def strided_slice(x, start, sizes, strides) -> Tensor:
    """Elements start + i * stride, i < size, along each dim (normalized: see
    `ms_ops.StridedSliceOp`)."""
    return apply(
        "StridedSlice",
        ms_ops.StridedSliceOp,
        [as_tensor(x)],
        start=tuple(start),
        sizes=tuple(sizes),
        strides=tuple(strides),
    )


def python_slice(primitive: str, x: Tensor, begin, end, strides) -> Tensor:
    """x[b0:e0:s0, b1:e1:s1, ...] with Python's rules (negative, out-of-range and None bounds;
    a negative stride counts down): MindSpore's StridedSlice with masks cleared."""
    if not (len(begin) == len(end) == len(strides)) or len(begin) > x.ndim:
        raise ValueError(
            f"For '{primitive}', begin {tuple(begin)}, end {tuple(end)} and strides "
            f"{tuple(strides)} must have one length, at most the rank of {x.shape}"
        )
    start, sizes, steps = [], [], []
    for d, size in enumerate(x.shape):
        if d < len(begin):
            if strides[d] == 0:
                raise ValueError(f"For '{primitive}', the strides must be nonzero, got {strides}")
            first, stop, step = slice(begin[d], end[d], strides[d]).indices(size)
        else:
            first, stop, step = 0, size, 1
        count = len(range(first, stop, step))
        start.append(first if count else 0)
        sizes.append(count)
        steps.append(step)
    if sizes == list(x.shape) and all(s == 1 for s in steps):
        return x
    return strided_slice(x, start, sizes, steps)


def pad(x, paddings) -> Tensor:
    """Zeros before and after each dim: `paddings` is ((before, after), ...) (MindSpore's
    `Pad`), one pair per dim."""
    x = as_tensor(x)
    pairs = [tuple(int(p) for p in pair) for pair in paddings]
    if len(pairs) != x.ndim or any(len(p) != 2 or min(p) < 0 for p in pairs):
        raise ValueError(
            f"For 'Pad', the paddings must be one (before, after) pair of non-negative ints "
            f"per dim of the input of shape {x.shape}, got {paddings!r}"
        )
    return apply(
        "Pad",
        ms_ops.PadOp,
        [x],
        low=tuple(p[0] for p in pairs),
        high=tuple(p[1] for p in pairs),
        interior=(0,) * x.ndim,
    )


def concat(tensors, axis=0) -> Tensor:
    """The tensors joined along `axis` (MindSpore's `Concat`), two at a time."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("For 'Concat', the input must be a non-empty tuple or list of tensors")
    rank = tensors[0].ndim
    axis = _single_axis("Concat", axis, rank)
    result = tensors[0]
    for other in tensors[1:]:
        result, other = promote(result, other)
        result = apply("Concat", ms_ops.ConcatOp, [result, other], axis=axis)
    return result


def stack(tensors, axis=0) -> Tensor:
    """The tensors, of one shape, stacked along a new `axis` (MindSpore's `Stack`)."""
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("For 'Stack', the input must be a non-empty tuple or list of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"For 'Stack', all tensors must have one shape, got {sorted(shapes)}")
    axis = _single_axis("Stack", axis, tensors[0].ndim + 1)
    return concat([expand_dims(t, axis) for t in tensors], axis)


def split(x, axis: int, sizes) -> tuple[Tensor, ...]:
    """x cut along `axis` into consecutive pieces of `sizes` (MindSpore's `Split`)."""
    x = as_tensor(x)
    axis = _single_axis("Split", axis, x.ndim)
    if sum(sizes) != x.shape[axis] or min(sizes, default=0) < 0:
        raise ValueError(
            f"For 'Split', sizes {tuple(sizes)} do not add up to dim {axis} of {x.shape}"
        )
    pieces, offset = [], 0
    for size in sizes:
        start = [offset if d == axis else 0 for d in range(x.ndim)]
        shape = [size if d == axis else n for d, n in enumerate(x.shape)]
        pieces.append(strided_slice(x, start, shape, [1] * x.ndim))
        offset += size
    return tuple(pieces)


def gather(x, indices, axis=0) -> Tensor:
    """The slices of x along `axis` at the int `indices` (MindSpore's `Gather`)."""
    x, indices = as_tensor(x), as_tensor(indices)
    if indices.dtype not in (mstype.int32, mstype.int64):
        raise DTypeMismatchError(
            f"For 'Gather', the indices must be int32 or int64, got {indices.dtype}"
        )
    axis = _single_axis("Gather", axis, x.ndim)
    return apply("Gather", ms_ops.GatherOp, [x, indices], axis=axis)


def scatter_add_slices(updates, indices, axis: int, size: int) -> Tensor:
    """A zero tensor whose dim `axis` has `size` elements, with each slice of `updates` along
    `axis` (one per index) added at its index: the transpose of `gather` (MindSpore's
    UnsortedSegmentSum). Indices out of range add nothing."""
    updates, indices = as_tensor(updates), as_tensor(indices)
    if indices.dtype not in (mstype.int32, mstype.int64):
        raise DTypeMismatchError(f"the indices must be int32 or int64, got {indices.dtype}")
    return apply("GatherGrad", ms_ops.GatherGradOp, [updates, indices], axis=axis, size=size)


def batch_matmul(a, b, transpose_a=False, transpose_b=False) -> Tensor:
    """Matrix products over the last two dims, batch dims broadcast (MindSpore's
    `BatchMatMul`); operands of lower rank get leading size-1 dims."""
    a, b = as_tensor(a), as_tensor(b)
    rank = max(a.ndim, b.ndim, 3)
    a = reshape(a, (1,) * (rank - a.ndim) + a.shape) if a.ndim < rank else a
    b = reshape(b, (1,) * (rank - b.ndim) + b.shape) if b.ndim < rank else b
    return apply(
        "BatchMatMul",
        ms_ops.BatchMatMulOp,
        [a, b],
        transpose_a=bool(transpose_a),
        transpose_b=bool(transpose_b),
    )


def moments(x, axes):
    """The statistics a normalization divides by: the mean over `axes` (kept), x minus it, and
    the biased variance (kept)."""
    mean = reduce_mean(x, axes, keep_dims=True)
    centered = sub(x, mean)
    return mean, centered, reduce_mean(square(centered), axes, keep_dims=True)


def standardized(centered, variance, eps):
    """centered / sqrt(variance + eps)."""
    return div(centered, sqrt(add(variance, float(eps))))


def reduce_min(x, axis=(), keep_dims=False):
    """The minimum over `axis`: -max(-x) (MindSpore's `ReduceMin`)."""
    return neg(reduce_max(neg(as_tensor(x)), axis, keep_dims))


def clip_by_value(x, clip_value_min=None, clip_value_max=None):
    """x limited to [min, max] (MindSpore's `ClipByValue`, `ops.clamp`): maximum with min,
    then minimum with max; a bound of None is no bound."""
    x = as_tensor(x)
    if clip_value_min is None and clip_value_max is None:
        raise ValueError("For 'clamp', at least one of 'min' and 'max' must be given")
    if clip_value_min is not None:
        x = maximum(x, clip_value_min)
    if clip_value_max is not None:
        x = minimum(x, clip_value_max)
    return x


def getitem(x: Tensor, index) -> Tensor:
    """x[index] with Python's and MindSpore's rules: ints (a negative one counts from the
    end), slices with steps, None (a new dim of 1), `...`, and one int Tensor or list of ints
    (a gather along its dim). A bool-mask index has a data-dependent shape: refused."""
    entries = list(index) if isinstance(index, tuple) else [index]
    entries = [_index_entry(entry) for entry in entries]
    # Entries may be Tensors, whose == is elementwise: compare by identity only.
    ellipses = [i for i, e in enumerate(entries) if e is Ellipsis]
    consuming = sum(1 for e in entries if e is not None and e is not Ellipsis)
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consuming > x.ndim:
        raise IndexError(
            f"too many indices for a tensor of rank {x.ndim}: {consuming} given ({index!r})"
        )
    if ellipses:
        at = ellipses[0]
        entries[at : at + 1] = [slice(None)] * (x.ndim - consuming)
    entries += [slice(None)] * (x.ndim - sum(1 for e in entries if e is not None))
    begin, end, strides, final_shape, gathers = [], [], [], [], []
    dim = 0
    for entry in entries:
        if entry is None:
            final_shape.append(1)
            continue
        size = x.shape[dim]
        if isinstance(entry, slice):
            bounds = (entry.start, entry.stop, entry.step or 1)
            final_shape.append(len(range(*slice(*bounds).indices(size))))
        elif isinstance(entry, Tensor):
            bounds = (None, None, 1)
            gathers.append((dim, entry))
            final_shape.extend(entry.shape)
        else:
            if not -size <= entry < size:
                raise IndexError(
                    f"index {entry} is out of bounds for dim {dim} of size {size} "
                    f"(tensor of shape {x.shape})"
                )
            bounds = (entry % size, entry % size + 1, 1)
        begin.append(bounds[0])
        end.append(bounds[1])
        strides.append(bounds[2])
        dim += 1
    result = python_slice("StridedSlice", x, begin, end, strides)
    if len(gathers) > 1:
        raise UnsupportedError("cellc supports one Tensor (or list) index per subscript")
    for axis, indices in gathers:
        result = gather(result, indices, axis)
    return result if result.shape == tuple(final_shape) else reshape(result, final_shape)


def setitem(x: Tensor, index, value) -> Tensor:
    """x with x[index] = value, as a new tensor (MindSpore's `Tensor.__setitem__`): the
    positions `index` selects (numpy's rules, a bool mask included, read off a constant grid of
    x's positions) take `value` broadcast to their shape, through a gather of the flattened value
    and a select. An index holding a traced Tensor would select data-dependent positions:
    refused."""
    x = as_tensor(x)
    entries = index if isinstance(index, tuple) else (index,)
    concrete = []
    for entry in entries:
        if isinstance(entry, Tensor):
            if entry._value is None:
                raise UnsupportedError(
                    "assigning through a traced Tensor index selects data-dependent positions, "
                    "which cellc's compiled code cannot hold; use ops.where(mask, value, x)"
                )
            entry = entry.asnumpy()
        concrete.append(entry)
    positions = np.arange(max(x.size, 1)).reshape(x.shape) if x.size else np.zeros(x.shape, int)
    try:
        selected = np.asarray(positions[tuple(concrete)])
    except (IndexError, TypeError) as error:
        raise IndexError(f"index {index!r} for a tensor of shape {x.shape}: {error}") from None
    mask = np.zeros(x.size, bool)
    mask[selected.ravel()] = True
    source = np.zeros(x.size, np.int32)
    source[selected.ravel()] = np.arange(selected.size, dtype=np.int32)
    v = as_tensor(value, x)
    if v.dtype is not x.dtype:
        v = cast(v, x.dtype)
    flat_value = reshape(broadcast_to(v, selected.shape), (selected.size,))
    if selected.size == 0:
        return x
    placed = gather(flat_value, Tensor(source), 0)
    updated = select(Tensor(mask), placed, reshape(x, (x.size,)))
    return reshape(updated, x.shape)


def _index_entry(entry):
    """An index entry as int, slice, None, Ellipsis or an int Tensor."""
    if entry is None or entry is Ellipsis or isinstance(entry, slice):
        if isinstance(entry, slice):
            for part in (entry.start, entry.stop, entry.step):
                if part is not None and not _is_int(part):
                    raise TypeError(f"slice bounds must be ints or None, got {entry!r}")
        return entry
    if _is_int(entry):
        return int(entry)
    if isinstance(entry, (list, np.ndarray)) or isinstance(entry, Tensor):
        tensor = as_tensor(np.asarray(entry) if isinstance(entry, list) else entry)
        if tensor.dtype is mstype.bool_:
            raise UnsupportedError(
                "indexing with a bool mask gives a data-dependent shape, which cellc's static "
                "shapes cannot hold; use ops.select / ops.where(mask, x, 0) instead"
            )
        if tensor.dtype.is_float:
            raise IndexError(f"a tensor index must hold ints, got {tensor.dtype}")
        return tensor
    raise IndexError(f"cannot index a Tensor with {type(entry).__name__} ({entry!r})")


# --- convolution, pooling, activations (NCHW) -----------------------------------------------


def _pair(primitive: str, name: str, value) -> tuple[int, int]:
    """An int or a pair of ints (height, width), each positive (MindSpore's kernel_size,
    stride, dilation)."""
    pair = (value, value) if _is_int(value) else value
    if isinstance(pair, list):
        pair = tuple(pair)
    if not isinstance(pair, tuple):
        pair = None
    if pair is None or len(pair) != 2 or not all(_is_int(v) and v >= 1 for v in pair):
        raise ValueError(
            f"For '{primitive}', '{name}' must be a positive int or a tuple of two positive "
            f"ints, got {value!r}"
        )
    return int(pair[0]), int(pair[1])


def window_padding(
    primitive: str, spatial, pad_mode: str, kernel, strides, dilations=(1, 1), padding=0
) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of an input of `spatial` size (H, W) for MindSpore's pad_mode:
    'valid' none; 'same' the output
    ceil(size / stride), the padding split with the extra row or column at the bottom or
    right; 'pad' the given int or (top, bottom, left, right)."""
    mode = pad_mode.lower() if isinstance(pad_mode, str) else pad_mode
    if mode == "valid":
        return (0, 0, 0, 0)
    if mode == "same":
        pads = []
        for size, k, s, d in zip(spatial, kernel, strides, dilations):
            total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        return tuple(pads)
    if mode == "pad":
        pads = (padding,) * 4 if _is_int(padding) else tuple(padding)
        if len(pads) != 4 or not all(_is_int(p) and p >= 0 for p in pads):
            raise ValueError(
                f"For '{primitive}', 'pad' must be a non-negative int or 4 of them (top, "
                f"bottom, left, right), got {padding!r}"
            )
        return tuple(int(p) for p in pads)
    raise ValueError(
        f"For '{primitive}', 'pad_mode' must be 'valid', 'same' or 'pad', got {pad_mode!r}"
    )


def _require_nchw(primitive: str, x: Tensor, what: str = "input"):
    _require_float(primitive, x)
    if x.ndim != 4:
        raise ValueError(
            f"For '{primitive}', the {what} must be 4-D (N, C, H, W), got shape {x.shape}"
        )


def conv2d(x, weight, bias=None, stride=1, pad_mode="valid", padding=0, dilation=1, groups=1):
    """2-D cross-correlation, NCHW, weight (O, C/groups, KH, KW) (MindSpore's `Conv2D` and
    `ops.conv2d`); `bias` (O,) is added per output channel."""
    x, weight = as_tensor(x), as_tensor(weight)
    _require_nchw("Conv2D", x)
    _require_nchw("Conv2D", weight, "weight")
    strides, dilations = _pair("Conv2D", "stride", stride), _pair("Conv2D", "dilation", dilation)
    if not _is_int(groups) or groups < 1:
        raise ValueError(f"For 'Conv2D', 'group' must be a positive int, got {groups!r}")
    pads = window_padding(
        "Conv2D", x.shape[2:], pad_mode, weight.shape[2:], strides, dilations, padding
    )
    out = apply(
        "Conv2D",
        ms_ops.Conv2DOp,
        [x, weight],
        strides=strides,
        dilations=dilations,
        padding=pads,
        groups=int(groups),
    )
    if bias is not None:
        out = add(out, reshape(as_tensor(bias), (-1, 1, 1)))
    return out


def conv2d_transpose(x, weight, output_size, stride=1, padding=(0, 0, 0, 0), dilation=1, groups=1):
    """The transposed convolution: the gradient of `conv2d` with respect to its input, whose
    spatial size is `output_size` (MindSpore's `Conv2DBackpropInput`, and `Conv2dTranspose`);
    weight (C_in, C_out/groups, KH, KW), padding (top, bottom, left, right) of that conv2d."""
    x, weight = as_tensor(x), as_tensor(weight)
    _require_nchw("Conv2DTranspose", x)
    _require_nchw("Conv2DTranspose", weight, "weight")
    return apply(
        "Conv2DTranspose",
        ms_ops.Conv2DBackpropInputOp,
        [x, weight],
        strides=_pair("Conv2DTranspose", "stride", stride),
        dilations=_pair("Conv2DTranspose", "dilation", dilation),
        padding=tuple(int(p) for p in padding),
        groups=int(groups),
        input_size=_pair("Conv2DTranspose", "output_size", output_size),
    )


def _pool(primitive, op, x, kernel_size, stride, pad_mode, padding=0):
    x = as_tensor(x)
    _require_nchw(primitive, x)
    kernel = _pair(primitive, "kernel_size", kernel_size)
    strides = _pair(primitive, "strides", stride)
    pads = window_padding(primitive, x.shape[2:], pad_mode, kernel, strides, padding=padding)
    return apply(primitive, op, [x], kernel_size=kernel, strides=strides, padding=pads)


def max_pool(x, kernel_size=1, strides=1, pad_mode="valid", padding=0):
    """The maximum of each window, NCHW (MindSpore's `MaxPool`); the gradient of a window goes
    to its first maximum. `padding` (pad_mode 'pad'): an int or (top, bottom, left, right)."""
    return _pool("MaxPool", ms_ops.MaxPoolOp, x, kernel_size, strides, pad_mode, padding)


def avg_pool(x, kernel_size=1, strides=1, pad_mode="valid", padding=0):
    """The mean of each window, NCHW (MindSpore's `AvgPool`); the padding of 'same' (or of
    'pad') is not counted."""
    return _pool("AvgPool", ms_ops.AvgPoolOp, x, kernel_size, strides, pad_mode, padding)


def adaptive_avg_pool2d(x, output_size):
    """The mean over an `output_size` grid of equal windows (MindSpore's `AdaptiveAvgPool2d`):
    an output size of 1 (None keeps the input's) or one dividing the input's."""
    x = as_tensor(x)
    _require_nchw("AdaptiveAvgPool2d", x)
    if _is_int(output_size) or output_size is None:
        output_size = (output_size, output_size)
    sizes = tuple(output_size)
    sizes = tuple(x.shape[2 + a] if s is None else s for a, s in enumerate(sizes))
    if sizes == (1, 1):
        return reduce_mean(x, (2, 3), keep_dims=True)
    if any(not _is_int(s) or s < 1 or size % s for s, size in zip(sizes, x.shape[2:])):
        raise UnsupportedError(
            f"For 'AdaptiveAvgPool2d', cellc supports output sizes that divide the input's "
            f"{x.shape[2:]}, got {output_size!r}"
        )
    kernel = tuple(size // s for s, size in zip(sizes, x.shape[2:]))
    return avg_pool(x, kernel, kernel)


def flatten(x, start_dim=1, end_dim=-1):
    """Dims start_dim..end_dim merged into one (MindSpore's `Flatten`: (N, ...) -> (N, -1))."""
    x = as_tensor(x)
    rank = max(x.ndim, 1)
    start, end = start_dim % rank, end_dim % rank
    if x.ndim == 0:
        return reshape(x, (1,))
    if start > end:
        raise ValueError(f"For 'Flatten', start_dim {start_dim} is after end_dim {end_dim}")
    merged = int(np.prod(x.shape[start : end + 1], dtype=np.int64))
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1 :])


def gelu(x, approximate="none"):
    """x * Phi(x) (MindSpore's `ops.gelu`): 'none' with erf, 'tanh' with
    0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x**3))), the form of `GeLU` and `nn.GELU()`."""
    x = as_tensor(x)
    _require_float("GeLU", x)
    if approximate == "tanh":
        inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), float(np.sqrt(2 / np.pi)))
        return mul(mul(x, 0.5), add(tanh(inner), 1.0))
    if approximate == "none":
        return mul(mul(x, 0.5), add(erf(mul(x, float(1 / np.sqrt(2)))), 1.0))
    raise ValueError(f"For 'gelu', 'approximate' must be 'none' or 'tanh', got {approximate!r}")


def leaky_relu(x, alpha=0.2):
    """x where x > 0, else alpha * x (MindSpore's `ops.leaky_relu`)."""
    x = as_tensor(x)
    return sub(relu(x), mul(relu(neg(x)), float(alpha)))


def elu(x, alpha=1.0):
    """x where x > 0, else alpha * (exp(x) - 1) (MindSpore's `Elu`)."""
    x = as_tensor(x)
    _require_float("Elu", x)
    negative_part = neg(relu(neg(x)))  # min(x, 0): exp of it never overflows
    return add(relu(x), mul(sub(exp(negative_part), 1.0), float(alpha)))


def softplus(x):
    """log(1 + exp(x)) (MindSpore's `Softplus`), as relu(x) + log(1 + exp(-|x|)): no
    overflow for large x."""
    x = as_tensor(x)
    _require_float("Softplus", x)
    return add(relu(x), log(add(exp(neg(abs(x))), 1.0)))


def _relu6(x):
    return minimum(relu(x), 6.0)


def hsigmoid(x):
    """relu6(x + 3) / 6 (MindSpore's `HSigmoid`; divided, not multiplied by 1/6, so that the
    values are MindSpore's to the last bit)."""
    x = as_tensor(x)
    _require_float("HSigmoid", x)
    return div(_relu6(add(x, 3.0)), 6.0)


def hswish(x):
    """x * relu6(x + 3) / 6 (MindSpore's `HSwish`, in that order)."""
    x = as_tensor(x)
    _require_float("HSwish", x)
    return div(mul(x, _relu6(add(x, 3.0))), 6.0)
