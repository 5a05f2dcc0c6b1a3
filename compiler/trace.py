"""compiler/trace: run a cell's `construct` on symbolic tensors and emit `ms` dialect IR.

Tracing is two steps. `Tracer` runs the user's Python with static shapes (Python control flow
unrolls), checking every op's shapes and dtypes with the dialect's own rules as it goes, and
records a small graph per function: no MLIR exists yet, so a mistake is reported as a Python
exception naming the op, the types and the user's file:line. `emit_module` then builds the
`ms` module: one `func.func` per traced function, weights as arguments marked
`{ms.weight = "name"}`, the entry marked `ms.entry`, every op located at its source line.

A cell that is merely called is inlined; a cell given to GradOperation becomes its own private
function that `ms.grad` names.
"""

from __future__ import annotations

import inspect
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from cellc import _tracing
from cellc.dialects import ms
from cellc.dialects.types import TensorSpec
from cellc.errors import DTypeMismatchError, ShapeMismatchError, UnsupportedError
from cellc.parameter import Parameter
from cellc.tensor import Tensor

# Frames from these folders are cellc's own; a location points at the first frame outside them.
_CELLC_DIRS = tuple(
    os.path.dirname(os.path.abspath(p)) + os.sep
    for p in (
        __file__,
        sys.modules["cellc"].__file__,
        ms.__file__,
    )
)


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
    op: str
    operands: list[Value]
    attrs: dict
    results: list[Value] = field(default_factory=list)
    location: SourceLocation | None = None


@dataclass(eq=False)
class Function:
    """One traced function: inputs, then weights, as arguments; outputs flattened."""

    name: str
    inputs: list[Value] = field(default_factory=list)
    weights: list[tuple[Parameter, Value]] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    outputs: list[Value] = field(default_factory=list)
    output_structure: object = None  # see `flatten`
    location: SourceLocation | None = None

    def weight_value(self, param: Parameter) -> Value:
        for known, value in self.weights:
            if known is param:
                return value
        value = Value(TensorSpec(param.shape, param.dtype.element))
        self.weights.append((param, value))
        return value


class Tracer:
    """Records the functions of one compilation. Use `trace(cell, *args)` below."""

    def __init__(self):
        self.functions: list[Function] = []
        self._stack: list[Function] = []
        self._subfunctions: dict = {}

    # --- functions ---------------------------------------------------------------------------

    def trace_function(self, fn, args, name: str) -> tuple[Function, object]:
        """Traces `fn(*args)` as a new function; Tensor arguments become its inputs."""
        function = Function(self._unique(name), location=_definition_location(fn))
        self.functions.append(function)
        symbolic_args = []
        for arg in args:
            if isinstance(arg, Tensor):
                value = Value(TensorSpec(arg.shape, arg.dtype.element))
                function.inputs.append(value)
                symbolic_args.append(Tensor(_symbol=value))
            else:
                symbolic_args.append(arg)
        self._stack.append(function)
        _tracing.push(self)
        try:
            result = fn(*symbolic_args)
        finally:
            _tracing.pop()
            self._stack.pop()
        leaves, function.output_structure = flatten(result)
        function.outputs = [self._value_in(function, leaf) for leaf in leaves]
        return function, result

    def _unique(self, name: str) -> str:
        taken = {f.name for f in self.functions}
        candidate, n = name, 1
        while candidate in taken:
            candidate, n = f"{name}_{n}", n + 1
        return candidate

    @property
    def function(self) -> Function:
        return self._stack[-1]

    # --- ops ---------------------------------------------------------------------------------

    def value_of(self, operand) -> Value:
        """The current function's value for a Tensor: traced, weight, or a new constant."""
        return self._value_in(self.function, operand)

    def _value_in(self, function: Function, operand) -> Value:
        if isinstance(operand, Parameter):
            return function.weight_value(operand)
        if isinstance(operand, Tensor) and operand._symbol is not None:
            if not self._defined_in(function, operand._symbol):
                raise UnsupportedError(
                    "a traced tensor is used outside the function that computes it "
                    f"(at {user_location()}); pass it as an argument instead"
                )
            return operand._symbol
        if isinstance(operand, Tensor):
            return self._constant(function, operand.asnumpy())
        raise TypeError(f"expected a Tensor, got {type(operand).__name__}")

    @staticmethod
    def _defined_in(function: Function, value: Value) -> bool:
        if value.producer is None:
            return any(value is v for v in function.inputs) or any(
                value is v for _, v in function.weights
            )
        return any(value.producer is node for node in function.nodes)

    def _constant(self, function: Function, array: np.ndarray) -> Value:
        spec = TensorSpec(array.shape, _element_of(array))
        node = Node("ms.constant", [], {"value": np.array(array)}, location=user_location())
        node.results = [Value(spec, node, 0)]
        function.nodes.append(node)
        return node.results[0]

    def record(self, primitive: str, op: str, operands: list[Value], attrs: dict) -> Value:
        """Checks and records one op; `primitive` is the MindSpore name used in errors."""
        location = user_location()
        definition = ms.OPS[op]
        specs = [v.spec for v in operands]
        try:
            results = definition.infer(specs, {**definition.defaults, **attrs})
        except ms.ShapeError as error:
            raise _user_error(primitive, error, location) from None
        node = Node(op, list(operands), dict(attrs), location=location)
        node.results = [Value(spec, node, i) for i, spec in enumerate(results)]
        self.function.nodes.append(node)
        return node.results[0]

    def record_grad(self, callee: Function, mode: ms.GradMode, operands, results) -> list[Value]:
        attrs = {
            "callee": callee.name,
            "mode": mode,
            # for the manifest: what each gradient means
            "callee_inputs": len(callee.inputs),
            "callee_weights": [param.name for param, _ in callee.weights],
        }
        node = Node("ms.grad", list(operands), attrs, location=user_location())
        node.results = [Value(spec, node, i) for i, spec in enumerate(results)]
        self.function.nodes.append(node)
        return node.results

    def subfunction(self, fn, args, name: str, key) -> Function:
        """Traces a function that GradOperation differentiates (once per signature)."""
        if key not in self._subfunctions:
            self._subfunctions[key] = self.trace_function(fn, args, name)[0]
        return self._subfunctions[key]


