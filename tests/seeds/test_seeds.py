"""Every code block of both seed tutorials runs under cellc with only the import lines changed,
and prints what the document shows.

The blocks are read from ../shared/seeds/ as they are and run in one namespace per document,
in order, like a notebook. Printed values are compared with the document's numerically (float32
rounding); the tuple-of-Tensor layout, which MindSpore defines, is compared character for
character.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
MARKDOWN = SEEDS / "000_5f45188c2df3d7b3.txt"
NOTEBOOK = SEEDS / "001_c33202d29f21d8de.txt"

pytestmark = pytest.mark.skipif(not SEEDS.exists(), reason=f"seed documents not at {SEEDS}")


def cellc_imports(code: str) -> str:
    """Changes the import lines only: `mindspore` / `luojianet_ms` -> `cellc`."""
    lines = []
    for line in code.splitlines():
        if re.match(r"\s*(import|from)\s+(mindspore|luojianet_ms)\b", line):
            line = re.sub(r"\b(mindspore|luojianet_ms)\b", "cellc", line)
        lines.append(line)
    return "\n".join(lines)


def run_block(code: str, namespace: dict) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(cellc_imports(code), "<seed>", "exec"), namespace)
    return out.getvalue()


NUMBER = r"-?\d+\.?\d*(?:e[+-]?\d+)?"


def numbers(text: str) -> np.ndarray:
    return np.array([float(v) for v in re.findall(NUMBER, text)])


def shown_precision(text: str) -> np.ndarray:
    """Half a unit in the last digit each number of the document shows (`4.5` -> 0.05)."""
    tolerances = []
    for token in re.findall(NUMBER, text):
        mantissa, _, exponent = token.partition("e")
        decimals = len(mantissa.partition(".")[2])
        tolerances.append(0.5 * 10.0 ** (int(exponent or 0) - decimals))
    return np.array(tolerances)


def assert_prints(actual: str, expected: str):
    """The document's numbers to the precision it shows them (float32 rounding at least), in
    the same nesting; MindSpore's Tensor repr character for character."""
    expected = "\n".join(line.strip() for line in expected.strip().splitlines())
    actual = "\n".join(line.strip() for line in actual.strip().splitlines())
    if expected.startswith("(Tensor("):
        assert actual == expected
    got, want = numbers(actual), numbers(expected)
    assert got.shape == want.shape, (actual, expected)
    tolerance = np.maximum(shown_precision(expected), 2e-6 * np.abs(want))
    assert np.all(np.abs(got - want) <= tolerance), (actual, expected)
    assert actual.count("[") == expected.count("[")


# --- the Markdown tutorial (MindSpore) --------------------------------------------------------


def markdown_blocks():
    """(kind, text) for each fenced block, kind 'python' or 'text' ('Python' fragments too)."""
    return [
        (kind, body)
        for kind, body in re.findall(r"```(\w+)\n(.*?)```", MARKDOWN.read_text(), re.DOTALL)
    ]


def test_markdown_tutorial_runs_and_prints_the_documented_outputs():
    namespace: dict = {}
    blocks = markdown_blocks()
    outputs = []
    for index, (kind, body) in enumerate(blocks):
        if kind == "text":
            outputs.append((index, body))
            continue
        if "s1, s2" in body or body.lstrip().startswith("self."):
            continue  # illustrative fragments, exercised by the tests below
        printed = run_block(body, namespace)
        if printed:
            following = blocks[index + 1]
            assert following[0] == "text", f"block {index} printed but the document shows nothing"
            assert_prints(printed, following[1])
    assert len(outputs) == 5  # every shown output was checked (4 printed + 1 "if we delete")


def test_markdown_stop_gradient_removed_doubles_the_gradient():
    blocks = markdown_blocks()
    stop_block = next(
        body for kind, body in blocks if kind == "python" and "stop_gradient(out2)" in body
    )
    doubled = next(body for kind, body in blocks if kind == "text" and "9.0" in body)
    namespace: dict = {}
    printed = run_block(stop_block.replace("out2 = stop_gradient(out2)", "pass"), namespace)
    assert_prints(printed, doubled)


