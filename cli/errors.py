"""The CLI's own error: a user mistake, already phrased, printed on stderr with exit status 1,
as `error: message` or, when it is about a line of the user's file, `file:line: error: message`.

Kept apart from `main.py` so that `cellc exec` can raise it without importing MLIR."""

from __future__ import annotations

import sys

import click

from cellc.runtime.errors import CellcError


class UserError(click.ClickException):
    """A mistake the user can fix (bad file, unknown entry, wrong argument). No traceback."""

    exit_code = 1

    def __init__(self, message: str, where: str | None = None):
        super().__init__(message)
        self.where = where

    def show(self, file=None) -> None:
        prefix = f"{self.where}: " if self.where else ""
        click.echo(f"{prefix}error: {self.format_message()}", err=True)


def user_error_types() -> tuple[type[BaseException], ...]:
    """The one list of exceptions that are the user's to fix, which every command reports as a
    message without a traceback: cellc's own (`cellc.runtime.errors.CellcError`: shapes,
    dtypes, unsupported features, bad `ms` IR, bad artifacts), a file that cannot be read or
    written, and MLIR's parse and verifier errors (counted only once MLIR is loaded: an unloaded
    module raised nothing)."""
    types: list[type[BaseException]] = [CellcError, OSError]
    if "mlir.ir" in sys.modules:
        from mlir import ir

        types.append(ir.MLIRError)
    return tuple(types)


def debugging() -> bool:
    """True under `cellc --debug` (or CELLC_DEBUG=1): commands then let errors propagate, so
    the group prints them with the traceback."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("debug"))


def invocation(command: str) -> str:
    """The arguments after `cellc` of the running command, for hints and reproducers: the real
    command line when this process is `cellc ... COMMAND ...`, else `COMMAND ...` (in-process
    callers such as tests have no command line of their own)."""
    import shlex
    import sys

    args = sys.argv[1:]
    if command in args:
        return shlex.join(args)
    return f"{command} ..."
