"""Diagnostics for `cellc opt`: collecting them, printing them, and `--verify-diagnostics`.

MLIR reports problems in three ways, all gathered here as `Diagnostic`s:
- through the context's diagnostic handler (warnings, remarks, errors emitted by passes),
- as `ir.MLIRError` (parse, verifier and pass-manager failures carry `.error_diagnostics`),
- as `ms.VerificationError` from the dialect's Python verifier (`.diagnostics`).

The bindings name every parsed buffer "-", so a location's file is rewritten to the path the
user gave when printed.

`--verify-diagnostics` follows mlir-opt: comments `// expected-error {{text}}` (same line),
`// expected-error @+1 {{text}}`, `@-N`, `@above`, `@below`, `@unknown`, `-re` for regexes in
`{{...}}`, and the same for `warning`, `remark` and `note`. A diagnostic matches an expectation
with the same severity and line whose text it contains. Unmatched ones are reported like
mlir-opt does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlir import ir

from cellc.dialects import ms

SEVERITIES = {
    ir.DiagnosticSeverity.ERROR: "error",
    ir.DiagnosticSeverity.WARNING: "warning",
    ir.DiagnosticSeverity.REMARK: "remark",
    ir.DiagnosticSeverity.NOTE: "note",
}

# `"file":line:col` anywhere in a location's text (file, callsite, fused and name locations).
_FILE_LINE_COL = re.compile(r'"((?:[^"\\]|\\.)*)":(\d+):(\d+)')

# The note MLIR attaches to verifier errors; mlir-opt leaves it out under --verify-diagnostics.
_CURRENT_OPERATION_NOTE = "see current operation:"


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # error | warning | remark | note
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}: " if self.line is not None else ""
        return f"{where}{self.severity}: {self.message}"


def from_location(location, severity: str, message: str, filename: str) -> Diagnostic:
    """A Diagnostic at `location` (an ir.Location or its text); buffer "-" becomes `filename`."""
    match = _FILE_LINE_COL.search(str(location))
    if match is None:
        return Diagnostic(severity, message)
    file = match.group(1)
    if file == "-":
        file = filename
    return Diagnostic(severity, message, file, int(match.group(2)), int(match.group(3)))


_MS_OP_NAME = re.compile(r'"(ms\.\w+)"\(')


def _name_the_op(message: str, notes) -> str:
    """IRDL's verifier errors do not name the op ("op expects exactly 2 operands, ...",
    "expected base attribute ..."); the note MLIR attaches names it: put an `ms` op's name in
    front. Other dialects' messages are left as MLIR wrote them."""
    if re.match(r"'[^']+' op ", message):
        return message
    for note in notes:
        if note.message.startswith(_CURRENT_OPERATION_NOTE):
            match = _MS_OP_NAME.search(note.message)
            if match:
                return f"'{match.group(1)}' op {message.removeprefix('op ')}"
    return message


class DiagnosticCollector:
    """Collects a context's diagnostics (the handler claims them, so MLIR prints nothing)."""

    def __init__(self, ctx: ir.Context, filename: str, keep_op_notes: bool = True):
        self.filename = filename
        self.keep_op_notes = keep_op_notes
        self.diagnostics: list[Diagnostic] = []
        self._handle = ctx.attach_diagnostic_handler(self._handler)

    def detach(self):
        self._handle.detach()

    def _handler(self, diagnostic) -> bool:
        self._add_mlir(diagnostic)
        return True

    def _add_mlir(self, diagnostic) -> None:
        severity = SEVERITIES.get(diagnostic.severity, "error")
        is_op_note = diagnostic.message.startswith(_CURRENT_OPERATION_NOTE)
        if severity == "note" and is_op_note and not self.keep_op_notes:
            return
        message = _name_the_op(diagnostic.message, diagnostic.notes)
        self.diagnostics.append(
            from_location(diagnostic.location, severity, message, self.filename)
        )
        for note in diagnostic.notes:
            self._add_mlir(note)

    def add_exception(self, error: BaseException, context: str = "") -> None:
        """Records an exception raised while parsing, verifying or running a pass."""
        if isinstance(error, ir.MLIRError):
            for diagnostic in error.error_diagnostics:
                self._add_mlir(diagnostic)
            if not error.error_diagnostics:
                self.add("error", f"{context}{error}")
        elif isinstance(error, ms.VerificationError):
            for diagnostic in error.diagnostics:
                self.diagnostics.append(
                    from_location(diagnostic.location, "error", diagnostic.message, self.filename)
                )
        else:
            self.add("error", f"{context}{error}")

    def add(self, severity: str, message: str, location=None) -> None:
        self.diagnostics.append(from_location(location or "", severity, message, self.filename))

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)


