"""Cleanup of `ms` code after expansion: CSE, DCE, and dropping `ms.stop_gradient`.

Written in Python because MLIR's own `cse` and `canonicalize` leave `ms` ops alone: the ops are
defined through IRDL, which declares no memory effects, so MLIR must assume side effects and may
neither merge nor erase them (checked: `func.func(cse,canonicalize)` keeps a duplicate `ms.add`
and an unused `ms.neg`). Every `ms` op is pure, so here they are merged and erased freely.

Each function works on the top-level block of every `func.func` in a module; `ms` code has no
nested regions.
"""

from __future__ import annotations

from mlir import ir

from cellc.dialects import ms


def _is_pure(op: ir.Operation) -> bool:
    """Every `ms` op is pure."""
    return op.name in ms.OPS


def _functions(module: ir.Module) -> list[ir.Operation]:
    return [op.operation for op in module.body.operations if op.operation.name == "func.func"]


def _body_ops(func_op: ir.Operation) -> list[ir.Operation]:
    return [op.operation for block in func_op.regions[0].blocks for op in block.operations]


def eliminate_common_subexpressions(func_op: ir.Operation) -> None:
    """Merges pure ops with the same name, operands, attributes and result types; constants
    too, unless the module is a trace for a dynamic batch (`ms.DISTINCT_CONSTANTS_ATTR`)."""
    seen: dict[tuple, ir.Operation] = {}
    module = func_op.parent
    merge_constants = module is None or ms.DISTINCT_CONSTANTS_ATTR not in module.attributes
    for op in _body_ops(func_op):
        if not _is_pure(op) or (op.name == ms.ConstantOp.name and not merge_constants):
            continue
        key = (
            op.name,
            tuple(op.operands),
            tuple(sorted((name, str(op.attributes[name])) for name in op.attributes)),
            tuple(str(result.type) for result in op.results),
        )
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = op
            continue
        for result, replacement in zip(op.results, earlier.results):
            result.replace_all_uses_with(replacement)
        op.erase()


def eliminate_dead_code(func_op: ir.Operation) -> None:
    """Erases pure ops none of whose results is used (walking backwards, so chains go too)."""
    for op in reversed(_body_ops(func_op)):
        if _is_pure(op) and all(next(iter(r.uses), None) is None for r in op.results):
            op.erase()


def remove_stop_gradients(func_op: ir.Operation) -> None:
    """Replaces each `ms.stop_gradient(x)` by x (only valid once nothing is differentiated)."""
    for op in _body_ops(func_op):
        if op.name == ms.StopGradientOp.name:
            op.results[0].replace_all_uses_with(op.operands[0])
            op.erase()


def cse_pass(module: ir.Module) -> None:
    """Merges identical side-effect-free `ms` ops in every function (the pass `ms-cse`)."""
    for func_op in _functions(module):
        eliminate_common_subexpressions(func_op)


def dce_pass(module: ir.Module) -> None:
    """Erases `ms` ops whose results are unused in every function (the pass `ms-dce`)."""
    for func_op in _functions(module):
        eliminate_dead_code(func_op)
