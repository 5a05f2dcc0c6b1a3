"""The pass `ms-fold-empty-tensors`: computations on tensors with no elements become constants.

Contract
- Folds, in every `func.func`: an `ms` op whose result has no elements into an empty
  `ms.constant`; an op whose result has elements but that reads an operand with none into the
  constant it must be: `ms.matmul` with an empty contracting dimension and `ms.reduce_sum` over
  an empty axis give zeros (numpy's `(2, 0) @ (0, 3)` and `sum` of nothing). Then it erases the
  `ms` ops no longer used.
- Why: MLIR's tiling asserts on zero-sized loops (`computeAllSliceParameters`: "expected as many
  ivs as non-zero sizes"), so no linalg op on an empty tensor may reach the back end. After the
  pass, only constants, function arguments and returns have empty types.
- Assumes: verified `ms` IR without `ms.grad` (`ms-expand-grad` has run; autodiff may itself
  produce empty tensors, which this pass then folds). `ms.reduce_max` over an empty axis is
  refused by its shape rule, so it never reaches here.
- Illegal after it: an `ms` op other than `ms.constant` with an empty operand or result.
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from cellc.dialects import ms

# Ops whose result has elements even when an operand has none, and the value it then has.
_ZERO_WHEN_EMPTY = (ms.MatMulOp, ms.ReduceSumOp)


def fold_empty_tensors(module: ir.Module) -> None:
    """Folds computations on tensors with no elements into constants, in place.

    The pass `ms-fold-empty-tensors` (see the module docstring)."""
    with module.context:
        for func_op in module.body.operations:
            if func_op.operation.name == "func.func":
                _fold_function(func_op.operation)


def _fold_function(func_op: ir.Operation) -> None:
    folded, constants = [], []
    for op in [op.operation for op in func_op.regions[0].blocks[0].operations]:
        op_class = ms.OPS.get(op.name)
        if op_class is None or op_class is ms.ConstantOp or len(op.results) != 1:
            continue
        result = ms.spec_of(op.results[0])
        empty_operand = any(ms.spec_of(v).size == 0 for v in op.operands)
        if result.size != 0 and not (empty_operand and op_class in _ZERO_WHEN_EMPTY):
            continue
        with ir.InsertionPoint(op), op.location:
            constant = ms.constant(np.zeros(result.shape, result.numpy_dtype), result)
        op.results[0].replace_all_uses_with(constant)
        folded.append(op)
        constants.append(constant.owner)
    for op in reversed(folded):
        op.erase()
    for constant in constants:  # a constant that replaced an op only folded ops used
        if next(iter(constant.results[0].uses), None) is None:
            constant.erase()
