"""Compile once for any batch size: a program with a dynamic batch dimension, from two traces.

cellc traces at static shapes, and every shape rule, derivative and fold is written for them.
So a program for a dynamic batch is traced twice, at two batch sizes (`SAMPLE_BATCHES`); each
trace runs through the `ms`-level stages (derivatives, inlining, folds: compiler/pipeline.py),
and `generalize` then merges the two modules into one, walking them in lockstep (an
anti-unification). They must agree op by op, attribute by attribute, except where the batch
size shows:

- a dimension that is the batch size in each trace becomes `?` (`tensor<?x784xf32>`), and so
  does one that is c times it in each (c >= 2: a reshape folding the batch with other dims,
  as nn.Dense on a sequence and an Embedding's lookup do, [N, 4, 8] -> [4N, 8]); such an op
  carries `ms.batch_multiple = c` (`ms.BATCH_MULTIPLE_ATTR`), for the verifier and the
  lowering, and all the `?` of an op are one multiple but for an ms.reshape's (its results
  may hold another than its operand); a function takes and returns the batch unfolded;
- a scalar constant that is `c / N` in each (a mean's `1/N`), `c * N`, or `m / (m - 1)` with
  `m = c * N` (BatchNorm's unbiased variance) becomes that computation on the batch size at
  run time (`ms.dim_size` of an argument, then `ms.div`/`ms.mul`/`ms.sub`); a splat constant of
  a batch-sized type stays a splat, of the dynamic type.

Anything else that differs depends on the batch size in a way one compiled program cannot
express (a concat that grows the batch by one, a Python branch on the batch size);
`DynamicBatchError` names the op, its source line and the two values. Every `?` of the
result is the batch times its op's multiple: the lowering sizes each one from it
(`linalg_builders`, the pass multiplying the batch by the op's multiple), the CPU entry takes
the batch as a trailing argument, the manifest marks the dims of the batch -1 and the loader
checks that the arguments agree on it. Both traces keep their constants apart through
`ms-cse` (`ms.DISTINCT_CONSTANTS_ATTR`): two constants equal at one batch size (a loss's
1/(2N) and BatchNorm's 0.1 at N = 5) may differ at the other; the pipeline merges what is
equal once more after `generalize`.
"""

from __future__ import annotations

import linecache
from dataclasses import dataclass

import numpy as np
from mlir import ir

from cellc.dialects import ms
from cellc.dialects.types import DYNAMIC_DIM, SAMPLE_BATCHES, TensorSpec
from cellc.runtime.errors import CellcError

_RELATIVE_TOLERANCE = 1e-6  # a constant computed in float32 from the batch size

# Attributes that repeat an op's result shape (the shape rule checks them against it): where
# they hold the batch size they follow the result's `?` (the lowering reads the result type).
_SIZE_ATTRIBUTES = {ms.StridedSliceOp.name: ("sizes",)}


@dataclass(frozen=True)
class BatchSample:
    """The program traced at a second batch size: what makes a compile's batch dynamic.
    `axes`: the dynamic axes of each input; `sizes`: the batch sizes of the compiled program's
    trace and of this one."""

    program: object  # compiler.program.Program
    axes: tuple[tuple[int, ...], ...]
    sizes: tuple[int, int] = SAMPLE_BATCHES


class DynamicBatchError(CellcError, ValueError):
    """The program cannot be compiled once for every batch size; the message says where."""


def generalize(first: ir.Module, second: ir.Module, sizes: tuple[int, int]) -> None:
    """Merges `second` (the trace at batch `sizes[1]`) into `first` (at `sizes[0]`), in place:
    `first` becomes the program for a dynamic batch (see the module docstring). Both modules
    must live in one context."""
    with first.context, ir.Location.unknown():
        _generalize(first, second, sizes)
    ms.verify_module(first)


