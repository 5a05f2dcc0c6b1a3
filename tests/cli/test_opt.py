"""`cellc opt`: the lit driver. Through click's CliRunner (fast) and as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cellc.cli import diagnostics as diag
from cellc.cli.main import CellcGroup, cellc
from cellc.compiler import passes
from cellc.dialects import ms

GOOD = textwrap.dedent(
    """\
    func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
      %0 = "ms.matmul"(%a, %b) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
      %1 = "ms.relu"(%0) : (tensor<2x4xf32>) -> tensor<2x4xf32>
      return %1 : tensor<2x4xf32>
    }
    """
)

# Line 2 holds the bad matmul: contracting dims 3 vs 4.
BAD_MATMUL = textwrap.dedent(
    """\
    func.func @f(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
      %0 = "ms.matmul"(%a, %b) {transpose_a = false, transpose_b = false} : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
      return %0 : tensor<2x5xf32>
    }
    """
)

CELLC = Path(sys.executable).with_name("cellc")


def invoke(*args, input=None):
    return CliRunner().invoke(cellc, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def write(tmp_path):
    def write(text: str, name: str = "input.mlir") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


# --------------------------------------------------------------------------------------------
# Round trip, stdin, output file
# --------------------------------------------------------------------------------------------


def test_roundtrip_prints_generic_form_that_parses_again(write):
    first = invoke("opt", write(GOOD))
    assert first.exit_code == 0, first.output
    assert '"ms.matmul"(%arg0, %arg1) {transpose_a = false, transpose_b = false}' in first.stdout
    second = invoke("opt", input=first.stdout)
    assert second.exit_code == 0, second.output
    assert second.stdout == first.stdout


def test_reads_stdin_and_writes_output_file(tmp_path):
    out = tmp_path / "out.mlir"
    result = invoke("opt", "-", "-o", str(out), input=GOOD)
    assert result.exit_code == 0, result.output
    assert '"ms.relu"' in out.read_text()
    assert result.stdout == ""


def test_debuginfo_names_the_real_file(write):
    path = write(GOOD)
    result = invoke("opt", path, "--mlir-print-debuginfo")
    assert result.exit_code == 0, result.output
    assert f'loc("{path}":2:' in result.stdout
    assert 'loc("-"' not in result.stdout


def test_upstream_pipeline_runs(write):
    text = GOOD.replace(
        "return %1", '%2 = "ms.neg"(%1) : (tensor<2x4xf32>) -> tensor<2x4xf32>\n  return %1'
    )
    result = invoke("opt", write(text), "--pass-pipeline=builtin.module(canonicalize,cse)")
    assert result.exit_code == 0, result.output
    # IRDL ops have no side effects declared, so the dead ms.neg is kept; the pipeline ran.
    assert '"ms.relu"' in result.stdout


# --------------------------------------------------------------------------------------------
# Errors: file:line:col, op name, types; exit status 1; no traceback
# --------------------------------------------------------------------------------------------


def test_invalid_file_reports_op_types_and_line(write):
    path = write(BAD_MATMUL)
    result = invoke("opt", path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert (
        f"{path}:2:8: error: 'ms.matmul' op contracting dimensions differ (3 vs 4): "
        "tensor<2x3xf32> and tensor<4x5xf32>"
    ) in result.stderr
    assert "Traceback" not in result.stderr


def test_irdl_error_names_the_op(write):
    text = GOOD.replace("transpose_a = false", 'transpose_a = "no"')
    path = write(text)
    result = invoke("opt", path)
    assert result.exit_code == 1
    assert f"{path}:2:8: error: 'ms.matmul' op expected base attribute" in result.stderr


def test_syntax_error_reports_position(write):
    path = write(
        'func.func @f() {\n  %0 = "ms.relu"(%nope) : (tensor<2xf32>) -> tensor<2xf32>\n}\n'
    )
    result = invoke("opt", path)
    assert result.exit_code == 1
    assert f"{path}:2:18: error: use of undeclared SSA value name" in result.stderr


def test_stdin_errors_name_stdin():
    result = invoke("opt", input=BAD_MATMUL)
    assert result.exit_code == 1
    assert "<stdin>:2:8: error: 'ms.matmul' op" in result.stderr


def test_missing_file_is_a_usage_error():
    result = invoke("opt", "/nonexistent/file.mlir")
    assert result.exit_code == 2
    assert "/nonexistent/file.mlir" in result.stderr


def test_unknown_pass(write):
    result = invoke("opt", write(GOOD), "--pass-pipeline=builtin.module(cse,no-such-pass)")
    assert result.exit_code == 2
    assert "unknown pass 'no-such-pass'" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_upstream_pass_option(write):
    result = invoke("opt", write(GOOD), "--pass-pipeline=builtin.module(cse{bogus=1})")
    assert result.exit_code == 2
    assert "invalid pass 'cse{bogus=1}'" in result.stderr


# --------------------------------------------------------------------------------------------
# --split-input-file
# --------------------------------------------------------------------------------------------


def test_split_input_file_prints_each_piece(write):
    text = GOOD + "\n// -----\n\n" + GOOD.replace("@f", "@g")
    result = invoke("opt", write(text), "--split-input-file")
    assert result.exit_code == 0, result.output
    pieces = result.stdout.split("// -----\n")
    assert len(pieces) == 2
    assert "@f" in pieces[0] and "@g" not in pieces[0]
    assert "@g" in pieces[1]


def test_split_input_file_keeps_file_line_numbers(write):
    text = GOOD + "// -----\n" + BAD_MATMUL  # the bad matmul is on line 5 + 1 + 2 = 8
    path = write(text)
    result = invoke("opt", path, "--split-input-file")
    assert result.exit_code == 1
    assert f"{path}:8:8: error: 'ms.matmul' op contracting dimensions differ" in result.stderr
    assert '"ms.relu"' in result.stdout  # the good piece is still printed


def test_without_split_a_marker_is_just_a_comment(write):
    text = GOOD + "// -----\n" + GOOD.replace("@f", "@g")
    result = invoke("opt", write(text))
    assert result.exit_code == 0, result.output
    assert "@f" in result.stdout and "@g" in result.stdout


# --------------------------------------------------------------------------------------------
# --verify-diagnostics
# --------------------------------------------------------------------------------------------

EXPECTING = textwrap.dedent(
    """\
    func.func @f(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
      // expected-error @+1 {{'ms.add' op shapes do not broadcast: tensor<2x3xf32> and tensor<4xf32>}}
      %0 = "ms.add"(%a, %b) : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
      %1 = "ms.exp"(%0) : (tensor<2x3xf32>) -> tensor<2x3xi32> // expected-error {{'ms.exp' op result type tensor<2x3xi32>}}
      %2 = "ms.neg"(%a) : (tensor<2x3xf32>) -> tensor<3x2xf32>
      // expected-error @-1 {{'ms.neg' op}}
      return %0 : tensor<2x3xf32>
    }
    """
)


def test_verify_diagnostics_accepts_expected_errors(write):
    result = invoke("opt", write(EXPECTING), "--verify-diagnostics")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_verify_diagnostics_reports_mismatches(write):
    text = EXPECTING.replace("do not broadcast", "never broadcast")
    path = write(text)
    result = invoke("opt", path, "--verify-diagnostics")
    assert result.exit_code == 1
    assert (
        f"{path}:3:8: error: unexpected error: 'ms.add' op shapes do not broadcast" in result.stderr
    )
    assert (
        f"{path}:2:6: error: expected error \"'ms.add' op shapes never broadcast" in result.stderr
    )
    assert "was not produced" in result.stderr


def test_verify_diagnostics_with_split_input_file(write):
    case = "func.func @f(%a: tensor<2xi32>) -> tensor<2xi32> {{\n  {line}\n  return %0 : tensor<2xi32>\n}}\n"
    bad = '%0 = "ms.exp"(%a) : (tensor<2xi32>) -> tensor<2xi32> // expected-error {{expects a floating-point tensor, got tensor<2xi32>}}'
    good = '%0 = "ms.neg"(%a) : (tensor<2xi32>) -> tensor<2xi32>'
    text = (
        case.format(line=bad)
        + "// -----\n"
        + case.format(line=good)
        + "// -----\n"
        + case.format(line=bad)
    )
    result = invoke("opt", write(text), "--split-input-file", "--verify-diagnostics")
    assert result.exit_code == 0, result.output
    assert '"ms.neg"' in result.stdout  # only the valid piece prints


def test_expected_error_that_never_comes(write):
    text = GOOD.replace("return %1", "// expected-error @+1 {{nothing wrong here}}\n  return %1")
    path = write(text)
    result = invoke("opt", path, "--verify-diagnostics")
    assert result.exit_code == 1
    assert (
        f'{path}:4:6: error: expected error "nothing wrong here" was not produced' in result.stderr
    )


def test_parse_expectations_forms():
    text = textwrap.dedent(
        """\
        a // expected-error {{same line}}
        // expected-warning@+2 {{two below}}
        // expected-note @above {{above}}
        b
        // expected-remark @-3 {{three above}}
        // expected-error @unknown {{anywhere}}
        c // expected-error-re {{value {{[0-9]+}} is bad}}
        """
    )
    found = {e.text: e for e in diag.parse_expectations(text)}
    assert found["same line"].line == 1 and found["same line"].severity == "error"
    assert found["two below"].line == 4 and found["two below"].severity == "warning"
    assert found["above"].line == 1  # skips the expectation line above it
    assert found["three above"].line == 2
    assert found["anywhere"].line is None
    regex = found["value {{[0-9]+}} is bad"]
    assert regex.pattern.search("value 42 is bad") and not regex.pattern.search("value x is bad")


# --------------------------------------------------------------------------------------------
# Pipelines mixing cellc passes and upstream passes
# --------------------------------------------------------------------------------------------


def test_split_pipeline():
    elements = passes.split_pipeline(
        "builtin.module(ms-expand-grad, canonicalize{max-iterations=2 region-simplify=disabled},"
        " func.func(cse,canonicalize), convert-ms-to-linalg)"
    )
    assert [e.name for e in elements] == [
        "ms-expand-grad",
        "canonicalize",
        "func.func",
        "convert-ms-to-linalg",
    ]
    assert elements[1].options == "max-iterations=2 region-simplify=disabled"
    assert elements[2].text == "func.func(cse,canonicalize)"
    assert passes.split_pipeline("cse, canonicalize")[1].name == "canonicalize"
    with pytest.raises(passes.PipelineError):
        passes.split_pipeline("builtin.module(cse")


def test_parse_options():
    assert passes.parse_options('a=1 b="x y" flag') == {"a": "1", "b": "x y", "flag": "true"}


def _tag_pass(module, tag="1"):
    """A stand-in cellc pass: marks every func.func with an attribute."""
    for op in module.body.operations:
        op.attributes["test.tag"] = ms.ir.StringAttr.get(tag)


def _failing_pass(module):
    raise ms.ShapeError("ms.matmul", "cannot do this: tensor<2x3xf32>")


FAKE_PASSES = {"test-tag": _tag_pass, "test-fail": _failing_pass}


@pytest.fixture
def fake_passes(monkeypatch):
    fakes = {name: passes.CellcPass.of(name, fn) for name, fn in FAKE_PASSES.items()}
    monkeypatch.setattr(passes, "cellc_passes", lambda: fakes)
    return fakes


def test_mixed_pipeline_groups_upstream_runs(fake_passes):
    steps = passes.resolve("builtin.module(canonicalize,cse,test-tag{tag=x},func.func(cse))")
    assert [type(s).__name__ for s in steps] == ["UpstreamStep", "CellcStep", "UpstreamStep"]
    assert steps[0].text == "builtin.module(canonicalize,cse)"
    assert steps[1].options == {"tag": "x"}


def test_mixed_pipeline_runs_cellc_pass(write, fake_passes):
    result = invoke(
        "opt", write(GOOD), "-p", "builtin.module(cse,test-tag{tag=hello},canonicalize)"
    )
    assert result.exit_code == 0, result.output
    assert 'test.tag = "hello"' in result.stdout


def test_failing_cellc_pass_is_a_diagnostic(write, fake_passes):
    result = invoke("opt", write(GOOD), "-p", "builtin.module(test-fail)")
    assert result.exit_code == 1
    assert "error: 'ms.matmul' op cannot do this: tensor<2x3xf32>" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_pass_lists_cellc_passes(write, fake_passes):
    result = invoke("opt", write(GOOD), "-p", "builtin.module(test-nope)")
    assert result.exit_code == 2
    assert "unknown pass 'test-nope'" in result.stderr
    assert "test-fail, test-tag" in result.stderr


# --------------------------------------------------------------------------------------------
# Nested pipelines: cellc passes inside anchors such as func.func(...)
# --------------------------------------------------------------------------------------------

AUTODIFF_TESTS = sorted((Path(__file__).resolve().parents[1] / "lit" / "autodiff").glob("*.mlir"))


@pytest.mark.parametrize("path", AUTODIFF_TESTS, ids=lambda p: p.stem)
def test_nested_expand_grad_matches_top_level(path):
    """On each function, then symbol-dce for the private callees: the module pass's result."""
    top = invoke("opt", str(path), "--split-input-file", "-p", "builtin.module(ms-expand-grad)")
    nested = invoke(
        "opt",
        str(path),
        "--split-input-file",
        "-p",
        "builtin.module(func.func(ms-expand-grad),symbol-dce)",
    )
    assert top.exit_code == 0, top.output
    assert nested.exit_code == 0, nested.output
    assert '"ms.grad"' not in nested.stdout
    assert nested.stdout == top.stdout


