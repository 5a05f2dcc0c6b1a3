"""Each result of a function gets its own buffer: a value returned twice is copied.

Contract
- Rewrites: in every `func.func` on tensors, each repeated operand of `func.return` after its
  first occurrence to a `linalg.copy` of it (into a `tensor.empty`).
- Why: `buffer-results-to-out-params{hoist-static-allocs=1}` cannot give one buffer two
  out-params (it crashes on it), and gradients often repeat a value: the bias gradients of two
  BatchNorms summing the same cotangent are one value after CSE.
- Both back ends call `copy_repeated_results` right before bufferizing.
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import linalg, tensor


def copy_repeated_results(module: ir.Module) -> None:
    """return %a, %a -> return %a, linalg.copy(%a); in place."""
    with module.context:
        for func_op in module.body.operations:
            if func_op.operation.name != "func.func" or not func_op.regions[0].blocks:
                continue
            for block in func_op.regions[0].blocks:
                terminator = block.operations[len(block.operations) - 1]
                if terminator.operation.name != "func.return":
                    continue
                seen = set()
                for index, value in enumerate(terminator.operands):
                    if value in seen:
                        result_type = ir.RankedTensorType(value.type)
                        with terminator.location, ir.InsertionPoint(terminator):
                            init = tensor.empty(list(result_type.shape), result_type.element_type)
                            terminator.operands[index] = linalg.copy(value, outs=[init])
                    seen.add(value)
