"""Parallel loops on the CPU: each `scf.forall {cellc.parallel}` runs on a pool of threads.

Contract
- `cpu-outline-parallel-loops` (on memrefs, after bufferization and the deallocation
  pipeline): every outermost `scf.forall` marked `cellc.parallel` (the cache blocks of a large
  matmul, linalg_to_llvm.py) with static bounds (the outermost upper one may be dynamic: a
  dynamic batch), more than one iteration and no results becomes
  - a private function `@__cellc_task_F_K(%task: index, captures...)` holding the loop's body;
    iteration `task` of the flattened iteration space (row-major) recovers the induction
    variables, and the values the body used from outside are its arguments (constants are
    cloned into it; a row-major buffer of dynamic sizes travels as a `memref<1xT>` and its
    sizes, and the task views it again with `memref.reinterpret_cast`);
  - in its place, a call to `@__cellc_dispatch_F_K(%iterations, captures...)`, a declaration.
  A marked loop whose captures are not all scalars and memrefs of static strides and offset
  (or row-major ones of dynamic sizes) stays where it is (and runs serially after
  `scf-forall-to-for`).
- `cpu-define-parallel-dispatchers` (on the LLVM dialect, after the conversion): defines each
  dispatcher. It stores its captures in a stack array of 8-byte slots and calls the runtime's
  `cellc_parallel_for(iterations, trampoline, slots)`; the trampoline `(slots, task)` loads them
  back and calls the task function. `cellc_parallel_for` (runtime/src/cellc_parallel.c, linked
  into every artifact that calls it) runs the iterations on `CELLC_NUM_THREADS` threads.
- The iterations of a marked forall write disjoint parts of memory and each is computed the same
  way whichever thread runs it, so results are bit-identical for any thread count.
"""

from __future__ import annotations

import re

from mlir import ir
from mlir.dialects import arith, func, memref, scf

from cellc.dialects import ms

from .dynamic_entry_abi import memref_view
from .ms_to_linalg import LoweringError
from .parallel_guards import PARALLEL_ATTR, erase_markers, guard_conditions, guard_of

RUNTIME_ENTRY = "cellc_parallel_for"
# The functions cellc outlines are named after what they hold: __cellc_task_F_K, ...
CELLC_PREFIX = "__cellc_"
_TASK = f"{CELLC_PREFIX}task_"
_DISPATCH = f"{CELLC_PREFIX}dispatch_"
_TRAMPOLINE = f"{CELLC_PREFIX}trampoline_"


def outline_parallel_loops(module: ir.Module) -> None:
    """Outlines every marked outermost scf.forall into a task function and a dispatch call."""
    with module.context, ir.Location.unknown():
        for func_op in [op for op in module.body.operations if op.operation.name == "func.func"]:
            name = ir.StringAttr(func_op.attributes["sym_name"]).value
            conditions = guard_conditions(func_op.operation)
            for index, forall in enumerate(_marked_foralls(func_op.operation)):
                condition = guard_of(forall, conditions)
                _outline(module, forall, f"{name}_{index}", condition)
        erase_markers(module)


def _marked_foralls(func_op: ir.Operation) -> list[ir.Operation]:
    found = []

    def visit(op):
        if op.name == "scf.forall" and PARALLEL_ATTR in op.attributes:
            found.append(op)
            return ir.WalkResult.SKIP
        return ir.WalkResult.ADVANCE

    func_op.walk(visit, ir.WalkOrder.PRE_ORDER)
    return found


