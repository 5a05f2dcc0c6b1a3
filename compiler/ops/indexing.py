"""Indexing: strided_slice, pad (its transpose), gather and gather_grad (its transpose).

Every lowering is one `linalg.generic` (no tensor.extract_slice/insert_slice: their views
bufferize to strided copies that the CPU back end would call `memrefCopy` for, and that the
GPU back end does not map onto threads). A strided slice reads x at `start + i * stride`
with `tensor.extract` (counting down for a negative stride); a pad computes, for each result
element, whether it falls on x's grid and reads x there with `tensor.extract`. A gather is a
`linalg.generic` over the result that reads x with `tensor.extract` at the gathered index;
its transpose, scatter-add, is a reducing `linalg.generic` over (result, indices) that adds
`ct` where the index matches: O(size * indices) work, no atomics, the same code on the GPU;
the CPU back end makes it a loop over the indices (`cpu-scatter-adds`).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, linalg, tensor

from cellc.compiler.autodiff.rules import deflinear
from cellc.compiler.dynamic_batch import DynamicBatchError
from cellc.dialects import ms

from . import linalg_builders as lb
from .registry import dynamic_batch, lowering, vjp

# --------------------------------------------------------------------------------------------
# strided_slice and pad
# --------------------------------------------------------------------------------------------


@lowering(ms.StridedSliceOp)
def lower_strided_slice(op, x, *, start, sizes, strides):
    """ms.strided_slice(x) -> linalg.generic over the result{tensor.extract x[start + i * stride]}

    (Not an input indexing map `start + i * stride`: linalg infers loop ranges from the first
    operand a loop dim indexes, which would be x, not the smaller result.)"""
    result_type = lb.ranked(op.results[0].type)
    rank = result_type.rank

    def body(_):
        index_type = ir.IndexType.get()
        coordinates = []
        for d in range(rank):
            offset = arith.muli(linalg.IndexOp(d).result, arith.constant(index_type, strides[d]))
            coordinates.append(arith.addi(offset, arith.constant(index_type, start[d])))
        return tensor.extract(x, coordinates)

    maps = [ir.AffineMap.get_identity(rank)]
    return lb.generic([], lb.empty(result_type), maps, [lb.PARALLEL] * rank, body)


def _slice_transpose(ct, x, *, start, sizes, strides):
    """The VJP of a strided slice: ct padded back to x's shape (zeros between and around).
    Along a negative stride the elements run backwards, so ct is reversed there first."""
    shape = ms.spec_of(x).shape
    if any(s < 0 for s in strides):
        ct = ms.strided_slice(
            ct,
            start=tuple(n - 1 if s < 0 and n else 0 for n, s in zip(sizes, strides)),
            sizes=tuple(sizes),
            strides=tuple(-1 if s < 0 else 1 for s in strides),
        )
    padding = [_padding(d, b, n, s) for d, b, n, s in zip(shape, start, sizes, strides)]
    low, high, interior = (tuple(column) for column in zip(*padding)) if padding else ((),) * 3
    return ms.pad(ct, low=low, high=high, interior=interior)


def _padding(dim: int, start: int, size: int, stride: int) -> tuple[int, int, int]:
    """(low, high, interior) putting `size` elements back where a slice took them."""
    if size == 0:
        return 0, dim, 0
    first = start if stride > 0 else start + (size - 1) * stride  # the lowest position
    last = first + (size - 1) * abs(stride)
    return first, dim - last - 1, abs(stride) - 1


deflinear(ms.StridedSliceOp, _slice_transpose)


@lowering(ms.PadOp)
def lower_pad(op, x, *, low, high, interior):
    """ms.pad(x) -> linalg.generic over the result{p on x's grid ? tensor.extract x : 0}

    Position p of a dim holds x[(p - low) / (interior + 1)] when that divides evenly and is
    in range; the index read is clamped into x, so every load is in bounds."""
    result_type = lb.ranked(op.results[0].type)
    shape = lb.ranked(x).shape
    if 0 in shape:
        return lb.zeros(result_type)
    rank = result_type.rank
    index_type = ir.IndexType.get()
    bounds = [lb.dim(x, d) for d in range(len(shape))]  # a dynamic batch: x's own size

    def body(_):
        inside, coordinates = None, []
        for d in range(rank):
            position = arith.subi(linalg.IndexOp(d).result, arith.constant(index_type, low[d]))
            step = arith.constant(index_type, interior[d] + 1)
            source = arith.divsi(position, step)
            on_grid = arith.andi(
                arith.cmpi(
                    arith.CmpIPredicate.eq,
                    arith.remsi(position, step),
                    arith.constant(index_type, 0),
                ),
                arith.andi(
                    arith.cmpi(arith.CmpIPredicate.sge, position, arith.constant(index_type, 0)),
                    arith.cmpi(arith.CmpIPredicate.slt, source, _index_value(bounds[d])),
                ),
            )
            inside = on_grid if inside is None else arith.andi(inside, on_grid)
            coordinates.append(arith.select(on_grid, source, arith.constant(index_type, 0)))
        value = tensor.extract(x, coordinates)
        if inside is None:  # 0-d: the value itself
            return value
        return arith.select(inside, value, lb.zero(value.type))

    maps = [ir.AffineMap.get_identity(rank)]
    return lb.generic([], lb.empty(result_type), maps, [lb.PARALLEL] * rank, body)


def _index_value(size: int | ir.Value) -> ir.Value:
    return size if isinstance(size, ir.Value) else arith.constant(ir.IndexType.get(), size)


def _pad_transpose(ct, x, *, low, high, interior):
    """The VJP of a pad: the strided slice of ct where x's elements went."""
    shape = ms.spec_of(x).shape
    return ms.strided_slice(
        ct,
        start=tuple(low[d] if shape[d] else 0 for d in range(len(shape))),
        sizes=tuple(shape),
        strides=tuple(i + 1 for i in interior),
    )


deflinear(ms.PadOp, _pad_transpose)


# --------------------------------------------------------------------------------------------
# gather and its transpose
# --------------------------------------------------------------------------------------------


def wrapped_index(index: ir.Value, size: int) -> tuple[ir.Value, ir.Value]:
    """(index counted from the end when negative, as an `index`; whether it is in range)."""
    zero = lb.zero(index.type)
    bound = lb.scalar_constant(index.type, size)
    negative = arith.cmpi(arith.CmpIPredicate.slt, index, zero)
    wrapped = arith.select(negative, arith.addi(index, bound), index)
    in_range = arith.andi(
        arith.cmpi(arith.CmpIPredicate.sge, wrapped, zero),
        arith.cmpi(arith.CmpIPredicate.slt, wrapped, bound),
    )
    safe = arith.select(in_range, wrapped, zero)
    return arith.index_cast(ir.IndexType.get(), safe), in_range


@lowering(ms.GatherOp)
def lower_gather(op, x, indices, *, axis):
    """ms.gather(x, i) -> linalg.generic over the result{tensor.extract x[.., i[j], ..]},
    zero where i[j] is out of range"""
    result_type = lb.ranked(op.results[0].type)
    rank, k = result_type.rank, lb.ranked(indices).rank
    size = lb.ranked(x).shape[axis]
    if ir.ShapedType.is_dynamic_size(size):
        raise DynamicBatchError(
            f"cannot compile for a dynamic batch dimension: 'ms.gather' along the batch "
            f"({lb.ranked(x)}, axis {axis}); compile for a static batch size instead"
        )
    index_map = ir.AffineMap.get(rank, 0, [ir.AffineDimExpr.get(axis + j) for j in range(k)])
    maps = [index_map, ir.AffineMap.get_identity(rank)]

    def body(index, _):
        position, in_range = wrapped_index(index, size)
        loops = [linalg.IndexOp(d).result for d in range(rank)]
        coordinates = loops[:axis] + [position] + loops[axis + k :]
        value = tensor.extract(x, coordinates)
        return arith.select(in_range, value, lb.zero(value.type))

    return lb.generic([indices], lb.empty(result_type), maps, [lb.PARALLEL] * rank, body)


@vjp(ms.GatherOp)
def vjp_gather(ct, x, indices, *, out, axis):
    """d gather(x, i) = (gather_grad(ct, i), none): each slice of ct added back at its index."""
    size = ms.spec_of(x).shape[axis]
    return [ms.gather_grad(ct, indices, axis=axis, size=size), None]


# On gather_grad's generic: the axis it scatters along. The CPU back end rewrites the generic
# into a loop over the indices (compiler/lowering/scatter_adds.py: O(indices) work, not
# O(size * indices)); the GPU back end keeps it.
SCATTER_ADD_ATTR = "cellc.scatter_add"


@lowering(ms.GatherGradOp)
def lower_gather_grad(op, ct, indices, *, axis, size):
    """ms.gather_grad(ct, i) -> linalg.generic over (result dims, index dims) reducing the
    index dims{acc + (i[j] == p ? ct : 0)} into zeros, marked cellc.scatter_add = axis"""
    result_type = lb.ranked(op.results[0].type)
    rank, k = result_type.rank, lb.ranked(indices).rank
    loops = rank + k  # the result's dims, then the indices' dims (reduced)
    dims = [ir.AffineDimExpr.get(d) for d in range(loops)]
    index_dims = dims[rank:]
    ct_map = ir.AffineMap.get(loops, 0, dims[:axis] + index_dims + dims[axis + 1 : rank])
    maps = [
        ct_map,
        ir.AffineMap.get(loops, 0, index_dims),
        ir.AffineMap.get(loops, 0, dims[:rank]),
    ]
    iterators = [lb.PARALLEL] * rank + [lb.REDUCTION] * k

    def body(value, index, acc):
        position, in_range = wrapped_index(index, size)
        here = arith.cmpi(arith.CmpIPredicate.eq, position, linalg.IndexOp(axis).result)
        hit = arith.andi(here, in_range)
        return lb.add(acc, arith.select(hit, value, lb.zero(value.type)))

    result = lb.generic([ct, indices], lb.zeros(result_type), maps, iterators, body)
    result.owner.attributes[SCATTER_ADD_ATTR] = ir.IntegerAttr.get(
        ir.IntegerType.get_signless(64), axis
    )
    return result


@vjp(ms.GatherGradOp)
def vjp_gather_grad(ct, ct_in, indices, *, out, axis, size):
    """gather_grad is linear in its first operand; its transpose is gather."""
    return [ms.gather(ct, indices, axis=axis), None]


# A `?` of their results is the batch (lb.empty); a strided slice's `sizes` along it follow the
# result (compiler/dynamic_batch.py); a gather refuses to gather along it.
dynamic_batch(ms.StridedSliceOp, ms.PadOp, ms.GatherOp, ms.GatherGradOp)
