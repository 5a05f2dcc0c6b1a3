"""MindSpore's operator primitives: construct once (with attributes), call with tensors."""

from __future__ import annotations

from cellc.errors import UnsupportedError

from . import functional as F


class Primitive:
    """Base of the primitives. `name` is MindSpore's, used in error messages."""

    name = ""

    def __repr__(self) -> str:
        return f"Prim[{self.name}]"


class _Elementwise(Primitive):
    fn = None

    def __call__(self, *operands):
        return type(self).fn(*operands)


class Add(_Elementwise):
    name, fn = "Add", F.add


class Sub(_Elementwise):
    name, fn = "Sub", F.sub


class Mul(_Elementwise):
    name, fn = "Mul", F.mul


class Div(_Elementwise):
    name, fn = "Div", F.div


RealDiv = Div


class Neg(_Elementwise):
    name, fn = "Neg", F.neg


class ReLU(_Elementwise):
    name, fn = "ReLU", F.relu


class Exp(_Elementwise):
    name, fn = "Exp", F.exp


class Log(_Elementwise):
    name, fn = "Log", F.log


class Tanh(_Elementwise):
    name, fn = "Tanh", F.tanh


class Sigmoid(_Elementwise):
    name, fn = "Sigmoid", F.sigmoid


class Square(_Elementwise):
    name, fn = "Square", F.square


class Sqrt(_Elementwise):
    name, fn = "Sqrt", F.sqrt


class Sin(_Elementwise):
    name, fn = "Sin", F.sin


class Erf(_Elementwise):
    name, fn = "Erf", F.erf


class Cos(_Elementwise):
    name, fn = "Cos", F.cos


class Abs(_Elementwise):
    name, fn = "Abs", F.abs


class Sign(_Elementwise):
    name, fn = "Sign", F.sign


class Maximum(_Elementwise):
    """`Maximum()(x, y)`: elementwise, numpy broadcasting; the gradient of a tie goes to x."""

    name, fn = "Maximum", F.maximum


class Minimum(_Elementwise):
    """`Minimum()(x, y)`: elementwise, numpy broadcasting; the gradient of a tie goes to x."""

    name, fn = "Minimum", F.minimum


class Pow(_Elementwise):
    """`Pow()(x, y)`: y a Python number (or a Tensor, then x > 0); see `functional.power`."""

    name, fn = "Pow", F.power


class MatMul(Primitive):
    """2-D matrix product: `MatMul(transpose_a=False, transpose_b=False)(a, b)`."""

    name = "MatMul"

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False):
        F.check_bool_flag("MatMul", "transpose_a", transpose_a)
        F.check_bool_flag("MatMul", "transpose_b", transpose_b)
        self.transpose_a = transpose_a
        self.transpose_b = transpose_b

    def __call__(self, a, b):
        return F.matmul(a, b, self.transpose_a, self.transpose_b)


class _Reduce(Primitive):
    fn = None

    def __init__(self, keep_dims: bool = False):
        F.check_bool_flag(self.name, "keep_dims", keep_dims)
        self.keep_dims = keep_dims

    def __call__(self, x, axis=()):
        return type(self).fn(x, axis, self.keep_dims)


class ReduceSum(_Reduce):
    """`ReduceSum(keep_dims=False)(x, axis=())`: axis () sums every axis."""

    name, fn = "ReduceSum", F.reduce_sum


class ReduceMean(_Reduce):
    """`ReduceMean(keep_dims=False)(x, axis=())`."""

    name, fn = "ReduceMean", F.reduce_mean


class ReduceMax(_Reduce):
    """`ReduceMax(keep_dims=False)(x, axis=())`: the gradient is shared equally by tied maxima."""

    name, fn = "ReduceMax", F.reduce_max


class Cast(Primitive):
    """`Cast()(x, dtype)`: float to integer truncates toward zero."""

    name = "Cast"

    def __call__(self, x, dtype):
        return F.cast(x, dtype)


class _SoftmaxBase(Primitive):
    fn = None

    def __init__(self, axis=-1):
        if not isinstance(axis, (int, tuple, list)) or isinstance(axis, bool):
            raise TypeError(
                f"For '{self.name}', the 'axis' should be int or tuple, "
                f"but got {type(axis).__name__}"
            )
        self.axis = axis

    def __call__(self, x):
        return type(self).fn(x, self.axis)


class Softmax(_SoftmaxBase):
    """`Softmax(axis=-1)(x)`: exp(x) / sum(exp(x)) over axis (computed stably)."""

    name, fn = "Softmax", F.softmax


class LogSoftmax(_SoftmaxBase):
    """`LogSoftmax(axis=-1)(x)`: x - log(sum(exp(x))) over axis (computed stably)."""

    name, fn = "LogSoftmax", F.log_softmax


class OneHot(Primitive):
    """`OneHot(axis=-1)(indices, depth, on_value, off_value)`; only axis=-1."""

    name = "OneHot"

    def __init__(self, axis=-1):
        if axis != -1:
            raise UnsupportedError(f"For 'OneHot', only axis=-1 is supported, got {axis}")
        self.axis = axis

    def __call__(self, indices, depth, on_value, off_value):
        on, off = F.as_tensor(on_value), F.as_tensor(off_value)
        hot = F.one_hot(indices, int(depth), on.dtype)
        return F.add(F.mul(hot, F.sub(on, off)), off)


class Reshape(Primitive):
    """`Reshape()(x, shape)`; one dimension may be -1."""

    name = "Reshape"

    def __call__(self, x, shape):
        return F.reshape(x, shape)


class Transpose(Primitive):
    """`Transpose()(x, perm)`."""

    name = "Transpose"

    def __call__(self, x, perm):
        return F.transpose(x, perm)


class BroadcastTo(Primitive):
    """`BroadcastTo(shape)(x)`."""

    name = "BroadcastTo"

    def __init__(self, shape):
        self.shape = tuple(shape)

    def __call__(self, x):
        return F.broadcast_to(x, self.shape)


class ExpandDims(Primitive):
    name = "ExpandDims"

    def __call__(self, x, axis):
        return F.expand_dims(x, axis)


class Squeeze(Primitive):
    name = "Squeeze"

    def __init__(self, axis=()):
        self.axis = axis

    def __call__(self, x):
        return F.squeeze(x, self.axis)


# Every public primitive class of this module (a new class needs no line elsewhere).
__all__ = sorted(
    name
    for name, value in dict(globals()).items()
    if isinstance(value, type) and issubclass(value, Primitive) and not name.startswith("_")
)
