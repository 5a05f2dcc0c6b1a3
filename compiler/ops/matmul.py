"""Matrix product (ms.matmul with transpose_a/transpose_b): VJP rule and lowering."""

from __future__ import annotations

from mlir import ir
from mlir.dialects import linalg

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

    Transposed operands are expressed in its indexing maps (no transpose is materialized)."""
    init = lb.zeros(lb.ranked(op.results[0].type))
    maps = None
    if transpose_a or transpose_b:
        maps = _matmul_maps(transpose_a, transpose_b)
    return linalg.matmul(a, b, outs=[init], indexing_maps=maps)


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
