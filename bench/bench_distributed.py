"""Data-parallel training throughput: LeNet-5 (examples/lenet_digits.py) on 32x32 inputs, a
batch of 32 per process, for 1, 2 and 4 processes started by `cellc launch` on this machine.

    .venv/bin/python bench/bench_distributed.py [--processes 1 2 4] [--steps 200]

For each job it prints samples per second (all processes together), the time of one global
step, and the part of it spent in the gradient all-reduce (MPI, one fused buffer of the
62k float32 gradients). "alone" is one process without any job: each step one compiled
program (forward, backward, update), the baseline that the split step (loss and gradients,
all-reduce, update: two compiled programs around an MPI call) is compared with. On a machine
with fewer cores than processes the processes share the cores (`--oversubscribe`), so the
samples per second show the cost of the split and of MPI rather than a speed-up.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

BATCH = 32  # per process


def worker(steps: int, parallel: bool) -> None:
    """One process of the job (or the process alone): times `steps` training steps after a
    warm-up, and rank 0 prints one JSON line."""
    from lenet_digits import LeNet5

    from cellc import Tensor, context, nn
    from cellc.communication import engine, get_group_size, get_rank, init

    rank, size = 0, 1
    if parallel:
        init()
        rank, size = get_rank(), get_group_size()
        context.set_auto_parallel_context(parallel_mode="data_parallel", gradients_mean=True)
    network = LeNet5()
    loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    optimizer = nn.Momentum(network.trainable_params(), learning_rate=0.01, momentum=0.9)
    step = nn.TrainOneStepCell(nn.WithLossCell(network, loss_fn), optimizer)
    rng = np.random.default_rng(rank)
    images = Tensor(rng.normal(size=(BATCH, 1, 32, 32)).astype(np.float32))
    labels = Tensor(rng.integers(0, 10, BATCH).astype(np.int32))
    for _ in range(5):  # compiles, then warms up
        step(images, labels)
    if parallel:
        engine.barrier()
        engine.Stats.reset()
    started = time.perf_counter()
    for _ in range(steps):
        step(images, labels)
    seconds = time.perf_counter() - started
    if rank == 0:
        allreduce = engine.Stats.seconds if parallel else 0.0
        result = {"processes": size, "parallel": parallel, "seconds": seconds, "steps": steps}
        result["allreduce_seconds"] = allreduce
        print("RESULT " + json.dumps(result), flush=True)


def run_job(processes: int, steps: int, parallel: bool) -> dict:
    script = [str(Path(__file__).resolve()), "--worker", "--steps", str(steps)]
    if parallel:
        command = [sys.executable, "-m", "cellc.cli.main", "launch", "-n", str(processes)]
        command += [*script, "--parallel"]
    else:
        command = [sys.executable, *script]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def report(result: dict) -> str:
    steps, seconds = result["steps"], result["seconds"]
    step_ms = 1000 * seconds / steps
    allreduce_ms = 1000 * result["allreduce_seconds"] / steps
    samples = result["processes"] * BATCH * steps / seconds
    name = f"{result['processes']} process" + ("es" if result["processes"] > 1 else "")
    name += "" if result["parallel"] else " alone"
    share = f"{100 * allreduce_ms / step_ms:5.1f}%" if result["parallel"] else "    -"
    return f"{name:<18} {samples:>10.0f} {step_ms:>10.2f} {allreduce_ms:>14.3f} {share:>8}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--parallel", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        worker(options.steps, options.parallel)
        return
    print(f"LeNet-5, batch {BATCH} per process, {options.steps} timed steps")
    print(f"{'job':<18} {'samples/s':>10} {'step ms':>10} {'all-reduce ms':>14} {'share':>8}")
    print(report(run_job(1, options.steps, parallel=False)), flush=True)
    for processes in options.processes:
        print(report(run_job(processes, options.steps, parallel=True)), flush=True)


if __name__ == "__main__":
    main()
