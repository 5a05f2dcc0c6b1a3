"""cellc's passes, and textual pass pipelines that mix them with upstream MLIR passes.

`run_pass_pipeline(module, "builtin.module(ms-expand-grad, func.func(cse, ms-dce))")` names
passes the way mlir-opt does, at any nesting. cellc's passes are Python functions listed in the
`PASSES` tables of the modules named in PASS_MODULES (name -> callable(module, **options),
transforming a module in place); `cellc_passes()` gathers them, with the first line of each
docstring as its description.

How a pipeline runs. MLIR 22's Python bindings do let a Python callable be a pass
(`PassManager.add(fn)`), but only at the top level of a PassManager: they have no `nest()`, a
textual pipeline cannot name a Python pass, and adding one restricted to another op aborts the
process. So the pipeline tree is walked here. At each level, every run of consecutive upstream
elements (nested ones included, as long as no cellc pass is inside) is one upstream
PassManager anchored on that level's op; a cellc pass is a Python call; a nested anchor that
holds a cellc pass, `func.func(ms-expand-grad)`, runs its elements on every op of that name
directly inside the current one, as MLIR's nested pass managers do (in order, one op at a time).

A cellc pass on an op other than a module (a `func.func`) runs on a scratch module holding a
copy of the op and of every symbol it references (transitively); the transformed copy then
replaces the op. The op's siblings are read, never changed: `ms-expand-grad` on a function
expands the `ms.grad`s inside it against its callees, leaves the callees in place (add
`symbol-dce` to drop the private ones no one references), and keeps the function's own
`ms.stop_gradient`s while an `ms.grad` elsewhere still differentiates it. A cellc pass can run
on a module or on a symbol of one (any op with `sym_name`), not on an op inside a function.

The whole pipeline is resolved before anything runs, so an unknown pass, wherever it is nested,
is reported up front by name; `resolve` builds a Pipeline, `Pipeline.run` runs it (the CLI
resolves once and runs it on each `// -----` piece).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from mlir import ir, passmanager

from cellc.compiler.autodiff import EXPAND_GRAD
from cellc.dialects import ms

# Modules whose `PASSES` dict holds cellc's Python passes, in lookup order. Read on first use,
# so that a stage inside them may itself run pipelines through this module.
PASS_MODULES = ("cellc.compiler.autodiff", "cellc.compiler.lowering")

MODULE_OP = "builtin.module"
ANY_OP = "any"  # MLIR's anchor for "every op"

# Marks the cast that stands in for an `ms.stop_gradient` that `ms-expand-grad` must keep.
_KEPT_STOP_GRADIENT = "cellc.kept_stop_gradient"
_CAST = "builtin.unrealized_conversion_cast"


class PipelineError(ValueError):
    """A pass pipeline that cannot be resolved or run: bad syntax, an unknown pass, or a
    cellc pass nested where it cannot run."""


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellcPass:
    """One of cellc's Python passes."""

    name: str  # kebab-case, as written in a pipeline
    description: str  # the first line of the function's docstring
    anchor: str  # the op the function takes; other symbols go through the scratch module
    function: Callable[..., None]  # function(module, **options), in place

    @staticmethod
    def of(name: str, function: Callable[..., None]) -> CellcPass:
        return CellcPass(name, _summary(function), MODULE_OP, function)