STOP_GRADIENT_NET = textwrap.dedent(
    """\
    func.func private @Net(%x: tensor<2xf32>) -> tensor<2xf32> {
      %s = "ms.stop_gradient"(%x) : (tensor<2xf32>) -> tensor<2xf32>
      %y = "ms.mul"(%x, %s) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
      return %y : tensor<2xf32>
    }
    func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
      %dx = "ms.grad"(%x) {callee = @Net, get_all = false, get_by_list = false, sens_param = false, weights = array<i64>, operandSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>, resultSegmentSizes = array<i32: 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0>} : (tensor<2xf32>) -> tensor<2xf32>
      return %dx : tensor<2xf32>
    }
    """
)


def test_nested_expand_grad_keeps_callees_and_their_stop_gradients(write):
    """@Net comes first: its stop_gradient must outlive it, since @main differentiates it;
    d/dx (x * stop_gradient(x)) = stop_gradient(x) * 1 = x, not 2x."""
    result = invoke(
        "opt", write(STOP_GRADIENT_NET), "-p", "builtin.module(func.func(ms-expand-grad))"
    )
    assert result.exit_code == 0, result.output
    net, main = result.stdout.split("func.func @main")
    assert '"ms.stop_gradient"' in net  # the callee is left as it was
    assert '"ms.grad"' not in main and '"ms.stop_gradient"' not in main
    assert main.count('"ms.mul"') == 1  # ones * stop_gradient(x): one product, no sum
    assert '"ms.add"' not in main


