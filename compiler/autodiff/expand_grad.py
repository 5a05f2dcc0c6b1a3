"""The pass `ms-expand-grad`: every `ms.grad` becomes reverse-mode code in the `ms` dialect.

Contract.
- Assumes: verified `ms` IR in the conventions of docs/architecture.md. `ms.grad` sits in the
  top-level block of a `func.func`; its callee is a `func.func` of the module whose body holds
  only `ms` ops (among them possibly other `ms.grad`s) and `func.return`.
- Does: each `ms.grad @F(args..., [sens...])` is replaced, at its own site, by
    1. the forward code of F cloned with the ms.grad operands as F's arguments (the forward
       values the backward needs). `ms.stop_gradient` is cloned too: the cloned code may be
       differentiated again by an outer `ms.grad`, which must not see through it
       (d/dx [d/dx stop_gradient(x) * x] = d/dx stop_gradient(x) = 0),
    2. the reverse sweep: a walk over F's ops in reverse, calling each op's VJP rule
       (`cellc.compiler.ops.VJPS`, keyed by op class: `VJPS[ms.OPS[op.name]]`) on the
       cotangent of its result, summing the cotangents of values used more than once, with
       symbolic zeros (`zeros.Zero`) for what contributes nothing; only ops that depend on a
       differentiated argument are visited,
    3. the requested gradients in MindSpore order (see `ms.GradMode.wrt`); a zero one (an
       unused weight) is materialized as an `ms.constant` splat 0.
  A `func.call` carrying `ms.bprop` (a Cell with a custom gradient, see `ms_ops.CallOp`) is
  cloned as a call; its VJP is the body of the bprop function cloned on (inputs, out, dout),
  so an outer `ms.grad` differentiates that code; the weights it passes get zero. The bprop
  function is expanded before it is cloned. Calls stay: `ms-inline-calls` inlines them.
  Sensitivity: the trailing operands with `sens_param`, else `ms.constant` splat 1 for every
  output of F. Functions are expanded innermost first (F's own `ms.grad`s before F is
  differentiated), so gradients of gradients work to any order. Generated ops carry the
  location of the forward op they come from. Each function that had an `ms.grad` is then
  cleaned up (CSE, DCE: forward code no gradient needs is gone).
- After it: no `ms.grad` and no `ms.stop_gradient` anywhere in the module (nothing is
  differentiated after this pass, so stop_gradient is an identity and is replaced by its
  operand). A private callee of an expanded `ms.grad` that nothing references any longer is
  erased.
- Errors: an op without a VJP rule raises NotImplementedError("no VJP rule for 'ms.foo'"); a
  rule returning the wrong number or types of cotangents raises ValueError naming the op.
"""

from __future__ import annotations

from mlir import ir

import cellc.compiler.ops  # noqa: F401  (registers every VJP rule)
from cellc.compiler.ops.registry import VJPS
from cellc.dialects import ms
from cellc.dialects.ms_ops import CallOp, ShapeError

from .cleanup import (
    eliminate_common_subexpressions,
    eliminate_dead_code,
    remove_stop_gradients,
)
from .zeros import Zero, add_cotangents, instantiate, is_zero


class GradExpansionError(ValueError):
    """An ms.grad that cannot be expanded (unknown or recursive callee, bad rule output)."""


def expand_grads(module: ir.Module) -> None:
    """Expands every `ms.grad` into reverse-mode `ms` code, in place (`ms-expand-grad`)."""
    functions = ms.symbol_table(module.operation, "func.func")
    done: set[str] = set()
    callees: set[str] = set()
    for name in functions:
        _expand_function(name, functions, done, callees, stack=())
    for func_op in functions.values():
        remove_stop_gradients(func_op)
    _erase_unreferenced_private(module, functions, callees)


