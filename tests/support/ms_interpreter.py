"""A numpy reference interpreter for `ms` IR — a test tool, never the user's execution path.

`run(module, "Net", x, y)` evaluates the function `@Net` on numpy arrays and returns its results
as a list. It interprets every `ms` op except `ms.grad` (expand gradients first) by the op's own
numpy semantics (`Op.reference` in dialects/ms_ops.py, shared with eager mode), plus `func.call`
and `func.return`. Arithmetic happens in the arrays' own dtype, so float64 inputs give float64
reference values for finite-difference checks.
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from cellc.dialects import ms


def _evaluate(op: ir.Operation, operands: list[np.ndarray]) -> np.ndarray:
    """One `ms` op by its own numpy semantics (`Op.reference`, the same code eager mode runs)."""
    definition = ms.OPS[op.name]
    attrs = definition.read_attributes(op)
    if definition.result_given:
        attrs["result"] = ms.spec_of(op.results[0])
    return definition.reference(*operands, **attrs)


def run(module: ir.Module, func_name: str, *args) -> list[np.ndarray]:
    """Evaluates `@func_name` of `module` on `args`; returns the results as numpy arrays."""
    return _call(
        ms.symbol_table(module.operation, "func.func"), func_name, [np.asarray(a) for a in args]
    )


def _call(functions, name, args):
    func_op = functions[name]
    block = func_op.regions[0].blocks[0]
    if len(args) != len(block.arguments):
        raise TypeError(f"@{name} takes {len(block.arguments)} arguments, got {len(args)}")
    env = dict(zip(block.arguments, args))
    for op in block.operations:
        op = op.operation
        operands = [env[v] for v in op.operands]
        if op.name == "func.return":
            return operands
        if op.name == "func.call":
            callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
            results = _call(functions, callee, operands)
        elif op.name in ms.OPS and ms.OPS[op.name] is not ms.GradOp:
            value = _evaluate(op, operands)
            results = [np.asarray(value, dtype=ms.spec_of(op.results[0]).numpy_dtype)]
        else:
            raise NotImplementedError(f"ms_interpreter: cannot evaluate '{op.name}'")
        for result, value in zip(op.results, results):
            expected = ms.spec_of(result).shape
            if value.shape != tuple(expected):
                raise AssertionError(
                    f"'{op.name}' produced shape {value.shape}, type says {expected}"
                )
            env[result] = value
    raise AssertionError(f"@{name} has no func.return")
