"""examples/quickstart_2x.py: MindSpore 2.x's Quick Start tutorial as written (value_and_grad
over `optimizer.parameters` with `has_aux`, a train_step function, create_tuple_iterator,
save/load_checkpoint) on scikit-learn's digits, run unchanged by `cellc run`: it prints what
MindSpore 2.10 prints and learns (MindSpore reaches about 82% after the 3 epochs)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="the example trains on scikit-learn's digits")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart_2x.py"
CELLC = Path(sys.executable).with_name("cellc")

# print(model), as MindSpore 2.10 prints it
NETWORK = """\
Network(
  (flatten): Flatten()
  (dense_relu_sequential): SequentialCell(
    (0): Dense(input_channels=784, output_channels=512, has_bias=True)
    (1): ReLU()
    (2): Dense(input_channels=512, output_channels=512, has_bias=True)
    (3): ReLU()
    (4): Dense(input_channels=512, output_channels=10, has_bias=True)
  )
)
"""


@pytest.mark.slow
def test_the_quickstart_tutorial_runs_and_learns(tmp_path):
    result = subprocess.run(
        [str(CELLC), "run", str(EXAMPLE)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    shapes = "Shape of image [N, C, H, W]: (64, 1, 28, 28) Float32\nShape of label: (64,) Int32\n"
    assert out.startswith("['image', 'label']\n" + shapes * 2), out
    assert NETWORK in out
    # 1437 training images in batches of 64: 23 steps an epoch, the loss printed at step 0
    losses = [float(x) for x in re.findall(r"^loss: ([\d.]+)  \[  0/ 23\]$", out, re.M)]
    accuracies = [float(x) for x in re.findall(r"^ Accuracy: ([\d.]+)%, Avg loss: ", out, re.M)]
    assert len(losses) == len(accuracies) == 3, out
    assert losses[0] > losses[-1] and accuracies[-1] >= 70, out
    assert "Done!\nSaved Model to model.ckpt\n[]\n" in out and (tmp_path / "model.ckpt").exists()
    predicted, actual = re.search(r'Predicted: "\[(.*)\]", Actual: "\[(.*)\]"', out).groups()
    assert actual == "2 3 4 5 6 7 8 9 0 9" and len(predicted.split()) == 10
