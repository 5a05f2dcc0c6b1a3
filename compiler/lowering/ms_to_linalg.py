"""The pass `convert-ms-to-linalg`: `ms` ops to linalg/tensor/arith/math on tensors.

Contract
- Lowers: every `ms` op except `ms.grad`, by one rewrite pattern per op, made from the op's
  lowering rule in `cellc.compiler.ops` (`LOWERINGS`, keyed by op class, registered next to its
  VJP rule; each rule's docstring states its rewrite): elementwise and broadcasting ops become
  `linalg.generic` with broadcasting indexing maps (no broadcast is materialized; `ms.cast`
  too, over an arith conversion), `ms.matmul` becomes `linalg.matmul` (transposes in its
  indexing maps), `ms.reduce_sum`/`ms.reduce_max` a reducing `linalg.generic` (accumulator
  0 / -inf), `ms.reshape` `tensor.collapse_shape`/`expand_shape`, `ms.transpose`
  `linalg.transpose`, `ms.constant` `arith.constant`, and `ms.stop_gradient` nothing (its uses
  take its operand).
- Assumes: verified `ms` IR (static shapes; `ms.verify_module` passes) and no `ms.grad`
  (`ms-expand-grad` has run). Function signatures and `func.*` ops are left unchanged.
- Illegal after it: every `ms.*` op. An `ms.grad`, or an op with no lowering rule, fails the
  pass with a located error naming the op (`IllegalOpError`), before anything is rewritten; so
  does an `ms` op still present once the patterns have run.

The patterns run under MLIR's greedy driver (`apply_patterns_and_fold_greedily`), restricted to
the ops present when it starts (`EXISTING_OPS`: the linalg ops a pattern builds are not
revisited) and with folding, constant CSE and region simplification off, so the IR out is what
the rules build, nothing folded or hoisted. The driver still erases ops that were dead on input
(an unused `arith.constant`, never an `ms` op: IRDL ops declare no effects). A rule's exception
is not let unwind through MLIR's C++ driver: the pattern fails, and the pass raises it after.
"""

from __future__ import annotations

from collections.abc import Callable

from mlir import ir
from mlir.dialects import arith
from mlir.rewrite import (
    GreedyRewriteConfig,
    GreedyRewriteStrictness,
    GreedySimplifyRegionLevel,
    PatternRewriter,
    RewritePatternSet,
    apply_patterns_and_fold_greedily,
)

from cellc.compiler.ops import LOWERINGS, linalg_builders
from cellc.compiler.ops.registry import DYNAMIC_BATCH
from cellc.dialects import ms

PASS_NAME = "convert-ms-to-linalg"


class LoweringError(RuntimeError):
    """A lowering stage failed (an illegal op, an upstream pass, an external tool)."""


class IllegalOpError(ms.VerificationError, LoweringError):
    """An op this pass must not see or cannot lower; a located diagnostic naming the op."""

    def __init__(self, op: ir.Operation, message: str):
        super().__init__([ms.Diagnostic(op.location, f"'{op.name}' op {message}")])


def convert_ms_to_linalg(module: ir.Module | ir.Operation) -> None:
    """`ms` ops -> linalg/tensor/arith/math on tensors, one rewrite pattern per op.

    Runs `convert-ms-to-linalg` on `module` in place (see the module docstring)."""
    operation = module.operation if isinstance(module, ir.Module) else module
    for op in _ms_ops(operation):  # check everything first: a failure leaves the module as is
        op_class = ms.OPS[op.name]
        if op_class is ms.GradOp:
            raise IllegalOpError(op, f"must be expanded (ms-expand-grad) before {PASS_NAME}")
        if op_class not in LOWERINGS:
            raise IllegalOpError(op, f"has no lowering rule ({PASS_NAME})")
        if op_class not in DYNAMIC_BATCH and _dynamic_types(op):
            raise IllegalOpError(
                op,
                f"cannot be compiled for a dynamic batch dimension yet ({_dynamic_types(op)}); "
                "compile this program for a static batch size",
            )
    failures: list[Exception] = []
    with operation.context:
        batches = _batch_sizes(operation)
        patterns = lowering_patterns(failures, batches).freeze()
        apply_patterns_and_fold_greedily(operation, patterns, _driver_config())
    if failures:
        raise failures[0]
    leftover = _ms_ops(operation)
    if leftover:
        raise IllegalOpError(leftover[0], f"is still present after {PASS_NAME}")


