"""The `ms` dialect in MLIR: IRDL definitions, builders, attribute conversion and verifier.

The ops themselves (documentation, operands and attributes, shape rules, numpy semantics) are
defined once, in `dialects/ms_ops.py`, and re-exported here, so that the compiler writes
`ms.AddOp`, `ms.add(a, b)` and `ms.spec_of(value)` from one module. This module turns those
classes into MLIR: it generates the IRDL definition (`irdl_source()`, loaded into a context by
`load_dialect(ctx)`), builds ops at the current insertion point, reads attributes back as Python
values, and checks the rules IRDL cannot express (`verify_module`).

IRDL checks the op's structure (operand count, tensor types, attribute kinds); the rules it cannot
express (broadcasting, matmul dimensions, axes ranges, ms.grad against its callee) are checked by
`verify_module`, which `cellc opt` and the compiler run after parsing or building IR. IRDL-defined
ops print in MLIR's generic form (`"ms.add"(%a, %b) : (...) -> ...`).

One IRDL limit shapes `ms.grad`: an IRDL constraint variable binds to the first type it matches,
so a variadic operand list must be homogeneous. ms.grad's operands have different shapes, so its
operands and results are declared as `MAX_GRAD_SLOTS` optional slots each, and the generic form
carries `operandSegmentSizes`/`resultSegmentSizes`. The builder fills them in. As text, cellc
writes the used slots only (`array<i32: 1, 1>`: `short_grad_segments`, the compiler's stage dumps
and `cellc opt`'s output) and reads any prefix of the slots, padding it with zeros
(`full_grad_segments`, `cellc opt`'s input), so that IR stays readable and hand-written IR does
not spell out a thousand zeros.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from mlir import ir
from mlir.dialects import irdl

from cellc.runtime.dtypes import BY_ELEMENT
from cellc.runtime.errors import CellcError

from .ms_ops import MAX_GRAD_SLOTS, OPS, ConstantOp, GradMode, GradOp, Op, ShapeError
from .types import DYNAMIC_DIM, TensorSpec, static_shape_message

# How each attribute kind of `ms_ops.ATTRIBUTE_KINDS` is stored: its IRDL base.
ATTRIBUTE_BASES = {
    "bool": "#builtin.integer",
    "i64": "#builtin.integer",
    "i64_array": "#builtin.dense_array",
    "symbol": "#builtin.symbol_ref",
    "dense": "#builtin.dense_int_or_fp_elements",
}


def _to_attribute(kind: str, value, spec: TensorSpec | None = None) -> ir.Attribute:
    if kind == "bool":
        return ir.BoolAttr.get(bool(value))
    if kind == "i64":
        return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), int(value))
    if kind == "i64_array":
        return ir.DenseI64ArrayAttr.get([int(v) for v in value])
    if kind == "symbol":
        return ir.FlatSymbolRefAttr.get(str(value))
    if kind == "dense":
        array = np.asarray(value, dtype=spec.numpy_dtype)
        return ir.DenseElementsAttr.get(array, type=tensor_type(spec))
    raise AssertionError(f"unknown attribute kind {kind}")


def _from_attribute(kind: str, attr: ir.Attribute):
    if kind == "bool":
        return bool(ir.IntegerAttr(attr).value)
    if kind == "i64":
        return int(ir.IntegerAttr(attr).value)
    if kind == "i64_array":
        return tuple(ir.DenseI64ArrayAttr(attr))
    if kind == "symbol":
        return ir.FlatSymbolRefAttr(attr).value
    if kind == "dense":
        dense = ir.DenseElementsAttr(attr)
        spec = spec_of(dense.type)
        if dense.is_splat:
            return np.full(spec.shape, _splat_value(dense), dtype=spec.numpy_dtype)
        return np.array(dense, dtype=spec.numpy_dtype).reshape(spec.shape)
    raise AssertionError(f"unknown attribute kind {kind}")


def _splat_value(dense: ir.DenseElementsAttr):
    value = dense.get_splat_value()
    if isinstance(value.type, (ir.F16Type, ir.F32Type, ir.F64Type)):
        return ir.FloatAttr(value).value
    return ir.IntegerAttr(value).value


def tensor_type(spec: TensorSpec) -> ir.RankedTensorType:
    """The MLIR type of a TensorSpec (needs an active context)."""
    return ir.RankedTensorType.get(list(spec.shape), element_type(spec.element))


def element_type(name: str) -> ir.Type:
    return {
        "f16": ir.F16Type.get,
        "f32": ir.F32Type.get,
        "f64": ir.F64Type.get,
        "i8": lambda: ir.IntegerType.get_signless(8),
        "i16": lambda: ir.IntegerType.get_signless(16),
        "i32": lambda: ir.IntegerType.get_signless(32),
        "i64": lambda: ir.IntegerType.get_signless(64),
        "i1": lambda: ir.IntegerType.get_signless(1),
    }[name]()


# The module attribute of a program compiled for a dynamic batch dimension: the batch size of
# the trace its `?` dims stand for (compiler/dynamic_batch.py). The verifier checks each op's
# shape rule with that size in place of `?`.
DYNAMIC_BATCH_ATTR = "ms.dynamic_batch"

# On a module traced at a sample batch size for a dynamic-batch compile (both traces): `ms-cse`
# leaves its constants distinct. Two constants equal at one batch size may differ at the other
# (a loss's 1/(2N) is BN's momentum 0.1 at N = 5), and the traces must match op for op. The
# pipeline drops the mark and runs `ms-cse` again once they are merged.
DISTINCT_CONSTANTS_ATTR = "ms.distinct_constants"

# On an op of such a module: each `?` among its results (and, but for an ms.reshape, its
# operands) is this many times the batch: a dim that holds the batch folded with others, as
# `ms.reshape` of [N, 5, 8] to [5N, 8] makes (nn.Dense on a sequence, an Embedding's lookup).
# Without it, a `?` is the batch itself.
BATCH_MULTIPLE_ATTR = "ms.batch_multiple"


def batch_multiple(value: ir.Value) -> int:
    """How many times the batch each `?` of `value` is (`BATCH_MULTIPLE_ATTR` of the op that
    makes it; 1 for a block argument)."""
    if not isinstance(value, ir.OpResult):
        return 1
    return op_batch_multiple(value.owner.operation)


def op_batch_multiple(op: ir.Operation) -> int:
    """`BATCH_MULTIPLE_ATTR` of `op`, 1 when it has none."""
    if BATCH_MULTIPLE_ATTR not in op.attributes:
        return 1
    return ir.IntegerAttr(op.attributes[BATCH_MULTIPLE_ATTR]).value


def spec_of(type_or_value, batch: int | None = None) -> TensorSpec:
    """The TensorSpec of an MLIR ranked tensor type or of a Value of that type; `batch` in
    place of each dynamic dim, when given."""
    t = type_or_value.type if isinstance(type_or_value, ir.Value) else type_or_value
    ranked = ir.RankedTensorType(t)
    shape = tuple(ranked.shape)
    if batch is not None:
        shape = tuple(batch if d == DYNAMIC_DIM else d for d in shape)
    return TensorSpec(shape, str(ranked.element_type))


def dynamic_batch(module_op: ir.Operation) -> int | None:
    """The sample batch size of a module compiled for a dynamic batch, else None (also when
    the attribute is not a positive integer: the verifier then refuses the `?` types)."""
    if DYNAMIC_BATCH_ATTR not in module_op.attributes:
        return None
    attr = module_op.attributes[DYNAMIC_BATCH_ATTR]
    if not isinstance(attr, ir.IntegerAttr) or ir.IntegerAttr(attr).value < 1:
        return None
    return ir.IntegerAttr(attr).value


# --------------------------------------------------------------------------------------------
# Building ops and reading them back
# --------------------------------------------------------------------------------------------


def build_op(op_class: type[Op], *operands: ir.Value, loc: ir.Location | None = None, **attrs):
    """Creates an op whose result type follows from its operands and attributes."""
    attrs = {**op_class.defaults, **attrs}
    specs = [spec_of(v) for v in operands]
    if len(specs) != len(op_class.operands):
        raise ShapeError(
            op_class.name, f"expects {len(op_class.operands)} operands, got {len(specs)}"
        )
    results = op_class.infer(specs, attrs)
    op = ir.Operation.create(
        op_class.name,
        results=[tensor_type(r) for r in results],
        operands=list(operands),
        attributes=_mlir_attributes(op_class, attrs, results),
        loc=loc,
    )
    return op.results[0]


def _mlir_attributes(op_class: type[Op], attrs: dict, results: list[TensorSpec]) -> dict:
    out = {}
    for key, kind in op_class.attributes.items():
        if key not in attrs:
            raise ShapeError(op_class.name, f"missing attribute '{key}'")
        out[key] = _to_attribute(kind, attrs[key], results[0] if kind == "dense" else None)
    return out


def read_attributes(op_class: type[Op], op: ir.Operation) -> dict:
    """The attributes of `op` (an `op_class` op) as Python values, keyed by name."""
    return {
        key: _from_attribute(kind, op.attributes[key])
        for key, kind in op_class.attributes.items()
        if key in op.attributes
    }


def build_constant(value, spec: TensorSpec, loc=None) -> ir.Value:
    """An ms.constant of type `spec` (a one-element value is stored as a splat)."""
    value = np.asarray(value, dtype=spec.numpy_dtype)
    if value.size == 1 and spec.size != 1:
        value = value.reshape(())
    ConstantOp.infer([], {"result": spec, "value": value})
    op = ir.Operation.create(
        ConstantOp.name,
        results=[tensor_type(spec)],
        attributes={"value": _splat_or_dense(value, spec)},
        loc=loc,
    )
    return op.results[0]


def _splat_or_dense(value: np.ndarray, spec: TensorSpec) -> ir.Attribute:
    if value.ndim == 0:
        array = np.full((1,), value, dtype=spec.numpy_dtype)
        return ir.DenseElementsAttr.get_splat(
            tensor_type(spec), ir.DenseElementsAttr.get(array).get_splat_value()
        )
    if value.dtype == np.bool_:  # i1 elements: MLIR reads a bool buffer bit-packed
        value = np.packbits(value, bitorder="little")
    return ir.DenseElementsAttr.get(np.ascontiguousarray(value), type=tensor_type(spec))


def build_with_result(op_class: type[Op], x: ir.Value, *, shape=None, element=None, loc=None):
    """Creates a one-operand op whose result type the caller gives (reshape, broadcast_to:
    the shape; cast: the element type)."""
    spec = spec_of(x)
    result = TensorSpec(spec.shape if shape is None else shape, element or spec.element)
    op_class.infer([spec], {"result": result})
    return ir.Operation.create(
        op_class.name, results=[tensor_type(result)], operands=[x], loc=loc
    ).results[0]


def build_grad(op_class, callee: str, mode: GradMode, operands, results, loc=None) -> list:
    """Creates an ms.grad (see GradOp) and returns its results."""
    attrs = {
        "callee": callee,
        "get_all": mode.get_all,
        "get_by_list": mode.get_by_list,
        "sens_param": mode.sens_param,
        "weights": mode.weights,
    }
    mlir_attrs = {key: _to_attribute(kind, attrs[key]) for key, kind in op_class.attributes.items()}
    mlir_attrs["operandSegmentSizes"] = _segments(len(operands))
    mlir_attrs["resultSegmentSizes"] = _segments(len(results))
    op = ir.Operation.create(
        op_class.name,
        results=[tensor_type(r) for r in results],
        operands=list(operands),
        attributes=mlir_attrs,
        loc=loc,
    )
    return list(op.results)


def check_grad_against_callee(op: ir.Operation, callee: ir.Operation) -> None:
    """Raises ShapeError unless an ms.grad's operands and results match its callee."""
    ftype = ir.FunctionType(ir.TypeAttr(callee.attributes["function_type"]).value)
    GradOp.check_signature(
        GradOp.mode(op),
        operands=[spec_of(v) for v in op.operands],
        results=[spec_of(v) for v in op.results],
        callee_args=[spec_of(t) for t in ftype.inputs],
        callee_results=[spec_of(t) for t in ftype.results],
        num_inputs=num_callee_inputs(callee),
    )