def _generalize(first: ir.Module, second: ir.Module, sizes: tuple[int, int]) -> None:
    ops_first, ops_second = _preorder(first), _preorder(second)
    constants = []
    counterpart: dict[ir.Value, ir.Value] = {}  # each value of `second` -> its value in `first`
    multiples: dict[ir.Value, int] = {}  # each value of `first` with a `?` -> its multiple
    for a, b in zip(ops_first, ops_second):
        if _outline(a) != _outline(b) or any(
            counterpart.get(operand_b) != operand_a
            for operand_a, operand_b in zip(a.operands, b.operands)
        ):
            raise _error(a, "has no counterpart in the trace at the other batch size", sizes)
        for region_a, region_b in zip(a.regions, b.regions):
            for block_a, block_b in zip(region_a.blocks, region_b.blocks):
                for arg_a, arg_b in zip(block_a.arguments, block_b.arguments):
                    multiple = _generalize_value(arg_a, arg_b, a, sizes)
                    if multiple not in (None, 1):
                        raise _error(
                            a, f"takes {arg_a.type} with the batch folded into a dim", sizes
                        )
                    if multiple is not None:
                        multiples[arg_a] = multiple
                    counterpart[arg_b] = arg_a
        for result_a, result_b in zip(a.results, b.results):
            multiple = _generalize_value(result_a, result_b, a, sizes)
            if multiple is not None:
                multiples[result_a] = multiple
            counterpart[result_b] = result_a
        for name in a.attributes:
            if name == "function_type":
                continue
            attr_a, attr_b = a.attributes[name], b.attributes[name]
            if attr_a == attr_b:
                continue
            if a.name == ms.ConstantOp.name and name == "value":
                constants.append((a, b))
            elif name in _SIZE_ATTRIBUTES.get(a.name, ()) and _follows_batch(attr_a, attr_b, sizes):
                continue  # a copy of the result's shape, `?` where the batch is
            else:
                raise _error(
                    a,
                    f"attribute '{name}' is {attr_a} at batch {sizes[0]} and {attr_b} at "
                    f"batch {sizes[1]}",
                    sizes,
                )
        _mark_multiple(a, multiples, sizes)
    if len(ops_first) != len(ops_second):
        longer = ops_first if len(ops_first) > len(ops_second) else ops_second
        raise _error(longer[min(len(ops_first), len(ops_second))], "is not in both traces", sizes)
    for a, b in constants:
        _generalize_constant(a, b, sizes)
    _retype_functions(first)
    first.operation.attributes[ms.DYNAMIC_BATCH_ATTR] = ir.IntegerAttr.get(
        ir.IntegerType.get_signless(64), sizes[0]
    )


def _outline(op: ir.Operation) -> tuple:
    """What two corresponding ops share whatever the batch: name, operand and result counts,
    attribute names, and the shape of their regions (blocks and their argument counts)."""
    regions = tuple(tuple(len(block.arguments) for block in region.blocks) for region in op.regions)
    return (op.name, len(op.operands), len(op.results), tuple(sorted(op.attributes)), regions)


def _preorder(module: ir.Module) -> list[ir.Operation]:
    found = []

    def visit(op):
        found.append(op.operation)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit, ir.WalkOrder.PRE_ORDER)
    return found


def _generalize_value(a: ir.Value, b: ir.Value, op: ir.Operation, sizes) -> int | None:
    """Gives `a` (of the first trace) `?` where its type and `b`'s differ, and returns how
    many times the batch those dims are (the same for all of them); None when none differ."""
    if a.type == b.type:
        return None
    ta, tb = a.type, b.type
    if not (
        isinstance(ta, ir.RankedTensorType)
        and isinstance(tb, ir.RankedTensorType)
        and ta.rank == tb.rank
        and ta.element_type == tb.element_type
    ):
        raise _error(op, f"has type {ta} at batch {sizes[0]} and {tb} at batch {sizes[1]}", sizes)
    dims, multiples = [], set()
    for axis, (da, db) in enumerate(zip(ta.shape, tb.shape)):
        if da == db:
            dims.append(da)
            continue
        multiple = _multiple_of_batch(da, db, sizes)
        if multiple is None:
            raise _error(
                op,
                f"makes {ta} at batch {sizes[0]} and {tb} at batch {sizes[1]}: dimension {axis} "
                "depends on the batch size without being it or a multiple of it",
                sizes,
            )
        dims.append(DYNAMIC_DIM)
        multiples.add(multiple)
    if len(multiples) > 1:
        raise _error(
            op,
            f"makes {ta} at batch {sizes[0]} and {tb} at batch {sizes[1]}: dimensions that are "
            f"different multiples of the batch ({', '.join(sorted(map(str, multiples)))})",
            sizes,
        )
    a.set_type(ir.RankedTensorType.get(dims, ta.element_type))
    return multiples.pop()


