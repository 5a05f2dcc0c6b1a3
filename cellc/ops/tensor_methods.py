"""Tensor's operators and methods that are ops: `x + y`, `x @ w`, `x.reshape(...)`, `x.sum()`.

They are defined here, with the ops, and attached to `cellc.Tensor` when `cellc.ops` is
imported (as JAX attaches jax.numpy's methods to its arrays): the Tensor class sits below the
ops in the user API, so it cannot import them. Each dispatches to `cellc.ops.functional`, so it
is traced inside a cell and evaluated at once outside one, like any primitive.
"""

from __future__ import annotations

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

    def max(self, axis=(), keepdims=False):
        return F.reduce_max(self, axis, keepdims)

    def sum(self, axis=(), keepdims=False):
        return F.reduce_sum(self, axis, keepdims)

    def mean(self, axis=(), keep_dims=False):
        return F.reduce_mean(self, axis, keep_dims)


def _attach() -> None:
    for name, member in vars(TensorMethods).items():
        if name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__"):
            setattr(Tensor, name, member)


_attach()
