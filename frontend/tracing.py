"""Tracing: run a cell's `construct` on symbolic tensors and record a `Program`.

`Tracer` runs the user's Python with static shapes (Python control flow unrolls), checking every
op's shapes and dtypes with the dialect's own rules as it goes (`Op.infer`), and records the
compiler's plain-Python graph (`cellc.compiler.program`): no MLIR exists yet, so a mistake is
reported as a Python exception naming the op, the types and the user's file:line.

The frontend sits below the user API: it knows user tensors only through `TensorLike` and
Parameters through `WeightLike`, which `cellc.Tensor` and `cellc.Parameter` implement. The
active tracer of a thread is on a per-thread stack (`current()`), so two threads may trace two
cells at once.

State: `Tracer.assign` records a Parameter's new value in the current function (see
`cellc.compiler.program`); `Tracer.random_mask` gives a dropout mask, a hidden weight that the
caller fills afresh for every call. A function that GradOperation differentiates is traced on its
own and, when it assigns, once more inline in the caller (`subfunction`), for its updates; the
inline trace finds the same masks as the function's own trace (keyed by function, source
location and occurrence), so both see one mask per call.
"""

from __future__ import annotations

import abc
import collections
import inspect
import linecache
import os
import re
import sys
import threading

import numpy as np

from cellc.compiler.program import (
    Constant,
    Function,
    Node,
    Program,
    SourceLocation,
    Value,
    Weight,
)
from cellc.dialects.ms_ops import (
    CallOp,
    ConstantOp,
    ElementTypeError,
    GradOp,
    Op,
    ShapeError,
    check_sizes,
)
from cellc.dialects.types import TensorSpec
from cellc.runtime.artifact import CONSTANT_TYPES
from cellc.runtime.dtypes import BY_ELEMENT
from cellc.runtime.errors import DTypeMismatchError, ShapeMismatchError, UnsupportedError


class TensorLike(abc.ABC):
    """What the frontend knows of a user tensor: a concrete array (`asnumpy()`) or, while a
    cell is traced, a symbolic `Value` (`_symbol`); `shape` and `dtype.element` give its type.
    `cellc.Tensor` implements it."""

    _symbol: Value | None

    @abc.abstractmethod
    def asnumpy(self) -> np.ndarray: ...

    @abc.abstractmethod
    def _traced(self, value: Value) -> TensorLike:
        """A symbolic tensor of the user API's kind standing for `value`."""

    @property
    def spec(self) -> TensorSpec:
        return TensorSpec(self.shape, self.dtype.element)


class WeightLike(TensorLike):
    """A user's weight (`cellc.Parameter`): a tensor with a `name`, identified by object."""

    name: str


# --- the active tracer --------------------------------------------------------------------

_LOCAL = threading.local()


def _stack() -> list:
    if not hasattr(_LOCAL, "stack"):
        _LOCAL.stack = []
    return _LOCAL.stack


def current() -> Tracer | None:
    """The innermost active tracer of this thread, or None outside any trace."""
    stack = getattr(_LOCAL, "stack", None)  # every call of a compiled cell asks
    return stack[-1] if stack else None


