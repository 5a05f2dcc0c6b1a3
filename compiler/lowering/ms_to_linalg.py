"""The pass `convert-ms-to-linalg`: `ms` ops to linalg/tensor/arith/math on tensors.

Contract
- Lowers: every `ms` op except `ms.grad`, one at a time, by the op's lowering rule in
  `cellc.compiler.ops` (`LOWERINGS`, registered next to its VJP rule): elementwise and
  broadcasting ops become `linalg.generic` with broadcasting indexing maps (no broadcast is
  materialized; `ms.cast` too, over an arith conversion), `ms.matmul` becomes `linalg.matmul`
  (transposes in its indexing maps), `ms.reduce_sum`/`ms.reduce_max` a reducing
  `linalg.generic` (accumulator 0 / -inf), `ms.reshape` `tensor.collapse_shape`/
  `expand_shape`, `ms.transpose` `linalg.transpose`, `ms.constant` `arith.constant`, and
  `ms.stop_gradient` nothing (its uses take its operand).
- Assumes: verified `ms` IR (static shapes; `ms.verify_module` passes) and no `ms.grad`
  (`ms-expand-grad` has run). Function signatures and `func.*` ops are left unchanged.
- Illegal after it: every `ms.*` op. An `ms.grad`, or an op with no lowering rule, fails the
  pass with a located error naming the op (`IllegalOpError`), before anything is rewritten.
"""

from __future__ import annotations

from mlir import ir

from cellc.dialects import ms

PASS_NAME = "convert-ms-to-linalg"


class LoweringError(RuntimeError):
    """A lowering stage failed (an illegal op, an upstream pass, an external tool)."""


class IllegalOpError(ms.VerificationError, LoweringError):
    """An op this pass must not see or cannot lower; a located diagnostic naming the op."""

    def __init__(self, op: ir.Operation, message: str):
        super().__init__([ms.Diagnostic(op.location, f"'{op.name}' op {message}")])


def convert_ms_to_linalg(module: ir.Module | ir.Operation) -> None:
    """Runs `convert-ms-to-linalg` on `module` in place (see the module docstring)."""
    from cellc.compiler.ops import LOWERINGS  # importing the package registers every rule

    operation = module.operation if isinstance(module, ir.Module) else module
    ms_ops = _collect_ms_ops(operation)
    for op in ms_ops:  # check everything first, so a failure leaves the module untouched
        if ms.OPS[op.name] is ms.GradOp:
            raise IllegalOpError(op, f"must be expanded (ms-expand-grad) before {PASS_NAME}")
        if ms.OPS[op.name] not in LOWERINGS:
            raise IllegalOpError(op, f"has no lowering rule ({PASS_NAME})")
    with operation.context:
        for op in ms_ops:  # program order: every operand is already lowered
            _lower_one(op, LOWERINGS[ms.OPS[op.name]])


def _collect_ms_ops(operation: ir.Operation) -> list[ir.Operation]:
    found = []

    def visit(op):
        if op.operation.name in ms.OPS:
            found.append(op.operation)
        return ir.WalkResult.ADVANCE

    operation.walk(visit, ir.WalkOrder.PRE_ORDER)
    return found


def _lower_one(op: ir.Operation, rule) -> None:
    definition = ms.OPS[op.name]
    attrs = definition.read_attributes(op)
    with op.location, ir.InsertionPoint(op):
        replacement = rule(op, *op.operands, **attrs)
    if replacement.type != op.results[0].type:
        raise IllegalOpError(op, f"lowered to {replacement.type}, expected {op.results[0].type}")
    op.results[0].replace_all_uses_with(replacement)
    op.erase()