def _segments(n: int) -> ir.Attribute:
    return ir.DenseI32ArrayAttr.get([1] * n + [0] * (MAX_GRAD_SLOTS - n))


_GRAD_SEGMENTS = re.compile(
    r"\b(operandSegmentSizes|resultSegmentSizes) = array<i32(?:: ([0-9, ]*))?>"
)


def full_grad_segments(text: str) -> str:
    """IR text whose `ms.grad` ops (one per line, as MLIR prints them) give a prefix of their
    segment sizes, with each array padded with zeros to MAX_GRAD_SLOTS entries (an array that is
    too long is left for the parser to refuse)."""
    return _rewrite_grad_segments(text, lambda sizes: sizes + [0] * (MAX_GRAD_SLOTS - len(sizes)))


def short_grad_segments(text: str) -> str:
    """IR text with each `ms.grad` op's segment arrays cut after their last used slot."""

    def used(sizes: list[int]) -> list[int]:
        while sizes and sizes[-1] == 0:
            sizes = sizes[:-1]
        return sizes

    return _rewrite_grad_segments(text, used)


def _rewrite_grad_segments(text: str, rewrite) -> str:
    def array(match: re.Match) -> str:
        sizes = [int(v) for v in (match.group(2) or "").replace(",", " ").split()]
        sizes = rewrite(sizes)
        listed = f": {', '.join(map(str, sizes))}" if sizes else ""
        return f"{match.group(1)} = array<i32{listed}>"

    pieces = []
    done = 0
    for op in re.finditer(r'"ms\.grad"\s*\(', text):
        attributes = _attribute_dict(text, op.end())
        if attributes is None or attributes[0] < done:
            continue
        start, end = attributes
        pieces += [text[done:start], _GRAD_SEGMENTS.sub(array, text[start:end])]
        done = end
    return "".join(pieces) + text[done:]