def test_resolve_nests_cellc_passes(fake_passes):
    steps = passes.resolve("builtin.module(cse,func.func(test-tag{tag=x},cse),func.func(cse))")
    assert [type(s).__name__ for s in steps] == ["UpstreamStep", "NestedStep", "UpstreamStep"]
    assert steps[1].anchor == "func.func"
    assert [type(s).__name__ for s in steps[1].steps] == ["CellcStep", "UpstreamStep"]
    assert steps[1].steps[0].options == {"tag": "x"}
    assert steps[1].steps[1].text == "func.func(cse)"
    assert steps[2].text == "builtin.module(func.func(cse))"


def test_nested_cellc_pass_runs_on_each_function_only(write, fake_passes):
    text = GOOD + GOOD.replace("@f", "@g")
    result = invoke("opt", write(text), "-p", "builtin.module(func.func(cse,test-tag{tag=fn}))")
    assert result.exit_code == 0, result.output
    assert result.stdout.count('test.tag = "fn"') == 2  # each function, not the module
    assert result.stdout.startswith("module {")


def test_run_pass_pipeline_from_python(fake_passes):
    with ms.make_context():
        module = ms.ir.Module.parse(GOOD)
        passes.run_pass_pipeline(module, "builtin.module(func.func(test-tag{tag=py}),cse)")
        assert 'test.tag = "py"' in str(module)


