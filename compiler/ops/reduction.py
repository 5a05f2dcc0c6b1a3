"""Reductions (ms.reduce_sum, ms.reduce_max): VJP rules and lowerings."""

from __future__ import annotations

from cellc.compiler.autodiff.rules import deflinear
from cellc.dialects import ms

from . import linalg_builders as lb
from .registry import dynamic_batch, lowering, vjp


@lowering(ms.ReduceSumOp)
def lower_reduce_sum(op, x, *, axes, keep_dims=False):
    """ms.reduce_sum(x) -> linalg.generic{addf|addi} reducing `axes` into a 0-filled accumulator

    With `keep_dims` an expand_shape (a view) restores the size-1 dims. Over no axes (a 0-d
    x) the sum is x itself."""
    if not axes:
        return x
    summed = lb.reduce_sum(x, axes)
    return lb.reshape(summed, op.results[0].type) if keep_dims else summed


@lowering(ms.ReduceMaxOp)
def lower_reduce_max(op, x, *, axes, keep_dims=False):
    """ms.reduce_max(x) -> linalg.generic{maximumf|maxsi} reducing `axes` into a -inf-filled
    accumulator

    With `keep_dims` an expand_shape (a view) restores the size-1 dims. Over no axes (a 0-d
    x) the maximum is x itself."""
    if not axes:
        return x
    largest = lb.reduce_max(x, axes)
    return lb.reshape(largest, op.results[0].type) if keep_dims else largest


def _broadcast_back(value, x, axes):
    """A reduction's result (or its cotangent) reshaped to keep the reduced axes as size 1,
    then broadcast back to x's shape."""
    x_spec = ms.spec_of(x)
    kept = tuple(1 if i in axes else d for i, d in enumerate(x_spec.shape))
    if ms.spec_of(value).shape != kept:
        value = ms.reshape(value, kept)
    if kept != x_spec.shape:
        value = ms.broadcast_to(value, x_spec.shape)
    return value


def _reduce_sum_transpose(ct, x, *, axes, keep_dims):
    """VJP: ct reshaped to keep the summed axes as size 1, then broadcast back to x."""
    return _broadcast_back(ct, x, axes)


deflinear(ms.ReduceSumOp, _reduce_sum_transpose)


@vjp(ms.ReduceMaxOp)
def vjp_reduce_max(ct, x, *, out, axes, keep_dims):
    """d max(x) = ct broadcast back, where x equals the max, divided by the number of such
    elements (tied maxima share ct equally, as in JAX and TensorFlow).

    x <= max, so sign(max - x) is 0 exactly at the maxima and 1 elsewhere (NaN stays NaN); the
    mask is 1 - sign(max - x), whose own derivative is zero.
    """
    largest = _broadcast_back(out, x, axes)
    is_max = ms.sub(ms.constant(1.0, ms.spec_of(x).with_shape(())), ms.sign(ms.sub(largest, x)))
    count = ms.reduce_sum(is_max, axes=tuple(axes), keep_dims=True)
    return [ms.div(ms.mul(_broadcast_back(ct, x, axes), is_max), count)]


dynamic_batch(ms.ReduceSumOp, ms.ReduceMaxOp)
