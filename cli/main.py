"""The `cellc` command line (console script `cellc = cellc.cli.main:main`).

One click group, `cellc`, with a `--debug` flag. Commands raise exceptions; the group turns
the ones users can cause (`cellc.errors.CellcError`, `ms.ShapeError`, `ms.VerificationError`,
`mlir.ir.MLIRError`) into one clear message on stderr and exit status 1. Anything else is an
internal error, reported the same way with a hint. `--debug` (or CELLC_DEBUG=1) adds the
Python traceback. Click's usage errors keep click's own message and exit status 2.

A command is added with `@cellc.command()` or `cellc.add_command(...)`; give it an epilog with
a worked example, as `opt` does.
"""

from __future__ import annotations

import sys

import click
from cellc.dialects import ms
from mlir import ir

from . import diagnostics as diag
from .opt import opt

EPILOG = """\b
Examples:
  cellc opt model.mlir --pass-pipeline='builtin.module(canonicalize)'
  cellc --debug opt broken.mlir     # a traceback with the error
"""


class ReportedError(click.ClickException):
    """An error already phrased for the user; printed as is (no 'Error:' prefix)."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(self.format_message(), err=True)


def user_error_types() -> tuple[type[BaseException], ...]:
    """The exception classes that are the user's problem, not cellc's."""
    types: list[type[BaseException]] = [
        ms.ShapeError,
        ms.VerificationError,
        ir.MLIRError,
        OSError,  # a file that cannot be read or written
    ]
    try:
        from cellc.errors import CellcError
    except ImportError:  # cellc.errors not written yet
        pass
    else:
        types.append(CellcError)
    return tuple(types)


def describe(error: BaseException) -> str:
    """One clear message for an exception raised by a command."""
    if isinstance(error, ms.VerificationError):
        return "\n".join(
            str(diag.from_location(d.location, "error", d.message, "<input>"))
            for d in error.diagnostics
        )
    if isinstance(error, ir.MLIRError):
        lines = [str(error).splitlines()[0] if str(error) else "MLIR error"]
        for d in error.error_diagnostics:
            lines.append(str(diag.from_location(d.location, "error", d.message, "<input>")))
            for note in d.notes:
                lines.append(
                    str(diag.from_location(note.location, "note", note.message, "<input>"))
                )
        return "\n".join(lines)
    if isinstance(error, user_error_types()):
        return f"error: {error}"
    return (
        f"internal error: {type(error).__name__}: {error}\n"
        "(this is a bug in cellc; run `cellc --debug ...` for the traceback)"
    )


class CellcGroup(click.Group):
    """A click group that reports command errors as described in this module's docstring."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as error:
            if ctx.params.get("debug"):
                click.echo(describe(error), err=True)
                raise
            raise ReportedError(describe(error)) from error


@click.group(
    cls=CellcGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--debug",
    is_flag=True,
    envvar="CELLC_DEBUG",
    help="Show Python tracebacks with errors (also CELLC_DEBUG=1).",
)
@click.version_option(package_name="cellc")
def cellc(debug: bool) -> None:
    """cellc: an ahead-of-time compiler for MindSpore-style models, built on MLIR."""


cellc.add_command(opt)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `cellc` console script."""
    cellc.main(args=argv, prog_name="cellc")


if __name__ == "__main__":
    main(sys.argv[1:])
