"""Reductions along the innermost axis, accumulated in vector lanes, on the CPU.

Contract
- `cpu-reduce-in-lanes` (linalg on tensors, after elementwise fusion, before the parallel
  blocks): a `linalg.generic` of LANE_ELEMENTS iterations or more whose innermost loop is a
  reduction over E elements, E a multiple of LANES, becomes two:
  - partial[..., l] = the reduction, over the other reduced loops and e < E / LANES, of the
    body at element e * LANES + l: each of the LANES lanes accumulates its own elements in
    their original order, into its own partial result (initialized to the combiner's
    identity). The lane loop is the innermost one and parallel, so LLVM vectorizes it without
    reassociating anything;
  - out = init (+) partial[..., 0] (+) ... (+) partial[..., LANES - 1], with the body's
    combiner (+): addf, mulf, maximumf, minimumf, maxnumf or minnumf.
  It applies when the body combines the output with one value (`yield combiner(out, v)`), every
  input reads the innermost loop, if at all, as its own innermost axis (which is split in
  (E / LANES, LANES) by a `tensor.expand_shape`), and the body does not read that loop's index.
- Why: LLVM will not vectorize a float reduction it would have to reassociate, so a batch
  norm's per-channel sums over (N, H, W), or a loss summed over a whole tensor, ran one
  dependent add at a time (about 0.15 ms for 2**17 floats).
- Every sum's order is set by LANES, not by the CPU's vector width or the thread count, so
  results stay the same bits on every CPU level and for every thread count; they are not the
  bits of the serial order. Small reductions (fewer than LANE_ELEMENTS iterations) keep the
  serial order, so that the tutorials' printed values stay exact.
"""

from __future__ import annotations

import math

from mlir import ir
from mlir.dialects import linalg, tensor

from cellc.compiler.ops import linalg_builders as lb

from .parallel_loops import loop_ranges, ops_named

LANES = 16
LANE_ELEMENTS = 1 << 14
# combiner -> its identity (the partial results' initial value)
COMBINERS = {
    "arith.addf": 0.0,
    "arith.mulf": 1.0,
    "arith.maximumf": -math.inf,
    "arith.minimumf": math.inf,
    "arith.maxnumf": -math.inf,
    "arith.minnumf": math.inf,
}


def reduce_in_lanes(module: ir.Module) -> None:
    """Rewrites every reduction that qualifies (see the module's contract), in place."""
    with module.context:
        for op in ops_named(module, "linalg.generic"):
            combiner = _combiner(op)
            if combiner is not None:
                with ir.InsertionPoint(op), op.location:
                    reduced = _in_lanes(op, combiner)
                op.results[0].replace_all_uses_with(reduced)
                op.erase()


def _combiner(op: ir.Operation) -> ir.Operation | None:
    """The op combining the output with each value, if `op` qualifies, else None."""
    kinds = list(op.attributes["iterator_types"])
    if len(op.results) != 1 or not kinds or "reduction" not in str(kinds[-1]):
        return None
    ranges = loop_ranges(op)
    if ranges is None or ir.ShapedType.is_dynamic_size(ranges[-1]):
        return None
    extent, innermost = ranges[-1], len(ranges) - 1
    # a dynamic (batch) loop counts as large
    static = [size for size in ranges if not ir.ShapedType.is_dynamic_size(size)]
    if extent % LANES or (len(static) == len(ranges) and math.prod(static) < LANE_ELEMENTS):
        return None
    element = lb.ranked(op.results[0]).element_type
    if not isinstance(element, (ir.F32Type, ir.F64Type)):
        return None
    maps = [ir.AffineMapAttr(attr).value for attr in op.attributes["indexing_maps"]]
    for affine_map in maps:
        dims = [expr for expr in affine_map.results if isinstance(expr, ir.AffineDimExpr)]
        if len(dims) != len(affine_map.results):
            return None
        reads = [i for i, expr in enumerate(dims) if expr.position == innermost]
        if reads and reads != [len(dims) - 1]:
            return None
    if innermost in _positions(maps[-1]):
        return None
    block = op.regions[0].blocks[0]
    for inner in block.operations:
        if len(inner.regions):
            return None
        if inner.name == "linalg.index" and ir.IntegerAttr(inner.attributes["dim"]).value == (
            innermost
        ):
            return None
    out = block.arguments[len(block.arguments) - 1]
    uses = list(out.uses)
    yielded = list(block.operations)[-1].operands[0].owner
    if len(uses) != 1 or uses[0].owner != yielded or yielded.name not in COMBINERS:
        return None
    return yielded


