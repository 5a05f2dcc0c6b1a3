"""The traced program: what the frontend hands the compiler, and its `ms` module.

The frontend (`cellc.frontend.tracing`) runs a cell's `construct` on symbolic tensors and records
a small graph per function, checking every op with the dialect's own shape rules before any
MLIR exists. The graph is plain Python (`Program`, `Function`, `Node`, `Value`); it knows op
classes and tensor types, never a `Tensor`, `Parameter` or `Cell`. `emit_module` turns it into
the `ms` module: one `func.func` per traced function, weights as arguments marked
`{ms.weight = "name"}`, the entry marked `ms.entry`, every op located at its source line.

A cell that is merely called is inlined; a cell given to GradOperation becomes its own private
function that `ms.grad` names.

State updates (`ops.assign`, BatchNorm's moving statistics): a function records the last value
assigned to each weight (`Function.updates`); later reads of the weight in that function see it.
The entry returns each new value as a hidden result after the cell's outputs, marked
`{ms.update = "param_name"}`, so the ABI gains one output buffer per updated Parameter; the
runtime copies it into the Parameter's array after the call. (A hidden result rather than a write
into the weight's own buffer: the weight is an argument that the code may still read after the
new value is computed, and the caller may share that buffer with other entries and threads.)
A function that GradOperation differentiates keeps its updates to itself: the caller traces
the function once more, inline, for them, so they happen once per call, as in MindSpore.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from dataclasses import dataclass, field

import numpy as np

from cellc.dialects.ms_ops import CallOp, ConstantOp, GradMode, GradOp, Op
from cellc.dialects.types import TensorSpec
from cellc.runtime.dtypes import BY_ELEMENT


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int
    column: int
    text: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(eq=False)
class Value:
    """An SSA value of a traced function: an argument (producer None) or an op's result."""

    spec: TensorSpec
    producer: Node | None = None
    index: int = 0


@dataclass(eq=False)
class Node:
    """One op: its class, operands, attributes as `op.infer` takes them, and results.

    An `ms.grad` node's attributes are `callee` (the function's name) and `mode` (GradMode)."""

    op: type[Op]
    operands: list[Value]
    attrs: dict
    results: list[Value] = field(default_factory=list)
    location: SourceLocation | None = None


@dataclass(frozen=True, eq=False)
class Weight:
    """A weight of the program (a Parameter, to the user): its name and type. Compared by
    identity: two weights may share a name only by mistake, which `Program` reports."""

    name: str
    spec: TensorSpec
    random: float | None = None
    """None for a Parameter. For a dropout mask: its keep probability; the caller passes a
    fresh mask every call, each element 1/keep with probability keep, else 0."""


@dataclass(eq=False)
class Function:
    """One traced function: inputs, then weights, as arguments; outputs flattened."""

    name: str
    inputs: list[Value] = field(default_factory=list)
    weights: list[tuple[Weight, Value]] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    outputs: list[Value] = field(default_factory=list)
    # an int (a leaf's index), a tuple of structures, or a `Constant`
    output_structure: object = None
    location: SourceLocation | None = None
    updates: list[tuple[Weight, Value]] = field(default_factory=list)
    """The last value assigned to each weight assigned to, in the order of first assignment."""

    def weight_value(self, weight: Weight) -> Value:
        """The argument of this function that holds `weight` (added on first use)."""
        for known, value in self.weights:
            if known is weight:
                return value
        value = Value(weight.spec)
        self.weights.append((weight, value))
        return value

    def read(self, weight: Weight) -> Value:
        """The weight's current value here: the last one assigned to it, else its argument."""
        for known, value in self.updates:
            if known is weight:
                return value
        return self.weight_value(weight)

    def assign(self, weight: Weight, value: Value) -> None:
        """Records `value` as the weight's new value (the argument itself holds the old one)."""
        self.weight_value(weight)
        for index, (known, _) in enumerate(self.updates):
            if known is weight:
                self.updates[index] = (weight, value)
                return
        self.updates.append((weight, value))

    def defines(self, value: Value) -> bool:
        """True when `value` is an argument of this function or the result of one of its ops."""
        if value.producer is None:
            return any(value is v for v in self.inputs) or any(value is v for _, v in self.weights)
        return any(value.producer is node for node in self.nodes)