def test_unknown_nested_pass(write):
    for pipeline_text in (
        "builtin.module(func.func(cse,no-such-pass))",
        "builtin.module(func.func(ms-expand-grad,no-such-pass))",
    ):
        result = invoke("opt", write(GOOD), "-p", pipeline_text)
        assert result.exit_code == 2, pipeline_text
        assert "unknown pass 'no-such-pass'" in result.stderr
        assert "ms-expand-grad" in result.stderr  # the cellc passes are listed
        assert "Traceback" not in result.stderr


def test_cellc_pass_on_an_op_inside_a_function_is_refused(write, fake_passes):
    result = invoke("opt", write(GOOD), "-p", "builtin.module(func.func(func.return(test-tag)))")
    assert result.exit_code == 1
    assert "cellc pass 'test-tag' cannot run on 'func.return'" in result.stderr
    assert "Traceback" not in result.stderr


def test_list_passes():
    result = invoke("opt", "--list-passes")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    listed = {line.split()[0]: line for line in lines if line.startswith("  ")}
    assert list(listed) == sorted(listed)
    assert "Expands every `ms.grad`" in listed["ms-expand-grad"]
    assert "[builtin.module]" in listed["ms-expand-grad"]
    assert "-> linalg" in listed["convert-ms-to-linalg"].split(maxsplit=1)[1]
    assert "Upstream MLIR passes" in result.stdout


