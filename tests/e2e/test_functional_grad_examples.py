"""examples/autograd_2x.py and examples/higher_order_2x.py, run with `cellc run`, print the
values MindSpore 2.10 prints for the same scripts (recorded from it)."""

import re

import numpy as np
import pytest
from cli.cli_support import EXAMPLES, invoke


@pytest.fixture(autouse=True)
def numpy_print_options():
    """`cellc run` runs the example in this process, and it sets numpy's print precision:
    restore it, so that later tests print as numpy does by default."""
    with np.printoptions(**np.get_printoptions()):
        yield


GRADS_ROW = [1.93237234e-02, 8.28090012e-02, 7.58262351e-02]


def numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+\.?\d*(?:e[-+]\d+)?", text)]


def test_the_autograd_tutorial_prints_mindspores_values():
    result = invoke("run", EXAMPLES / "autograd_2x.py")
    assert result.exit_code == 0, result.output
    lines = {line.split(":")[0]: line for line in result.stdout.splitlines() if ":" in line}
    assert abs(numbers(lines["loss"])[0] - 0.20113404) < 1e-6
    assert abs(numbers(lines["network loss"])[0] - 0.20113404) < 1e-6
    assert numbers(lines["z"]) == [-2.78809, -1.10702, -1.2226]
    for label in ("grads", "grads with aux", "grads with stop_gradient", "network grads"):
        text = result.stdout.split(label + ":", 1)[1].split("))", 1)[0]
        values = [v for v in numbers(text) if abs(v) < 1]  # the values, not the shapes
        assert len(values) == 18
        for got, want in zip(values, GRADS_ROW * 6):
            assert abs(got - want) < 1e-6 * 10


def test_the_higher_order_tutorial_prints_mindspores_values():
    result = invoke("run", EXAMPLES / "higher_order_2x.py")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "sin'' at pi: [-0.]",
        "sin''' at pi: [1.]",
        "sin' : [ 1.      0.8776  0.5403 -0.4161]",
        "sin'': [-0.     -0.4794 -0.8415 -0.9093]",
        "sin''': [-1.     -0.8776 -0.5403  0.4161]",
        "d2f/dx2: [ 6. -2.]",
        "d2f/dxdy: [2. 4.]",
        "both: [array([ 6., -2.], dtype=float32), array([2., 4.], dtype=float32)]",
        "GradOperation of grad: [-0.]",
        "value_and_grad of grad: [-1.] [-0.]",
    ]
