"""Builders shared by the lowering rules: linalg on tensors from shapes, maps and a body.

Every elementwise, broadcasting and reduction lowering is one `linalg.generic` built by
`generic(...)`; broadcasting is expressed in the indexing maps (a size-1 or missing operand
dimension reads index 0 or is dropped), so no broadcast is ever materialized. The scalar
helpers (`add`, `mul`, `zero`, ...) pick the float or integer arith op from the element type.

All builders need an active Context, Location and InsertionPoint (the lowering pass provides
them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager

from mlir import ir
from mlir.dialects import arith, linalg, tensor

PARALLEL = "parallel"
REDUCTION = "reduction"


def is_float(element: ir.Type) -> bool:
    return isinstance(element, (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type))


def ranked(value_or_type) -> ir.RankedTensorType:
    t = value_or_type.type if isinstance(value_or_type, ir.Value) else value_or_type
    return ir.RankedTensorType(t)


# ------------------------------------------------------------------------------------------
# Scalars (inside a linalg.generic body)
# ------------------------------------------------------------------------------------------


def scalar_constant(element: ir.Type, value: float) -> ir.Value:
    if is_float(element):
        return arith.constant(element, ir.FloatAttr.get(element, float(value)))
    return arith.constant(element, ir.IntegerAttr.get(element, int(value)))


def zero(element: ir.Type) -> ir.Value:
    return scalar_constant(element, 0)


def add(a: ir.Value, b: ir.Value) -> ir.Value:
    return arith.addf(a, b) if is_float(a.type) else arith.addi(a, b)


def sub(a: ir.Value, b: ir.Value) -> ir.Value:
    return arith.subf(a, b) if is_float(a.type) else arith.subi(a, b)


def mul(a: ir.Value, b: ir.Value) -> ir.Value:
    return arith.mulf(a, b) if is_float(a.type) else arith.muli(a, b)


def div(a: ir.Value, b: ir.Value) -> ir.Value:
    return arith.divf(a, b) if is_float(a.type) else arith.divsi(a, b)


def neg(a: ir.Value) -> ir.Value:
    return arith.negf(a) if is_float(a.type) else arith.subi(zero(a.type), a)


def maximum(a: ir.Value, b: ir.Value) -> ir.Value:
    """max(a, b); NaN-propagating for floats, like numpy's `maximum`."""
    return arith.maximumf(a, b) if is_float(a.type) else arith.maxsi(a, b)


def minimum(a: ir.Value, b: ir.Value) -> ir.Value:
    """min(a, b); NaN-propagating for floats, like numpy's `minimum`."""
    return arith.minimumf(a, b) if is_float(a.type) else arith.minsi(a, b)


def lowest(element: ir.Type) -> ir.Value:
    """The identity of `maximum`: -inf for floats, the most negative integer otherwise."""
    if is_float(element):
        return scalar_constant(element, float("-inf"))
    return scalar_constant(element, -(2 ** (ir.IntegerType(element).width - 1)))


def sign(a: ir.Value) -> ir.Value:
    """1 where a > 0, -1 where a < 0, else a itself (0, -0, NaN), like numpy's `sign`."""
    if is_float(a.type):
        negative = arith.cmpf(arith.CmpFPredicate.OLT, a, zero(a.type))
    else:
        negative = arith.cmpi(arith.CmpIPredicate.slt, a, zero(a.type))
    minus_one = arith.select(negative, scalar_constant(a.type, -1), a)
    return arith.select(greater_than_zero(a), scalar_constant(a.type, 1), minus_one)


def convert(a: ir.Value, target: ir.Type) -> ir.Value:
    """`a` converted to the element type `target` (floats and signed integers of 16 bits or
    more), as numpy's `astype` does: float to integer truncates toward zero."""
    source = a.type
    if source == target:
        return a
    if is_float(source) and is_float(target):
        return (arith.extf if _width(target) > _width(source) else arith.truncf)(target, a)
    if is_float(source):
        return arith.fptosi(target, a)
    if is_float(target):
        return arith.sitofp(target, a)
    return (arith.extsi if _width(target) > _width(source) else arith.trunci)(target, a)


def _width(element: ir.Type) -> int:
    if is_float(element):
        return ir.FloatType(element).width
    return ir.IntegerType(element).width


