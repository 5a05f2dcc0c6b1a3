"""The buffers of a function's results: each its own, and each the result's own shape.

Contract
- `copy_repeated_results` rewrites, in every `func.func` on tensors, each repeated operand of
  `func.return` after its first occurrence to a `linalg.copy` of it (into a `tensor.empty`).
  Why: `buffer-results-to-out-params{hoist-static-allocs=1}` cannot give one buffer two
  out-params (it crashes on it), and gradients often repeat a value: the bias gradients of two
  BatchNorms summing the same cotangent are one value after CSE. Both back ends call it right
  before bufferizing.
- `empty_results_whole` (the pass `cpu-empty-results-whole`) rewrites a returned
  `tensor.collapse_shape` of a value computed into a `tensor.empty` of the uncollapsed shape
  (through the destinations of linalg ops and `scf.forall`s), when each dynamic size is a group
  of its own: that use of the empty (CSE may have shared it) becomes a `tensor.expand_shape` of
  an empty of the returned shape. The values are unchanged (an empty has no contents); what
  changes is the buffer bufferization gives them. Why: `hoist-static-allocs` writes a result
  straight into its out-param only when the function returns an allocation itself; a packed
  matmul's (M, N/w, w) product returned as (M, N) was computed in a buffer of its own and
  copied (8 MB a call for the MLP gradient's two weight gradients). The CPU back end calls it
  after the last CSE before bufferizing (CSE would merge two such views into one buffer).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import linalg, tensor


def empty_results_whole(module: ir.Module) -> None:
    """return collapse_shape(f(tensor.empty)) -> return collapse_shape(f(expand_shape(empty)))."""
    with module.context:
        for terminator in _returns(module):
            for value in terminator.operands:
                reshape = value.owner
                if isinstance(reshape, ir.OpView) and reshape.name == "tensor.collapse_shape":
                    _compute_in_whole(reshape)


def _returns(module: ir.Module):
    """The `func.return`s of every function in the module."""
    for func_op in module.body.operations:
        if func_op.operation.name != "func.func" or not func_op.regions[0].blocks:
            continue
        for block in func_op.regions[0].blocks:
            terminator = block.operations[len(block.operations) - 1]
            if terminator.operation.name == "func.return":
                yield terminator


def _compute_in_whole(collapse: ir.OpView) -> None:
    """The `tensor.empty` that `collapse`'s operand is computed into (through the destinations
    of linalg ops and `scf.forall`s, their last operands, one per result) -> an expand_shape of
    an empty of `collapse`'s shape, for that use only: CSE may have shared the empty.

    Left as it is when a dynamic size shares its group with another dimension."""
    value, user = collapse.operands[0], None
    while isinstance(value, ir.OpResult) and value.owner.name != "tensor.empty":
        user = value.owner
        if not (user.name.startswith("linalg.") or user.name == "scf.forall"):
            return
        index = len(user.operands) - len(user.results) + value.result_number
        value = user.operands[index]
    if user is None or not isinstance(value, ir.OpResult):
        return
    empty = value.owner
    whole = ir.RankedTensorType(collapse.result.type)
    shape = ir.RankedTensorType(value.type).shape
    dynamic_sizes = iter(empty.operands)
    sizes = []
    for group, size in zip(collapse.reassociation, whole.shape):
        dims = [shape[ir.IntegerAttr(d).value] for d in group]
        if ir.ShapedType.get_dynamic_size() not in dims:
            sizes.append(size)
        elif len(dims) == 1:
            sizes.append(next(dynamic_sizes))
        else:
            return
    with user.location, ir.InsertionPoint(user):
        user.operands[index] = tensor.expand_shape(
            value.type,
            tensor.empty(sizes, whole.element_type),
            collapse.reassociation,
            list(empty.operands),
            shape,
        )
    if not list(empty.result.uses):
        empty.erase()


def copy_repeated_results(module: ir.Module) -> None:
    """return %a, %a -> return %a, linalg.copy(%a); in place."""
    with module.context:
        for terminator in _returns(module):
            seen = set()
            for index, value in enumerate(terminator.operands):
                if value in seen:
                    result_type = ir.RankedTensorType(value.type)
                    with terminator.location, ir.InsertionPoint(terminator):
                        init = tensor.empty(list(result_type.shape), result_type.element_type)
                        terminator.operands[index] = linalg.copy(value, outs=[init])
                seen.add(value)