@dataclass
class Program:
    """Every function of one compilation; `entry` is the one called. `input_names` names the
    entry's inputs (the parameters of the user's `construct`)."""

    functions: list[Function]
    entry: Function
    input_names: list[str]

    @property
    def weights(self) -> list[Weight]:
        """The entry's weights, in argument order."""
        return [weight for weight, _ in self.entry.weights]

    @property
    def updated_weights(self) -> list[Weight]:
        """The weights the entry assigns to, in the order of its hidden results."""
        return [weight for weight, _ in self.entry.updates]


@dataclass(frozen=True)
class Constant:
    """A leaf of a construct's result that is a Python constant of the trace, not a Tensor:
    None, a bool, int, float or str (`x.ndim`, `x.shape`'s ints, a flag), or a dtype
    of the user API (`element`: its MLIR spelling, for the manifest). The compiled program
    returns it as it is, as MindSpore's graph mode does."""

    value: object = None
    element: str | None = None  # a dtype's, when the constant is one


def structure_json(structure):
    """An output structure as the manifest stores it: `{"tensor": i}`, `{"tuple": [...]}`, or a
    constant the program returns as it is: `{"constant": value}` (None, bool, int, float, str),
    `{"dtype": numpy name}`."""
    if isinstance(structure, tuple):
        return {"tuple": [structure_json(s) for s in structure]}
    if isinstance(structure, int):
        return {"tensor": structure}
    if structure.element is not None:
        return {"dtype": BY_ELEMENT[structure.element].numpy}
    return {"constant": structure.value}


# --- the canonical form: what the compiled code depends on, without MLIR --------------------


def canonical_form(program: Program) -> str:
    """A deterministic text of `program`: every function's arguments, weights, ops (class,
    operands by number, attributes, result types), outputs, updates and output structure.
    Two programs with the same text compile to the same code, so the disk cache keys on it
    (and never needs the `ms` module of a program it already holds). Source locations are left
    out: they only name the user's lines in compile-time diagnostics, and an artifact is cached
    only after a compile that succeeded (as the IR printed without debug info was before)."""
    lines = [f"program inputs={program.input_names!r} entry={program.entry.name!r}"]
    for function in program.functions:
        lines.extend(_canonical_function(function, is_entry=function is program.entry))
    lines.append(f"structure {_canonical(program.entry.output_structure)}")
    return "\n".join(lines)


def _canonical_function(function: Function, is_entry: bool) -> list[str]:
    numbers: dict[int, int] = {}

    def number(value: Value) -> int:
        return numbers.setdefault(id(value), len(numbers))

    lines = [f"func {function.name!r} entry={is_entry}"]
    for value in function.inputs:
        lines.append(f"  input %{number(value)} {value.spec}")
    for weight, value in function.weights:
        lines.append(f"  weight %{number(value)} {weight.name!r} {weight.spec} {weight.random!r}")
    for node in function.nodes:
        operands = ", ".join(f"%{numbers[id(v)]}" for v in node.operands)
        results = ", ".join(f"%{number(v)}:{v.spec}" for v in node.results)
        attrs = _canonical(node.attrs)
        lines.append(f"  {results} = {node.op.__qualname__}({operands}) {attrs}")
    lines.append("  return " + ", ".join(f"%{numbers[id(v)]}" for v in function.outputs))
    for weight, value in function.updates:
        lines.append(f"  update {weight.name!r} %{numbers[id(value)]}")
    return lines


