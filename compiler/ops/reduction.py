"""Reductions (ms.reduce_sum): VJP rule and lowering."""

from __future__ import annotations

from cellc.compiler.autodiff.rules import deflinear
from cellc.dialects import ms

from . import linalg_builders as lb
from .registry import lowering


@lowering("ms.reduce_sum")
def _lower_reduce_sum(op, x, *, axes, keep_dims=False):
    """ms.reduce_sum -> linalg.generic with reduction iterators over `axes`; with `keep_dims`
    an expand_shape (a view) restores the size-1 dims."""
    summed = lb.reduce_sum(x, axes)
    return lb.reshape(summed, op.results[0].type) if keep_dims else summed


def _reduce_sum_transpose(ct, x, *, axes, keep_dims):
    """VJP: ct reshaped to keep the summed axes as size 1, then broadcast back to x."""
    x_spec = ms.spec_of(x)
    kept = tuple(1 if i in axes else d for i, d in enumerate(x_spec.shape))
    if ms.spec_of(ct).shape != kept:
        ct = ms.reshape(ct, kept)
    if kept != x_spec.shape:
        ct = ms.broadcast_to(ct, x_spec.shape)
    return ct


deflinear("ms.reduce_sum", _reduce_sum_transpose)
