"""The pass `convert-bool-tensors-to-i8`: bool tensors are stored as one byte per element.

Contract
- Rewrites: every `tensor<...xi1>` in the module (function arguments and results, op results,
  `arith.constant` values) to `tensor<...xi8>` holding 0 or 1, on linalg/tensor/arith/func on
  tensors (the output of `convert-ms-to-linalg`). Scalars stay i1: inside a linalg body an i8
  block argument standing for a bool element is truncated (`arith.trunci`) before its uses,
  and an i1 yielded into a byte tensor is zero-extended (`arith.extui`); likewise around
  `tensor.extract` / `tensor.insert` of a byte tensor.
- Assumes: static shapes, no ops on tensors other than func/linalg/tensor/arith ones, nothing
  tiled or bufferized yet (the first step of each back end, after `entry_signatures` read the
  bool signature).
- After it: no tensor (hence no buffer) has an i1 element type.

Why bytes: MLIR's memref-to-LLVM lowering cannot load or store sub-byte elements (it asserts on
an i1 `memref.load`), and numpy's bool, which the runtime passes, is one byte holding 0 or 1.
Storing bools as i8 from the start of the back end, rather than packing bits, keeps every
buffer byte-addressable (GPU threads write neighbouring elements independently), makes the
runtime's bool arrays the code's buffers as they are, and leaves the arithmetic on i1 scalars
that `arith.cmpf`/`arith.select` produce and consume. The `ms` and `linalg` stages keep i1,
so the types a user sees (and the manifest and the code's signature) still say bool.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import arith

PASS_NAME = "convert-bool-tensors-to-i8"


def _i1() -> ir.Type:
    return ir.IntegerType.get_signless(1)


def _i8() -> ir.Type:
    return ir.IntegerType.get_signless(8)


def _is_bool_tensor(type_: ir.Type) -> bool:
    return (
        isinstance(type_, ir.RankedTensorType) and ir.RankedTensorType(type_).element_type == _i1()
    )


def _is_byte_tensor(type_: ir.Type) -> bool:
    return (
        isinstance(type_, ir.RankedTensorType) and ir.RankedTensorType(type_).element_type == _i8()
    )


def _bytes(type_: ir.Type) -> ir.Type:
    """tensor<...xi1> -> tensor<...xi8>; any other type unchanged."""
    if not _is_bool_tensor(type_):
        return type_
    return ir.RankedTensorType.get(list(ir.RankedTensorType(type_).shape), _i8())


def convert_bool_tensors_to_i8(module: ir.Module | ir.Operation) -> None:
    """Stores every bool tensor of `module` as i8 (see the module docstring); in place."""
    module_op = module.operation if isinstance(module, ir.Module) else module
    with module_op.context, ir.Location.unknown(module_op.context):
        for op in module_op.regions[0].blocks[0].operations:
            if op.operation.name == "func.func":
                _convert_function(op.operation)


def _convert_function(func_op: ir.Operation) -> None:
    function_type = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
    inputs = [_bytes(t) for t in function_type.inputs]
    results = [_bytes(t) for t in function_type.results]
    func_op.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(inputs, results))
    for block in func_op.regions[0].blocks:
        for argument in block.arguments:
            argument.set_type(_bytes(argument.type))
    for block in func_op.regions[0].blocks:
        for op in list(block.operations):
            _convert_op(op.operation)


def _convert_op(op: ir.Operation) -> None:
    """Retypes `op`'s bool tensor results and fixes the scalars at its tensor boundaries."""
    if op.name == "arith.constant" and _is_bool_tensor(op.results[0].type):
        _convert_constant(op)
        return
    if op.name == "tensor.extract" and _is_byte_tensor(op.operands[0].type):
        _truncate_after(op)
        return
    if op.name == "tensor.insert" and _is_bool_tensor(op.results[0].type):
        with ir.InsertionPoint(op):
            op.operands[0] = arith.extui(_i8(), op.operands[0])
    for result in op.results:
        result.set_type(_bytes(result.type))
    for region in op.regions:
        for block in region.blocks:
            _convert_body(op, block)


def _convert_constant(op: ir.Operation) -> None:
    """dense<[true, false]> : tensor<2xi1> -> dense<[1, 0]> : tensor<2xi8>"""
    value = ir.DenseIntElementsAttr(op.attributes["value"])
    byte_type = _bytes(op.results[0].type)
    if value.is_splat:
        values = [int(bool(ir.IntegerAttr(value.get_splat_value()).value))]
        attr = ir.DenseElementsAttr.get_splat(byte_type, ir.IntegerAttr.get(_i8(), values[0]))
    else:
        values = np.array([int(bool(value[i])) for i in range(len(value))], dtype=np.int8)
        attr = ir.DenseElementsAttr.get(
            values.reshape(ir.RankedTensorType(byte_type).shape), type=byte_type
        )
    with ir.InsertionPoint(op):
        replacement = arith.constant(byte_type, attr)
    op.results[0].replace_all_uses_with(replacement)
    op.erase()


def _truncate_after(op: ir.Operation) -> None:
    """%b = tensor.extract %bytes[...] : i1 -> %y = tensor.extract ... : i8; %b = trunci %y"""
    result = op.results[0]
    if result.type != _i1():
        return
    result.set_type(_i8())
    with ir.InsertionPoint.after(op):
        truncated = arith.trunci(_i1(), result)
    _replace_uses_except(result, truncated, truncated.owner)


def _convert_body(op: ir.Operation, block: ir.Block) -> None:
    """A linalg body: block argument i (for operand i) is i8 where operand i is now a byte
    tensor; it is truncated before its uses. Yielded i1 values for byte outputs are extended."""
    operands = list(op.operands)
    for index, argument in enumerate(block.arguments):
        if argument.type != _i1() or index >= len(operands):
            continue
        if not _is_byte_tensor(operands[index].type):
            continue
        argument.set_type(_i8())
        if next(iter(argument.uses), None) is None:
            continue
        with ir.InsertionPoint.at_block_begin(block):
            truncated = arith.trunci(_i1(), argument)
        _replace_uses_except(argument, truncated, truncated.owner)
    for inner in list(block.operations):
        inner = inner.operation
        if inner.name.endswith(".yield"):
            _extend_yield(op, inner)
        else:
            _convert_op(inner)


def _extend_yield(op: ir.Operation, yield_op: ir.Operation) -> None:
    results = list(op.results)
    for index, value in enumerate(list(yield_op.operands)):
        if value.type == _i1() and index < len(results) and _is_byte_tensor(results[index].type):
            with ir.InsertionPoint(yield_op):
                yield_op.operands[index] = arith.extui(_i8(), value)


def _replace_uses_except(value: ir.Value, replacement: ir.Value, keep: ir.Operation) -> None:
    for use in list(value.uses):
        if use.owner != keep:
            use.owner.operands[use.operand_number] = replacement
