"""The op functions every primitive and Tensor operator calls.

Inside a trace, an op is recorded (and shape-checked) by the active tracer; outside one, it is
evaluated at once with numpy, like MindSpore's PyNative mode for a single primitive. Cells are
never run this way: calling a cell compiles it (see `cellc.nn.Cell`).
"""

from __future__ import annotations

import numpy as np

from cellc import _tracing
from cellc.errors import DTypeMismatchError
from cellc.tensor import Tensor


def _eager_relu_grad(dy, x):
    return dy * (x > 0)


# numpy evaluation of each op outside a trace (attrs as keyword arguments)
_EAGER = {
    "ms.add": lambda a, b: a + b,
    "ms.sub": lambda a, b: a - b,
    "ms.mul": lambda a, b: a * b,
    "ms.div": lambda a, b: a / b,
    "ms.neg": lambda x: -x,
    "ms.relu": lambda x: np.maximum(x, 0).astype(x.dtype),
    "ms.relu_grad": _eager_relu_grad,
    "ms.exp": np.exp,
    "ms.log": np.log,
    "ms.tanh": np.tanh,
    "ms.sigmoid": lambda x: (1 / (1 + np.exp(-x))).astype(x.dtype),
    "ms.stop_gradient": lambda x: x,
    "ms.matmul": lambda a, b, transpose_a, transpose_b: (
        (a.T if transpose_a else a) @ (b.T if transpose_b else b)
    ),
    "ms.reduce_sum": lambda x, axes, keep_dims: np.sum(x, axis=tuple(axes), keepdims=keep_dims),
    "ms.transpose": lambda x, perm: np.transpose(x, perm),
    "ms.reshape": lambda x, result: np.reshape(x, result.shape),
    "ms.broadcast_to": lambda x, result: np.broadcast_to(x, result.shape).copy(),
}


def apply(primitive: str, op: str, operands: list, **attrs) -> Tensor:
    """Applies `op` (an `ms` op name) to Tensors; `primitive` is the name used in errors."""
    tracer = _tracing.current()
    if tracer is not None:
        values = [tracer.value_of(t) for t in operands]
        return Tensor(_symbol=tracer.record(primitive, op, values, attrs))
    from cellc.compiler.trace import check_eager

    check_eager(primitive, op, operands, attrs)
    arrays = [t.asnumpy() for t in operands]
    result = np.asarray(_EAGER[op](*arrays, **attrs))
    return Tensor(result.astype(operands[0].dtype.numpy, copy=False))


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """A Tensor operand: Tensors pass through, Python/numpy scalars take `like`'s dtype."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float, np.number, np.ndarray, list, tuple)):
        if like is None:
            return Tensor(value)
        array = np.asarray(value)
        if array.dtype.kind == "f" and not like.dtype.is_float:
            raise DTypeMismatchError(
                f"a float operand ({value!r}) with a {like.dtype} tensor: cellc has no implicit "
                "casts; use a float tensor"
            )
        return Tensor(array, dtype=like.dtype)
    raise TypeError(f"expected a Tensor or a number, got {type(value).__name__}")


def _binary(primitive: str, op: str, lhs, rhs) -> Tensor:
    like = lhs if isinstance(lhs, Tensor) else rhs if isinstance(rhs, Tensor) else None
    return apply(primitive, op, [as_tensor(lhs, like), as_tensor(rhs, like)])


def add(lhs, rhs):
    return _binary("Add", "ms.add", lhs, rhs)


def sub(lhs, rhs):
    return _binary("Sub", "ms.sub", lhs, rhs)


def mul(lhs, rhs):
    return _binary("Mul", "ms.mul", lhs, rhs)


def div(lhs, rhs):
    return _binary("Div", "ms.div", lhs, rhs)


def neg(x):
    return apply("Neg", "ms.neg", [as_tensor(x)])


def relu(x):
    return apply("ReLU", "ms.relu", [as_tensor(x)])


def exp(x):
    return apply("Exp", "ms.exp", [as_tensor(x)])


def log(x):
    return apply("Log", "ms.log", [as_tensor(x)])


def tanh(x):
    return apply("Tanh", "ms.tanh", [as_tensor(x)])


def sigmoid(x):
    return apply("Sigmoid", "ms.sigmoid", [as_tensor(x)])


def stop_gradient(x):
    """The identity, whose gradient is zero (MindSpore's `ops.stop_gradient`)."""
    if isinstance(x, (tuple, list)):
        return type(x)(stop_gradient(item) for item in x)
    return apply("stop_gradient", "ms.stop_gradient", [as_tensor(x)])


def matmul(a, b, transpose_a=False, transpose_b=False):
    return apply(
        "MatMul",
        "ms.matmul",
        [as_tensor(a), as_tensor(b)],
        transpose_a=bool(transpose_a),
        transpose_b=bool(transpose_b),
    )


def normalize_axes(primitive: str, axis, rank: int) -> tuple[int, ...]:
    """MindSpore's axis argument (int, tuple, or () for all) as sorted non-negative axes."""
    if axis is None or axis == () or axis == []:
        return tuple(range(rank))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    normalized = []
    for a in axes:
        if not isinstance(a, int) or not -rank <= a < max(rank, 1):
            raise ValueError(f"For '{primitive}', axis {axis} is out of range for rank {rank}")
        normalized.append(a % rank if rank else 0)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"For '{primitive}', axis {axis} has duplicates")
    return tuple(sorted(normalized))