def _canonical(value) -> str:
    """An attribute as deterministic text: arrays by dtype, shape and a hash of their bytes;
    containers, enums and dataclasses field by field; anything else by type and repr."""
    if isinstance(value, np.ndarray):
        data = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        return f"array({value.dtype.str},{value.shape},{data})"
    if isinstance(value, dict):
        items = sorted((str(k), _canonical(v)) for k, v in value.items())
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if isinstance(value, (tuple, list)):
        return type(value).__name__ + "(" + ", ".join(_canonical(v) for v in value) + ")"
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return type(value).__qualname__ + _canonical(fields)
    if isinstance(value, type):
        return f"class {value.__module__}.{value.__qualname__}"
    return f"{type(value).__qualname__}:{value!r}"


# --- emission -----------------------------------------------------------------------------


def emit_module(program: Program, ctx=None):
    """Builds the `ms` module of `program`; the entry is public and marked `ms.entry`."""
    from mlir import ir

    from cellc.dialects import ms

    ctx = ctx or ms.make_context()
    with ctx, ir.Location.unknown():
        module = ir.Module.create()
        with ir.InsertionPoint(module.body):
            for function in program.functions:
                _emit_function(function, is_entry=function is program.entry)
    return module


def _location(location: SourceLocation | None):
    from mlir import ir

    if location is None:
        return ir.Location.unknown()
    return ir.Location.file(location.file, location.line, location.column)


def _emit_function(function: Function, is_entry: bool):
    from mlir import ir
    from mlir.dialects import func

    from cellc.dialects import ms

    arguments = function.inputs + [v for _, v in function.weights]
    # only the entry returns its updates; a differentiated function's are traced again inline
    updates = function.updates if is_entry else []
    results = function.outputs + [value for _, value in updates]
    ftype = ir.FunctionType.get(
        [ms.tensor_type(v.spec) for v in arguments],
        [ms.tensor_type(v.spec) for v in results],
    )
    op = func.FuncOp(function.name, ftype, loc=_location(function.location))
    if is_entry:
        op.attributes[ms.ENTRY_ATTR] = ir.UnitAttr.get()
    else:
        op.attributes["sym_visibility"] = ir.StringAttr.get("private")
    arg_attrs = [ir.DictAttr.get({}) for _ in function.inputs] + [
        ir.DictAttr.get({ms.WEIGHT_ATTR: ir.StringAttr.get(weight.name)})
        for weight, _ in function.weights
    ]
    op.attributes["arg_attrs"] = ir.ArrayAttr.get(arg_attrs)
    if updates:
        res_attrs = [ir.DictAttr.get({}) for _ in function.outputs] + [
            ir.DictAttr.get({ms.UPDATE_ATTR: ir.StringAttr.get(weight.name)})
            for weight, _ in updates
        ]
        op.attributes["res_attrs"] = ir.ArrayAttr.get(res_attrs)
    block = op.add_entry_block()
    values = {id(v): block.arguments[i] for i, v in enumerate(arguments)}
    with ir.InsertionPoint(block):
        for node in function.nodes:
            built = _emit_node(node, [values[id(v)] for v in node.operands])
            for value, result in zip(node.results, built):
                values[id(value)] = result
        func.ReturnOp([values[id(v)] for v in results])


def _emit_node(node: Node, operands) -> list:
    from cellc.dialects import ms

    loc = _location(node.location)
    if node.op is GradOp:
        mode: GradMode = node.attrs["mode"]
        specs = [v.spec for v in node.results]
        return GradOp.build(node.attrs["callee"], mode, operands, specs, loc=loc)
    if node.op is CallOp:
        specs = [v.spec for v in node.results]
        return CallOp.build(node.attrs["callee"], node.attrs["bprop"], operands, specs, loc=loc)
    if node.op is ConstantOp:
        return [ConstantOp.build(node.attrs["value"], node.results[0].spec, loc=loc)]
    if node.op.result_given:
        result = node.results[0].spec
        return [
            ms.build_with_result(
                node.op, *operands, shape=result.shape, element=result.element, loc=loc
            )
        ]
    return [node.op.build(*operands, loc=loc, **node.attrs)]