def greater_than_zero(a: ir.Value) -> ir.Value:
    """a > 0 as an i1 (false for NaN)."""
    if is_float(a.type):
        return arith.cmpf(arith.CmpFPredicate.OGT, a, zero(a.type))
    return arith.cmpi(arith.CmpIPredicate.sgt, a, zero(a.type))


# ------------------------------------------------------------------------------------------
# Tensors
# ------------------------------------------------------------------------------------------


# The batch size of the function being lowered, as an `index` value, while its types have a
# dynamic (`?`) dimension: a program compiled for a dynamic batch (compiler/dynamic_batch.py)
# has one dynamic size, the batch, so every `?` a rule builds is this value. Set by the pass
# (`convert-ms-to-linalg`) around each rule.
_BATCH: list[ir.Value | None] = [None]


@contextmanager
def batch_size(value: ir.Value | None):
    """Makes `value` the batch size that the builders give a `?` dimension, inside the block."""
    saved, _BATCH[0] = _BATCH[0], value
    try:
        yield
    finally:
        _BATCH[0] = saved


def sizes(shaped: ir.ShapedType) -> list[int | ir.Value]:
    """The dimensions of `shaped`, the batch size value in place of each dynamic one."""
    dims = list(shaped.shape)
    if ir.ShapedType.get_dynamic_size() not in dims:
        return dims
    if _BATCH[0] is None:
        raise ValueError(f"{shaped} has a dynamic dimension outside a dynamic-batch function")
    return [_BATCH[0] if ir.ShapedType.is_dynamic_size(d) else d for d in dims]


def dim(value: ir.Value, axis: int) -> int | ir.Value:
    """Dimension `axis` of the tensor `value`: its static size, or `tensor.dim` of a dynamic
    one (the batch, or a dim merged with it)."""
    size = ranked(value).shape[axis]
    if not ir.ShapedType.is_dynamic_size(size):
        return size
    return tensor.dim(value, arith.constant(ir.IndexType.get(), axis))


def empty(result_type: ir.RankedTensorType) -> ir.Value:
    return tensor.empty(sizes(result_type), result_type.element_type)


def transpose(x: ir.Value, permutation: Sequence[int]) -> ir.Value:
    """x's dims permuted (dim i of the result is x's dim `permutation[i]`): a `linalg.transpose`
    into a new tensor."""
    x_type = ranked(x)
    shape = [x_type.shape[d] for d in permutation]
    init = empty(ir.RankedTensorType.get(shape, x_type.element_type))
    return linalg.transpose(x, outs=[init], permutation=list(permutation)).results[0]


def zeros(result_type: ir.RankedTensorType) -> ir.Value:
    """A tensor of zeros in destination-passing style: `linalg.fill` of a `tensor.empty`."""
    fill = linalg.FillOp(
        result_tensors=[result_type],
        inputs=[zero(result_type.element_type)],
        outputs=[empty(result_type)],
    )
    linalg.fill_builtin_region(fill.operation)
    return fill.results[0]


def broadcast_map(operand_shape: Sequence[int], result_shape: Sequence[int]) -> ir.AffineMap:
    """The indexing map reading an operand broadcast (numpy rule) to `result_shape`.

    Operand dims align to the right; a size-1 dim that the result stretches reads index 0.
    `tensor<3xf32>` into `2x3`: `(d0, d1) -> (d1)`; `tensor<1x3xf32>`: `(d0, d1) -> (0, d1)`.
    """
    rank = len(result_shape)
    offset = rank - len(operand_shape)
    exprs = []
    for i, size in enumerate(operand_shape):
        if size == 1 and result_shape[offset + i] != 1:
            exprs.append(ir.AffineConstantExpr.get(0))
        else:
            exprs.append(ir.AffineDimExpr.get(offset + i))
    return ir.AffineMap.get(rank, 0, exprs)


def generic(
    inputs: Sequence[ir.Value],
    init: ir.Value,
    indexing_maps: Sequence[ir.AffineMap],
    iterator_types: Sequence[str],
    body: Callable[..., ir.Value],
) -> ir.Value:
    """One `linalg.generic` with one output; `body(*input_scalars, output_scalar)` returns the
    scalar to yield."""
    op = linalg.GenericOp(
        result_tensors=[init.type],
        inputs=list(inputs),
        outputs=[init],
        indexing_maps=maps_attribute(indexing_maps),
        iterator_types=iterators_attribute(iterator_types),
    )
    element_types = [ranked(v).element_type for v in [*inputs, init]]
    block = op.regions[0].blocks.append(*element_types)
    with ir.InsertionPoint(block):
        linalg.YieldOp([body(*block.arguments)])
    return op.results[0]


