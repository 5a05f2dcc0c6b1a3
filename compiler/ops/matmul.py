"""Matrix product (ms.matmul with transpose_a/transpose_b): VJP rule and lowering."""

from __future__ import annotations

import math

from mlir import ir
from mlir.dialects import arith, linalg

from cellc.compiler.autodiff.rules import defbilinear
from cellc.dialects import ms

from . import linalg_builders as lb
from .registry import dynamic_batch, lowering


def _matmul_maps(transpose_a: bool, transpose_b: bool) -> ir.ArrayAttr:
    """linalg.matmul's maps over (m, n, k), with a transposed operand read as (k, m) / (n, k)."""
    m, n, k = (ir.AffineDimExpr.get(d) for d in range(3))
    a = [k, m] if transpose_a else [m, k]
    b = [n, k] if transpose_b else [k, n]
    maps = [ir.AffineMap.get(3, 0, a), ir.AffineMap.get(3, 0, b), ir.AffineMap.get(3, 0, [m, n])]
    return ir.ArrayAttr.get([ir.AffineMapAttr.get(map_) for map_ in maps])


@lowering(ms.MatMulOp)
def lower_matmul(op, a, b, *, transpose_a=False, transpose_b=False):
    """ms.matmul(a, b) -> linalg.matmul(a, b) into a zero-filled accumulator

    Transposed operands are expressed in its indexing maps (no transpose is materialized).
    A product with a constant of one repeated value `c` (the ones that GradOperation's default
    sensitivity is) is a sum instead: `full(c) @ B = c * (the column sums of B)` in every row,
    `A @ full(c) = c * (the row sums of A)` in every column, O(K(M + N)) work for O(MNK), and
    no buffer of c's."""
    result_type = lb.ranked(op.results[0].type)
    for operand, splat in enumerate(_splat_value(value) for value in op.operands):
        if splat is not None and splat.type == result_type.element_type:
            return _product_with_splat(operand, splat, a, b, result_type, transpose_a, transpose_b)
    init = lb.zeros(result_type)
    maps = None
    if transpose_a or transpose_b:
        maps = _matmul_maps(transpose_a, transpose_b)
    return linalg.matmul(a, b, outs=[init], indexing_maps=maps)


def _splat_value(value: ir.Value) -> ir.Attribute | None:
    """The one value of every element of `value` when an `ms.constant` splat defines it, if
    the sum gives what the product would: any integer (wrapping arithmetic distributes), a
    finite non-zero float (0 * b is 0 where a sum of b overflows to inf, inf * 0 is NaN where
    inf times a sum is not)."""
    owner = value.owner
    if isinstance(owner, ir.Block) or owner.operation.name != "ms.constant":
        return None
    dense = ir.DenseElementsAttr(owner.operation.attributes["value"])
    if not dense.is_splat:
        return None
    splat = dense.get_splat_value()
    if isinstance(splat, ir.FloatAttr) and not (math.isfinite(splat.value) and splat.value != 0):
        return None
    return splat


def _product_with_splat(operand, splat, a, b, result_type, transpose_a, transpose_b):
    """The product when operand `operand` (0: a, 1: b) holds `splat` everywhere: the other
    operand summed over k (from zero, as the matmul's accumulator), times the splat, broadcast
    over the splat's side of the result (m for a, n for b)."""
    other = b if operand == 0 else a
    # the other operand's axis that is k: B is (k, n) or, transposed, (n, k); A is (m, k) or (k, m)
    transposed = transpose_b if operand == 0 else transpose_a
    k_axis = int(transposed) if operand == 0 else 1 - int(transposed)
    sums = lb.reduce_sum(other, [k_axis])
    factor = arith.constant(result_type.element_type, splat)
    kept = ir.AffineDimExpr.get(1 if operand == 0 else 0)  # sums run along n (a) or m (b)
    maps = [ir.AffineMap.get(2, 0, [kept]), ir.AffineMap.get_identity(2)]
    return lb.generic(
        [sums],
        lb.empty(result_type),
        maps,
        [lb.PARALLEL, lb.PARALLEL],
        lambda total, _: lb.mul(factor, total),
    )


# VJP. C = op_a(A) @ op_b(B), op_x transposing when transpose_x is set; ct is dC:
#     transpose_a  transpose_b   dA               dB
#     false        false         ct @ B^T         A^T @ ct
#     true         false         B @ ct^T         A @ ct
#     false        true          ct @ B           ct^T @ A
#     true         true          B^T @ ct^T       ct^T @ A^T
# Each is one ms.matmul with transpose flags; no transpose op is emitted.


def _matmul_lhs_transpose(ct, a, b, *, transpose_a, transpose_b):
    if transpose_a:
        return ms.matmul(b, ct, transpose_a=transpose_b, transpose_b=True)
    return ms.matmul(ct, b, transpose_a=False, transpose_b=not transpose_b)


def _matmul_rhs_transpose(ct, a, b, *, transpose_a, transpose_b):
    if transpose_b:
        return ms.matmul(ct, a, transpose_a=True, transpose_b=transpose_a)
    return ms.matmul(a, ct, transpose_a=not transpose_a, transpose_b=False)


defbilinear(ms.MatMulOp, _matmul_lhs_transpose, _matmul_rhs_transpose)

dynamic_batch(ms.MatMulOp)