def _attribute_dict(text: str, after: int) -> tuple[int, int] | None:
    """The span of the `{...}` attribute dictionary of the generic op whose operand list opens
    just before `after`, or None if the text does not have one there."""
    close = text.find(")", after)
    if close < 0:
        return None
    start = close + 1
    while start < len(text) and text[start].isspace():
        start += 1
    if not text.startswith("{", start):
        return None
    depth = 0
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return start, index + 1
    return None


def symbol_table(op: ir.Operation, kind: str | None = None) -> dict[str, ir.Operation]:
    """The symbols defined directly in `op` (a module), by name; only ops named `kind`
    (`"func.func"`, `"memref.global"`) when it is given."""
    return {
        ir.StringAttr(child.attributes["sym_name"]).value: child
        for region in op.regions
        for block in region.blocks
        for child in (view.operation for view in block.operations)
        if "sym_name" in child.attributes and (kind is None or child.name == kind)
    }


def symbol_references(op: ir.Operation) -> list[str]:
    """The names of every symbol that `op` or an op nested in it references
    (`FlatSymbolRefAttr` attributes: `ms.grad`'s callee, `func.call`'s), in walk order."""
    names: list[str] = []

    def collect(inner):
        for attribute in inner.attributes:
            value = inner.attributes[attribute]
            if isinstance(value, ir.FlatSymbolRefAttr):
                names.append(value.value)
        return ir.WalkResult.ADVANCE

    op.walk(collect)
    return names