def _summary(function: Callable) -> str:
    """The first line of the function's docstring (pass docstrings open with a summary line)."""
    doc = (function.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def cellc_passes() -> dict[str, CellcPass]:
    """cellc's passes by name."""
    return dict(_gather_passes())


@functools.cache
def _gather_passes() -> dict[str, CellcPass]:
    passes: dict[str, CellcPass] = {}
    for module_name in PASS_MODULES:
        try:
            module = importlib.import_module(module_name)
        except Exception as error:
            raise PipelineError(f"cannot load cellc passes from {module_name}: {error}") from error
        for name, function in getattr(module, "PASSES", {}).items():
            passes.setdefault(name, CellcPass.of(name, function))
    return passes


# --------------------------------------------------------------------------------------------
# Parsing: text -> a tree of elements
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineElement:
    """One element of a pipeline: a pass, `cse`, `canonicalize{max-iterations=2}`, or an
    anchor, `func.func(cse, canonicalize)`, whose `nested` elements run on ops of that name."""

    name: str
    options: str  # the text between `{` and `}`, '' when there are none
    text: str  # the element as written
    nested: tuple[PipelineElement, ...] | None = None  # None for a pass


def split_pipeline(pipeline: str) -> list[PipelineElement]:
    """The top-level elements of `builtin.module(a, b{opt=1}, func.func(c))` (or of `a, b`)."""
    text = pipeline.strip()
    anchor = MODULE_OP + "("
    if text.startswith(anchor):
        if not text.endswith(")") or _closing_bracket(text, len(anchor) - 1) != len(text) - 1:
            raise PipelineError(f"unbalanced parentheses in pass pipeline '{pipeline}'")
        text = text[len(anchor) : -1]
    return _elements(text, pipeline)


def _elements(text: str, pipeline: str) -> list[PipelineElement]:
    return [_element(part, pipeline) for part in _split_top_level(text, pipeline) if part.strip()]


def _closing_bracket(text: str, open_index: int) -> int:
    """The index of the bracket closing the one at `open_index`, or -1."""
    depth = 0
    for i in range(open_index, len(text)):
        if text[i] in "({":
            depth += 1
        elif text[i] in ")}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _split_top_level(text: str, pipeline: str) -> list[str]:
    parts, depth, start, quoted = [], 0, 0, False
    for i, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
            if depth < 0:
                raise PipelineError(f"unbalanced brackets in pass pipeline '{pipeline}'")
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0 or quoted:
        raise PipelineError(f"unbalanced brackets in pass pipeline '{pipeline}'")
    parts.append(text[start:])
    return parts


def _element(part: str, pipeline: str) -> PipelineElement:
    text = part.strip()
    cut = min((i for i in (text.find("{"), text.find("(")) if i >= 0), default=len(text))
    name = text[:cut].strip()
    if text[cut:].startswith("("):
        if not text.endswith(")") or _closing_bracket(text, cut) != len(text) - 1:
            raise PipelineError(f"unbalanced parentheses in '{text}' of pass pipeline '{pipeline}'")
        return PipelineElement(name, "", text, tuple(_elements(text[cut + 1 : -1], pipeline)))
    options = ""
    if text[cut:].startswith("{") and text.endswith("}"):
        options = text[cut + 1 : -1].strip()
    return PipelineElement(name, options, text)


def parse_options(options: str) -> dict[str, str]:
    """`a=1 b="x y"` -> {'a': '1', 'b': 'x y'} (MLIR's pass option syntax)."""
    result, key, value, quoted, in_value = {}, "", "", False, False
    for char in options + " ":
        if char == '"':
            quoted = not quoted
        elif char == " " and not quoted:
            if key:
                result[key.strip()] = value if in_value else "true"
            key, value, in_value = "", "", False
        elif char == "=" and not in_value and not quoted:
            in_value = True
        elif in_value:
            value += char
        else:
            key += char
    return result


# --------------------------------------------------------------------------------------------
# Resolving: elements -> steps, every name checked
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellcStep:
    """A cellc pass, run as a Python call on the current op."""

    name: str
    cellc_pass: CellcPass
    options: dict[str, str]


@dataclass(frozen=True)
class UpstreamStep:
    """A run of consecutive upstream elements: one PassManager, `anchor(...)`, on the op."""

    text: str


@dataclass(frozen=True)
class NestedStep:
    """`anchor(...)` holding a cellc pass: its steps run on each op named `anchor` (every op
    for `any`) directly inside the current one."""

    anchor: str
    steps: tuple[Step, ...]


Step = CellcStep | UpstreamStep | NestedStep


@dataclass(frozen=True)
class Pipeline:
    """A resolved pipeline, ready to run on modules (see `run_pass_pipeline`)."""

    text: str
    steps: tuple[Step, ...]

    def run(self, module: ir.Module) -> None:
        """Runs the steps on `module` in place (in its context). Each cellc pass is followed
        by the `ms` verifier, as mlir-opt verifies after every pass. Errors propagate:
        MLIRError, ms.VerificationError, ms.ShapeError, PipelineError, or whatever a cellc
        pass raises."""
        with module.context:
            _run_steps(module.operation, self.steps, module)


def resolve(pipeline: str) -> list[Step]:
    """The steps of a pipeline on a module; every upstream run is checked by
    PassManager.parse and every other name must be a cellc pass."""
    elements = split_pipeline(pipeline)
    ours = cellc_passes() if elements else {}
    return _resolve(MODULE_OP, elements, ours)


def build_pass_pipeline(pipeline: str) -> Pipeline:
    """`pipeline` resolved (PipelineError if it cannot be), to run on any number of modules."""
    return Pipeline(pipeline, tuple(resolve(pipeline)))


def run_pass_pipeline(module: ir.Module, pipeline: str) -> None:
    """Runs a textual pipeline, cellc and upstream passes at any nesting, on `module`."""
    build_pass_pipeline(pipeline).run(module)


def _resolve(
    anchor: str, elements: list[PipelineElement], ours: dict[str, CellcPass]
) -> list[Step]:
    steps: list[Step] = []
    upstream: list[PipelineElement] = []

    def flush():
        if upstream:
            steps.append(UpstreamStep(_check_upstream(anchor, upstream, ours)))
            upstream.clear()

    for element in elements:
        if element.nested is None and element.name in ours:
            flush()
            options = parse_options(element.options)
            steps.append(CellcStep(element.name, ours[element.name], options))
        elif element.nested is not None and _names_cellc_pass(element, ours):
            flush()
            nested = _resolve(element.name, list(element.nested), ours)
            steps.append(NestedStep(element.name, tuple(nested)))
        else:
            upstream.append(element)
    flush()
    return steps


def _names_cellc_pass(element: PipelineElement, ours: dict[str, CellcPass]) -> bool:
    if element.nested is None:
        return element.name in ours
    return any(_names_cellc_pass(e, ours) for e in element.nested)


def _check_upstream(
    anchor: str, elements: list[PipelineElement], ours: dict[str, CellcPass]
) -> str:
    text = f"{anchor}({','.join(e.text for e in elements)})"
    with ir.Context():
        try:
            passmanager.PassManager.parse(text)
            return text
        except ValueError:
            pass
        _name_the_fault(anchor, elements, ours)
    raise PipelineError(f"invalid pass pipeline '{text}'")


def _name_the_fault(anchor: str, elements: list[PipelineElement], ours) -> None:
    """Raises a PipelineError naming the first element PassManager.parse refuses."""
    for element in elements:
        if element.nested is not None:
            _name_the_fault(element.name, list(element.nested), ours)
        try:
            passmanager.PassManager.parse(f"{anchor}({element.text})")
        except ValueError as error:
            message = str(error).strip()
            if "does not refer to a registered pass" in message:
                known = ", ".join(sorted(ours)) or "none loaded"
                raise PipelineError(
                    f"unknown pass '{element.name}' (not an upstream MLIR pass nor a cellc "
                    f"pass; cellc passes: {known})"
                ) from error
            raise PipelineError(f"invalid pass '{element.text}': {message}") from error


# --------------------------------------------------------------------------------------------
# Running: the tree walk
# --------------------------------------------------------------------------------------------


def _run_steps(op: ir.Operation, steps, root: ir.Module) -> ir.Operation:
    """Runs `steps` on `op`; returns the op that stands in its place afterwards (a cellc pass
    on a symbol replaces it)."""
    for step in steps:
        if isinstance(step, UpstreamStep):
            passmanager.PassManager.parse(step.text).run(op)
        elif isinstance(step, NestedStep):
            for child in _children(op, step.anchor):
                _run_steps(child, step.steps, root)
        else:
            op = _run_cellc_pass(step, op, root)
            ms.verify_module(root)
    return op


def _children(op: ir.Operation, anchor: str) -> list[ir.Operation]:
    """The ops named `anchor` directly inside `op`'s regions (what a nested pass manager on
    `anchor` visits)."""
    return [
        child.operation
        for region in op.regions
        for block in region.blocks
        for child in block.operations
        if anchor == ANY_OP or child.operation.name == anchor
    ]


def _run_cellc_pass(step: CellcStep, op: ir.Operation, root: ir.Module) -> ir.Operation:
    function = step.cellc_pass.function
    if op.name == MODULE_OP:
        # The root is handed over as the ir.Module; a nested module as its ModuleOp view,
        # which has the same body/operation/context.
        function(root if op == root.operation else op.opview, **step.options)
        return op
    if "sym_name" not in op.attributes or op.parent is None:
        raise PipelineError(
            f"cellc pass '{step.name}' cannot run on '{op.name}': it runs on {MODULE_OP} "
            "and on the symbols (func.func) of a module"
        )
    if step.name == EXPAND_GRAD:
        return _expand_grads_in_symbol(function, op, step.options)
    return _run_on_symbol(function, op, step.options)


def _run_on_symbol(function, op: ir.Operation, options: dict[str, str]) -> ir.Operation:
    """Runs the module pass `function` on a scratch module holding copies of `op` and of the
    symbols it references; the transformed copy replaces `op`, which it returns."""
    name = _symbol_name(op)
    symbols = ms.symbol_table(op.parent)
    scratch = ir.Module.create(op.location)
    with ir.InsertionPoint(scratch.body):
        for dependency in _referenced_symbols(op, symbols):
            if dependency != name:
                symbols[dependency].clone()
        op.clone()
    function(scratch, **options)
    result = ms.symbol_table(scratch.operation).get(name)
    if result is None:
        raise PipelineError(f"cellc pass erased @{name}, which it was run on")
    result.move_before(op)
    op.erase()
    return result


def _symbol_name(op: ir.Operation) -> str:
    return ir.StringAttr(op.attributes["sym_name"]).value


def _referenced_symbols(op: ir.Operation, symbols: dict[str, ir.Operation]) -> list[str]:
    """The symbols of `symbols` that `op` references, directly or through one another."""
    found: list[str] = []
    pending = [op]
    while pending:
        for name in ms.symbol_references(pending.pop()):
            if name in symbols and name not in found:
                found.append(name)
                pending.append(symbols[name])
    return found


# --------------------------------------------------------------------------------------------
# ms-expand-grad on one function
# --------------------------------------------------------------------------------------------


def _expand_grads_in_symbol(function, op: ir.Operation, options) -> ir.Operation:
    """`ms-expand-grad` on one function. The module pass drops every `ms.stop_gradient`, since
    nothing is differentiated after it; on one function that holds only while no `ms.grad`
    left in the module differentiates it, so until then its stop_gradients are kept."""
    if not _differentiated_elsewhere(op):
        return _run_on_symbol(function, op, options)
    _swap_stop_gradients(op, hide=True)
    result = _run_on_symbol(function, op, options)
    _swap_stop_gradients(result, hide=False)
    return result


def _differentiated_elsewhere(op: ir.Operation) -> bool:
    name = _symbol_name(op)
    found = []

    def visit(inner):
        if inner.name == ms.GradOp.name and ms.GradOp.read_attributes(inner)["callee"] == name:
            found.append(inner)
        return ir.WalkResult.ADVANCE

    op.parent.walk(visit)
    return bool(found)


def _swap_stop_gradients(op: ir.Operation, hide: bool) -> None:
    """hide: each `ms.stop_gradient` in `op` becomes a marked unrealized_conversion_cast (which
    `ms-expand-grad` leaves alone); not hide: each marked cast becomes an `ms.stop_gradient`."""
    found = []

    def visit(inner):
        if hide and inner.name == ms.StopGradientOp.name:
            found.append(inner.operation)
        elif not hide and inner.name == _CAST and _KEPT_STOP_GRADIENT in inner.attributes:
            found.append(inner.operation)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    for old in found:
        replacement = ir.Operation.create(
            _CAST if hide else ms.StopGradientOp.name,
            results=[old.results[0].type],
            operands=[old.operands[0]],
            attributes={_KEPT_STOP_GRADIENT: ir.UnitAttr.get()} if hide else {},
            loc=old.location,
            ip=ir.InsertionPoint(old),
        )
        old.results[0].replace_all_uses_with(replacement.results[0])
        old.erase()
