"""Shape ops (broadcast_to, reshape, transpose): VJP rules and lowerings."""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, tensor

from cellc.compiler.autodiff.rules import deflinear, unbroadcast
from cellc.dialects import ms

from . import linalg_builders as lb
from .registry import dynamic_batch, lowering


@lowering(ms.BroadcastToOp)
def lower_broadcast_to(op, x):
    """ms.broadcast_to(x) -> linalg.generic{yield x} with a broadcasting indexing map"""
    return lb.elementwise(op.results[0].type, [x], lambda value: value)


@lowering(ms.ReshapeOp)
def lower_reshape(op, x):
    """ms.reshape(x) -> tensor.collapse_shape / tensor.expand_shape (views, no copy)"""
    return lb.reshape(x, op.results[0].type)


@lowering(ms.TransposeOp)
def lower_transpose(op, x, *, perm):
    """ms.transpose(x) -> linalg.transpose(x, perm); the identity permutation (a 0-d or 1-d
    tensor's `.T`) -> x itself (linalg has no transpose of rank 0)."""
    if list(perm) == list(range(len(perm))):
        return x
    return lb.transpose(x, perm)


@lowering(ms.DimSizeOp)
def lower_dim_size(op, x, *, axis):
    """ms.dim_size(x) -> tensor.from_elements(convert(index_cast(tensor.dim(x, axis))))"""
    element = lb.ranked(op.results[0].type).element_type
    size = arith.index_cast(
        ir.IntegerType.get_signless(64), tensor.dim(x, arith.constant(ir.IndexType.get(), axis))
    )
    return tensor.from_elements(op.results[0].type, [lb.convert(size, element)])


# VJP rules: all three ops are linear in their operand; each VJP is the op's transpose.


def _inverse_permutation(perm):
    inverse = [0] * len(perm)
    for i, p in enumerate(perm):
        inverse[p] = i
    return tuple(inverse)


deflinear(ms.BroadcastToOp, lambda ct, x: unbroadcast(ct, x))
deflinear(ms.ReshapeOp, lambda ct, x: ms.reshape(ct, ms.spec_of(x).shape))
deflinear(ms.TransposeOp, lambda ct, x, *, perm: ms.transpose(ct, perm=_inverse_permutation(perm)))
# ms.dim_size has no VJP rule: compiler/dynamic_batch.py builds it after the derivatives.

dynamic_batch(ms.BroadcastToOp, ms.ReshapeOp, ms.TransposeOp, ms.DimSizeOp)