WEIGHT_ATTR = "ms.weight"  # on a weight argument of a func.func: the Parameter's name
ENTRY_ATTR = "ms.entry"  # on the func.func a program is called through
UPDATE_ATTR = "ms.update"  # on a hidden result of the entry: the new value of this Parameter


def num_callee_inputs(func_op: ir.Operation) -> int:
    """How many leading arguments of a traced function are inputs (the rest are weights)."""
    names = weight_names(func_op)
    return sum(1 for n in names if n is None)


def weight_names(func_op: ir.Operation) -> list[str | None]:
    """For each argument of a func.func: its Parameter name, or None for an input."""
    ftype = ir.FunctionType(ir.TypeAttr(func_op.attributes["function_type"]).value)
    names: list[str | None] = [None] * len(ftype.inputs)
    if "arg_attrs" not in func_op.attributes:
        return names
    for i, arg_dict in enumerate(ir.ArrayAttr(func_op.attributes["arg_attrs"])):
        arg_dict = ir.DictAttr(arg_dict)
        if WEIGHT_ATTR in arg_dict:
            names[i] = ir.StringAttr(arg_dict[WEIGHT_ATTR]).value
    return names


# --------------------------------------------------------------------------------------------
# IRDL and loading
# --------------------------------------------------------------------------------------------


