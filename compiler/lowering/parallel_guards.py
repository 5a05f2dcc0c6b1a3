"""Parallel loops of a dynamic batch's ops, decided at run time.

At compile time a dynamic (batch) size is taken to be a nominal one (linalg_to_llvm's
NOMINAL_BATCH, MATMUL_NOMINAL) to choose an op's schedule. Where that schedule cuts the op into
the blocks of a parallel `scf.forall`, the batch it runs at may make each block tiny (a 256 x ?
transpose at a batch of 64: four 64 x 64 blocks), and waking the thread pool then costs more
than the blocks (the small MLP's gradient at a dynamic batch of 64 made five parallel calls
where its static code made two, and took 1.16x its time on two threads, 1.08x on one).
So the decision the static code makes at compile time is made at run time:

Contract
- `guard(op, threshold)` (while planning, on tensors): before an op with dynamic sizes that a
  schedule will cut into parallel blocks, computes its size at run time (the product of its loop
  extents, a `tensor.dim` for each dynamic one), compares it with `threshold` (the size from
  which its static code would be parallel) and passes the result to a call of the marker
  `@__cellc_parallel_if(i1)` tagged `cellc.guard = ID`; the op is tagged `cellc.guarded = ID`.
  (A call, because a call to an unknown function is neither folded, merged nor erased by the
  passes in between.)
- `mark_guarded_foralls(module)` (after each schedule, linalg_to_llvm.apply_schedule): each
  `cellc.parallel` forall that holds a guarded op takes its ID (`cellc.guard`).
- `guard_conditions(func_op)` / `erase_markers(module)` (parallel_loops.py's outlining): each
  guard's condition, with which a guarded forall's tasks are dispatched to the pool or else run
  one after the other on the calling thread; then every marker is erased.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, func, tensor

MARKER = "__cellc_parallel_if"
GUARD_ATTR = "cellc.guard"
GUARDED_ATTR = "cellc.guarded"
PARALLEL_ATTR = "cellc.parallel"  # (parallel_loops.py's, defined here: it imports this module)
_COUNT_ATTR = "cellc.guards"  # on the marker's declaration: how many guards were made


def guard(op: ir.Operation, threshold: int) -> None:
    """Guards `op`'s parallel blocks by `its size at run time >= threshold`, if it has a dynamic
    size (see the module docstring); a static op's decision was exact at compile time."""
    static, dynamic = _loop_extents(op)
    if not dynamic:
        return
    declaration = _declare_marker(_module_of(op))
    index = ir.IndexType.get()
    with ir.InsertionPoint(op), op.location:
        size = arith.ConstantOp(index, static).result
        for source, axis in dynamic:
            extent = tensor.DimOp(source, arith.ConstantOp(index, axis).result).result
            size = arith.MulIOp(size, extent).result
        large = arith.CmpIOp(
            arith.CmpIPredicate.uge, size, arith.ConstantOp(index, threshold).result
        ).result
        call = func.CallOp([], ir.FlatSymbolRefAttr.get(MARKER), [large])
    i64 = ir.IntegerType.get_signless(64)
    identity = ir.IntegerAttr(declaration.attributes[_COUNT_ATTR]).value
    declaration.attributes[_COUNT_ATTR] = ir.IntegerAttr.get(i64, identity + 1)
    call.attributes[GUARD_ATTR] = ir.IntegerAttr.get(i64, identity)
    op.attributes[GUARDED_ATTR] = ir.IntegerAttr.get(i64, identity)


def mark_guarded_foralls(module: ir.Module) -> None:
    """Gives each `cellc.parallel` forall the guard of the first guarded op inside it."""
    if _marker_declaration(module.operation) is None:  # no guard made (static shapes)
        return

    def visit(op):
        if op.name == "scf.forall" and PARALLEL_ATTR in op.attributes:
            if GUARD_ATTR not in op.attributes:
                inner = _first_guarded(op)
                if inner is not None:
                    op.attributes[GUARD_ATTR] = inner.attributes[GUARDED_ATTR]
            return ir.WalkResult.SKIP
        return ir.WalkResult.ADVANCE

    with module.context:
        module.operation.walk(visit, ir.WalkOrder.PRE_ORDER)


def guard_conditions(func_op: ir.Operation) -> dict[int, ir.Value]:
    """The condition (i1) of each guard made in `func_op`, by its ID."""
    return {
        ir.IntegerAttr(call.attributes[GUARD_ATTR]).value: call.operands[0]
        for call in _markers(func_op)
    }