class Tracer:
    """Records the functions of one compilation. Use `trace_program(cell, *args)` below."""

    def __init__(self):
        self.functions: list[Function] = []
        self._stack: list[Function] = []
        self._subfunctions: dict = {}
        self._weights: dict[int, tuple[WeightLike, Weight]] = {}
        self._masks: dict[tuple, Weight] = {}
        # (function whose masks are being handed out, occurrences of each source location)
        self._mask_scopes: list[tuple[Function, collections.Counter]] = []

    # --- functions -----------------------------------------------------------------------

    def trace_function(self, fn, args, name: str) -> tuple[Function, object]:
        """Traces `fn(*args)` as a new function; tensor arguments, and the tensors in tuple or
        list arguments (a tuple sensitivity), become its inputs, in `tensor_leaves` order."""
        function = Function(self._unique(name), location=_definition_location(fn))
        self.functions.append(function)

        def symbolic(arg):
            if isinstance(arg, TensorLike):
                value = Value(arg.spec)
                function.inputs.append(value)
                return arg._traced(value)
            if isinstance(arg, (tuple, list)):
                return type(arg)(symbolic(item) for item in arg)
            return arg

        symbolic_args = [symbolic(arg) for arg in args]
        self._stack.append(function)
        self._mask_scopes.append((function, collections.Counter()))
        _stack().append(self)
        try:
            result = fn(*symbolic_args)
        finally:
            _stack().pop()
            self._mask_scopes.pop()
            self._stack.pop()
        leaves, function.output_structure = flatten(result)
        function.outputs = [self._value_in(function, leaf) for leaf in leaves]
        return function, result

    def _unique(self, name: str) -> str:
        name = re.sub(r"\W", "_", name)  # a symbol and C name: `<lambda>` is `_lambda_`
        taken = {f.name for f in self.functions}
        candidate, n = name, 1
        while candidate in taken:
            candidate, n = f"{name}_{n}", n + 1
        return candidate

    @property
    def function(self) -> Function:
        return self._stack[-1]

    def subfunction(self, fn, args, name: str, key) -> Function:
        """Traces a function that GradOperation differentiates (once per signature). When it
        assigns to weights, `fn(*args)` is also traced inline in the current function, whose
        updates these become: a differentiated function returns its outputs only, and its
        assignments happen once per call of the gradient, as MindSpore's do."""
        if key not in self._subfunctions:
            self._subfunctions[key] = self.trace_function(fn, args, name)[0]
        callee = self._subfunctions[key]
        if callee.updates:
            self._mask_scopes.append((callee, collections.Counter()))
            try:
                fn(*args)  # its outputs are unused; its assignments land here
            finally:
                self._mask_scopes.pop()
        return callee

    # --- values --------------------------------------------------------------------------

    def weight(self, param: WeightLike) -> Weight:
        """The program's weight for a user's Parameter (one per Parameter object)."""
        known = self._weights.get(id(param))
        if known is None:
            known = self._weights[id(param)] = (param, Weight(param.name, param.spec))
        return known[1]

    def parameter(self, weight: Weight) -> WeightLike:
        """The user's Parameter behind a program weight."""
        for param, known in self._weights.values():
            if known is weight:
                return param
        raise KeyError(weight.name)

    def assign(self, primitive: str, param, value) -> Value:
        """Records `value` (a tensor of the Parameter's type) as `param`'s new value in the
        current function; later reads of `param` there see it. Returns the new value."""
        if not isinstance(param, WeightLike):
            raise TypeError(
                f"For '{primitive}', the variable must be a Parameter, got "
                f"{type(param).__name__} (at {user_location()})"
            )
        new = self.value_of(value)
        if new.spec != param.spec:
            error = DTypeMismatchError if new.spec.shape == param.spec.shape else ShapeMismatchError
            location = user_location()
            where = f"\n  at {location}: {location.text}" if location else ""
            raise error(
                f"{primitive}: the value assigned to Parameter '{param.name}' ({param.spec}) "
                f"must have its type, got {new.spec}{where}"
            )
        self.function.assign(self.weight(param), new)
        return new

    def random_mask(self, spec: TensorSpec, keep_prob: float) -> Value:
        """A dropout mask of type `spec`, fresh for every call: a hidden weight of the program
        (`Weight.random`), one per call site and occurrence in the function traced."""
        scope, occurrences = self._mask_scopes[-1]
        location = user_location()
        site = (location.file, location.line, location.column) if location else None
        key = (id(scope), site, occurrences[site], spec, keep_prob)
        occurrences[site] += 1
        if key not in self._masks:
            self._masks[key] = Weight(f"dropout_mask.{len(self._masks)}", spec, keep_prob)
        return self.function.weight_value(self._masks[key])

    def value_of(self, operand) -> Value:
        """The current function's value for a tensor: traced, a weight, or a new constant."""
        return self._value_in(self.function, operand)

    def _value_in(self, function: Function, operand) -> Value:
        if isinstance(operand, WeightLike):
            return function.read(self.weight(operand))
        if isinstance(operand, TensorLike) and operand._symbol is not None:
            if not function.defines(operand._symbol):
                raise UnsupportedError(
                    "a traced tensor is used outside the function that computes it "
                    f"(at {user_location()}); pass it as an argument instead"
                )
            return operand._symbol
        if isinstance(operand, TensorLike):
            return self._constant(function, operand.asnumpy())
        raise TypeError(f"expected a Tensor, got {type(operand).__name__}")

    def _constant(self, function: Function, array: np.ndarray) -> Value:
        spec = TensorSpec.of_array(array)
        node = Node(ConstantOp, [], {"value": np.array(array)}, location=user_location())
        node.results = [Value(spec, node, 0)]
        function.nodes.append(node)
        return node.results[0]

    # --- ops -----------------------------------------------------------------------------

    def record(self, primitive: str, op: type[Op], operands: list, attrs: dict) -> Value:
        """Checks and records one op on tensors; `primitive` is the MindSpore name for errors."""
        values = [self.value_of(t) for t in operands]
        location = user_location()
        results = infer(primitive, op, [v.spec for v in values], attrs, location)
        node = Node(op, values, dict(attrs), location=location)
        node.results = [Value(spec, node, i) for i, spec in enumerate(results)]
        self.function.nodes.append(node)
        return node.results[0]

    def record_grad(self, callee: Function, mode, operands: list[Value], results) -> list[Value]:
        node = Node(GradOp, list(operands), {"callee": callee.name, "mode": mode})
        node.location = user_location()
        node.results = [Value(spec, node, i) for i, spec in enumerate(results)]
        self.function.nodes.append(node)
        return node.results

    def record_call(self, callee: Function, bprop: Function, operands: list[Value]) -> list:
        """Records a call of `callee` whose gradient is `bprop` (see `CallOp`); returns its
        results, one per output of `callee`."""
        node = Node(CallOp, list(operands), {"callee": callee.name, "bprop": bprop.name})
        node.location = user_location()
        node.results = [Value(v.spec, node, i) for i, v in enumerate(callee.outputs)]
        self.function.nodes.append(node)
        return node.results