def irdl_source() -> str:
    """The IRDL module defining the dialect, generated from the op classes above."""
    lines = ["irdl.dialect @ms {"]
    for op in OPS.values():
        short = op.name.split(".", 1)[1]
        lines.append(f"  irdl.operation @{short} {{")
        operands, results = _irdl_slots(op)
        for var, _ in operands + results:
            lines.append(f'    %{var} = irdl.base "!builtin.tensor"')
        for key, kind in op.attributes.items():
            lines.append(f'    %attr_{key} = irdl.base "{ATTRIBUTE_BASES[kind]}"')
        if operands:
            lines.append(f"    irdl.operands({', '.join(decl for _, decl in operands)})")
        lines.append(f"    irdl.results({', '.join(decl for _, decl in results)})")
        if op.attributes:
            attrs = ", ".join(f'"{key}" = %attr_{key}' for key in op.attributes)
            lines.append(f"    irdl.attributes {{{attrs}}}")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)


def _irdl_slots(op: type[Op]):
    if op is GradOp:
        operands = [(f"arg{i}", f"arg{i}: optional %arg{i}") for i in range(MAX_GRAD_SLOTS)]
        results = [(f"grad{i}", f"grad{i}: optional %grad{i}") for i in range(MAX_GRAD_SLOTS)]
        return operands, results
    operands = [(f"in_{n}", f"{n}: %in_{n}") for n in op.operands]
    results = [(f"out_{n}", f"{n}: %out_{n}") for n in op.results]
    return operands, results


def load_dialect(ctx: ir.Context) -> None:
    """Registers the `ms` dialect in `ctx` (once per context)."""
    if getattr(ctx, "_cellc_ms_loaded", False):
        return
    with ctx, ir.Location.unknown():
        irdl.load_dialects(ir.Module.parse(irdl_source()))
    ctx._cellc_ms_loaded = True


def make_context() -> ir.Context:
    """A fresh MLIR context with every upstream dialect and `ms` loaded."""
    ctx = ir.Context()
    load_dialect(ctx)
    return ctx


# --------------------------------------------------------------------------------------------
# Python verifier
# --------------------------------------------------------------------------------------------


@dataclass
class Diagnostic:
    location: ir.Location
    message: str

    def __str__(self):
        return f"{self.location}: error: {self.message}"


class VerificationError(CellcError):
    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


def verify_op(op: ir.Operation, symbols: dict[str, ir.Operation], batch: int | None = None) -> None:
    """Raises ShapeError when an `ms` op breaks a rule IRDL cannot express; `batch` stands
    for each dynamic dim (`DYNAMIC_BATCH_ATTR`)."""
    definition = OPS.get(op.name)
    if definition is None:
        return
    if definition is GradOp:
        callee_name = GradOp.read_attributes(op)["callee"]
        callee = symbols.get(callee_name)
        if callee is None:
            raise ShapeError(op.name, f"callee @{callee_name} is not a function in this module")
        check_grad_against_callee(op, callee)
        return
    attrs = definition.read_attributes(op)
    try:
        operands = [spec_of(v, batch and batch * batch_multiple(v)) for v in op.operands]
        results = [spec_of(v, batch and batch * batch_multiple(v)) for v in op.results]
    except ValueError as error:  # an element type TensorSpec does not know (bf16, i8, ...)
        raise ShapeError(op.name, str(error)) from None
    definition.check(operands, attrs, results)


