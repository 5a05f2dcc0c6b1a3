"""Tensor's operators and methods that are ops: `x + y`, `x @ w`, `x.reshape(...)`, `x.sum()`.

They are defined here, with the ops, and attached to `cellc.Tensor` when `cellc.ops` is
imported (as JAX attaches jax.numpy's methods to its arrays): the Tensor class sits below the
ops in the user API, so it cannot import them. Each dispatches to `cellc.ops.functional`, so it
is traced inside a cell and evaluated at once outside one, like any primitive.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from cellc import dtype as mstype
from cellc.parameter import Parameter
from cellc.tensor import Tensor

from . import function, state
from . import functional as F
from . import math_func as M


class TensorMethods:
    """The methods attached to Tensor (see the module docstring)."""

    def __add__(self, other):
        return F.add(self, other)

    def __radd__(self, other):
        return F.add(other, self)

    def __sub__(self, other):
        return F.sub(self, other)

    def __rsub__(self, other):
        return F.sub(other, self)

    def __mul__(self, other):
        return F.mul(self, other)

    def __rmul__(self, other):
        return F.mul(other, self)

    def __truediv__(self, other):
        return F.div(self, other)

    def __rtruediv__(self, other):
        return F.div(other, self)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __pow__(self, exponent):
        return F.power(self, exponent)

    def __rpow__(self, base):
        return F.power(F.as_tensor(base, self), self)

    def __neg__(self):
        return F.neg(self)

    def __pos__(self):
        return self

    def __mod__(self, other):
        return F.floor_mod(self, other)

    def __rmod__(self, other):
        return F.floor_mod(other, self)

    def __floordiv__(self, other):
        return F.floor_div(self, other)

    def __rfloordiv__(self, other):
        return F.floor_div(other, self)

    # Comparisons are elementwise and give bool Tensors (MindSpore's); a Tensor stays hashable
    # by identity, as in MindSpore (defining __eq__ would otherwise drop __hash__).
    def __eq__(self, other):
        if not _comparable(other):
            return NotImplemented  # Python then compares identities: `x == None` is False
        return F.equal(self, other)

    def __ne__(self, other):
        if not _comparable(other):
            return NotImplemented
        return F.not_equal(self, other)

    def __lt__(self, other):
        return F.less(self, other)

    def __le__(self, other):
        return F.less_equal(self, other)

    def __gt__(self, other):
        return F.greater(self, other)

    def __ge__(self, other):
        return F.greater_equal(self, other)

    __hash__ = object.__hash__

    def __invert__(self):
        return F.logical_not(self)

    def __and__(self, other):
        return F.logical_and(self, other)

    def __or__(self, other):
        return F.logical_or(self, other)

    def __setitem__(self, index, value):
        """self[index] = value: the tensor (a traced value inside a construct) now holds the
        update; a Parameter is assigned it (MindSpore's in-place semantics)."""
        updated = F.setitem(self, index, value)
        if isinstance(self, Parameter):
            state.assign(self, updated)
            return
        self._symbol, self._value = updated._symbol, updated._value

    def __getitem__(self, index):
        return F.getitem(self, index)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return F.reshape(self, shape)

    def transpose(self, *perm):
        if len(perm) == 1 and isinstance(perm[0], (tuple, list)):
            perm = tuple(perm[0])
        return F.transpose(self, perm or tuple(reversed(range(self.ndim))))

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):  # noqa: N802 (MindSpore's name)
        """The last two dims swapped (a batch of matrices transposed)."""
        return M.swapaxes(self, -2, -1)

    mH = mT  # the conjugate transpose: real tensors only here

    def adjoint(self):
        return M.swapaxes(self, -2, -1)

    def median(self, axis=None, keepdims=False):
        """(the median, its index) along `axis`; with no axis, the median of all the elements
        alone (MindSpore 2.x's overload `median()`)."""
        if axis is None:
            return M.median(F.reshape(self, (-1,)), 0)[0]
        return M.median(self, axis, keepdims)

    def remainder(self, other=None, *, divisor=None):
        return M.remainder(self, other if divisor is None else divisor)

    def astype(self, dtype, copy=True) -> Tensor:
        """The tensor converted to `dtype`: a cellc dtype, a numpy one (np.float32) or its name
        ('float32'), as MindSpore's `Tensor.astype` takes (traced, an `ms.cast`)."""
        if not isinstance(dtype, mstype.DType):
            dtype = mstype.from_numpy(dtype)
        return F.cast(self, dtype)

    def type(self, dtype=None):
        """The dtype's name (`'Float32'`), or the tensor converted to `dtype`."""
        return str(self.dtype) if dtype is None else self.astype(dtype)

    def abs(self):
        return F.abs(self)

    def sqrt(self):
        return F.sqrt(self)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The maximum (over `axis`); with PyTorch's `dim`, MindSpore 2.x's overload:
        (values, int64 indices) along it."""
        if dim is not None:
            return function.max(self, dim, bool(keepdim))
        return F.reduce_max(self, axis, keepdims if keepdim is None else keepdim)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """The minimum; with `dim`, (values, int64 indices) along it (as `max`)."""
        if dim is not None:
            return function.min(self, dim, bool(keepdim))
        return F.reduce_min(self, axis, keepdims if keepdim is None else keepdim)

    def sum(self, axis=None, dtype=None, keepdims=False):
        total = F.reduce_sum(self, axis, keepdims)
        return total if dtype is None else F.cast(total, dtype)

    def mean(self, axis=None, keep_dims=False):
        return F.reduce_mean(self, axis, keep_dims)

    def exp(self):
        return F.exp(self)

    def log(self):
        return F.log(self)

    def argmax(self, axis=None, keepdims=False):
        """The int64 index of the maximum along `axis` (None: of the flattened tensor)."""
        return F.arg_reduce("Argmax", self, axis, keepdims, largest=True)

    def argmin(self, axis=None, keepdims=False):
        return F.arg_reduce("Argmin", self, axis, keepdims, largest=False)

    def view(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return F.reshape(self, shape)

    def flatten(self, order="C", *args, start_dim=0, end_dim=-1):
        """The tensor as 1-D (dims start_dim..end_dim merged; MindSpore's `Tensor.flatten`,
        also as its 2.x overload `flatten(start_dim, end_dim)`)."""
        if isinstance(order, int):  # the overload: positional dims
            order, start_dim, *rest = "C", order, *args
            end_dim = rest[0] if rest else end_dim
        elif args:
            raise TypeError(f"Tensor.flatten() takes an order or start_dim[, end_dim], got {args}")
        if order != "C":
            raise ValueError(f"For 'flatten', only order 'C' is supported, got {order!r}")
        if self.ndim == 0:
            return F.reshape(self, (1,))
        start, end = start_dim % self.ndim, end_dim % self.ndim
        merged = 1
        for d in self.shape[start : end + 1]:
            merged *= d
        return F.reshape(self, self.shape[:start] + (merged,) + self.shape[end + 1 :])

    def expand_dims(self, axis):
        return F.expand_dims(self, axis)

    def squeeze(self, axis=None):
        return F.squeeze(self, () if axis is None else axis)

    def clip(self, xmin, xmax, dtype=None):
        clipped = F.clip_by_value(self, xmin, xmax)
        return clipped if dtype is None else F.cast(clipped, dtype)

    # MindSpore 2.x's Tensor methods that are its `ops` functions (math_func.py)

    def clamp(self, min=None, max=None):  # noqa: A002
        return F.clip_by_value(self, min, max)

    def add(self, other):
        return F.add(self, other)

    def sub(self, other):
        return F.sub(self, other)

    def mul(self, other):
        return F.mul(self, other)

    def div(self, other, *, rounding_mode=None):
        return M.div(self, other, rounding_mode=rounding_mode)

    def neg(self):
        return F.neg(self)

    def pow(self, exponent):
        return F.pow(self, exponent)

    def maximum(self, other):
        return F.maximum(self, other)

    def minimum(self, other):
        return F.minimum(self, other)

    def square(self):
        return F.square(self)

    def tanh(self):
        return F.tanh(self)

    def sigmoid(self):
        return F.sigmoid(self)

    def sin(self):
        return F.sin(self)

    def cos(self):
        return F.cos(self)

    def erf(self):
        return F.erf(self)

    def sign(self):
        return F.sign(self)

    def reciprocal(self):
        return M.reciprocal(self)

    def rsqrt(self):
        return M.rsqrt(self)

    def log1p(self):
        return M.log1p(self)

    def floor(self):
        return M.floor(self)

    def ceil(self):
        return M.ceil(self)

    def softmax(self, axis=-1, dtype=None):
        return F.softmax(self if dtype is None else F.cast(self, dtype), axis)

    def matmul(self, tensor2):
        """numpy's matmul (1-D operands as vectors, batch dims broadcast)."""
        return function.matmul(self, tensor2)

    def gather(self, *args, **kwargs):
        """`gather(input_indices, axis, batch_dims=0)`: the slices at the indices (Gather); or
        MindSpore 2.x's overload `gather(dim, index)`: the elements (`ops.gather_elements`)."""
        if "dim" in kwargs or "index" in kwargs or (args and isinstance(args[0], int)):
            return M.gather_elements(self, *args, **kwargs)
        return _gather_slices(self, *args, **kwargs)

    def gather_elements(self, dim, index):
        return M.gather_elements(self, dim, index)

    def scatter(self, dim=None, index=None, src=None, *, axis=None, value=None):
        """`scatter(dim, index, src)` (also `axis=`, or `value=` a number): src's elements
        written at the index along dim (`ops.scatter`)."""
        dim, src = dim if axis is None else axis, src if value is None else value
        missing = [
            name for name, got in (("dim", dim), ("index", index), ("src", src)) if got is None
        ]
        if missing:
            raise TypeError(f"Tensor.scatter() missing argument(s) {', '.join(missing)}")
        return M.scatter(self, dim, index, src)

    def scatter_add(self, dim, index, src):
        """src's elements added at the index along dim."""
        return M.tensor_scatter_elements(self, index, src, dim, reduction="add")

    def round(self, decimals=0):
        return M.round(self, decimals=decimals)

    def index_select(self, axis=None, index=None, *, dim=None):
        return M.index_select(self, axis if dim is None else dim, index)

    def __abs__(self):
        return F.abs(self)

    def unsqueeze(self, dim):
        return F.expand_dims(self, dim)

    def permute(self, *axis):
        return M.permute(self, axis[0] if len(axis) == 1 and not isinstance(axis[0], int) else axis)

    def swapaxes(self, axis0, axis1):
        return M.swapaxes(self, axis0, axis1)

    def t(self):
        return M.t(self)

    def broadcast_to(self, shape):
        return M.broadcast_to(self, shape)

    def expand_as(self, other):
        return F.broadcast_to(self, F.as_tensor(other).shape)

    def flip(self, dims):
        return M.flip(self, dims)

    def narrow(self, axis, start, length):
        return M.narrow(self, axis, start, length)

    def tril(self, diagonal=0):
        return M.tril(self, diagonal)

    def triu(self, diagonal=0):
        return M.triu(self, diagonal)

    def masked_fill(self, mask, value):
        return M.masked_fill(self, mask, value)

    def var(self, axis=None, ddof=0, keepdims=False):
        return M.var(self, axis, ddof, keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return M.std(self, axis, ddof, keepdims)

    def amax(self, axis=None, keepdims=False):
        return M.amax(self, axis, keepdims)

    def amin(self, axis=None, keepdims=False):
        return M.amin(self, axis, keepdims)

    def norm(self, ord=None, dim=None, keepdim=False, *, dtype=None):  # noqa: A002
        return M.norm(self, ord, dim, keepdim, dtype=dtype)

    def logsumexp(self, dim, keepdim=False):
        return M.logsumexp(self, dim, keepdim)

    def prod(self, axis=None, keep_dims=False, dtype=None):
        return M.prod(self, axis, keep_dims, dtype)

    def all(self, axis=None, keep_dims=False):
        return M.all(self, axis, keep_dims)

    def any(self, axis=None, keep_dims=False):
        return M.any(self, axis, keep_dims)

    def topk(self, k, dim=None, largest=True, sorted=True):
        return M.topk(self, k, dim, largest, sorted)

    def sort(self, axis=-1, descending=False):
        return M.sort(self, axis, descending)

    def argsort(self, axis=-1, descending=False):
        return M.argsort(self, axis, descending)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return M.diagonal(self, offset, axis1, axis2)

    def repeat_interleave(self, repeats, dim=None):
        return M.repeat_interleave(self, repeats, dim)

    def nanmean(self, axis=None, keepdims=False, *, dtype=None):
        return M.nanmean(self, axis, keepdims, dtype=dtype)

    def cumsum(self, axis=None, dtype=None):
        x = self if axis is not None else F.reshape(self, (-1,))
        return M.cumsum(x, 0 if axis is None else axis, dtype)

    def equal(self, other):
        return F.equal(self, other)

    def not_equal(self, other):
        return F.not_equal(self, other)

    def greater(self, other):
        return F.greater(self, other)

    def greater_equal(self, other):
        return F.greater_equal(self, other)

    def less(self, other):
        return F.less(self, other)

    def less_equal(self, other):
        return F.less_equal(self, other)

    eq, ne, gt, ge, lt, le = equal, not_equal, greater, greater_equal, less, less_equal

    # PyTorch's queries (its dtype conversions, `x.float()`, are _CONVERSIONS)
    def numel(self):
        return self.size

    nelement = numel

    def ndimension(self):
        return self.ndim

    def element_size(self):
        return self.itemsize

    def is_floating_point(self):
        return self.dtype.is_float

    def is_signed(self):
        return self.dtype is not mstype.bool_

    def is_complex(self):
        return False

    def is_contiguous(self):
        return True

    def contiguous(self):
        return self

    def clone(self):
        return F.mul(self, 1) if self.dtype is not mstype.bool_ else F.logical_and(self, True)

    def reshape_as(self, other):
        return F.reshape(self, other.shape)

    def logical_and(self, other):
        return F.logical_and(self, other)

    def logical_or(self, other):
        return F.logical_or(self, other)

    def logical_not(self):
        return F.logical_not(self)

    def where(self, condition, y):
        """self where `condition` holds, else y."""
        return F.select(condition, self, F.as_tensor(y, self))

    def repeat(self, *sizes, repeats=None, axis=None):
        """Tiled `sizes` (or `repeats`) times along each dim (MindSpore 2.x's, as PyTorch's);
        with `axis`, each element repeated along it (numpy's repeat, MindSpore 1.x's)."""
        if repeats is not None:
            sizes = (repeats,)
        if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
            sizes = tuple(sizes[0])
        if axis is not None:
            (count,) = sizes
            return M.repeat_interleave(self, count, axis)
        return function.tile(self, sizes)

    def new_zeros(self, size, *, dtype=None):
        return Tensor(np.zeros(size), dtype or self.dtype)

    def new_ones(self, size, *, dtype=None):
        return Tensor(np.ones(size), dtype or self.dtype)

    def new_full(self, size, fill_value, *, dtype=None):
        return Tensor(np.full(size, fill_value), dtype or self.dtype)

    def index_add(self, dim, index, source, *, alpha=1):
        """self with alpha times the slices of `source` along `dim` added at `index` (MindSpore
        2.x's overload, as PyTorch's)."""
        return M.index_add(self, index, source if alpha == 1 else F.mul(source, alpha), dim)

    def mm(self, mat2):
        """The product of two 2-D tensors."""
        return F.matmul(self, mat2)

    def chunk(self, chunks, axis=0, *, dim=None):
        return M.chunk(self, chunks, axis if dim is None else dim)

    def split(self, split_size_or_sections, axis=0, *, dim=None):
        return function.split(self, split_size_or_sections, axis if dim is None else dim)

    def dot(self, other):
        """The inner product of two 1-D tensors (numpy's matmul otherwise)."""
        return function.matmul(self, other)

    def tile(self, reps):
        return function.tile(self, reps)

    def type_as(self, other):
        return F.cast(self, other.dtype)

    def view_as(self, other):
        return F.reshape(self, other.shape)


def _gather_slices(x, input_indices, axis, batch_dims=0):
    if batch_dims:
        raise NotImplementedError("Tensor.gather: batch_dims is not supported")
    return F.gather(x, input_indices, axis)


def _comparable(other) -> bool:
    return isinstance(other, (Tensor, bool, int, float, np.number, np.ndarray, list, tuple))


# MindSpore's Tensor methods that are its 2.x function of the same name applied to the tensor
# (`x.atan2(y)` is `ops.atan2(x, y)`), attached as such.
_FUNCTION_METHODS = (
    "tan", "atan", "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh", "arctan", "arcsin",
    "arccos", "arcsinh", "arccosh", "arctanh", "atan2", "arctan2", "log2", "log10", "log1p",
    "expm1", "erfc", "trunc", "fix", "round", "exp2", "deg2rad", "rad2deg", "sinc", "frac", "fmod",
    "remainder", "logaddexp", "hypot", "nansum", "nan_to_num", "signbit", "count_nonzero", "trace",
    "absolute", "negative", "divide", "true_divide", "subtract", "multiply", "floor_divide",
    "xlogy", "lerp", "outer", "index_select", "bmm", "narrow", "vecdot", "float_power",
    "copysign", "heaviside", "fmax", "fmin", "isclose", "allclose", "logical_xor", "isposinf",
    "isneginf", "movedim", "moveaxis", "swapdims", "unbind", "roll", "inner", "addmm", "addmv",
    "baddbmm", "addbmm", "fliplr", "flipud", "positive", "sgn", "isnan", "isinf", "isfinite",
    "aminmax", "diff", "take", "msort", "logcumsumexp", "logaddexp2",
    "ldexp", "diagflat", "fill_diagonal", "masked_scatter", "histc",
)  # fmt: skip


# Methods whose axis MindSpore 2.x's overloads also take as PyTorch's `dim` (and `keepdim`).
_TORCH_SPELLINGS = (
    "sum", "mean", "argmax", "argmin", "cumsum", "sort", "argsort", "prod", "all", "any", "std",
    "var", "amax", "amin", "nanmean", "squeeze", "expand_dims", "softmax", "nansum",
    "count_nonzero", "median",
)  # fmt: skip


def _torch_spellings(method):
    """`method` taking `dim=` for its axis parameter and `keepdim=` for its keep-dims one."""
    parameters = inspect.signature(method).parameters
    axis = next((name for name in ("axis", "dim") if name in parameters), None)
    keep = next((n for n in ("keepdims", "keep_dims", "keepdim") if n in parameters), None)

    @functools.wraps(method)
    def spelled(self, *args, **kwargs):
        if "dim" in kwargs and axis not in (None, "dim"):
            kwargs[axis] = kwargs.pop("dim")
        if "keepdim" in kwargs and keep not in (None, "keepdim"):
            kwargs[keep] = kwargs.pop("keepdim")
        return method(self, *args, **kwargs)

    return spelled


def _assign_in_place(tensor: Tensor, updated: Tensor) -> None:
    """`tensor` now holds `updated` (in its own dtype and shape), as `x[...] = updated` would
    leave it: a traced tensor takes the traced value, a Parameter is assigned."""
    updated = F.as_tensor(updated, tensor)
    if updated.shape != tensor.shape:
        if np.broadcast_shapes(updated.shape, tensor.shape) != tensor.shape:
            raise ValueError(
                f"an in-place update of a tensor of shape {tensor.shape} cannot take a result of "
                f"shape {updated.shape}"
            )
        updated = F.broadcast_to(updated, tensor.shape)
    updated = F.cast(updated, tensor.dtype)
    if isinstance(tensor, Parameter):
        state.assign(tensor, updated)
        return
    tensor._symbol, tensor._value = updated._symbol, updated._value


def _in_place(function):
    """The in-place form of a function of the tensor (`x.add_(y)`): x takes the result, and is
    returned (MindSpore 2.x's in-place methods)."""

    @functools.wraps(function)
    def method(self, *args, **kwargs):
        _assign_in_place(self, function(self, *args, **kwargs))
        return self

    return method


# PyTorch's dtype conversions, which MindSpore 2.x's Tensor has: `x.float()` is x as Float32
_CONVERSIONS = {
    "float": mstype.float32,
    "double": mstype.float64,
    "half": mstype.float16,
    "int": mstype.int32,
    "long": mstype.int64,
    "short": mstype.int16,
    "bool": mstype.bool_,
}


def _conversion(dtype: mstype.DType):
    def convert(self):
        return F.cast(self, dtype)

    convert.__doc__ = f"The tensor as {dtype}."
    return convert


# MindSpore 2.x's in-place methods: name_ -> the function whose result the tensor takes
_IN_PLACE = {
    "add_": lambda x, other, *, alpha=1: F.add(x, F.mul(other, alpha) if alpha != 1 else other),
    "sub_": lambda x, other, *, alpha=1: F.sub(x, F.mul(other, alpha) if alpha != 1 else other),
    "mul_": lambda x, other: F.mul(x, other),
    "div_": lambda x, other, *, rounding_mode=None: F.div(x, other, rounding_mode=rounding_mode),
    "clamp_": lambda x, min=None, max=None: F.clip_by_value(x, min, max),  # noqa: A002
    "fill_": lambda x, value: F.as_tensor(value, x),
    "zero_": lambda x: F.as_tensor(0, x),
    "copy_": lambda x, src, non_blocking=False: F.as_tensor(src, x),
    "exp_": lambda x: F.exp(x),
    "log_": lambda x: F.log(x),
    "sqrt_": lambda x: F.sqrt(x),
    "tanh_": lambda x: F.tanh(x),
    "sigmoid_": lambda x: F.sigmoid(x),
    "neg_": lambda x: F.neg(x),
    "abs_": lambda x: F.abs(x),
    "floor_": lambda x: M.floor(x),
    "ceil_": lambda x: M.ceil(x),
    "pow_": lambda x, exponent: F.pow(x, exponent),
    "masked_fill_": lambda x, mask, value: M.masked_fill(x, mask, value),
    "addcmul_": lambda x, tensor1, tensor2, value=1: M.addcmul(x, tensor1, tensor2, value),
    "addcdiv_": lambda x, tensor1, tensor2, value=1: M.addcdiv(x, tensor1, tensor2, value),
    "lerp_": lambda x, end, weight: M.lerp(x, end, weight),
    "index_add_": lambda x, dim, index, source, *, alpha=1: x.index_add(
        dim, index, source, alpha=alpha
    ),
}


def _method_of(function):
    @functools.wraps(function)
    def method(self, *args, **kwargs):
        return function(self, *args, **kwargs)

    return method


def _attach() -> None:
    for name, member in vars(TensorMethods).items():
        if name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__"):
            setattr(Tensor, name, member)
    for name in _FUNCTION_METHODS:
        if name not in vars(TensorMethods):
            setattr(Tensor, name, _method_of(getattr(M, name)))
    for name in _TORCH_SPELLINGS:
        setattr(Tensor, name, _torch_spellings(getattr(Tensor, name)))
    for name, update in _IN_PLACE.items():
        setattr(Tensor, name, _in_place(update))
    for name, dtype in _CONVERSIONS.items():
        setattr(Tensor, name, _conversion(dtype))


_attach()