def lowering_patterns(
    failures: list[Exception], batches: dict[str, ir.Value] | None = None
) -> RewritePatternSet:
    """One rewrite pattern per op with a lowering rule; an exception a rule raises is appended
    to `failures` and fails its pattern. `batches`: the batch size of each function with a
    dynamic batch dimension, by name (`_batch_sizes`). Needs an active context."""
    patterns = RewritePatternSet()
    for op_class, rule in LOWERINGS.items():
        patterns.add(op_class.name, _pattern(op_class, rule, failures, batches or {}))
    return patterns


def _pattern(
    op_class: type, rule: Callable, failures: list[Exception], batches: dict[str, ir.Value]
) -> Callable:
    """The rewrite pattern of `op_class`: the op's result replaced by what `rule` builds."""

    def match_and_rewrite(op: ir.Operation, rewriter: PatternRewriter):
        try:
            batch = batches.get(_function_name(op)) if batches else None
            multiple = ms.op_batch_multiple(op) if batch is not None else 1
            if multiple != 1:  # its `?` hold the batch folded with other dims
                with rewriter.ip, op.location:
                    index = ir.IndexType.get()
                    batch = arith.muli(batch, arith.constant(index, multiple))
            with rewriter.ip, op.location, linalg_builders.batch_size(batch):
                replacement = rule(op, *op.operands, **op_class.read_attributes(op))
            expected = op.results[0].type
            if replacement.type != expected:
                raise IllegalOpError(op, f"lowered to {replacement.type}, expected {expected}")
        except Exception as error:  # raised by the pass once MLIR's driver has returned
            failures.append(error)
            return True  # the pattern failed; the op stays
        rewriter.replace_op(op, [replacement])

    match_and_rewrite.__name__ = rule.__name__
    match_and_rewrite.__doc__ = rule.__doc__  # the rewrite, e.g. "ms.add(a, b) -> ..."
    return match_and_rewrite


def _dynamic_types(op: ir.Operation) -> str:
    """The types of `op` with a dynamic dimension, comma-separated ("" when none)."""
    types = [v.type for v in [*op.operands, *op.results]]
    return ", ".join(
        str(t) for t in types if isinstance(t, ir.ShapedType) and not t.has_static_shape
    )


def _batch_sizes(operation: ir.Operation) -> dict[str, ir.Value]:
    """For each function with a dynamic (batch) dimension in an argument: its size, read
    with `tensor.dim` at the function's start, by the function's name. A program compiled for
    a dynamic batch has that one dynamic size (compiler/dynamic_batch.py)."""
    found = {}
    for op in operation.regions[0].blocks[0].operations:
        if op.operation.name != "func.func" or not op.regions[0].blocks:
            continue
        entry = op.regions[0].blocks[0]
        for argument in entry.arguments:
            shape = getattr(argument.type, "shape", None)
            if shape is None or ir.ShapedType.get_dynamic_size() not in shape:
                continue
            axis = list(shape).index(ir.ShapedType.get_dynamic_size())
            with ir.InsertionPoint.at_block_begin(entry), ir.Location.unknown():
                found[ir.StringAttr(op.attributes["sym_name"]).value] = linalg_builders.dim(
                    argument, axis
                )
            break
    return found


def _function_name(op: ir.Operation) -> str | None:
    parent = op.parent
    while parent is not None and parent.name != "func.func":
        parent = parent.parent
    return None if parent is None else ir.StringAttr(parent.attributes["sym_name"]).value


def _driver_config() -> GreedyRewriteConfig:
    config = GreedyRewriteConfig()
    config.strictness = GreedyRewriteStrictness.EXISTING_OPS
    config.enable_folding = False
    config.enable_constant_cse = False
    config.region_simplification_level = GreedySimplifyRegionLevel.DISABLED
    return config


def _ms_ops(operation: ir.Operation) -> list[ir.Operation]:
    found = []

    def visit(op):
        if op.operation.name in ms.OPS:
            found.append(op.operation)
        return ir.WalkResult.ADVANCE

    operation.walk(visit, ir.WalkOrder.PRE_ORDER)
    return found
