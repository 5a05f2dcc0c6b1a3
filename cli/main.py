"""The `cellc` command line (console script `cellc = cellc.cli.main:main`).

One click group, `cellc`, with a `--debug` flag. Commands raise exceptions; the group turns
the ones users can cause (`cellc.errors.CellcError`, `ArtifactError`, `ms.ShapeError`,
`ms.VerificationError`, `mlir.ir.MLIRError`) into one clear message on stderr and exit
status 1. Anything else is an internal error, reported the same way with a hint.
`--debug` (or CELLC_DEBUG=1) adds the Python traceback. Click's usage errors keep click's
own message and exit status 2.

Commands are registered in COMMANDS and imported only when run (or listed by `--help`), and
this module imports MLIR only to describe an MLIR error: `cellc exec` and `cellc inspect` thus
work where only the runtime is installed. Give each command an epilog with a worked example,
as `opt` does.
"""

from __future__ import annotations

import importlib
import sys

import click

from .errors import user_error_types

EPILOG = """\b
Examples:
  cellc run examples/autograd_mindspore.py
  cellc compile examples/autograd_mindspore.py:'GradNetWrtX(Net())' \\
      --input f32[2,3] --input f32[3,3] -o grad.cellc
  cellc inspect grad.cellc
  cellc exec grad.cellc --arg x.npy --arg y.npy
  cellc opt model.mlir --pass-pipeline='builtin.module(canonicalize)'
  cellc --debug opt broken.mlir     # a traceback with the error
"""

# Command name -> "module:attribute", imported on first use.
COMMANDS = {
    "cache": "cellc.cli.cache:cache",
    "compile": "cellc.cli.compile:compile_command",
    "exec": "cellc.cli.exec:exec_",
    "inspect": "cellc.cli.inspect:inspect",
    "launch": "cellc.cli.launch:launch",
    "opt": "cellc.cli.opt:opt",
    "run": "cellc.cli.run:run",
}


class ReportedError(click.ClickException):
    """An error already phrased for the user; printed as is (no 'Error:' prefix)."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(self.format_message(), err=True)


def describe(error: BaseException) -> str:
    """One clear message for an exception raised by a command."""
    ms = sys.modules.get("cellc.dialects.ms")
    ir = sys.modules.get("mlir.ir")
    if ms is not None and isinstance(error, ms.VerificationError):
        from . import diagnostics as diag

        return "\n".join(
            str(diag.from_location(d.location, "error", d.message, "<input>"))
            for d in error.diagnostics
        )
    if ir is not None and isinstance(error, ir.MLIRError):
        from . import diagnostics as diag

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
    """A click group that reports command errors as described in this module's docstring and
    imports the COMMANDS it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            module_name, attribute = COMMANDS[name].split(":")
            self.add_command(getattr(importlib.import_module(module_name), attribute), name)
        return super().get_command(ctx, name)

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


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `cellc` console script."""
    cellc.main(args=argv, prog_name="cellc")


if __name__ == "__main__":
    main(sys.argv[1:])
