"""Each loop nest of an entry function in a function of its own, for LLVM to compile apart.

Contract
- `cpu-outline-loop-nests` (on memrefs, after `cpu-outline-parallel-loops`): in every function
  with a body that cellc did not outline itself, each top-level op with regions and no results
  (a linalg op on buffers, an `scf.for`/`scf.forall` nest) becomes a call of a private function
  `@__cellc_nest_F_K(captures...)` holding it, marked `noinline`. The values the nest uses from
  outside are its arguments when they travel as bare pointers or scalars (parallel_loops.py's
  `passable`); constants and views of passable buffers (subview, expand/collapse_shape, cast)
  are cloned into it instead. A nest that captures anything else stays where it is.
- What it is for: the entry function of a training step holds hundreds of loop nests, and LLVM's
  function passes cost more than linearly in a function's size (LeNet's step: 1.16 s of `opt`
  on the entry alone). Apart, they cost half as much, and the module splits into parts that
  `opt` and `llc` compile in parallel (llvm_to_object.py). The calls cost nanoseconds each;
  the arguments carry what the code needs (static shapes are in the types), so a nest compiles
  to the loops it did inline, but for a run-time check LLVM may add that two of its buffers do
  not overlap (inline, it saw two allocations). A profile names each nest by its function.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import func

from .parallel_loops import CELLC_PREFIX, captures, is_constant, passable, replace_uses_inside

_NEST = "__cellc_nest_"
# Ops cloned into a nest rather than passed: they compute a view of their operands, nothing more.
_VIEWS = frozenset(
    {
        "memref.subview",
        "memref.expand_shape",
        "memref.collapse_shape",
        "memref.cast",
        "memref.reinterpret_cast",
    }
)


def outline_loop_nests(module: ir.Module) -> None:
    """Outlines every top-level loop nest of each function into a private `noinline` one."""
    with module.context, ir.Location.unknown():
        for func_op in [op for op in module.body.operations if op.operation.name == "func.func"]:
            name = ir.StringAttr(func_op.attributes["sym_name"]).value
            if name.startswith(CELLC_PREFIX) or not func_op.regions[0].blocks:
                continue
            nests = [
                op.operation
                for block in func_op.regions[0].blocks
                for op in block.operations
                if len(op.operation.regions) and not len(op.operation.results)
            ]
            count = 0
            for nest in nests:
                if _outline(module, nest, f"{_NEST}{name}_{count}"):
                    count += 1


def _outline(module: ir.Module, nest: ir.Operation, symbol: str) -> bool:
    arguments: list[ir.Value] = []
    clones: list[ir.Operation] = []
    if not all(_gather(value, arguments, clones) for value in captures(nest, include_self=True)):
        return False
    nest_type = ir.FunctionType.get([value.type for value in arguments], [])
    with ir.InsertionPoint(module.body):
        function = func.FuncOp(symbol, nest_type, visibility="private")
    function.attributes["llvm.linkage"] = ir.Attribute.parse("#llvm.linkage<internal>")
    function.attributes["passthrough"] = ir.ArrayAttr.get([ir.StringAttr.get("noinline")])
    entry = function.add_entry_block()
    with ir.InsertionPoint(entry):
        returned = func.ReturnOp([])
    with ir.InsertionPoint(nest), nest.location:
        func.CallOp(function, arguments)
    nest.move_before(returned)
    with ir.InsertionPoint(nest):
        copies = [op.clone() for op in clones]
    inside = dict(zip(arguments, entry.arguments))
    for original, copy in zip(clones, copies):
        inside.update(zip(original.results, copy.results))
    replace_uses_inside(function.operation, inside)
    for original in reversed(clones):  # what only the nest used
        if not any(len(list(result.uses)) for result in original.results):
            original.erase()
    return True


def _gather(value: ir.Value, arguments: list[ir.Value], clones: list[ir.Operation]) -> bool:
    """Plans how `value` reaches the nest: cloned (a constant, a view of what can reach it,
    after what it depends on) or passed; False when it cannot."""
    if value in arguments or any(value in list(op.results) for op in clones):
        return True
    owner = value.owner
    op = None if isinstance(owner, ir.Block) else owner
    if op is not None and (is_constant(value) or op.name in _VIEWS):
        if all(_gather(operand, arguments, clones) for operand in op.operands):
            clones.append(op)
            return True
    if passable(value.type):
        arguments.append(value)
        return True
    return False
