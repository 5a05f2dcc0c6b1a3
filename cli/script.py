"""Running a user's MindSpore or LuoJiaNET script inside cellc (`cellc run`, `cellc compile`).

`script_environment(path, args)` is the world the script sees while it runs: `import mindspore`
and `import luojianet_ms` resolve to cellc (`cellc.compat`), `sys.argv` is `[path, *args]` and
the script's folder is first on `sys.path`. Everything is put back afterwards, so the command
leaves no trace in its own process (the tests run commands in-process).

`failure(error, script)` turns an exception that came out of the script, or out of cellc while
it traced the script's cells, into one `UserError` that points at the user's file and line. The
innermost frame that is either the user's or cellc's decides whose problem it is: an exception
raised by the user's code (or a library it called) is the user's; one raised by cellc is the
user's when it is one of the error types cellc raises for user mistakes, and otherwise a bug in
cellc, reported with the user's line as context. A syntax error in the user's code is theirs,
shown at its `file:line:col` with the offending line and a caret, as Python shows it.

`exited(error, script, phase)` says that `cellc compile` met the script's `sys.exit(...)`: the
script stopped before anything could be compiled. (`cellc run` lets the script exit as Python
would, with its own status.)
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import runpy
import sys
import traceback
from pathlib import Path

import click

from .errors import UserError, user_error_types

# Python's message for `from module import name` when module has no `name`
_CANNOT_IMPORT = re.compile(r"cannot import name '([^']+)' from ")

# The name a script loaded as a module (not run as a program) gets; not "__main__", so that its
# `if __name__ == "__main__":` block does not run.
SCRIPT_MODULE = "__cellc_script__"

# cellc's own packages: a frame in one of these is cellc's, not the user's.
_CELLC_PACKAGES = (
    "cellc",
    "cellc.compiler",
    "cellc.dialects",
    "cellc.frontend",
    "cellc.runtime",
    "cellc.cli",
    "mlir",
)


@contextlib.contextmanager
def script_environment(path: Path, args: tuple[str, ...] = ()):
    """Runs the body as the script would run under MindSpore (see the module docstring)."""
    from cellc import compat

    saved_argv, saved_path = sys.argv[:], sys.path[:]
    saved_modules = set(sys.modules)
    meta_path = list(sys.meta_path)
    compat.install()
    installed_here = sys.meta_path != meta_path
    sys.argv = [str(path), *args]
    sys.path.insert(0, str(path.resolve().parent))
    try:
        yield
    finally:
        sys.argv[:] = saved_argv
        sys.path[:] = saved_path
        if installed_here:
            compat.uninstall()
        # the script's own modules (`import helper` from its folder) go with it, as with its process
        for name in set(sys.modules) - saved_modules:
            module_file = getattr(sys.modules[name], "__file__", None)
            if module_file and _is_user_file(module_file, path):
                del sys.modules[name]
        sys.stdout.flush()


def run_script(path: Path, args: tuple[str, ...]) -> None:
    """`cellc run`: the script as `__main__`, its own arguments in sys.argv."""
    with script_environment(path, args):
        runpy.run_path(str(path), run_name="__main__")


def load_script(path: Path, echo: bool) -> dict:
    """The namespace of the script loaded as a module (`SCRIPT_MODULE`). Call it inside
    `script_environment`. What the script prints while loading is dropped, or sent to stderr
    when `echo` (stdout may be carrying IR)."""
    sink = sys.stderr if echo else io.StringIO()
    with contextlib.redirect_stdout(sink):
        return runpy.run_path(str(path), run_name=SCRIPT_MODULE)


# --- errors ------------------------------------------------------------------------------------


def failure(error: BaseException, script: Path, command: str) -> click.ClickException:
    """One message for an exception raised while running or tracing `script` (see the module
    docstring). `command` is what the user ran, for the hint about `--debug`."""
    frames = traceback.extract_tb(error.__traceback__)
    user_frame = _innermost(frames, lambda f: _is_user_file(f.filename, script))
    owner = _innermost(frames, lambda f: _is_user_file(f.filename, script) or _is_cellc(f.filename))
    where = f"{user_frame.filename}:{user_frame.lineno}" if user_frame else None
    hint = f"(run `cellc --debug {command}` for the traceback)"

    if isinstance(error, SyntaxError) and not _is_cellc(error.filename or "<unknown>"):
        return _syntax_error(error)
    unsupported = _unsupported(error)
    if unsupported:
        return UserError(unsupported, where=where)
    if owner is not None and owner is user_frame:
        # The user's code raised (or a library it called directly).
        return UserError(f"{type(error).__name__}: {error}\n{hint}", where=where)
    if isinstance(error, user_error_types()):
        message = str(error) or type(error).__name__
        names_the_line = script.name in message
        return UserError(message, where=None if names_the_line else where)
    context = f" (while running {where})" if where else ""
    return InternalError(
        f"internal error: {type(error).__name__}: {error}{context}\n"
        f"(this is a bug in cellc; run `cellc --debug {command}` for the traceback)"
    )


def _syntax_error(error: SyntaxError) -> UserError:
    """`file:line:col: error: SyntaxError: invalid syntax`, then the line and a caret."""
    where = f"{error.filename}:{error.lineno}" if error.lineno else error.filename
    if where and error.offset:
        where += f":{error.offset}"
    message = f"{type(error).__name__}: {error.msg}"
    line = (error.text or "").rstrip("\r\n")
    if line.strip():
        shown = line.lstrip()
        column = max(0, (error.offset or 1) - 1 - (len(line) - len(shown)))
        same_line = error.end_lineno in (None, error.lineno)
        width = (error.end_offset or 0) - (error.offset or 0) if same_line else 0
        message += f"\n    {shown}\n    {' ' * column}{'^' * max(1, width)}"
    return UserError(message, where=where)


def exited(error: SystemExit, script: Path, phase: str) -> UserError:
    """`cellc compile` met the script's sys.exit() while it was being `phase` ("loaded",
    "traced"): nothing could be compiled. Points at the line that exited."""
    frames = traceback.extract_tb(error.__traceback__)
    frame = _innermost(frames, lambda f: _is_user_file(f.filename, script))
    where = f"{frame.filename}:{frame.lineno}" if frame else None
    code = error.code
    if code is None or isinstance(code, int):
        how = f"with status {code or 0}"
    else:
        how = f"with the message {str(code)!r}"
    advice = (
        '; put what the script does when run under `if __name__ == "__main__":`, which '
        "cellc compile does not run"
        if phase == "loaded"
        else ""
    )
    return UserError(
        f"{script} exited {how} while being {phase} (sys.exit), so no entry could be "
        f"compiled{advice}",
        where=where,
    )


class InternalError(click.ClickException):
    """A bug in cellc met while running the user's script; printed as is."""

    exit_code = 1

    def show(self, file=None) -> None:
        click.echo(self.format_message(), err=True)