# --------------------------------------------------------------------------------------------
# --verify-diagnostics
# --------------------------------------------------------------------------------------------

_EXPECTED = re.compile(
    r"expected-(?P<severity>error|warning|remark|note)(?P<regex>-re)?"
    r"\s*(?:@(?P<where>above|below|unknown|[+-]\d+))?\s*\{\{(?P<text>.*)\}\}"
)
_ONLY_EXPECTATION = re.compile(r"^\s*//\s*expected-")


@dataclass
class Expected:
    severity: str
    pattern: re.Pattern
    text: str  # as written, for messages
    line: int | None  # the line it is about; None for @unknown
    directive_line: int
    directive_col: int
    matched: bool = False

    def matches(self, diagnostic: Diagnostic) -> bool:
        return (
            not self.matched
            and diagnostic.severity == self.severity
            and diagnostic.line == self.line
            and self.pattern.search(diagnostic.message) is not None
        )


def parse_expectations(text: str, first_line: int = 1) -> list[Expected]:
    """The `expected-*` comments of a buffer whose first line is `first_line` of the file."""
    lines = text.splitlines()
    found = []
    for index, line in enumerate(lines):
        for match in _EXPECTED.finditer(line):
            body = match.group("text")
            if not match.group("regex"):
                # Non-greedy end: the first `}}` closes a plain expectation.
                body = body.split("}}", 1)[0]
            found.append(
                Expected(
                    severity=match.group("severity"),
                    pattern=_pattern(body, bool(match.group("regex"))),
                    text=body,
                    line=_target_line(lines, index, match.group("where"), first_line),
                    directive_line=first_line + index,
                    directive_col=match.start() + 1,
                )
            )
    return found


def _pattern(body: str, is_regex: bool) -> re.Pattern:
    if not is_regex:
        return re.compile(re.escape(body))
    pieces = re.split(r"\{\{(.*?)\}\}", body)
    # Even pieces are literal text, odd pieces are regexes.
    return re.compile("".join(p if i % 2 else re.escape(p) for i, p in enumerate(pieces)))


def _target_line(lines: list[str], index: int, where: str | None, first_line: int) -> int | None:
    if where is None:
        return first_line + index
    if where == "unknown":
        return None
    if where in ("above", "below"):
        step = -1 if where == "above" else 1
        target = index + step
        while 0 <= target < len(lines) and _ONLY_EXPECTATION.match(lines[target]):
            target += step
        return first_line + target
    return first_line + index + int(where)


def check_expectations(
    diagnostics: list[Diagnostic], expected: list[Expected], filename: str
) -> list[str]:
    """mlir-opt's messages for every unexpected diagnostic and every unmet expectation."""
    problems = []
    for diagnostic in diagnostics:
        match = next((e for e in expected if e.matches(diagnostic)), None)
        if match is None:
            where = (
                f"{diagnostic.file}:{diagnostic.line}:{diagnostic.col}: " if diagnostic.line else ""
            )
            problems.append(f"{where}error: unexpected {diagnostic.severity}: {diagnostic.message}")
        else:
            match.matched = True
    for e in expected:
        if not e.matched:
            problems.append(
                f"{filename}:{e.directive_line}:{e.directive_col}: error: expected "
                f'{e.severity} "{e.text}" was not produced'
            )
    return problems
