"""The op functions every primitive and Tensor operator calls.

Inside a trace, an op is recorded (and shape-checked) by the active tracer; outside one, it is
evaluated at once with numpy, like MindSpore's PyNative mode for a single primitive. Cells are
never run this way: calling a cell compiles it (see `cellc.nn.Cell`).
"""

from __future__ import annotations

import builtins

import numpy as np

from cellc import dtype as mstype
from cellc.dialects import ms_ops
from cellc.dialects.types import TensorSpec
from cellc.errors import DTypeMismatchError
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


def div(lhs, rhs):
    return _binary("Div", ms_ops.DivOp, lhs, rhs)


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
    """x ** exponent (MindSpore's `Pow`). A Python-number exponent: repeated products for an
    integer in [-8, 8] (the reciprocal for a negative one), sqrt for 0.5, else
    exp(p * log(x)) (defined for x > 0). A Tensor exponent: exp(exponent * log(x)) (x > 0)."""
    x = as_tensor(x)
    if isinstance(exponent, Tensor):
        return exp(mul(log(x), exponent))
    if not isinstance(exponent, (int, float, np.number)):
        raise TypeError(f"For 'Pow', the exponent must be a number or a Tensor, got {exponent!r}")
    if float(exponent).is_integer() and -8 <= exponent <= 8:
        if exponent == 0:
            return add(mul(x, 0.0), 1.0)
        result = x
        for _ in range(int(builtins.abs(exponent)) - 1):
            result = mul(result, x)
        return result if exponent > 0 else div(1.0, result)
    if exponent == 0.5:
        return sqrt(x)
    return exp(mul(log(x), float(exponent)))


def pow(x, exponent):  # MindSpore's `ops.pow`
    return power(x, exponent)