def _element_of(array: np.ndarray) -> str:
    from cellc import dtype as mstype

    return mstype.from_numpy(array.dtype).element


def _user_error(primitive: str, error: ms.ShapeError, location: SourceLocation | None):
    where = f"\n  at {location}: {location.text}" if location else ""
    message = f"{primitive} ({error.op_name}): {error.reason}{where}"
    if isinstance(error, ms.ElementTypeError):
        return DTypeMismatchError(message)
    return ShapeMismatchError(message)


def user_location() -> SourceLocation | None:
    """The innermost frame of the user's code (outside cellc) with its line and column."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_CELLC_DIRS):
        frame = frame.f_back
    if frame is None:
        return None
    column = 1
    positions = list(frame.f_code.co_positions())
    if 0 <= frame.f_lasti // 2 < len(positions):
        start = positions[frame.f_lasti // 2][2]
        column = (start or 0) + 1
    return SourceLocation(frame.f_code.co_filename, frame.f_lineno, column, _source_line(frame))


def _source_line(frame) -> str:
    import linecache

    return linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()


def _definition_location(fn) -> SourceLocation | None:
    if hasattr(fn, "_body"):  # a Cell: where its construct/call/forward is defined
        fn = fn._body()
    target = getattr(fn, "__func__", fn)
    code = getattr(target, "__code__", None)
    if code is None:
        return None
    return SourceLocation(code.co_filename, code.co_firstlineno, 1)


# --- output structure ---------------------------------------------------------------------


def flatten(result) -> tuple[list, object]:
    """Leaves of a construct's result and its structure: an int (the leaf's index) for a
    tensor, a tuple of structures for a tuple or list."""
    leaves: list = []

    def walk(item):
        if isinstance(item, (tuple, list)):
            return tuple(walk(x) for x in item)
        if isinstance(item, Tensor):
            leaves.append(item)
            return len(leaves) - 1
        raise UnsupportedError(
            f"a cell must return Tensors or tuples of Tensors, got {type(item).__name__}"
        )

    return leaves, walk(result)


def unflatten(structure, leaves):
    if isinstance(structure, tuple):
        return tuple(unflatten(s, leaves) for s in structure)
    return leaves[structure]


# --- emission -----------------------------------------------------------------------------


def emit_module(tracer: Tracer, entry: Function, ctx=None):
    """Builds the `ms` module for the traced functions; the entry is public and `ms.entry`."""
    from mlir import ir

    ctx = ctx or ms.make_context()
    with ctx, _location(None):
        module = ir.Module.create()
        with ir.InsertionPoint(module.body):
            for function in tracer.functions:
                _emit_function(function, is_entry=function is entry)
    return module


def _location(location: SourceLocation | None):
    from mlir import ir

    if location is None:
        return ir.Location.unknown()
    return ir.Location.file(location.file, location.line, location.column)


def _emit_function(function: Function, is_entry: bool):
    from mlir import ir
    from mlir.dialects import func

    arguments = function.inputs + [v for _, v in function.weights]
    ftype = ir.FunctionType.get(
        [ms.tensor_type(v.spec) for v in arguments],
        [ms.tensor_type(v.spec) for v in function.outputs],
    )
    op = func.FuncOp(function.name, ftype, loc=_location(function.location))
    if is_entry:
        op.attributes["ms.entry"] = ir.UnitAttr.get()
    else:
        op.attributes["sym_visibility"] = ir.StringAttr.get("private")
    arg_attrs = [ir.DictAttr.get({}) for _ in function.inputs] + [
        ir.DictAttr.get({ms.WEIGHT_ATTR: ir.StringAttr.get(param.name)})
        for param, _ in function.weights
    ]
    op.attributes["arg_attrs"] = ir.ArrayAttr.get(arg_attrs)
    block = op.add_entry_block()
    values = {id(v): block.arguments[i] for i, v in enumerate(arguments)}
    with ir.InsertionPoint(block):
        for node in function.nodes:
            built = _emit_node(node, [values[id(v)] for v in node.operands])
            for value, result in zip(node.results, built):
                values[id(value)] = result
        func.ReturnOp([values[id(v)] for v in function.outputs])


def _emit_node(node: Node, operands):
    loc = _location(node.location)
    if node.op == "ms.grad":
        mode = node.attrs["mode"]
        return ms.grad(
            node.attrs["callee"], mode, operands, [v.spec for v in node.results], loc=loc
        )
    if node.op == "ms.constant":
        return [ms.constant(node.attrs["value"], node.results[0].spec, loc=loc)]
    if node.op in ("ms.reshape", "ms.broadcast_to"):
        return [ms.OPS[node.op].build(*operands, node.results[0].spec.shape, loc=loc)]
    if node.op == "ms.cast":
        return [ms.cast(*operands, node.results[0].spec.element, loc=loc)]
    return [ms.OPS[node.op].build(*operands, loc=loc, **node.attrs)]


# --- the public entry point ---------------------------------------------------------------


@dataclass
class TracedProgram:
    """What `trace` returns: the module, and the Python-side facts the driver needs."""

    module: object
    tracer: Tracer
    entry: Function
    entry_arg_names: list[str]

    @property
    def parameters(self) -> list[Parameter]:
        return [param for param, _ in self.entry.weights]


def trace_program(cell, *args, ctx=None) -> TracedProgram:
    tracer = Tracer()
    name = getattr(cell, "__name__", None) or type(cell).__name__
    entry, _ = tracer.trace_function(cell, args, name)
    module = emit_module(tracer, entry, ctx)
    return TracedProgram(module, tracer, entry, _argument_names(cell, args))


def _argument_names(fn, args) -> list[str]:
    """The names of the Tensor arguments in the signature of `fn`'s body (the entry's inputs)."""
    body = fn._body() if hasattr(fn, "_body") else fn
    try:
        parameters = list(inspect.signature(body).parameters.values())
    except (TypeError, ValueError):
        return []
    names = []
    for param, arg in zip(parameters, args):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            break
        if isinstance(arg, Tensor):
            names.append(param.name)
    return names


def trace(cell, *args, ctx=None):
    """Traces `cell(*args)` into an `ms` module (GradOperation stays one `ms.grad` op)."""
    return trace_program(cell, *args, ctx=ctx).module


def check_eager(primitive: str, op: str, operands: list[Tensor], attrs: dict) -> list[TensorSpec]:
    """The shape and dtype check of `Tracer.record`, for an op evaluated outside a trace;
    returns the result types."""
    definition = ms.OPS[op]
    specs = [TensorSpec(t.shape, t.dtype.element) for t in operands]
    try:
        return definition.infer(specs, {**definition.defaults, **attrs})
    except ms.ShapeError as error:
        raise _user_error(primitive, error, user_location()) from None