def _positions(affine_map: ir.AffineMap) -> list[int]:
    return [ir.AffineDimExpr(expr).position for expr in affine_map.results]


def _in_lanes(op: ir.Operation, combiner: ir.Operation) -> ir.Value:
    maps = [ir.AffineMapAttr(attr).value for attr in op.attributes["indexing_maps"]]
    loops = maps[0].n_dims
    innermost = loops - 1  # keeps its number as the loop over e; the lane loop comes after it
    dims = [ir.AffineDimExpr.get(d) for d in range(loops + 1)]
    inputs, new_maps = [], []
    for value, affine_map in zip(op.operands[:-1], maps[:-1]):
        positions = _positions(affine_map)
        results = [dims[p] for p in positions]
        if positions and positions[-1] == innermost:
            value = _split_innermost(value)
            results.append(dims[loops])
        inputs.append(value)
        new_maps.append(ir.AffineMap.get(loops + 1, 0, results))
    init = op.operands[-1]
    out_type = lb.ranked(init)
    lanes_type = ir.RankedTensorType.get([*out_type.shape, LANES], out_type.element_type)
    identity = lb.scalar_constant(out_type.element_type, COMBINERS[combiner.name])
    partial_init = linalg.fill(
        identity, outs=[tensor.empty(_sizes(init) + [LANES], out_type.element_type)]
    )
    out_results = [dims[p] for p in _positions(maps[-1])] + [dims[loops]]
    out_map = ir.AffineMap.get(loops + 1, 0, out_results)
    (lane_loop,) = lb.iterators_attribute([lb.PARALLEL])
    partial = linalg.GenericOp(
        result_tensors=[lanes_type],
        inputs=inputs,
        outputs=[partial_init],
        indexing_maps=lb.maps_attribute(new_maps + [out_map]),
        iterator_types=ir.ArrayAttr.get([*op.attributes["iterator_types"], lane_loop]),
    )
    old = op.regions[0].blocks[0]
    new = partial.regions[0].blocks.append(*[argument.type for argument in old.arguments])
    _move_body(old, new)
    rank = out_type.rank
    lanes_maps = [ir.AffineMap.get_identity(rank + 1), ir.AffineMap.get(rank + 1, 0, dims[:rank])]

    def combine(lane, acc):
        combined = ir.Operation.create(combiner.name, results=[acc.type], operands=[acc, lane])
        return combined.results[0]

    return lb.generic(
        [partial.results[0]], init, lanes_maps, [lb.PARALLEL] * rank + [lb.REDUCTION], combine
    )


def _move_body(old: ir.Block, new: ir.Block) -> None:
    """Moves the ops of `old` to the empty `new`, its arguments' uses to `new`'s."""
    operations = list(old.operations)
    with ir.InsertionPoint(new):
        anchor = linalg.YieldOp([])
    for inner in operations:
        inner.operation.move_before(anchor)
    anchor.operation.erase()
    for before, after in zip(old.arguments, new.arguments):
        before.replace_all_uses_with(after)


def _sizes(value: ir.Value) -> list:
    """The sizes of a tensor: ints, and its tensor.dim where dynamic (a dynamic batch)."""
    return [lb.dim(value, axis) for axis in range(lb.ranked(value).rank)]


def _split_innermost(value: ir.Value) -> ir.Value:
    """x (..., E) viewed as (..., E / LANES, LANES)."""
    x_type = lb.ranked(value)
    shape = list(x_type.shape)
    rank = len(shape)
    split = shape[:-1] + [shape[-1] // LANES, LANES]
    dynamic = [size for size in _sizes(value) if isinstance(size, ir.Value)]
    i64 = ir.IntegerType.get_signless(64)
    groups = [[d] for d in range(rank - 1)] + [[rank - 1, rank]]
    reassociation = ir.ArrayAttr.get(
        [ir.ArrayAttr.get([ir.IntegerAttr.get(i64, d) for d in group]) for group in groups]
    )
    result = ir.RankedTensorType.get(split, x_type.element_type)
    return tensor.expand_shape(result, value, reassociation, dynamic, split)
