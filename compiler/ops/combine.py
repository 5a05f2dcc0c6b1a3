"""Combining tensors: concat (two at a time) and batch_matmul.

A concat is one `linalg.generic` over the result reading either operand with `tensor.extract`
(no insert_slice: see indexing.py); its VJP slices ct back apart. A batch_matmul is one
`linalg.generic` over (batch..., m, n, k) whose indexing maps do the transposes and the
broadcasting of batch dims (a size-1 batch dim reads index 0), into zeros; its VJP is the matmul
table of matmul.py, each cotangent summed back over the batch dims its operand broadcast.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, linalg, tensor

from cellc.compiler.autodiff.rules import defbilinear, unbroadcast
from cellc.dialects import ms

from . import linalg_builders as lb
from .registry import dynamic_batch, lowering, vjp


@lowering(ms.ConcatOp)
def lower_concat(op, lhs, rhs, *, axis):
    """ms.concat(a, b) -> linalg.generic over the result{p < len(a) ? a[p] : b[p - len(a)]}

    Both reads are `tensor.extract` at indices clamped into their operand."""
    result_type = lb.ranked(op.results[0].type)
    rank = result_type.rank
    split = lb.ranked(lhs).shape[axis]
    parts = [part for part in (lhs, rhs) if 0 not in lb.ranked(part).shape]
    if len(parts) == 1:
        return parts[0]

    def body(_):
        index_type = ir.IndexType.get()
        loops = [linalg.IndexOp(d).result for d in range(rank)]
        boundary = arith.constant(index_type, split)
        in_lhs = arith.cmpi(arith.CmpIPredicate.slt, loops[axis], boundary)
        zero = arith.constant(index_type, 0)
        lhs_at = arith.select(in_lhs, loops[axis], zero)
        rhs_at = arith.select(in_lhs, zero, arith.subi(loops[axis], boundary))
        from_lhs = tensor.extract(lhs, loops[:axis] + [lhs_at] + loops[axis + 1 :])
        from_rhs = tensor.extract(rhs, loops[:axis] + [rhs_at] + loops[axis + 1 :])
        return arith.select(in_lhs, from_lhs, from_rhs)

    maps = [ir.AffineMap.get_identity(rank)]
    return lb.generic([], lb.empty(result_type), maps, [lb.PARALLEL] * rank, body)


@vjp(ms.ConcatOp)
def vjp_concat(ct, lhs, rhs, *, out, axis):
    """d concat(a, b) = (ct[.., :len(a), ..], ct[.., len(a):, ..])."""
    cotangents, offset = [], 0
    for part in (lhs, rhs):
        shape = ms.spec_of(part).shape
        start = tuple(offset if d == axis else 0 for d in range(len(shape)))
        cotangents.append(ms.strided_slice(ct, start=start, sizes=shape, strides=(1,) * len(shape)))
        offset += shape[axis]
    return cotangents


@lowering(ms.BatchMatMulOp)
def lower_batch_matmul(op, a, b, *, transpose_a=False, transpose_b=False):
    """ms.batch_matmul(a, b) -> linalg.generic over (batch..., m, k, n){acc + a * b} into
    zeros, a transposed a and batch broadcasting in its indexing maps; a transposed b copied
    first (linalg.transpose of its last two dims)"""
    result_type = lb.ranked(op.results[0].type)
    batch = list(result_type.shape[:-2])
    loops = len(batch) + 3
    dims = [ir.AffineDimExpr.get(d) for d in range(loops)]
    # The innermost loop walks rows of b and of the result (n), contiguous, so that LLVM
    # vectorizes it; each element sums over k in order. A transposed b (attention's q @ k^T)
    # would make it a dot product along k, which stays scalar: b is transposed back first, a
    # copy of b for a product m times larger. (An Embedding + TransformerEncoderLayer step:
    # 7.0-8.6 -> 5.9-7.6 ms for the loop order, then 4.7-5.3 -> 3.2-4.9 ms for the copy.)
    m, k, n = dims[-3:]
    if transpose_b:
        rank = lb.ranked(b).rank
        b = lb.transpose(b, [*range(rank - 2), rank - 1, rank - 2])

    def operand_map(value, rows, cols):
        shape = lb.ranked(value).shape
        exprs = [
            ir.AffineConstantExpr.get(0) if shape[i] == 1 and batch[i] != 1 else dims[i]
            for i in range(len(batch))
        ]
        return ir.AffineMap.get(loops, 0, exprs + [rows, cols])

    maps = [
        operand_map(a, *((k, m) if transpose_a else (m, k))),
        operand_map(b, k, n),
        ir.AffineMap.get(loops, 0, dims[:-3] + [m, n]),
    ]
    iterators = [lb.PARALLEL] * (loops - 2) + [lb.REDUCTION, lb.PARALLEL]
    return lb.generic(
        [a, b],
        lb.zeros(result_type),
        maps,
        iterators,
        lambda x, y, acc: lb.add(acc, lb.mul(x, y)),
    )


# VJP: the table of matmul.py, per batch, then summed over the batch dims an operand broadcast.


def _batch_matmul_lhs_transpose(ct, a, b, *, transpose_a, transpose_b):
    if transpose_a:
        grad = ms.batch_matmul(b, ct, transpose_a=transpose_b, transpose_b=True)
    else:
        grad = ms.batch_matmul(ct, b, transpose_a=False, transpose_b=not transpose_b)
    return unbroadcast(grad, a)


def _batch_matmul_rhs_transpose(ct, a, b, *, transpose_a, transpose_b):
    if transpose_b:
        grad = ms.batch_matmul(ct, a, transpose_a=True, transpose_b=transpose_a)
    else:
        grad = ms.batch_matmul(a, ct, transpose_a=not transpose_a, transpose_b=False)
    return unbroadcast(grad, b)


defbilinear(ms.BatchMatMulOp, _batch_matmul_lhs_transpose, _batch_matmul_rhs_transpose)

# A `?` is the batch (lb.empty, lb.zeros; a concat along it would make 2N, which
# compiler/dynamic_batch.py refuses).
dynamic_batch(ms.ConcatOp, ms.BatchMatMulOp)