def guard_of(forall: ir.Operation, conditions: dict[int, ir.Value]) -> ir.Value | None:
    """The condition under which a forall runs in parallel (`guard_conditions`), or None."""
    if GUARD_ATTR not in forall.attributes:
        return None
    return conditions.get(ir.IntegerAttr(forall.attributes[GUARD_ATTR]).value)


def erase_markers(module: ir.Module) -> None:
    """Erases every marker call and its declaration, and the guard tags."""
    with module.context:
        declaration = _marker_declaration(module.operation)
        if declaration is None:
            return
        for call in _markers(module.operation):
            call.erase()
        declaration.erase()

        def visit(op):
            for name in (GUARD_ATTR, GUARDED_ATTR):
                if name in op.attributes:
                    del op.attributes[name]
            return ir.WalkResult.ADVANCE

        module.operation.walk(visit)


def _loop_extents(op: ir.Operation) -> tuple[int, list[tuple[ir.Value, int]]]:
    """(the product of the op's static loop extents, (operand, axis) giving each dynamic one)."""
    maps = indexing_maps(op)
    extents: dict[int, int | tuple[ir.Value, int]] = {}
    for operand, affine_map in zip(op.operands, maps):
        if not isinstance(operand.type, ir.RankedTensorType):
            continue
        for axis, (size, expr) in enumerate(zip(operand.type.shape, affine_map.results)):
            if not isinstance(expr, ir.AffineDimExpr) or isinstance(
                extents.get(expr.position), int
            ):
                continue
            dynamic = ir.ShapedType.is_dynamic_size(size)
            extents[expr.position] = (operand, axis) if dynamic else size
    static = 1
    dynamic_extents = []
    for extent in extents.values():
        if isinstance(extent, int):
            static *= extent
        else:
            dynamic_extents.append(extent)
    return static, dynamic_extents


def indexing_maps(op: ir.Operation) -> list[ir.AffineMap]:
    """The op's indexing maps: its attribute, or those of a named op without one (a matmul's
    (m, k), (k, n), (m, n); a copy's, fill's or transpose's loops are its output's dims)."""
    if "indexing_maps" in op.attributes:
        return [ir.AffineMapAttr(attr).value for attr in op.attributes["indexing_maps"]]
    if op.name == "linalg.matmul":
        m, n, k = (ir.AffineDimExpr.get(i) for i in range(3))
        return [ir.AffineMap.get(3, 0, results) for results in ([m, k], [k, n], [m, n])]
    rank = ir.ShapedType(op.operands[-1].type).rank
    identity = ir.AffineMap.get_identity(rank)
    return [
        identity
        if isinstance(value.type, ir.ShapedType) and value == op.operands[-1]
        else ir.AffineMap.get(rank, 0, [])
        for value in op.operands
    ]


def _declare_marker(module: ir.Operation) -> ir.Operation:
    """The marker's declaration in `module`, made (with a count of 0 guards) if need be."""
    declaration = _marker_declaration(module)
    if declaration is None:
        body = module.regions[0].blocks[0]
        with ir.InsertionPoint.at_block_begin(body), ir.Location.unknown():
            declaration = func.FuncOp(MARKER, ([ir.IntegerType.get_signless(1)], [])).operation
        declaration.attributes["sym_visibility"] = ir.StringAttr.get("private")
        declaration.attributes[_COUNT_ATTR] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 0)
    return declaration


def _marker_declaration(module: ir.Operation) -> ir.Operation | None:
    for op in module.regions[0].blocks[0].operations:
        if op.operation.name == "func.func" and _symbol(op.operation) == MARKER:
            return op.operation
    return None


def _markers(root: ir.Operation) -> list[ir.Operation]:
    found = []

    def visit(op):
        if op.name == "func.call" and GUARD_ATTR in op.attributes:
            found.append(op)
        return ir.WalkResult.ADVANCE

    root.walk(visit)
    return found


def _first_guarded(forall: ir.Operation) -> ir.Operation | None:
    found = []

    def visit(op):
        if GUARDED_ATTR in op.attributes:
            found.append(op)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    forall.walk(visit)
    return found[0] if found else None


def _module_of(op: ir.Operation) -> ir.Operation:
    while op.parent is not None:
        op = op.parent
    return op


def _symbol(op: ir.Operation) -> str:
    return ir.StringAttr(op.attributes["sym_name"]).value
