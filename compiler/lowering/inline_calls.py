"""The pass `ms-inline-calls`: every `func.call` of a module function is replaced by its body.

Contract
- Assumes: verified `ms` IR after `ms-expand-grad` (no `ms.grad`); calls come from Cells that
  define `bprop` (a `func.call` carrying `ms.bprop`, see `ms_ops.CallOp`), whose bprop the
  expansion has already used. A callee's body is `ms` ops, calls and one `func.return`.
- Does: in every `func.func`, each `func.call` of a `func.func` of the module is replaced by
  a copy of the callee's ops on the call's operands (the callee's own calls inlined first);
  then each private function that no symbol names any longer (a callee, a bprop function) is
  erased.
- Why: the lowering and the back ends compile one function per entry; keeping the calls
  would make the GPU back end outline kernels across function boundaries.
- Illegal after it: `func.call` of a function of the module; a recursive call is an error.
"""

from __future__ import annotations

from mlir import ir

from cellc.dialects import ms


class CallInliningError(ValueError):
    """A call that cannot be inlined: its callee is not a function here, or calls itself."""


def inline_calls(module: ir.Module) -> None:
    """Inlines every call of a module function, in place (`ms-inline-calls`)."""
    functions = ms.symbol_table(module.operation, "func.func")
    done: set[str] = set()
    inlined: set[str] = set()  # the callees and bprop functions of the calls inlined
    for name in functions:
        _inline_in(name, functions, done, inlined, stack=())
    referenced = set(ms.symbol_references(module.operation))
    for name in sorted(inlined - referenced):
        func_op = functions[name]
        attrs = func_op.attributes
        if "sym_visibility" in attrs and ir.StringAttr(attrs["sym_visibility"]).value == "private":
            func_op.erase()


def _inline_in(name: str, functions, done: set, inlined: set, stack) -> None:
    """Inlines the calls of @name, after those of every function it calls."""
    if name in done:
        return
    if name in stack:
        cycle = " -> ".join(f"@{n}" for n in (*stack, name))
        raise CallInliningError(f"'func.call' calls a function through itself: {cycle}")
    body = functions[name].regions[0].blocks[0]
    for op in [op.operation for op in body.operations]:
        if op.name != "func.call":
            continue
        callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
        if callee not in functions:
            raise CallInliningError(f"'func.call' callee @{callee} is not a function here")
        _inline_in(callee, functions, done, inlined, (*stack, name))
        inlined.update(ms.symbol_references(op))  # the callee, and ms.bprop's function
        _inline_call(op, functions[callee])
    done.add(name)


def _inline_call(call: ir.Operation, callee: ir.Operation) -> None:
    """callee(args) -> callee's ops on args (callee has no call left)."""
    body = callee.regions[0].blocks[0]
    *ops, terminator = [op.operation for op in body.operations]
    env = dict(zip(body.arguments, call.operands))
    with ir.InsertionPoint(call):
        for op in ops:
            clone = op.clone()
            for index, operand in enumerate(op.operands):
                clone.operands[index] = env.get(operand, operand)
            env.update(zip(op.results, clone.results))
    for result, value in zip(call.results, terminator.operands):
        result.replace_all_uses_with(env[value])
    call.erase()
