"""Textual pass pipelines that mix cellc's Python passes with upstream MLIR passes.

`cellc opt --pass-pipeline='builtin.module(ms-expand-grad, canonicalize, cse)'` names passes the
way mlir-opt does. The top-level list is split here: names found in cellc's pass tables
(`cellc.compiler.autodiff.PASSES`, `cellc.compiler.lowering.PASSES`: name -> callable(module),
transforming in place) run as Python calls; every run of consecutive other elements goes to one
upstream `PassManager`, parsed from the same text. Nested anchors (`func.func(cse)`) are handed to
upstream whole, so cellc passes must appear at the top level.

The whole pipeline is resolved before anything runs, so an unknown pass is reported up front.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from mlir import ir, passmanager

from cellc.dialects import ms

# Modules whose `PASSES` dict holds cellc's Python passes, in lookup order.
PASS_MODULES = ("cellc.compiler.autodiff", "cellc.compiler.lowering")


class PipelineError(ValueError):
    """A --pass-pipeline that cannot be resolved: bad syntax or an unknown pass."""


@dataclass(frozen=True)
class PipelineElement:
    """One top-level element of a pipeline, e.g. `cse`, `canonicalize{max-iterations=2}`."""

    name: str
    options: str  # the text between `{` and `}`, '' when there are none
    text: str  # the element as written


@dataclass(frozen=True)
class CellcStep:
    """A cellc pass: a Python callable run on the module."""

    name: str
    run: Callable
    options: dict[str, str]


@dataclass(frozen=True)
class UpstreamStep:
    """A run of consecutive upstream passes, parsed into one PassManager."""

    text: str  # `builtin.module(...)`


def cellc_passes() -> dict[str, Callable]:
    """cellc's Python passes by name. A pass module that does not exist yet is skipped."""
    passes: dict[str, Callable] = {}
    for module_name in PASS_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue
            raise PipelineError(f"cannot load cellc passes from {module_name}: {error}") from error
        except Exception as error:
            raise PipelineError(f"cannot load cellc passes from {module_name}: {error}") from error
        passes.update(getattr(module, "PASSES", {}))
    return passes


def split_pipeline(pipeline: str) -> list[PipelineElement]:
    """The top-level elements of `builtin.module(a, b{opt=1}, func.func(c))` (or of `a, b`)."""
    text = pipeline.strip()
    anchor = "builtin.module("
    if text.startswith(anchor):
        if not text.endswith(")") or _top_level_end(text, len(anchor) - 1) != len(text) - 1:
            raise PipelineError(f"unbalanced parentheses in pass pipeline '{pipeline}'")
        text = text[len(anchor) : -1]
    return [_element(part) for part in _split_top_level(text, pipeline) if part.strip()]


def _top_level_end(text: str, open_index: int) -> int:
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


def _element(part: str) -> PipelineElement:
    text = part.strip()
    cut = min((i for i in (text.find("{"), text.find("(")) if i >= 0), default=len(text))
    name = text[:cut].strip()
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


def resolve(pipeline: str) -> list[CellcStep | UpstreamStep]:
    """The steps of a pipeline, every upstream run checked by PassManager.parse."""
    elements = split_pipeline(pipeline)
    ours = cellc_passes() if elements else {}
    steps: list[CellcStep | UpstreamStep] = []
    upstream: list[PipelineElement] = []

    def flush():
        if upstream:
            steps.append(UpstreamStep(_check_upstream(upstream, ours)))
            upstream.clear()

    for element in elements:
        if element.name in ours:
            flush()
            steps.append(
                CellcStep(element.name, ours[element.name], parse_options(element.options))
            )
        else:
            upstream.append(element)
    flush()
    return steps


def _check_upstream(elements: list[PipelineElement], ours: dict[str, Callable]) -> str:
    text = f"builtin.module({','.join(e.text for e in elements)})"
    with ir.Context():
        try:
            passmanager.PassManager.parse(text)
            return text
        except ValueError:
            pass
        # Find the element at fault, to name it.
        for element in elements:
            try:
                passmanager.PassManager.parse(f"builtin.module({element.text})")
            except ValueError as error:
                message = str(error).strip()
                if "does not refer to a registered pass" in message:
                    known = ", ".join(sorted(ours)) or "none loaded"
                    raise PipelineError(
                        f"unknown pass '{element.name}' (not an upstream MLIR pass nor a cellc "
                        f"pass; cellc passes: {known})"
                    ) from error
                raise PipelineError(f"invalid pass '{element.text}': {message}") from error
        raise PipelineError(f"invalid pass pipeline '{text}'")


def run_steps(module: ir.Module, steps: list[CellcStep | UpstreamStep]) -> None:
    """Runs the steps in order on `module` (in its context). cellc passes are followed by the
    `ms` verifier, as mlir-opt verifies after every pass. Errors propagate: MLIRError,
    ms.VerificationError, ms.ShapeError, or whatever the pass raises."""
    with module.context:
        for step in steps:
            if isinstance(step, UpstreamStep):
                passmanager.PassManager.parse(step.text).run(module.operation)
            else:
                if step.options:
                    step.run(module, **step.options)
                else:
                    step.run(module)
                ms.verify_module(module)