# --------------------------------------------------------------------------------------------
# The group: help, error reporting, --debug
# --------------------------------------------------------------------------------------------


def test_help_shows_examples():
    for args in (["--help"], ["opt", "--help"]):
        result = invoke(*args)
        assert result.exit_code == 0
        assert "Examples:" in result.stdout
    assert "--split-input-file --verify-diagnostics" in invoke("opt", "--help").stdout


def _group_raising(error):
    @click.group(cls=CellcGroup)
    @click.option("--debug", is_flag=True)
    def group(debug):
        pass

    @group.command()
    def boom():
        raise error

    return group


@pytest.mark.parametrize(
    "error, message",
    [
        (ms.ShapeError("ms.add", "shapes do not broadcast"), "error: 'ms.add' op shapes do not"),
        (RuntimeError("oops"), "internal error: RuntimeError: oops"),
    ],
)
def test_group_reports_errors_without_traceback(error, message):
    result = CliRunner().invoke(_group_raising(error), ["boom"])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_group_debug_reraises():
    result = CliRunner().invoke(_group_raising(RuntimeError("oops")), ["--debug", "boom"])
    assert isinstance(result.exception, RuntimeError)
    assert "internal error: RuntimeError: oops" in result.stderr


# --------------------------------------------------------------------------------------------
# The installed console script
# --------------------------------------------------------------------------------------------


