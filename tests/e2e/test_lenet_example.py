"""examples/lenet_digits.py: MindSpore's LeNet-5 trained on scikit-learn's digits with compiled
training steps. The full run (12 epochs) reaches about 99% test accuracy; the test runs a short
one and checks it learns."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="the digits data set comes with scikit-learn")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lenet_digits.py"


@pytest.mark.slow
def test_lenet_learns_the_digits(capsys):
    spec = importlib.util.spec_from_file_location("lenet_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    accuracy = module.main(epochs=5)
    out = capsys.readouterr().out
    assert "time per training step:" in out and "epoch: 5 loss:" in out
    assert accuracy >= 0.95, out