def test_markdown_requires_grad_false_fragment():
    """The `requires_grad=False` fragment: z leaves trainable_params, get_by_list gives ()."""
    blocks = markdown_blocks()
    fragment = next(body for kind, body in blocks if kind == "Python").strip()
    namespace: dict = {}
    run_block(blocks[0][1], namespace)
    net_block = next(body for kind, body in blocks if "class Net" in body)
    run_block(
        net_block.replace(
            "self.z = Parameter(Tensor(np.array([1.0], np.float32)), name='z')", fragment
        ),
        namespace,
    )
    weight_block = next(body for kind, body in blocks if "get_by_list=True" in body)
    run_block(weight_block, namespace)
    net = namespace["Net"]()
    assert net.trainable_params() == []
    printed = run_block(
        "x = Tensor([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], dtype=mstype.float32)\n"
        "y = Tensor([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], dtype=mstype.float32)\n"
        "print(GradNetWrtX(Net())(x, y))",
        namespace,
    )
    assert printed.strip() == "()"


# --- the LuoJiaNET notebook -------------------------------------------------------------------


def notebook_cells():
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    return [
        ("".join(c["source"]), "".join("".join(o.get("text", [])) for o in c.get("outputs", [])))
        for c in cells
        if c["cell_type"] == "code"
    ]


def test_notebook_cells_run_and_print_the_documented_outputs():
    namespace: dict = {}
    cells = notebook_cells()
    literal_stop_cell = None
    for source, shown in cells:
        if "class MyNet" in source:
            literal_stop_cell = (source, shown)
            break
        printed = run_block(source, namespace)
        if shown:
            assert_prints(printed, shown)
    assert literal_stop_cell is not None
    # Run literally, the stop_gradient cell defines MyNet (with its `super(Net, self)` slip,
    # which only fails when MyNet is instantiated) and runs the earlier cells' classes: it
    # prints the earlier cell's result (the weight gradient).
    printed = run_block(literal_stop_cell[0], namespace)
    assert_prints(printed, _first_output_after(cells, "get_by_list=True"))


def _first_output_after(cells, marker: str) -> str:
    start = next(i for i, (source, _) in enumerate(cells) if marker in source)
    return next(shown for _, shown in cells[start:] if shown)


def intended_stop_cell(source: str) -> str:
    """The program the notebook means: MyNet's super call fixed, GradMyNetWrtX(MyNet()) run."""
    return source.replace("super(Net, self)", "super(MyNet, self)").replace(
        "GradNetWrtX(Net())", "GradMyNetWrtX(MyNet())"
    )


def test_notebook_stop_gradient_cell_as_intended():
    cells = notebook_cells()
    source, shown = next(c for c in cells if "class MyNet" in c[0])
    namespace: dict = {}
    printed = run_block(intended_stop_cell(source), namespace)
    assert_prints(printed, shown)
    # The last cell shows the result without stop_gradient: every entry doubles.
    _, doubled = cells[-1]
    namespace = {}
    printed = run_block(
        intended_stop_cell(source).replace("out2 = stop_gradient(out2)", "pass"), namespace
    )
    assert_prints(printed, doubled)


def test_notebook_super_slip_fails_like_python_does():
    cells = notebook_cells()
    source, _ = next(c for c in cells if "class MyNet" in c[0])
    namespace: dict = {}
    for earlier, _ in cells[: cells.index(next(c for c in cells if "class MyNet" in c[0]))]:
        if "print(" not in earlier:
            run_block(earlier, namespace)
    run_block(source.replace("output = GradNetWrtX(Net())(x, y)\nprint(output)", ""), namespace)
    with pytest.raises(TypeError, match="super"):
        namespace["MyNet"]()


def test_markdown_outputs_match_the_document_to_the_last_digit():
    """The first three outputs are what MindSpore printed (the stop_gradient section rounds its
    values by hand): cellc prints them character for character, FMA contraction off."""
    namespace: dict = {}
    blocks = markdown_blocks()
    shown = []
    for index, (kind, body) in enumerate(blocks):
        if kind != "python" or "s1, s2" in body or "stop_gradient(out2)" in body:
            continue
        printed = run_block(body, namespace)
        if printed:
            shown.append((printed, blocks[index + 1][1]))
    assert len(shown) == 3
    for printed, expected in shown:
        assert [line.strip() for line in printed.strip().splitlines()] == [
            line.strip() for line in expected.strip().splitlines()
        ]