def run_cellc(*args, input=None):
    env = dict(os.environ)
    env.pop("CELLC_DEBUG", None)
    return subprocess.run(
        [str(CELLC), *args],
        check=False,
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.skipif(not CELLC.exists(), reason="cellc console script not installed in this venv")
def test_console_script_roundtrip_and_error(write):
    ok = run_cellc("opt", write(GOOD))
    assert ok.returncode == 0, ok.stderr
    again = run_cellc("opt", "-", input=ok.stdout)
    assert again.returncode == 0 and again.stdout == ok.stdout

    path = write(BAD_MATMUL, "bad.mlir")
    bad = run_cellc("opt", path)
    assert bad.returncode == 1
    assert f"{path}:2:8: error: 'ms.matmul' op contracting dimensions differ" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.skipif(not CELLC.exists(), reason="cellc console script not installed in this venv")
def test_console_script_unknown_pass(write):
    result = run_cellc("opt", write(GOOD), "--pass-pipeline=builtin.module(no-such-pass)")
    assert result.returncode == 2
    assert "unknown pass 'no-such-pass'" in result.stderr


def _crashing_pass(module):
    raise KeyError("oops")


def test_crashing_cellc_pass_names_the_error_and_debug_shows_traceback(write, monkeypatch):
    crash = {"test-crash": passes.CellcPass.of("test-crash", _crashing_pass)}
    monkeypatch.setattr(passes, "cellc_passes", lambda: crash)
    path = write(GOOD)
    result = invoke("opt", path, "-p", "builtin.module(test-crash)")
    assert result.exit_code == 1
    assert "error: KeyError: 'oops'" in result.stderr
    assert "Traceback" not in result.stderr
    debug = CliRunner().invoke(cellc, ["--debug", "opt", path, "-p", "builtin.module(test-crash)"])
    assert isinstance(debug.exception, KeyError)
    assert "internal error: KeyError" in debug.stderr


# --------------------------------------------------------------------------------------------
# Malformed input: a located message, never a traceback
# --------------------------------------------------------------------------------------------


def test_a_file_that_is_not_utf8_names_the_byte(tmp_path):
    path = tmp_path / "latin1.mlir"
    path.write_bytes(b"func.func @f() {\n  return // caf\xe9\n}\n")
    result = invoke("opt", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"{path}:2:16: error: file is not UTF-8 text: byte 0xe9 at byte offset 32 "
        "(invalid continuation byte)\n"
    )


# An ms op of each malformed kind that used to escape the verifier as a Python traceback; the
# full set, with their messages, is tests/lit/dialect/invalid-form.mlir.
MALFORMED = {
    "dynamic": (
        '%0 = "ms.add"(%a, %a) : (tensor<?xf32>, tensor<?xf32>) -> tensor<?xf32>',
        "'ms.add' op operand 0: tensor<?xf32> has a dynamic shape; cellc supports only static "
        "shapes",
    ),
    "axes_i32": (
        '%0 = "ms.reduce_sum"(%b) {axes = array<i32: 0>, keep_dims = false} '
        ": (tensor<2xf32>) -> tensor<f32>",
        "'ms.reduce_sum' op attribute 'axes' must be an i64 array (array<i64: 0, 1>), "
        "got array<i32: 0>",
    ),
}


@pytest.mark.skipif(not CELLC.exists(), reason="cellc console script not installed in this venv")
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_ms_op_is_a_located_error_not_a_traceback(write, case):
    line, message = MALFORMED[case]
    path = write(f"func.func @f(%a: tensor<?xf32>, %b: tensor<2xf32>) {{\n  {line}\n  return\n}}\n")
    result = run_cellc("opt", path)
    assert result.returncode == 1
    assert result.stderr == f"{path}:2:8: error: {message}\n"