# What each attribute kind must be, in MLIR's spelling, for the verifier's messages.
ATTRIBUTE_SPELLINGS = {
    "bool": "a bool (true or false)",
    "i64": "an integer (1 : i64)",
    "i64_array": "an i64 array (array<i64: 0, 1>)",
    "symbol": "a flat symbol reference (@name)",
    "dense": f"dense elements of {', '.join(BY_ELEMENT)} (dense<1.0> : tensor<2xf32>)",
}


def check_form(
    op: ir.Operation, symbols: dict[str, ir.Operation], batch: int | None = None
) -> None:
    """Raises ShapeError when an `ms` op is malformed in a way IRDL lets through and the shape
    rules cannot read: a dynamic tensor type (the dialect has static shapes only), an attribute
    of the right base but the wrong kind (`array<i32: 1>` for i64 axes, `@a::@b` for a callee)
    or an `ms.grad` whose callee is not a function."""
    definition = OPS.get(op.name)
    if definition is None:
        return
    for role, values in (("operand", op.operands), ("result", op.results)):
        for index, value in enumerate(values):
            ranked = value.type
            if (
                isinstance(ranked, ir.RankedTensorType)
                and not ranked.has_static_shape
                and batch is None
            ):
                shape_message = static_shape_message(ranked.shape, str(ranked.element_type))
                raise ShapeError(op.name, f"{role} {index}: {shape_message}")
    for key, kind in definition.attributes.items():
        if key in op.attributes:
            try:
                _from_attribute(kind, op.attributes[key])
            except ValueError:
                raise ShapeError(
                    op.name,
                    f"attribute '{key}' must be {ATTRIBUTE_SPELLINGS[kind]}, "
                    f"got {op.attributes[key]}",
                ) from None
    if definition is GradOp:
        _check_grad_callee_form(op, symbols)


def _check_grad_callee_form(op: ir.Operation, symbols: dict[str, ir.Operation]) -> None:
    """An ms.grad's callee is a function of static tensors with string weight names."""
    callee_name = GradOp.read_attributes(op)["callee"]
    callee = symbols.get(callee_name)
    if callee is None:
        return  # verify_op says so
    if "function_type" not in callee.attributes:
        raise ShapeError(op.name, f"callee @{callee_name} is a '{callee.name}', not a function")
    ftype = ir.FunctionType(ir.TypeAttr(callee.attributes["function_type"]).value)
    for role, types in (("argument", ftype.inputs), ("result", ftype.results)):
        for index, t in enumerate(types):
            if not isinstance(t, ir.RankedTensorType):
                raise ShapeError(
                    op.name, f"callee @{callee_name}'s {role} {index} is {t}, not a tensor"
                )
            try:
                spec_of(t)
            except ValueError as error:
                raise ShapeError(
                    op.name, f"callee @{callee_name}'s {role} {index}: {error}"
                ) from None
    try:
        weight_names(callee)
    except ValueError:
        raise ShapeError(
            op.name,
            f"callee @{callee_name}'s {WEIGHT_ATTR} argument attributes must be strings "
            "(the Parameter's name)",
        ) from None


def verify_module(module: ir.Module) -> None:
    """Runs MLIR's verifier, then the `ms` rules; raises VerificationError listing them all."""
    module.operation.verify()
    symbols = symbol_table(module.operation)
    batch = dynamic_batch(module.operation)
    diagnostics = []

    def visit(op):
        try:
            check_form(op.operation, symbols, batch)
            verify_op(op.operation, symbols, batch)
        except ShapeError as error:
            diagnostics.append(Diagnostic(op.location, str(error)))
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    if diagnostics:
        raise VerificationError(diagnostics)


# The op classes (`ms.AddOp`) and their builders, named after the ops (`ms.add(a, b)`), for the
# tracer and the passes; a new op class in ms_ops.py needs no line here. (`ms.abs` shadows the
# builtin in this module, which does not use it.)
for _op in OPS.values():
    globals()[_op.__name__] = _op
    globals()[_op.name.removeprefix("ms.")] = _op.build
del _op
