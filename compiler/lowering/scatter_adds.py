"""Scatter-adds as a loop over the indices, on the CPU.

Contract
- `cpu-scatter-adds` (linalg on tensors, before the matmul schedule and elementwise fusion):
  every `linalg.generic` marked `cellc.scatter_add = AXIS` (indexing.py's gather_grad, the
  gradient of a gather and of nn.Embedding: a reduction over the result and the indices that
  adds `ct` where an index matches a position, O(size * indices) work) becomes an `scf.for`
  over the indices, flattened, that adds each slice of `ct` into the result's slice at its
  index: `tensor.extract_slice`, a `linalg.generic` add, `tensor.insert_slice` at the same
  place (in place once bufferized). O(indices) work: an Embedding(1000, 64)'s gradient over
  32x32 tokens did 65M compare-and-selects. An index out of range (after counting a negative
  one from the end) adds zeros, as the generic matches no position with it. Each element sums
  its slices in index order, as the generic's reduction did.
- CPU only: the GPU back end keeps the generic (no atomics, one thread per result element).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, scf, tensor

from cellc.compiler.ops import linalg_builders as lb
from cellc.compiler.ops.indexing import SCATTER_ADD_ATTR, wrapped_index

from .parallel_loops import rewrite_marked_generics

_DYNAMIC = ir.ShapedType.get_dynamic_size


def scatter_adds(module: ir.Module) -> None:
    """Rewrites every marked scatter-add generic into a loop over its indices (in place)."""
    rewrite_marked_generics(module, SCATTER_ADD_ATTR, _loop_over_indices)


def _loop_over_indices(op: ir.Operation) -> ir.Value:
    ct, indices, zeros = op.operands
    axis = ir.IntegerAttr(op.attributes[SCATTER_ADD_ATTR]).value
    result = lb.ranked(op.results[0].type)
    size = result.shape[axis]
    shape = list(result.shape)
    # the indices as one dim: ct's [before axis, indices..., after axis] -> [before, J, after]
    count = lb.product(lb.ranked(indices).shape)
    flat_indices = lb.reshape(
        indices, ir.RankedTensorType.get([count], lb.ranked(indices).element_type)
    )
    flat_ct = lb.reshape(
        ct,
        ir.RankedTensorType.get(shape[:axis] + [count] + shape[axis + 1 :], result.element_type),
    )
    index = ir.IndexType.get()
    total = lb.dim(flat_indices, 0)
    if isinstance(total, int):
        total = arith.constant(index, total)
    loop = scf.ForOp(arith.constant(index, 0), total, arith.constant(index, 1), [zeros])
    with ir.InsertionPoint(loop.body):
        j, accumulated = loop.induction_variable, loop.inner_iter_args[0]
        position, in_range = wrapped_index(tensor.extract(flat_indices, [j]), size)
        slice_shape = shape[:axis] + [1] + shape[axis + 1 :]
        slice_type = ir.RankedTensorType.get(slice_shape, result.element_type)
        sizes = [lb.dim(accumulated, d) for d, n in enumerate(slice_shape) if n == _DYNAMIC()]
        row = _slice(slice_type, accumulated, axis, position, sizes)
        piece = _slice(slice_type, flat_ct, axis, j, sizes)
        identity = ir.AffineMap.get_identity(len(shape))
        zero = lb.zero(result.element_type)
        added = lb.generic(
            [piece],
            row,
            [identity, identity],
            [lb.PARALLEL] * len(shape),
            lambda value, acc: lb.add(acc, arith.select(in_range, value, zero)),
        )
        scf.YieldOp([_insert(added, accumulated, axis, position, sizes)])
    return loop.results[0]


def _placement(slice_type: ir.RankedTensorType, axis: int) -> tuple[list, list, list]:
    """Static offsets (dynamic at `axis`), sizes and strides of a slice at one index."""
    offsets = [0] * slice_type.rank
    offsets[axis] = _DYNAMIC()
    return offsets, list(slice_type.shape), [1] * slice_type.rank


def _slice(slice_type, source: ir.Value, axis: int, at: ir.Value, sizes) -> ir.Value:
    return tensor.extract_slice(slice_type, source, [at], sizes, [], *_placement(slice_type, axis))


def _insert(value: ir.Value, into: ir.Value, axis: int, at: ir.Value, sizes) -> ir.Value:
    return tensor.insert_slice(
        value, into, [at], sizes, [], *_placement(lb.ranked(value.type), axis)
    )