def _multiple_of_batch(da: int, db: int, sizes) -> int | None:
    """c when a dim is c times the batch in each trace (`da` at `sizes[0]`, `db` at
    `sizes[1]`): 1 for the batch itself, more where a reshape folds it with other dims."""
    (na, nb) = sizes
    if da % na or db % nb or da // na != db // nb or da // na < 1:
        return None
    return da // na


def _mark_multiple(op: ir.Operation, multiples: dict[ir.Value, int], sizes) -> None:
    """Checks that the `?` dims of `op` are one multiple of the batch (an ms.reshape's results
    may hold another multiple than its operand) and records a multiple other than 1 on the op
    (`ms.BATCH_MULTIPLE_ATTR`), for the verifier and the lowering; a function must take and
    return the batch unfolded (the runtime sizes its buffers by the batch)."""
    if op.name == "func.return":
        for value in op.operands:
            if multiples.get(value, 1) != 1:
                maker = value.owner.operation if isinstance(value, ir.OpResult) else op
                raise _error(
                    maker,
                    f"makes {value.type}, the batch folded into a dim ({multiples[value]} "
                    "times the batch), and the function returns it: a result must keep the "
                    "batch a dim of its own",
                    sizes,
                )
        return
    results = {multiples[v] for v in op.results if v in multiples}
    operands = {multiples[v] for v in op.operands if v in multiples}
    found = results if op.name == ms.ReshapeOp.name else results | operands
    if len(found) > 1:
        raise _error(
            op,
            f"mixes dims that are different multiples of the batch ({sorted(found)})",
            sizes,
        )
    multiple = (found or results or operands or {1}).pop()
    if multiple != 1 and op.name.startswith("ms."):
        op.attributes[ms.BATCH_MULTIPLE_ATTR] = ir.IntegerAttr.get(
            ir.IntegerType.get_signless(64), multiple
        )


def _generalize_constant(a: ir.Operation, b: ir.Operation, sizes) -> None:
    """A constant whose value differs between the traces: a splat of a batch-sized type stays
    (its type is dynamic now, `lower_constant` fills it), a scalar that follows the batch size
    as `_batch_formula` knows becomes that computation; anything else is refused."""
    value_a = np.asarray(ir.DenseElementsAttr(a.attributes["value"]))
    value_b = np.asarray(ir.DenseElementsAttr(b.attributes["value"]))
    result_type = ir.RankedTensorType(a.results[0].type)
    if not result_type.has_static_shape:
        if _splat(value_a) and _splat(value_b) and value_a.flat[0] == value_b.flat[0]:
            return
        raise _error(a, "is a batch-sized constant with different values per batch size", sizes)
    if value_a.size != 1:
        raise _error(a, "has other values at another batch size", sizes)
    va, vb = value_a.item(), value_b.item()
    element = str(result_type.element_type)
    formula = _batch_formula(va, vb, sizes, ms.spec_of(result_type).is_float)
    if formula is None:
        raise _error(
            a,
            f"is {va} at batch {sizes[0]} and {vb} at batch {sizes[1]}: a number made from the "
            "batch size N that is not c/N, c*N or an unbiased variance's m/(m-1) (m = c*N)",
            sizes,
        )
    source, axis = _batch_source(a)
    with ir.InsertionPoint(a), a.location:
        size = ir.Operation.create(
            ms.DimSizeOp.name,
            results=[result_type],
            operands=[source],
            attributes={"axis": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), axis)},
        ).results[0]
        spec = TensorSpec((), element)
        replacement = formula(size, lambda c: ms.constant(np.asarray(c, spec.numpy_dtype), spec))
    a.results[0].replace_all_uses_with(replacement)
    a.erase()