def _expand_function(name, functions, done, callees, stack) -> None:
    """Expands the ms.grads of @name, after those of every function they differentiate."""
    if name in done:
        return
    if name in stack:
        cycle = " -> ".join(f"@{n}" for n in (*stack, name))
        raise GradExpansionError(
            f"'{ms.GradOp.name}' differentiates a function through itself: {cycle}"
        )
    func_op = functions[name]
    for op in _body_ops(func_op):
        if CallOp.is_bprop_call(op):  # its bprop's body is cloned here: expand it first
            callee, bprop = CallOp.symbols(op)
            for symbol in (callee, bprop):
                if symbol not in functions:
                    raise GradExpansionError(
                        f"'{op.name}' names @{symbol}, which is not a function in the module"
                    )
            _check_bprop(functions[callee], functions[bprop])
            _expand_function(bprop, functions, done, callees, (*stack, name))
    grads = [op for op in _body_ops(func_op) if op.name == ms.GradOp.name]
    for grad_op in grads:
        callee = ms.GradOp.read_attributes(grad_op)["callee"]
        if callee not in functions:
            raise GradExpansionError(
                f"'{ms.GradOp.name}' callee @{callee} is not a function in the module"
            )
        _expand_function(callee, functions, done, callees, (*stack, name))
        expand_grad(grad_op, functions[callee], functions)
        callees.add(callee)
    if grads:
        eliminate_common_subexpressions(func_op)
        eliminate_dead_code(func_op)
    done.add(name)


def expand_grad(grad_op: ir.Operation, callee: ir.Operation, functions=None) -> None:
    """Replaces one `ms.grad` (whose callee has no ms.grad left) by its derivative code;
    `functions` (by name) holds the bprop functions of the calls in the callee."""
    ms.GradOp.check_against_callee(grad_op, callee)
    mode = ms.GradOp.mode(grad_op)
    body = callee.regions[0].blocks[0]
    args = list(body.arguments)
    operands = list(grad_op.operands)
    *forward_ops, terminator = [op.operation for op in body.operations]
    outputs = list(terminator.operands)

    # Forward values: callee values -> values at the ms.grad site.
    env: dict[ir.Value, ir.Value] = dict(zip(args, operands[: len(args)]))
    with ir.InsertionPoint(grad_op), grad_op.location:
        for op in forward_ops:
            _clone_forward(op, env)
        if mode.sens_param:
            sens = operands[len(args) :]
        else:
            sens = [ms.constant(1.0, ms.spec_of(out)) for out in outputs]
        wrt = [args[i] for i in mode.wrt(ms.num_callee_inputs(callee))]
        cotangents = backward_pass(forward_ops, env, outputs, sens, wrt, functions or {})
        gradients = [instantiate(ct) for ct in cotangents]

    for result, gradient in zip(grad_op.results, gradients):
        result.replace_all_uses_with(gradient)
    grad_op.erase()


def _clone_forward(op: ir.Operation, env: dict[ir.Value, ir.Value]) -> None:
    clone = ir.Operation.create(
        op.name,
        results=[result.type for result in op.results],
        operands=[env[v] for v in op.operands],
        attributes={name: op.attributes[name] for name in op.attributes},
        loc=op.location,
    )
    env.update(zip(op.results, clone.results))


def backward_pass(forward_ops, env, outputs, sens, wrt, functions) -> list:
    """Cotangents of `wrt` (callee arguments) given `sens` for `outputs`; Zero where none.

    `forward_ops` are the callee's ops; `env` maps callee values to the forward values at the
    insertion point, which is where the backward code goes. A call with `ms.bprop` is
    differentiated by its bprop function in `functions` (see `_apply_bprop`).
    """
    active = set(wrt)  # values that depend on a differentiated argument
    for op in forward_ops:
        if any(v in active for v in op.operands):
            active.update(op.results)

    cotangents: dict[ir.Value, object] = {}

    def accumulate(value, ct):
        if value in active and not is_zero(ct):
            cotangents[value] = add_cotangents(cotangents.get(value, Zero(ms.spec_of(value))), ct)

    for out, ct in zip(outputs, sens):
        accumulate(out, ct)
    for op in reversed(forward_ops):
        result_cts = [cotangents.pop(result, None) for result in op.results]
        if all(is_zero(ct) for ct in result_cts):
            continue  # nothing flows back through this op
        with op.location:
            if CallOp.is_bprop_call(op):
                operand_cts = _apply_bprop(op, result_cts, env, functions)
            else:
                operand_cts = _apply_rule(op, result_cts, env)
        for value, operand_ct in zip(op.operands, operand_cts):
            accumulate(value, operand_ct)
    return [cotangents.get(w, Zero(ms.spec_of(w))) for w in wrt]


