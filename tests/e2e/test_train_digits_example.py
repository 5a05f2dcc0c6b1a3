"""examples/train_digits.py, short: Model.train with LossMonitor and ModelCheckpoint, the
checkpoint evaluated in a fresh process (>= 95% test accuracy), and the exported training
step run by a process that imports only cellc.runtime, lowering the loss."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="the example trains on scikit-learn's digits")

EXAMPLE = Path(__file__).parents[2] / "examples" / "train_digits.py"


def test_train_digits_example(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--epochs", "5", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # 1437 training images in batches of 32: 44 steps an epoch, LossMonitor every 22
    assert "epoch: 1 step: 22, loss is " in out and "epoch: 5 step: 44, loss is " in out
    assert re.search(r"^Train epoch time: [\d.]+ ms, per step time: [\d.]+ ms$", out, re.M)
    assert (tmp_path / "digits-5_44.ckpt").exists() and (tmp_path / "digits-4_44.ckpt").exists()
    accuracy = float(re.search(r"test accuracy: ([\d.]+)", out).group(1))
    assert accuracy >= 0.95
    steps, first, last = re.search(
        r"runtime-only steps: (\d+), loss ([\d.]+) -> ([\d.]+)", out
    ).groups()
    assert int(steps) == 20 and float(last) < float(first)