def maps_attribute(indexing_maps: Sequence[ir.AffineMap]) -> ir.ArrayAttr:
    """A linalg op's `indexing_maps` attribute."""
    return ir.ArrayAttr.get([ir.AffineMapAttr.get(m) for m in indexing_maps])


def iterators_attribute(iterator_types: Sequence[str]) -> ir.ArrayAttr:
    """A linalg.generic's `iterator_types` attribute ("parallel", "reduction")."""
    return ir.ArrayAttr.get(
        [ir.Attribute.parse(f"#linalg.iterator_type<{it}>") for it in iterator_types]
    )


def elementwise(
    result_type: ir.Type, inputs: Sequence[ir.Value], body: Callable[..., ir.Value]
) -> ir.Value:
    """`body` applied elementwise to `inputs` broadcast (numpy rule) to `result_type`.

    `body` takes one scalar per input (the output scalar is not passed)."""
    result_type = ranked(result_type)
    shape = list(result_type.shape)
    maps = [broadcast_map(ranked(v).shape, shape) for v in inputs]
    maps.append(ir.AffineMap.get_identity(len(shape)))
    return generic(
        inputs,
        empty(result_type),
        maps,
        [PARALLEL] * len(shape),
        lambda *scalars: body(*scalars[: len(inputs)]),
    )


def full(result_type: ir.RankedTensorType, value: ir.Value) -> ir.Value:
    """A tensor filled with the scalar `value`: `linalg.fill` of a `tensor.empty`."""
    fill = linalg.FillOp(result_tensors=[result_type], inputs=[value], outputs=[empty(result_type)])
    linalg.fill_builtin_region(fill.operation)
    return fill.results[0]


def reduce_sum(x: ir.Value, axes: Sequence[int]) -> ir.Value:
    """The sum of `x` over `axes`, the reduced dims dropped (`linalg.generic`, zero-filled
    accumulator)."""
    return reduce(x, axes, zero, add)


def reduce_max(x: ir.Value, axes: Sequence[int]) -> ir.Value:
    """The maximum of `x` over `axes` (NaN-propagating), the reduced dims dropped; the
    accumulator starts at -inf (the lowest integer for integers)."""
    return reduce(x, axes, lowest, maximum)


def reduce(
    x: ir.Value,
    axes: Sequence[int],
    identity: Callable[[ir.Type], ir.Value],
    combine: Callable[[ir.Value, ir.Value], ir.Value],
) -> ir.Value:
    """`combine` folded over `axes` of `x` (a reducing `linalg.generic`), the reduced dims
    dropped; the accumulator is filled with `identity(element type)`."""
    source = ranked(x)
    rank = source.rank
    kept = [d for d in range(rank) if d not in axes]
    result_type = ir.RankedTensorType.get([source.shape[d] for d in kept], source.element_type)
    maps = [
        ir.AffineMap.get_identity(rank),
        ir.AffineMap.get(rank, 0, [ir.AffineDimExpr.get(d) for d in kept]),
    ]
    iterators = [REDUCTION if d in axes else PARALLEL for d in range(rank)]
    init = full(result_type, identity(source.element_type))
    return generic([x], init, maps, iterators, lambda a, acc: combine(acc, a))


def reshape(x: ir.Value, result_type: ir.Type) -> ir.Value:
    """A reshape (same element count, row-major) as collapse_shape to 1-D then expand_shape:
    both bufferize to views, no copy. With dynamic dims, each group of dims that hold the same
    elements is collapsed and expanded on its own (`_reshape_groups`), so that no group of the
    expand has two `?` (which MLIR cannot lower); failing that, the one `?` of the target is
    what its static dims leave of the size (a dim merged with the batch inside a lowering, such
    as a convolution's N*OH*OW columns)."""
    source, target = ranked(x), ranked(result_type)
    if list(source.shape) == list(target.shape):
        return x
    if not (source.has_static_shape and target.has_static_shape):
        groups = _reshape_groups(source.shape, target.shape)
        if groups is None:  # through 1-D: one group each
            if sum(ir.ShapedType.is_dynamic_size(d) for d in target.shape) > 1:
                raise ValueError(f"cannot reshape {source} to {target}: its `?` do not line up")
            groups = [list(range(source.rank))], [list(range(target.rank))]
        return _regroup(x, target, *groups)
    flat = x
    if source.rank == 0:
        flat_type = ir.RankedTensorType.get([1], source.element_type)
        flat = tensor.expand_shape(flat_type, x, ir.ArrayAttr.get([]), [], [1])
    elif source.rank > 1:
        size = product(source.shape)
        flat_type = ir.RankedTensorType.get([size], source.element_type)
        flat = tensor.collapse_shape(flat_type, x, reassociation([list(range(source.rank))]))
    if target.rank == 0:
        return tensor.collapse_shape(target, flat, ir.ArrayAttr.get([]))
    if target.rank == 1:
        return flat
    return tensor.expand_shape(
        target, flat, reassociation([list(range(target.rank))]), [], list(target.shape)
    )