def reduce_sum(x, axis=(), keep_dims=False):
    x = as_tensor(x)
    axes = normalize_axes("ReduceSum", axis, x.ndim)
    return apply("ReduceSum", "ms.reduce_sum", [x], axes=axes, keep_dims=bool(keep_dims))


def reduce_mean(x, axis=(), keep_dims=False):
    x = as_tensor(x)
    axes = normalize_axes("ReduceMean", axis, x.ndim)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    total = apply("ReduceMean", "ms.reduce_sum", [x], axes=axes, keep_dims=bool(keep_dims))
    return mul(total, 1.0 / count) if count else total


def _spec_like(x: Tensor, shape):
    from cellc.dialects.types import TensorSpec

    return TensorSpec(tuple(shape), x.dtype.element)


def reshape(x, shape):
    x = as_tensor(x)
    shape = tuple(int(d) for d in shape)
    if shape.count(-1) > 1:
        raise ValueError(f"For 'Reshape', at most one dimension may be -1, got {shape}")
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
        if known == 0 or x.size % known:
            raise ValueError(f"For 'Reshape', cannot reshape {x.shape} to {shape}")
        shape = tuple(x.size // known if d == -1 else d for d in shape)
    return apply("Reshape", "ms.reshape", [x], result=_spec_like(x, shape))


def broadcast_to(x, shape):
    x = as_tensor(x)
    shape = tuple(int(d) for d in shape)
    shape = tuple(x.shape[i - (len(shape) - x.ndim)] if d == -1 else d for i, d in enumerate(shape))
    return apply("BroadcastTo", "ms.broadcast_to", [x], result=_spec_like(x, shape))


def transpose(x, perm):
    x = as_tensor(x)
    return apply("Transpose", "ms.transpose", [x], perm=tuple(int(p) for p in perm))


def expand_dims(x, axis: int):
    x = as_tensor(x)
    axis = axis % (x.ndim + 1)
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, axis=()):
    x = as_tensor(x)
    axes = (
        normalize_axes("Squeeze", axis, x.ndim)
        if axis != ()
        else tuple(i for i, d in enumerate(x.shape) if d == 1)
    )
    return reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))


def square(x):
    return mul(x, x)


def power(x, exponent):
    """x ** exponent: repeated products for a small integer exponent, else exp(p * log(x))
    (defined for x > 0)."""
    x = as_tensor(x)
    if isinstance(exponent, (int, np.integer)) and 0 <= exponent <= 8:
        if exponent == 0:
            return add(mul(x, 0.0), 1.0)
        result = x
        for _ in range(int(exponent) - 1):
            result = mul(result, x)
        return result
    if not isinstance(exponent, (int, float, np.number)):
        raise TypeError(f"For 'Pow', the exponent must be a Python number, got {exponent!r}")
    return exp(mul(log(x), float(exponent)))
