"""`cellc opt`: mlir-opt for the `ms` dialect, the driver of the lit tests.

For each input buffer (the file, or each `// -----` split of it): a fresh context with `ms`
loaded, parse (MLIR verifies), the `ms` Python verifier, the pass pipeline, print. Every
problem becomes a diagnostic `file:line:col: error: message` on stderr and exit status 1, or,
under `--verify-diagnostics`, is checked against the file's `expected-*` comments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import click
from mlir import ir

from cellc.compiler import passes
from cellc.dialects import ms

from . import diagnostics as diag
from .errors import UserError

SPLIT_MARKER = "// -----"

EPILOG = """\b
Examples:
  cellc opt model.mlir
  cellc opt model.mlir --pass-pipeline='builtin.module(ms-expand-grad,canonicalize,cse)'
  cellc opt model.mlir --pass-pipeline='builtin.module(func.func(ms-expand-grad),symbol-dce)'
  cellc opt --list-passes
  cellc opt invalid.mlir --split-input-file --verify-diagnostics
  cat model.mlir | cellc opt - -o out.mlir

\b
In a lit test:
  // RUN: cellc opt %s --pass-pipeline='builtin.module(convert-ms-to-linalg)' | FileCheck %s
"""


@dataclass(frozen=True)
class Chunk:
    """A piece of the input. `text` is padded with newlines so that its line numbers are the
    file's: diagnostics and expectations then agree with what the user sees."""

    text: str
    first_line: int


def split_input(text: str, split: bool) -> list[Chunk]:
    """The buffers to process: the whole text, or its pieces between `// -----` lines."""
    if not split:
        return [Chunk(text, 1)]
    chunks, current, start = [], [], 1
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if line.strip().startswith(SPLIT_MARKER):
            chunks.append(Chunk("\n" * (start - 1) + "".join(current), start))
            current, start = [], number + 1
        else:
            current.append(line)
    chunks.append(Chunk("\n" * (start - 1) + "".join(current), start))
    return chunks


def process_chunk(
    chunk: Chunk,
    filename: str,
    pipeline: passes.Pipeline,
    verify_diagnostics: bool,
    debug_info: bool,
) -> tuple[str | None, list[diag.Diagnostic]]:
    """Parses, verifies, transforms and prints one buffer. Returns (output or None, diags)."""
    ctx = ms.make_context()
    collector = diag.DiagnosticCollector(ctx, filename, keep_op_notes=not verify_diagnostics)
    output = None
    try:
        with ctx:
            module = _transform(chunk.text, pipeline, collector)
            if module is not None and not collector.has_errors:
                output = ms.short_grad_segments(
                    module.operation.get_asm(enable_debug_info=debug_info)
                )
                output = output.replace('loc("-":', f'loc("{filename}":')
                if not output.endswith("\n"):
                    output += "\n"
    finally:
        collector.detach()
    return output, collector.diagnostics


def _transform(
    text: str, pipeline: passes.Pipeline, collector: diag.DiagnosticCollector
) -> ir.Module | None:
    try:
        module = ir.Module.parse(ms.full_grad_segments(text))
    except ir.MLIRError as error:
        collector.add_exception(error)
        return None
    try:
        ms.verify_module(module)
        pipeline.run(module)
    except (ir.MLIRError, ms.VerificationError, ms.ShapeError, passes.PipelineError) as error:
        collector.add_exception(error)
        return None
    except Exception as error:  # a cellc pass failed in its own way
        if _debugging():
            raise  # the group prints it with the traceback
        names_op = re.match(r"'[^']+' op ", str(error)) is not None
        named = names_op or isinstance(error, _cellc_error_types())
        collector.add_exception(error, context="" if named else f"{type(error).__name__}: ")
        return None
    return module