def _reshape_groups(source, target):
    """(source groups, target groups): consecutive dims of each shape holding the same elements,
    a `?` counted as the batch B (a size S * B**k matches only S * B**k), each target group with
    at most one `?`; or None when the shapes do not line up so. (A `?` may be a multiple of the
    batch, `ms.batch_multiple`; where source and target hold different multiples their static
    sizes differ in total, so the groups never all match: None.)"""

    def size(dims):
        dims = list(dims)  # read twice
        dynamic = sum(1 for d in dims if ir.ShapedType.is_dynamic_size(d))
        return dynamic, product(d for d in dims if not ir.ShapedType.is_dynamic_size(d))

    source, target = list(source), list(target)
    if not source or not target:
        return None
    groups_s, groups_t, i, j = [], [], 0, 0
    while i < len(source) and j < len(target):
        group_s, group_t = [i], [j]
        i, j = i + 1, j + 1
        while (held := size(source[k] for k in group_s)) != size(target[k] for k in group_t):
            if held < size(target[k] for k in group_t):
                if i == len(source):
                    return None
                group_s.append(i)
                i += 1
            else:
                if j == len(target):
                    return None
                group_t.append(j)
                j += 1
        groups_s.append(group_s)
        groups_t.append(group_t)
    # trailing size-1 dims join the last group
    if any(d != 1 for d in source[i:]) or any(d != 1 for d in target[j:]):
        return None
    groups_s[-1] += range(i, len(source))
    groups_t[-1] += range(j, len(target))
    if any(size(target[k] for k in group)[0] > 1 for group in groups_t):
        return None
    return groups_s, groups_t


def _regroup(x: ir.Value, target: ir.RankedTensorType, groups_s, groups_t) -> ir.Value:
    """x collapsed by `groups_s`, then expanded by `groups_t` into `target`."""
    source = ranked(x)
    collapsed_shape = [product(source.shape[k] for k in group) for group in groups_s]
    collapsed = x
    if len(collapsed_shape) != source.rank:
        collapsed_type = ir.RankedTensorType.get(collapsed_shape, source.element_type)
        collapsed = tensor.collapse_shape(collapsed_type, x, reassociation(groups_s))
    if len(collapsed_shape) == target.rank:
        return collapsed
    given = []
    for position, group in enumerate(groups_t):
        dims = [target.shape[k] for k in group]
        if any(ir.ShapedType.is_dynamic_size(d) for d in dims):  # its one `?`: the rest's share
            static = product(d for d in dims if not ir.ShapedType.is_dynamic_size(d))
            total = dim(collapsed, position)
            if static != 1:
                total = arith.divui(total, arith.constant(ir.IndexType.get(), static))
            given.append(total)
    return tensor.expand_shape(
        target, collapsed, reassociation(groups_t), given, list(target.shape)
    )


def product(dims) -> int:
    """The product of sizes, kDynamic when one of them is (a dim merged with the batch)."""
    dims = list(dims)
    if any(ir.ShapedType.is_dynamic_size(d) for d in dims):
        return ir.ShapedType.get_dynamic_size()
    total = 1
    for d in dims:
        total *= d
    return total


def reassociation(groups: Sequence[Sequence[int]]) -> ir.ArrayAttr:
    """The reassociation attribute of a tensor.expand_shape or collapse_shape: groups of dims."""
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get(
        [ir.ArrayAttr.get([ir.IntegerAttr.get(i64, d) for d in group]) for group in groups]
    )