def _unsupported(error: BaseException) -> str | None:
    """A MindSpore API that cellc does not provide, met as an import or attribute error:
    "cellc has no mindspore.nn.Conv3d yet"."""
    from cellc import compat

    root = (getattr(error, "name", None) or "").partition(".")[0]
    if isinstance(error, ModuleNotFoundError) and root in compat.ALIASES:
        return str(error)  # the compat finder's own message
    if isinstance(error, ImportError) and root == "cellc":
        # `from mindspore.nn import Conv3d`: Python's message names cellc's module and its file
        name = _CANNOT_IMPORT.match(str(error))
        if name:
            return str(compat.missing(compat.mindspore_path(error.name), name.group(1)))
    if isinstance(error, AttributeError):
        owner = getattr(error, "obj", None)
        owner_name = getattr(owner, "__name__", "")
        if isinstance(owner, type(sys)) and owner_name.partition(".")[0] == "cellc":
            return str(compat.missing(compat.mindspore_path(owner_name), error.name))
    return None


def _innermost(frames, predicate):
    for frame in reversed(frames):
        if predicate(frame):
            return frame
    return None


def _package_dirs() -> list[str]:
    dirs = []
    for name in _CELLC_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            dirs.append(os.path.realpath(location) + os.sep)
    return dirs


def _is_cellc(filename: str) -> bool:
    path = os.path.realpath(filename)
    return any(path.startswith(d) for d in _package_dirs())


def _is_user_file(filename: str, script: Path) -> bool:
    """The script itself, or a module next to it (not cellc's, not an installed package)."""
    if filename.startswith("<"):
        return False
    path = os.path.realpath(filename)
    if path == os.path.realpath(script):
        return True
    folder = os.path.realpath(script.parent) + os.sep
    return path.startswith(folder) and "site-packages" not in path and not _is_cellc(filename)
