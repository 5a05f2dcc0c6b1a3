"""Tensor's operators and methods that are ops: `x + y`, `x @ w`, `x.reshape(...)`, `x.sum()`.

They are defined here, with the ops, and attached to `cellc.Tensor` when `cellc.ops` is
imported (as JAX attaches jax.numpy's methods to its arrays): the Tensor class sits below the
ops in the user API, so it cannot import them. Each dispatches to `cellc.ops.functional`, so it
is traced inside a cell and evaluated at once outside one, like any primitive.
"""

from __future__ import annotations

import numpy as np

from cellc import dtype as mstype
from cellc.tensor import Tensor

from . import functional as F


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

    def astype(self, dtype: mstype.DType) -> Tensor:
        """The tensor converted to `dtype` (MindSpore's `Tensor.astype`; traced, an `ms.cast`)."""
        return F.cast(self, dtype)

    def abs(self):
        return F.abs(self)

    def sqrt(self):
        return F.sqrt(self)

    def max(self, axis=None, keepdims=False):
        return F.reduce_max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return F.reduce_min(self, axis, keepdims)

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

    def flatten(self, order="C", *, start_dim=0, end_dim=-1):
        """The tensor as 1-D (dims start_dim..end_dim merged; MindSpore's `Tensor.flatten`)."""
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


def _comparable(other) -> bool:
    return isinstance(other, (Tensor, bool, int, float, np.number, np.ndarray, list, tuple))


def _attach() -> None:
    for name, member in vars(TensorMethods).items():
        if name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__"):
            setattr(Tensor, name, member)


_attach()