def _static_bounds(forall: ir.Operation) -> list[tuple[int, int, int]] | None:
    """(lower, count, step) per induction variable, or None when a bound is dynamic. The
    outermost upper bound may be dynamic (a dynamic batch, compiler/dynamic_batch.py): its
    count is then kDynamic, and `_iterations` computes it."""
    dynamic = ir.ShapedType.get_dynamic_size()
    lower, upper, step = (
        list(ir.DenseI64ArrayAttr(forall.attributes[key]))
        for key in ("staticLowerBound", "staticUpperBound", "staticStep")
    )
    if dynamic in lower + upper[1:] + step:
        return None
    return [
        (lo, dynamic if hi == dynamic else -(-(hi - lo) // st), st)
        for lo, hi, st in zip(lower, upper, step)
    ]


def _iterations(forall: ir.Operation, bounds) -> ir.Value:
    """The number of iterations of `forall`, built before it (an `index`)."""
    index = ir.IndexType.get()
    inner = 1
    for _, count, _ in bounds[1:]:
        inner *= count
    lower, count, step = bounds[0]
    if not ir.ShapedType.is_dynamic_size(count):
        return arith.ConstantOp(index, count * inner).result
    upper = forall.opview.dynamicUpperBound[0]
    span = arith.SubIOp(upper, arith.ConstantOp(index, lower).result).result
    outer = arith.CeilDivUIOp(span, arith.ConstantOp(index, step).result).result
    return arith.MulIOp(outer, arith.ConstantOp(index, inner).result).result


def _is_inside(value: ir.Value, ancestor: ir.Operation) -> bool:
    owner = value.owner
    return _is_inside_op(owner.owner if isinstance(owner, ir.Block) else owner, ancestor)


def _is_inside_op(op, ancestor: ir.Operation) -> bool:
    op = op.operation if op is not None else None
    while op is not None:
        if op == ancestor:
            return True
        op = op.parent.operation if op.parent is not None else None
    return False


def captures(op: ir.Operation, include_self: bool = False) -> list[ir.Value]:
    """The values `op`'s regions use but do not define (with `include_self`, also `op`'s own
    operands), in order of first use."""
    found: list[ir.Value] = []

    def visit(inner):
        for operand in inner.operands:
            if not _is_inside(operand, op) and operand not in found:
                found.append(operand)
        return ir.WalkResult.ADVANCE

    if include_self:
        op.walk(visit)
    else:
        for region in op.regions:
            for block in region.blocks:
                for inner in block.operations:
                    inner.operation.walk(visit)
    return found


def is_constant(value: ir.Value) -> bool:
    owner = value.owner
    return not isinstance(owner, ir.Block) and owner.name == "arith.constant"


def passable(type_: ir.Type) -> bool:
    """Whether a value of this type travels in one 8-byte slot: a bare pointer to a buffer of
    static sizes, strides and offset (identity layout, or the rows of a wider buffer:
    linalg_to_llvm's `_rows_apart`), or a scalar."""
    if isinstance(type_, ir.MemRefType):
        if not type_.has_static_shape:
            return False
        memref = ir.MemRefType(type_)
        strides, offset = memref.get_strides_and_offset()
        return not any(memref.is_dynamic_stride_or_offset(v) for v in (*strides, offset))
    if isinstance(type_, (ir.IndexType, ir.F16Type, ir.F32Type, ir.F64Type)):
        return True
    return isinstance(type_, ir.IntegerType) and type_.width <= 64


def rewrite_marked_generics(module: ir.Module, attribute: str, rewrite) -> None:
    """Replaces each `linalg.generic` carrying `attribute` by `rewrite(op)`'s value, built
    before it (the CPU rewrites of what a lowering rule marked: col2im_taps.py,
    scatter_adds.py)."""
    with module.context:
        for op in [op for op in ops_named(module, "linalg.generic") if attribute in op.attributes]:
            with ir.InsertionPoint(op), op.location:
                value = rewrite(op)
            op.results[0].replace_all_uses_with(value)
            op.erase()


def ops_named(root, name: str) -> list[ir.Operation]:
    """The ops named `name` in `root` (a module or an op), in pre-order."""
    found = []

    def visit(op):
        if op.name == name:
            found.append(op)
        return ir.WalkResult.ADVANCE

    root.operation.walk(visit)
    return found


def loop_ranges(op: ir.Operation) -> list[int] | None:
    """The extent of each loop of a linalg.generic, read off its operands' shapes through the
    indexing maps (a result that is a bare loop dimension; kDynamic for a dynamic size), or
    None."""
    maps = [ir.AffineMapAttr(attr).value for attr in op.attributes["indexing_maps"]]
    ranges: list[int | None] = [None] * maps[0].n_dims
    for operand, affine_map in zip(op.operands, maps):
        type_ = operand.type
        if not isinstance(type_, ir.ShapedType):
            continue
        for size, expr in zip(type_.shape, affine_map.results):
            if isinstance(expr, ir.AffineDimExpr) and ranges[expr.position] in (
                None,
                ir.ShapedType.get_dynamic_size(),
            ):
                ranges[expr.position] = size
    if None in ranges:
        return None
    return ranges


def has_identity_layout(type_: ir.Type) -> bool:
    """Whether a memref is laid out contiguously, row-major (no strides, no offset)."""
    memref = ir.MemRefType(type_)
    return memref.affine_map == ir.AffineMap.get_identity(memref.rank)


def _outline(
    module: ir.Module, forall: ir.Operation, suffix: str, condition: ir.Value | None
) -> None:
    bounds = _static_bounds(forall)
    iterations = 1
    for _, count, _ in bounds or []:
        iterations *= 2 if ir.ShapedType.is_dynamic_size(count) else count  # dynamic: many
    captured = captures(forall)
    arguments = [value for value in captured if not is_constant(value)]
    if (
        bounds is None
        or iterations < 2
        or len(forall.results) != 0
        or not all(passable(value.type) or _sized_view(value.type) for value in arguments)
    ):
        return
    index = ir.IndexType.get()
    with ir.InsertionPoint(forall), forall.location:
        passed = [_slots(value) for value in arguments]
        count = _iterations(forall, bounds)
    slots = [slot for value_slots in passed for slot in value_slots]
    task_type = ir.FunctionType.get([index] + [slot.type for slot in slots], [])
    with ir.InsertionPoint(module.body):
        task = func.FuncOp(f"{_TASK}{suffix}", task_type, visibility="private")
        dispatch = func.FuncOp(f"{_DISPATCH}{suffix}", task_type, visibility="private")
    task.attributes["llvm.linkage"] = ir.Attribute.parse("#llvm.linkage<internal>")
    entry = task.add_entry_block()
    with ir.InsertionPoint(entry):
        ivs = _induction_variables(entry.arguments[0], bounds)
        returned = func.ReturnOp([])
    body = forall.regions[0].blocks[0]
    for op in list(body.operations)[:-1]:  # all but scf.forall.in_parallel
        op.operation.move_before(returned)
    for old, new in zip(body.arguments, ivs):
        old.replace_all_uses_with(new)
    received = iter(list(entry.arguments)[1:])
    inside = {}
    for value, value_slots in zip(arguments, passed):
        pointer = next(received)
        sizes = [next(received) for _ in value_slots[1:]]
        if sizes or not passable(value.type):
            with ir.InsertionPoint.at_block_begin(entry):
                pointer = memref_view(pointer, ir.MemRefType(value.type), sizes)
        inside[value] = pointer
    for value in captured:
        if is_constant(value):
            with ir.InsertionPoint.at_block_begin(entry):
                inside[value] = value.owner.clone().results[0]
    replace_uses_inside(task.operation, inside)
    with ir.InsertionPoint(forall), forall.location:
        if condition is None:
            func.CallOp(dispatch, [count] + slots)
        else:  # parallel_guards.py: on the pool only when large at run time
            branch = scf.IfOp(condition, has_else=True)
            with ir.InsertionPoint(branch.then_block):
                func.CallOp(dispatch, [count] + slots)
                scf.YieldOp([])
            with ir.InsertionPoint(branch.else_block):
                one = arith.ConstantOp(index, 1).result
                serial = scf.ForOp(arith.ConstantOp(index, 0).result, count, one)
                with ir.InsertionPoint(serial.body):
                    func.CallOp(task, [serial.induction_variable] + slots)
                    scf.YieldOp([])
                scf.YieldOp([])
    forall.erase()


def _sized_view(type_: ir.Type) -> bool:
    """A row-major buffer of dynamic sizes: it travels as a bare pointer and its sizes."""
    return isinstance(type_, ir.MemRefType) and has_identity_layout(type_)


def _slots(value: ir.Value) -> list[ir.Value]:
    """What `value` travels to a task in: itself, or a dynamically sized buffer's bare pointer
    (a `memref<1xT>` view) then its dynamic sizes."""
    if passable(value.type):
        return [value]
    type_ = ir.MemRefType(value.type)
    index = ir.IndexType.get()
    sizes = [
        memref.DimOp(value, arith.ConstantOp(index, axis).result).result
        for axis, size in enumerate(type_.shape)
        if ir.ShapedType.is_dynamic_size(size)
    ]
    bare = ir.MemRefType.get([1], type_.element_type)
    pointer = memref.reinterpret_cast(
        bare, value, [], [], [], static_offsets=[0], static_sizes=[1], static_strides=[1]
    )
    return [pointer, *sizes]


def replace_uses_inside(ancestor: ir.Operation, replacements: dict[ir.Value, ir.Value]) -> None:
    """Every operand of an op inside `ancestor` that is a key of `replacements` replaced by its
    value there, in one walk of `ancestor` (replacing each value's uses in turn went through
    all of them in the whole module, a constant's hundreds, for every outlined function)."""

    def visit(op):
        operands = op.operands
        for index, operand in enumerate(operands):
            replacement = replacements.get(operand)
            if replacement is not None:
                operands[index] = replacement
        return ir.WalkResult.ADVANCE

    ancestor.walk(visit)


def _induction_variables(task: ir.Value, bounds: list[tuple[int, int, int]]) -> list[ir.Value]:
    """lower + (the task's digit in the row-major iteration space) * step, per dimension."""
    index = ir.IndexType.get()

    def constant(value: int) -> ir.Value:
        return arith.ConstantOp(index, value).result

    values = []
    remaining = task
    for position, (lower, count, step) in reversed(list(enumerate(bounds))):
        digit = remaining
        if position > 0:
            digit = arith.RemUIOp(remaining, constant(count)).result
            remaining = arith.DivUIOp(remaining, constant(count)).result
        if step != 1:
            digit = arith.MulIOp(digit, constant(step)).result
        if lower != 0:
            digit = arith.AddIOp(digit, constant(lower)).result
        values.append(digit)
    return list(reversed(values))


# --- after the conversion to the LLVM dialect -----------------------------------------------

_DISPATCHER = """
llvm.func internal @{dispatch}({params}) {{
  %slots = llvm.mlir.constant({slots} : i64) : i64
  %ctx = llvm.alloca %slots x i64 : (i64) -> !llvm.ptr
{stores}
  %fn = llvm.mlir.addressof @{trampoline} : !llvm.ptr
  llvm.call @{entry}(%n, %fn, %ctx) : (i64, !llvm.ptr, !llvm.ptr) -> ()
  llvm.return
}}
llvm.func internal @{trampoline}(%ctx: !llvm.ptr, %task: i64) {{
{loads}
  llvm.call @{task}(%task{loaded}) : ({types}) -> ()
  llvm.return
}}
llvm.func @{task}({types})
llvm.func @{entry}(i64, !llvm.ptr, !llvm.ptr)
"""


def define_parallel_dispatchers(module: ir.Module) -> None:
    """Gives each dispatcher declaration its body (see the module docstring)."""
    with module.context, ir.Location.unknown():
        functions = ms.symbol_table(module.operation, "llvm.func")
        for name, declaration in functions.items():
            if not name.startswith(_DISPATCH) or declaration.regions[0].blocks:
                continue
            text = _dispatcher_text(name, _parameter_types(declaration))
            declaration.erase()
            defined = ms.symbol_table(module.operation)
            for op in ir.Module.parse(text).body.operations:
                if ir.StringAttr(op.attributes["sym_name"]).value not in defined:
                    op.operation.clone(ir.InsertionPoint(module.body))


def _parameter_types(declaration) -> list[str]:
    """The parameter types of an llvm.func, as text (`i64`, `!llvm.ptr`, `f32`)."""
    text = str(ir.TypeAttr(declaration.attributes["function_type"]).value)
    match = re.fullmatch(r"!llvm\.func<void \((.*)\)>", text)
    if match is None:
        raise LoweringError(f"unexpected dispatcher type {text}")
    return [
        "!llvm.ptr" if part.strip() == "ptr" else part.strip() for part in match.group(1).split(",")
    ]


def _dispatcher_text(dispatch: str, types: list[str]) -> str:
    suffix = dispatch[len(_DISPATCH) :]
    captured = types[1:]
    params = ", ".join(["%n: i64"] + [f"%a{i}: {t}" for i, t in enumerate(captured)])
    stores, loads = [], []
    for i, type_ in enumerate(captured):
        slot = f"  %s{i} = llvm.getelementptr %ctx[{i}] : (!llvm.ptr) -> !llvm.ptr, i64"
        stores += [slot, f"  llvm.store %a{i}, %s{i} : {type_}, !llvm.ptr"]
        loads += [slot, f"  %v{i} = llvm.load %s{i} : !llvm.ptr -> {type_}"]
    return _DISPATCHER.format(
        dispatch=dispatch,
        params=params,
        slots=max(1, len(captured)),
        stores="\n".join(stores),
        trampoline=f"{_TRAMPOLINE}{suffix}",
        entry=RUNTIME_ENTRY,
        loads="\n".join(loads),
        task=f"{_TASK}{suffix}",
        loaded="".join(f", %v{i}" for i in range(len(captured))),
        types=", ".join(["i64"] + captured),
    )


def uses_parallel_runtime(module: ir.Module) -> bool:
    """Whether the (LLVM-dialect) module calls `cellc_parallel_for`."""
    return RUNTIME_ENTRY in ms.symbol_table(module.operation, "llvm.func")
