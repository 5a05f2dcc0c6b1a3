"""Register tiles of a dynamic number of rows, specialized to each row count they may have.

At a dynamic batch (or in the last cache block of a static one), a matmul's register tiles are
full MT-row tiles and one last tile of the rows left, fewer than MT, how many known only at run
time. Cut into 1-row tiles (REGISTER_SCHEDULE), that tail reads each row of B once per row where
a static tile reads it once for all its rows.

Contract
- `specialize_ragged_rows(module, rows, tag, min_depth)`: each linalg.matmul tagged `tag` (a
  tile whose rows are dynamic) with a static reduction of `min_depth` or more, whose only user
  inserts it into its loop's result, becomes an `scf.index_switch` over its row count: a case
  for each count from 1 to `rows - 1`, in which the tile is a static one of that many rows (its
  operands cast to the static shape) inserted into the loop's result, and a default that is the
  tile and its insert as they were, tag kept (cut into rows by REGISTER_SCHEDULE; no other count
  occurs, but the default is right for any). Each case is then tiled and vectorized as every
  static tile is; the switch costs a compare-and-branch per tile. Shallower tiles are left as
  they are: their rows cost little, and each switch is five more kernels to compile.

Measured (the small MLP gradient at a dynamic batch of 64, both builds in one process, timed
in alternating rounds): 3-5% less time than the tail cut into rows; a LeNet step at a dynamic
batch compiled 20% slower with every tail specialized, 5% with `min_depth` 64.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, scf, tensor

from .parallel_guards import indexing_maps
from .parallel_loops import ops_named


def specialize_ragged_rows(module: ir.Module, rows: int, tag: str, min_depth: int) -> None:
    with module.context, ir.Location.unknown():
        for op in ops_named(module, "linalg.matmul"):
            if tag in op.attributes and _depth(op) >= min_depth:
                _switch_on_rows(op, range(1, rows), tag)


def _depth(op: ir.Operation) -> int:
    """The static extent of the matmul's reduction (its third loop), 0 if dynamic."""
    for operand, affine_map in zip(op.operands, indexing_maps(op)):
        for size, expr in zip(operand.type.shape, affine_map.results):
            if isinstance(expr, ir.AffineDimExpr) and expr.position == 2:
                return 0 if ir.ShapedType.is_dynamic_size(size) else size
    return 0


def _switch_on_rows(op: ir.Operation, counts: range, tag: str) -> None:
    """The switch, if `op`'s only user inserts it into a larger tensor (the tile's place in its
    loop's result): that insert goes into each case with it, so that every case yields the
    larger tensor, written in place (a case yielding the tile alone hides from bufferization
    that it is the slice the insert writes back, and each case copied it to a new buffer)."""
    result = op.results[0]
    users = [use.owner for use in result.uses]
    if len(users) != 1 or users[0].name != "tensor.insert_slice":
        return
    insert = users[0]
    if insert.operands[0] != result:
        return
    with ir.InsertionPoint(insert):
        count = tensor.dim(op.operands[-1], arith.constant(ir.IndexType.get(), 0))
        switch = scf.IndexSwitchOp([insert.results[0].type], count, list(counts))
    insert.results[0].replace_all_uses_with(switch.results[0])
    for index, rows in enumerate(counts):
        with ir.InsertionPoint(switch.case_block(index)):
            operands = [
                tensor.cast(_with_rows(operand.type, affine_map, rows), operand)
                for operand, affine_map in zip(op.operands, indexing_maps(op))
            ]
            tile = op.clone()
            del tile.attributes[tag]
            for position, operand in enumerate(operands):
                tile.operands[position] = operand
            tile.results[0].set_type(tile.operands[-1].type)
            inserted = insert.clone()
            inserted.operands[0] = tensor.cast(result.type, tile.results[0])
            scf.yield_([inserted.results[0]])
    with ir.InsertionPoint(switch.default_block):
        default_yield = scf.yield_([insert.results[0]])
    op.move_before(default_yield)
    insert.move_before(default_yield)


def _with_rows(type_: ir.RankedTensorType, affine_map: ir.AffineMap, rows: int) -> ir.Type:
    """`type_` with each dynamic axis that the first loop (the rows) indexes made `rows`."""
    shape = [
        rows
        if ir.ShapedType.is_dynamic_size(size)
        and isinstance(expr, ir.AffineDimExpr)
        and expr.position == 0
        else size
        for size, expr in zip(type_.shape, affine_map.results)
    ]
    return ir.RankedTensorType.get(shape, type_.element_type, type_.encoding)