def infer(primitive: str, op: type[Op], specs, attrs: dict, location=None) -> list[TensorSpec]:
    """The result types of `op` on operands of types `specs`; a user error naming the
    MindSpore primitive, the op, the types and the source line when they disagree."""
    try:
        if op.result_given:
            check_sizes(op.name, [attrs["result"]])
        results = op.infer(list(specs), {**op.defaults, **attrs})
        check_sizes(op.name, results)
        return results
    except ShapeError as error:
        where = f"\n  at {location}: {location.text}" if location else ""
        message = f"{primitive} ({error.op_name}): {error.reason}{where}"
        if isinstance(error, ElementTypeError):
            raise DTypeMismatchError(message) from None
        raise ShapeMismatchError(message) from None


# --- source locations ---------------------------------------------------------------------

# Frames from these folders are cellc's own; a location points at the first frame outside them.
_CELLC_DIRS = tuple(
    os.path.dirname(os.path.abspath(p)) + os.sep
    for p in (
        __file__,
        sys.modules["cellc"].__file__,
        sys.modules["cellc.dialects"].__file__,
        sys.modules["cellc.compiler"].__file__,
    )
)


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
    text = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return SourceLocation(frame.f_code.co_filename, frame.f_lineno, column, text)


def _definition_location(fn) -> SourceLocation | None:
    if hasattr(fn, "_body"):  # a Cell: where its construct/call/forward is defined
        fn = fn._body()
    target = getattr(fn, "__func__", fn)
    code = getattr(target, "__code__", None)
    if code is None:
        return None
    return SourceLocation(code.co_filename, code.co_firstlineno, 1)


def tensor_leaves(args) -> list:
    """The tensors among `args` and inside their tuples and lists, depth first: the inputs of
    a traced function, in order."""
    leaves = []
    for arg in args:
        if _is_tensor(arg):
            leaves.append(arg)
        elif isinstance(arg, (tuple, list)):
            leaves.extend(tensor_leaves(arg))
    return leaves


def signature(args) -> tuple:
    """What a compiled program depends on in its arguments: each tensor's type (inside tuples
    and lists too), and any other value itself (it is a constant of the program)."""

    key = []
    for arg in args:  # a plain loop: this runs on every call of a compiled cell
        if _is_tensor(arg):
            key.append(("tensor", arg.shape, arg.dtype.element))
        elif isinstance(arg, (tuple, list)):
            key.append((type(arg).__name__, signature(arg)))
        else:
            key.append(("value", type(arg).__name__, repr(arg)))
    return tuple(key)


