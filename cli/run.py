"""`cellc run SCRIPT [ARGS...]`: a MindSpore or LuoJiaNET script, unchanged, with cellc.

The script runs as `__main__` (like `python SCRIPT ARGS...`) with `sys.argv = [SCRIPT, *ARGS]`
and its folder first on `sys.path`; inside this process only, `import mindspore...` and
`import luojianet_ms...` resolve to cellc, so every cell the script calls is compiled ahead of
time (cached on disk, see CELLC_CACHE_DIR) and run as native code.

Started by MPI (`mpirun -n N cellc run train.py`, `cellc launch`), it is one process of a
data-parallel job once the script calls `communication.init()`; a failure in it then ends the
whole job with this process's rank and error (`end_job`).
"""

from __future__ import annotations

import traceback
from pathlib import Path

import click

from cellc.communication import engine
from cellc.frontend.compiled import HOOKS

from .compile import Progress
from .errors import debugging, invocation
from .script import failure, run_script

EPILOG = """\b
Examples:
  cellc run examples/autograd_mindspore.py
  cellc run examples/autograd_luojianet.py
  cellc run train.py --epochs 3      # everything after SCRIPT goes to the script
  cellc run -v train.py              # a line per compiled cell and per disk-cache hit
  cellc --debug run train.py         # errors come with the Python traceback

\b
Compiled cells are cached in $CELLC_CACHE_DIR (default ~/.cache/cellc; `cellc cache`).
A compile over a second shows its stages on stderr. CELLC_SAVE_GRAPHS=DIR (or CELLC_DUMP_DIR,
or the script's set_context(save_graphs=True, save_graphs_path=DIR)) keeps every compiled
cell's stage IR, reproducer and timings in DIR/<cell>-<key>/.
"""


@click.command(
    "run",
    epilog=EPILOG,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="A line on stderr per compiled cell (its stages' seconds) and per disk-cache hit.",
)
@click.argument("script", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(script: Path, args: tuple[str, ...], verbose: bool = False) -> None:
    """Run a MindSpore/LuoJiaNET SCRIPT unchanged, its cells compiled by cellc.

    ARGS are passed to the script in sys.argv. A mistake in the script is reported as one
    message naming its file and line; the script's own exit status is kept.
    """
    previous, HOOKS.progress = HOOKS.progress, Progress  # a slow compile shows its stages
    reporting, HOOKS.report = HOOKS.report, (_report if verbose else HOOKS.report)
    try:
        run_script(script, args)
    except Exception as error:
        if debugging():
            end_job(traceback.format_exc())
            raise
        reported = failure(error, script, invocation("run"))
        end_job(_message(reported))
        raise reported from error
    except SystemExit as exit:
        if exit.code not in (None, 0):
            end_job(f"the script exited with status {exit.code}")
        raise
    finally:
        HOOKS.progress = previous
        HOOKS.report = reporting


def _report(line: str) -> None:
    click.echo(f"[cellc] {line}", err=True)


def end_job(message: str) -> None:
    """In a job of several processes (`cellc launch`, `mpirun ... cellc run`), this one failed:
    it prints `message` with its rank and aborts the job, so that the other processes stop
    instead of waiting in their next collective. Alone, nothing happens here."""
    if engine.is_parallel():
        engine.abort(message)


def _message(error: click.ClickException) -> str:
    where = getattr(error, "where", None)
    return f"{where + ': ' if where else ''}error: {error.format_message()}"