def _debugging() -> bool:
    """True under `cellc --debug`: a crashing pass then shows its traceback."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("debug"))


def _cellc_error_types() -> tuple[type[BaseException], ...]:
    try:
        from cellc.errors import CellcError
    except ImportError:
        return ()
    return (CellcError,)


@click.command(epilog=EPILOG)
@click.argument(
    "input_file",
    metavar="[FILE]",
    default="-",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
)
@click.option(
    "--pass-pipeline",
    "-p",
    default="",
    metavar="PIPELINE",
    help="Passes to run, e.g. 'builtin.module(ms-expand-grad,func.func(cse))'. cellc passes "
    "and upstream MLIR passes mix freely, at any nesting.",
)
@click.option(
    "--list-passes",
    is_flag=True,
    help="List cellc's passes with their descriptions and exit.",
)
@click.option("--split-input-file", is_flag=True, help="Process each '// -----' piece apart.")
@click.option(
    "--verify-diagnostics",
    is_flag=True,
    help="Check diagnostics against '// expected-error {{...}}' comments instead of failing.",
)
@click.option(
    "--mlir-print-debuginfo", "debug_info", is_flag=True, help="Print locations (loc(...))."
)
@click.option(
    "-o",
    "--output",
    default="-",
    type=click.Path(allow_dash=True, dir_okay=False),
    help="Output file ('-' for stdout).",
)
def opt(
    input_file, pass_pipeline, list_passes, split_input_file, verify_diagnostics, debug_info, output
):
    """Parse, verify and transform MLIR with the `ms` dialect, like mlir-opt.

    Reads FILE ('-' or nothing for stdin), checks it with MLIR's verifier and the `ms` shape
    rules, runs --pass-pipeline and prints the result in MLIR's generic form.
    """
    if list_passes:
        click.echo(pass_listing())
        return
    filename = "<stdin>" if input_file == "-" else input_file
    with click.open_file(input_file, "rb") as stream:
        text = decode_source(stream.read(), filename)
    try:
        pipeline = passes.build_pass_pipeline(pass_pipeline)
    except passes.PipelineError as error:
        raise click.BadParameter(str(error), param_hint="'--pass-pipeline'") from error

    outputs, failed = [], False
    for chunk in split_input(text, split_input_file):
        result, diagnostics = process_chunk(
            chunk, filename, pipeline, verify_diagnostics, debug_info
        )
        if verify_diagnostics:
            expected = diag.parse_expectations(chunk.text)
            problems = diag.check_expectations(diagnostics, expected, filename)
            for problem in problems:
                click.echo(problem, err=True)
            failed |= bool(problems)
        else:
            for diagnostic in diagnostics:
                click.echo(str(diagnostic), err=True)
            failed |= any(d.severity == "error" for d in diagnostics)
        if result is not None:
            outputs.append(result)

    with click.open_file(output, "w") as stream:
        stream.write((SPLIT_MARKER + "\n").join(outputs))
    if failed:
        raise click.exceptions.Exit(1)


def decode_source(data: bytes, filename: str) -> str:
    """The text of an MLIR file, which must be UTF-8: otherwise a UserError at the first byte
    that is not, with its line, column and byte offset."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        raise UserError(
            f"file is not UTF-8 text: byte 0x{data[error.start]:02x} at byte offset "
            f"{error.start} ({error.reason})",
            where=f"{filename}:{line}:{column}",
        ) from None


def pass_listing() -> str:
    """`--list-passes`: one line per cellc pass, sorted, then a word on upstream passes."""
    found = sorted(passes.cellc_passes().values(), key=lambda p: p.name)
    width = max((len(p.name) for p in found), default=0)
    lines = ["cellc passes:"]
    lines += [f"  {p.name:<{width}}  [{p.anchor}]  {p.description}" for p in found]
    lines.append("Upstream MLIR passes (cse, canonicalize, symbol-dce, ...) are accepted too.")
    lines.append(
        "Any pass may be nested: in 'builtin.module(func.func(ms-expand-grad))' a cellc pass "
        "runs on each function."
    )
    return "\n".join(lines)