_TENSOR_TYPES: dict[type, bool] = {}


def _is_tensor(arg) -> bool:
    """isinstance(arg, TensorLike), remembered per type: an ABC's check is slow, and this runs
    on every call of a compiled cell."""
    kind = type(arg)
    known = _TENSOR_TYPES.get(kind)
    if known is None:
        known = _TENSOR_TYPES[kind] = isinstance(arg, TensorLike)
    return known


# --- output structure ---------------------------------------------------------------------


def flatten(result) -> tuple[list, object]:
    """Leaves of a construct's result and its structure: an int (the leaf's index) for a
    tensor, a tuple of structures for a tuple or list, a `Constant` for a Python constant."""
    leaves: list = []

    def walk(item):
        if isinstance(item, (tuple, list)):
            return tuple(walk(x) for x in item)
        if isinstance(item, TensorLike):
            leaves.append(item)
            return len(leaves) - 1
        if isinstance(item, CONSTANT_TYPES):
            return Constant(item)
        element = getattr(item, "element", None)  # a dtype of the user API names its element
        if isinstance(element, str) and element in BY_ELEMENT and not isinstance(item, type):
            return Constant(item, element)
        raise UnsupportedError(
            "a cell must return Tensors, Python constants (None, bool, int, float, str, a "
            f"dtype) or tuples of them, got {type(item).__name__}"
        )

    return leaves, walk(result)


def unflatten(structure, leaves):
    """The inverse of `flatten`: `leaves` nested as `structure` says."""
    if isinstance(structure, tuple):
        return tuple(unflatten(s, leaves) for s in structure)
    if isinstance(structure, Constant):
        return structure.value
    return leaves[structure]


# --- the entry point ----------------------------------------------------------------------


class TracedProgram:
    """What tracing returns: the compiler's `Program`, and the user's Parameters behind its
    weights (their values are the artifact's parameters)."""

    def __init__(self, program: Program, parameters: list[WeightLike]):
        self.program = program
        self.parameters = parameters

    def parameter_values(self) -> dict[str, np.ndarray]:
        """Every weight's value: the Parameters', and ones for the dropout masks (which the
        runtime fills afresh for every call)."""
        values = {param.name: param.asnumpy() for param in self.parameters}
        for weight in self.program.weights:
            if weight.random is not None:
                values[weight.name] = np.ones(weight.spec.shape, weight.spec.numpy_dtype)
        return values


def trace_program(cell, *args) -> TracedProgram:
    """Traces `cell(*args)` (a Cell or a GradOperation function) into a Program."""
    tracer = Tracer()
    name = getattr(cell, "__name__", None) or type(cell).__name__
    entry, _ = tracer.trace_function(cell, args, name)
    check_unique_names([param for param, _ in tracer._weights.values()])
    program = Program(tracer.functions, entry, _argument_names(cell, args))
    parameters = [tracer.parameter(w) for w in program.weights if w.random is None]
    return TracedProgram(program, parameters)


def check_unique_names(params) -> None:
    """MindSpore's ValueError for two Parameters of one name (in a ParameterTuple, a gradient's
    weights; in cellc, in any compiled cell: its code takes each Parameter by name)."""
    seen: set[str] = set()
    for param in params:
        if param.name in seen:
            raise ValueError(
                f"The value {param!r} , its name '{param.name}' already exists. "
                "Please set a unique name for the parameter."
            )
        seen.add(param.name)


def _argument_names(fn, args) -> list[str]:
    """The names of the tensor arguments in the signature of `fn`'s body (the entry's inputs)."""
    body = fn._body() if hasattr(fn, "_body") else fn
    try:
        parameters = list(inspect.signature(body).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = []
    for param, arg in zip(parameters, args):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            break
        if isinstance(arg, TensorLike):
            names.append(param.name)
        elif isinstance(arg, (tuple, list)):
            names += [f"{param.name}[{i}]" for i in range(len(tensor_leaves(arg)))]
    count = len(tensor_leaves(args))
    return names[:count] + [f"arg{i}" for i in range(len(names), count)]