def _apply_rule(op: ir.Operation, result_cts: list, env) -> list:
    """Runs op's VJP rule on its result's cotangent; checks the count and types it returns."""
    op_class = ms.OPS.get(op.name)
    rule = VJPS.get(op_class)
    if rule is None or len(op.results) != 1:
        raise NotImplementedError(f"no VJP rule for '{op.name}' (reverse mode, at {op.location})")
    (ct,) = result_cts
    attrs = op_class.read_attributes(op)
    operands = [env[v] for v in op.operands]
    operand_cts = list(rule(ct, *operands, out=env[op.results[0]], **attrs))
    if len(operand_cts) != len(operands):
        raise GradExpansionError(
            f"VJP rule for '{op.name}' returned {len(operand_cts)} cotangents "
            f"for {len(operands)} operands"
        )
    for i, (value, operand_ct) in enumerate(zip(operands, operand_cts)):
        if is_zero(operand_ct):
            continue
        if ms.spec_of(operand_ct) != ms.spec_of(value):
            raise GradExpansionError(
                f"VJP rule for '{op.name}' returned a cotangent of type "
                f"{ms.spec_of(operand_ct)} for operand #{i} of type {ms.spec_of(value)}"
            )
    return operand_cts


def _apply_bprop(call: ir.Operation, result_cts: list, env, functions) -> list:
    """The VJP of a call with `ms.bprop` (a Cell's custom gradient): the bprop function's body
    cloned here on the call's inputs, its results (`out`) and their cotangents (`dout`, a zero
    one materialized). The weights the call passes get no gradient (MindSpore's rule)."""
    callee_name, bprop_name = CallOp.symbols(call)
    callee, bprop = functions[callee_name], functions[bprop_name]
    num_inputs = ms.num_callee_inputs(callee)
    operands = [env[v] for v in call.operands]
    douts = [
        instantiate(Zero(ms.spec_of(r)) if ct is None else ct)
        for r, ct in zip(call.results, result_cts)
    ]
    by_weight = dict(zip(ms.weight_names(callee), operands))
    arguments = operands[:num_inputs] + [env[r] for r in call.results] + douts
    arguments += [by_weight[name] for name in ms.weight_names(bprop) if name is not None]
    body = bprop.regions[0].blocks[0]
    *ops, terminator = [op.operation for op in body.operations]
    bprop_env = dict(zip(body.arguments, arguments))
    for op in ops:
        _clone_forward(op, bprop_env)
    input_cts = [bprop_env[v] for v in terminator.operands]
    return input_cts + [Zero(ms.spec_of(v)) for v in operands[num_inputs:]]


def _check_bprop(callee: ir.Operation, bprop: ir.Operation) -> None:
    def signature(func_op):
        ftype = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
        return [ms.spec_of(t) for t in ftype.inputs], [ms.spec_of(t) for t in ftype.results]

    (callee_args, callee_results), (bprop_args, bprop_results) = signature(callee), signature(bprop)
    try:
        CallOp.check_signature(
            callee_args,
            callee_results,
            ms.weight_names(callee),
            bprop_args,
            bprop_results,
            ms.weight_names(bprop),
        )
    except ShapeError as error:
        raise GradExpansionError(f"@{_symbol_name(callee)} with bprop: {error}") from None


def _symbol_name(func_op: ir.Operation) -> str:
    return ir.StringAttr(func_op.attributes["sym_name"]).value


def _body_ops(func_op: ir.Operation) -> list[ir.Operation]:
    return [op.operation for op in func_op.regions[0].blocks[0].operations]


def _erase_unreferenced_private(module: ir.Module, functions, candidates: set[str]) -> None:
    """Erases the private ms.grad callees that no symbol reference names any longer."""
    referenced = set(ms.symbol_references(module.operation))
    for name in candidates - referenced:
        func_op = functions[name]
        attrs = func_op.attributes
        if "sym_visibility" in attrs and ir.StringAttr(attrs["sym_visibility"]).value == "private":
            func_op.erase()
