"""Driving `cellc` the way a user does: in-process through click's CliRunner (fast) and as a
real subprocess of `.venv/bin/cellc` (the installed console script); the seed's values."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from cellc.cli.main import cellc

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
MINDSPORE_SEED = EXAMPLES / "autograd_mindspore.py"
LUOJIANET_SEED = EXAMPLES / "autograd_luojianet.py"
CELLC = Path(sys.executable).with_name("cellc")

# The seed tutorial's inputs and the values it documents (shared/seeds/*.txt).
SEED_X = np.array([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], np.float32)
SEED_Y = np.array([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], np.float32)
SEED_DX = np.array([[4.5099998, 2.7, 3.6000001]] * 2, np.float32)
SEED_DZ = np.array([2.15359993e01], np.float32)
SEED_DX_SENS = np.array([[2.211, 0.51, 1.49], [5.588, 2.68, 4.07]], np.float32)
SEED_DX_STOP = np.array([[4.51, 2.7, 3.6]] * 2, np.float32)


def invoke(*args, input=None):
    """`cellc ARGS` in-process. stdout and stderr are kept apart (result.stdout/.stderr)."""
    runner = CliRunner()
    return runner.invoke(cellc, [str(a) for a in args], input=input, catch_exceptions=False)


def cellc_process(*args, cwd=None, input=None) -> subprocess.CompletedProcess:
    """`.venv/bin/cellc ARGS` as a real process."""
    return subprocess.run(
        [str(CELLC), *[str(a) for a in args]],
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd,
        input=input,
        timeout=120,
    )


def arrays_in(text: str) -> list[np.ndarray]:
    """The numbers of each printed array block (`[[...]\\n [...]]` or `(Tensor(...value= [...]),)`)
    in `text`, one flat float array per block."""
    blocks, current, depth = [], [], 0
    for char in text:
        if char == "[":
            depth += 1
        if depth:
            current.append(char)
        if char == "]":
            depth -= 1
            if depth == 0:
                blocks.append("".join(current))
                current = []
    number = r"[-+]?\d+\.?\d*(?:[eE][-+]?\d+)?"
    return [np.array([float(n) for n in re.findall(number, b)], np.float32) for b in blocks]


def cell_blocks(text: str) -> list[np.ndarray]:
    """Printed arrays, skipping `shape=[1]` inside a Tensor repr."""
    return arrays_in(re.sub(r"shape=\[[^\]]*\]", "", text))


def write_script(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def env_without_debug() -> dict:
    env = dict(os.environ)
    env.pop("CELLC_DEBUG", None)
    return env