def _batch_formula(va: float, vb: float, sizes, is_float: bool):
    """How a scalar that is `va` at batch `sizes[0]` and `vb` at `sizes[1]` follows the batch
    size N, as `formula(N as a scalar value, constant)`: c/N (a mean), c*N, or m/(m-1) with
    m = c*N (an unbiased variance's correction, BatchNorm's moving variance); None when it is
    none of them. Integers only as c*N."""
    (na, nb), close = sizes, lambda x, y: np.isclose(x, y, rtol=_RELATIVE_TOLERANCE, atol=0)
    if is_float and close(va * na, vb * nb):
        return lambda n, constant: ms.div(constant(va * na), n)
    if close(va / na, vb / nb) and (is_float or float(va / na).is_integer()):
        return lambda n, constant: ms.mul(constant(va / na), n)
    if is_float and va > 1 and vb > 1:
        # m = v / (v - 1) when v = m / (m - 1); v is rounded, so m is checked by recomputing v
        per_sample = round(va / (va - 1) / na)
        if per_sample >= 1 and all(
            np.float32(per_sample * n / (per_sample * n - 1)) == np.float32(v)
            for n, v in ((na, va), (nb, vb))
        ):

            def corrected(n, constant):
                m = ms.mul(constant(per_sample), n)
                return ms.div(m, ms.sub(m, constant(1.0)))

            return corrected
    return None


def _follows_batch(attr_a: ir.Attribute, attr_b: ir.Attribute, sizes) -> bool:
    """Whether two i64 arrays differ only where one holds a multiple of the first batch size,
    the other the same multiple of the second."""
    a, b = list(ir.DenseI64ArrayAttr(attr_a)), list(ir.DenseI64ArrayAttr(attr_b))
    return len(a) == len(b) and all(
        x == y or _multiple_of_batch(x, y, sizes) is not None for x, y in zip(a, b)
    )


def _splat(value: np.ndarray) -> bool:
    return value.size > 0 and bool((value == value.flat[0]).all())


def _batch_source(op: ir.Operation) -> tuple[ir.Value, int]:
    """An argument of `op`'s function with a dynamic dim, and that dim."""
    function = op.parent
    while function is not None and function.name != "func.func":
        function = function.parent
    if function is not None:
        for argument in function.regions[0].blocks[0].arguments:
            shape = list(ir.RankedTensorType(argument.type).shape)
            if DYNAMIC_DIM in shape:
                return argument, shape.index(DYNAMIC_DIM)
    raise _error(op, "depends on the batch size in a function that has no batch argument", (0, 0))


def _retype_functions(module: ir.Module) -> None:
    """Each function's type from its (generalized) arguments and returned values."""
    for op in module.body.operations:
        if op.operation.name != "func.func" or not op.regions[0].blocks:
            continue
        block = op.regions[0].blocks[0]
        returned = [v.type for v in list(block.operations)[-1].operands]
        function_type = ir.FunctionType.get([a.type for a in block.arguments], returned)
        op.attributes["function_type"] = ir.TypeAttr.get(function_type)


def _error(op: ir.Operation, message: str, sizes) -> DynamicBatchError:
    location, line = op.location, ""
    if location.is_a_file():
        where = f"{location.filename}:{location.start_line}"
        text = linecache.getline(location.filename, location.start_line).strip()
        line = f"\n  at {where}: {text}" if text else ""
    else:
        where = str(location)
    return DynamicBatchError(
        f"cannot compile for a dynamic batch dimension: '{op.name}' at {where} {message}; "
        f"compile for a static batch size instead (traced at batch sizes {sizes[0]} and "
        f"{sizes[1]}){line}"
    )
