"""`cellc compile SCRIPT[:ENTRY] --input SPEC...`: model scripts to artifacts or IR, unedited."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap

import numpy as np
import pytest
from cli_support import (
    CELLC,
    MINDSPORE_SEED,
    SEED_DX,
    arrays_in,
    cellc_process,
    invoke,
    write_script,
)

from cellc import runtime
from cellc.cli import compile as compile_cli
from cellc.cli import specs

SEED_GRAD = f"{MINDSPORE_SEED}:GradNetWrtX(Net())"
SEED_INPUTS = ("--input", "f32[2,3]", "--input", "f32[3,3]")

ONE_CELL = textwrap.dedent(
    """\
    import numpy as np
    import mindspore.nn as nn
    import mindspore.ops as ops
    from mindspore import Tensor, Parameter

    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.matmul = ops.MatMul()
            self.w = Parameter(Tensor(np.full((3, 3), 2.0, np.float32)), name="w")

        def construct(self, x):
            return self.matmul(x, self.w)  # line 13

    net = Net()

    if __name__ == "__main__":
        raise SystemExit("the demo block must not run under cellc compile")
    """
)


# --- the round trip: compile -> inspect -> exec ---------------------------------------------


def test_compile_inspect_exec_round_trip_of_the_seed_gradient(tmp_path, seed_npy):
    artifact = tmp_path / "grad.cellc"
    compiled = cellc_process("compile", SEED_GRAD, *SEED_INPUTS, "-o", artifact)
    assert compiled.returncode == 0, compiled.stderr
    assert compiled.stdout == ""  # the script's own prints are dropped while loading

    shown = cellc_process("inspect", artifact)
    assert shown.returncode == 0, shown.stderr
    assert "entry GradNetWrtX(x: float32[2,3], y: float32[3,3])" in shown.stdout
    assert "d/d input 0 (x)" in shown.stdout

    x, y = seed_npy
    ran = cellc_process("exec", artifact, "--arg", x, "--arg", y)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("output 0: float32[2,3]  d/d input 0 (x)\n")
    (dx,) = arrays_in(ran.stdout.split("\n", 1)[1])
    np.testing.assert_allclose(dx, SEED_DX.ravel(), rtol=1e-6)


def test_a_dynamic_batch_input_compiles_once_for_every_batch_size(tmp_path):
    script = write_script(tmp_path, "model.py", ONE_CELL)
    artifact = tmp_path / "net.cellc"
    result = invoke("compile", f"{script}:net", "--input", "f32[?,3]", "-o", artifact)
    assert result.exit_code == 0, result.output
    entry = runtime.load(artifact)["Net"]
    assert entry.manifest["inputs"][0]["shape"] == [-1, 3]
    for batch in (1, 6):
        x = np.arange(batch * 3, dtype=np.float32).reshape(batch, 3)
        np.testing.assert_allclose(entry(x), x @ np.full((3, 3), 2.0), rtol=1e-6)
    np.save(tmp_path / "x.npy", np.ones((4, 3), np.float32))
    ran = invoke("exec", artifact, "--arg", tmp_path / "x.npy")
    assert ran.exit_code == 0, ran.output
    assert ran.output.startswith("output 0: float32[4,3]  output 0\n")  # the call's batch
    emitted = invoke("compile", f"{script}:net", "--input", "f32[-1,3]", "--emit", "linalg")
    assert emitted.exit_code == 0, emitted.output
    assert "tensor<?x3xf32>" in emitted.output and "ms.dynamic_batch = 5" in emitted.output


def test_default_output_is_named_after_the_script(tmp_path, monkeypatch):
    script = write_script(tmp_path, "model.py", ONE_CELL)
    monkeypatch.chdir(tmp_path)
    result = invoke("compile", script, "--input", "f32[2,3]")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "model.cellc").is_file()


# --- --emit: every stage's IR parses again --------------------------------------------------


@pytest.mark.parametrize("stage", ["ms", "grad", "linalg", "llvm"])
def test_each_emitted_stage_parses_again_with_cellc_opt(stage):
    emitted = invoke("compile", SEED_GRAD, *SEED_INPUTS, "--emit", stage)
    assert emitted.exit_code == 0, emitted.output
    assert emitted.stdout.lstrip().startswith(("#", "module"))
    reparsed = invoke("opt", "-", input=emitted.stdout)
    assert reparsed.exit_code == 0, reparsed.stderr


@pytest.mark.parametrize(
    ("stage", "expected"), [("gpu", "gpu.launch_func"), ("nvvm", "nvvm.read.ptx.sreg")]
)
def test_each_cuda_stage_emits_and_parses_again(stage, expected):
    emitted = invoke("compile", SEED_GRAD, *SEED_INPUTS, "--target", "cuda", "--emit", stage)
    assert emitted.exit_code == 0, emitted.output
    assert expected in emitted.stdout
    reparsed = invoke("opt", "-", input=emitted.stdout)
    assert reparsed.exit_code == 0, reparsed.stderr


def test_emitted_ir_pipes_into_cellc_opt_through_a_shell():
    pipeline = f"'{CELLC}' compile '{SEED_GRAD}' {' '.join(SEED_INPUTS)} --emit linalg"
    result = subprocess.run(
        f"{pipeline} | '{CELLC}' opt -", shell=True, check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "linalg.matmul" in result.stdout or "linalg.generic" in result.stdout


def test_the_traced_ir_points_at_the_scripts_lines():
    result = invoke("compile", SEED_GRAD, *SEED_INPUTS, "--emit", "ms")
    assert '"ms.matmul"' in result.stdout and '"ms.grad"' in result.stdout
    assert f'loc("{MINDSPORE_SEED}":25:' in result.stdout  # out = self.matmul(x, y)


def test_emit_to_a_file(tmp_path):
    out = tmp_path / "grad.mlir"
    result = invoke("compile", SEED_GRAD, *SEED_INPUTS, "--emit", "grad", "-o", out)
    assert result.exit_code == 0 and result.stdout == ""
    assert "ms.grad" not in out.read_text() and "ms.matmul" in out.read_text()


@pytest.mark.skipif(shutil.which("ptxas") is None, reason="ptxas (CUDA) is not installed")
def test_emitted_ptx_assembles_with_ptxas(tmp_path):
    ptx = tmp_path / "grad.ptx"
    args = ("--target", "cuda", "--chip", "sm_80", "--emit", "ptx", "-o", ptx)
    result = invoke("compile", SEED_GRAD, *SEED_INPUTS, *args)
    assert result.exit_code == 0, result.output
    assembled = subprocess.run(
        ["ptxas", "-arch=sm_80", str(ptx), "-o", str(tmp_path / "grad.cubin")],
        check=False,
        capture_output=True,
        text=True,
    )
    assert assembled.returncode == 0, assembled.stderr


def test_a_cuda_artifact_records_its_chip(tmp_path):
    artifact = tmp_path / "grad.cellc"
    result = invoke("compile", SEED_GRAD, *SEED_INPUTS, "--target", "cuda", "-o", artifact)
    assert result.exit_code == 0, result.output
    manifest = json.loads(invoke("inspect", artifact, "--json").stdout)
    assert manifest["target"]["kind"] == "cuda" and manifest["target"]["chip"] == "sm_80"


# --- intermediates, timings, progress -------------------------------------------------------


def test_keep_intermediates_saves_each_stage_and_reproducers(tmp_path, seed_npy):
    folder = tmp_path / "ir"
    artifact = tmp_path / "grad.cellc"
    result = cellc_process(
        "compile", SEED_GRAD, *SEED_INPUTS, "-o", artifact, "--keep-intermediates", folder
    )
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "01-ms.mlir",
        "02-grad.mlir",
        "03-linalg.mlir",
        "04-llvm.mlir",
        "compile-command.sh",
        "reproduce.sh",
    ]
    env = {**os.environ, "PATH": f"{CELLC.parent}{os.pathsep}{os.environ['PATH']}"}
    rerun = subprocess.run(
        ["sh", "reproduce.sh"], cwd=folder, env=env, check=False, capture_output=True
    )
    assert rerun.returncode == 0, rerun.stderr
    assert b"linalg" in rerun.stdout
    artifact.unlink()
    redo = subprocess.run(
        ["sh", folder / "compile-command.sh"], env=env, check=False, capture_output=True
    )
    assert redo.returncode == 0, redo.stderr
    assert artifact.is_file()


def test_verbose_prints_stage_timings_and_the_scripts_output_on_stderr():
    result = invoke("compile", SEED_GRAD, *SEED_INPUTS, "--emit", "linalg", "-v")
    assert result.exit_code == 0, result.output
    for stage in ("load", "trace", "ms", "grad", "linalg", "total"):
        assert f"[cellc] {stage} " in result.stderr
    assert "[[4.5099998 2.7       3.6000001]" in result.stderr  # the seed's own print
    assert invoke("opt", "-", input=result.stdout).exit_code == 0  # stdout is only IR


def test_a_slow_compile_shows_its_stages_as_they_complete(monkeypatch, tmp_path):
    monkeypatch.setattr(compile_cli, "PROGRESS_AFTER_S", 0.0)
    # --keep-intermediates compiles (the script's own call put the program in the cache)
    ir = tmp_path / "ir"
    result = invoke(
        "compile", SEED_GRAD, *SEED_INPUTS, "-o", tmp_path / "g.cellc", "--keep-intermediates", ir
    )
    assert result.exit_code == 0, result.output
    lines = [line.split(" done")[0] for line in result.stderr.splitlines()]
    stages = ["load", "trace", "ms", "grad", "linalg", "llvm", "artifact"]
    assert lines == [f"[cellc] {stage}" for stage in stages]


def test_a_fast_compile_is_quiet(tmp_path):
    result = invoke("compile", SEED_GRAD, *SEED_INPUTS, "-o", tmp_path / "g.cellc")
    assert result.exit_code == 0
    assert result.stderr == "" or "done (" in result.stderr  # progress only past 1 s


# --- ENTRY ----------------------------------------------------------------------------------


def test_without_entry_the_one_cell_the_script_defines(tmp_path):
    script = write_script(tmp_path, "model.py", ONE_CELL)
    result = invoke("compile", script, "--input", "f32[2,3]", "--emit", "ms")
    assert result.exit_code == 0, result.output  # and the __main__ block did not run
    assert "func.func @Net" in result.stdout


@pytest.mark.parametrize("entry", ["Net", "net", "Net()"])
def test_entry_is_a_class_an_instance_or_an_expression(tmp_path, entry):
    script = write_script(tmp_path, "model.py", ONE_CELL)
    result = invoke("compile", f"{script}:{entry}", "--input", "f32[2,3]", "--emit", "ms")
    assert result.exit_code == 0, result.output
    assert '{ms.weight = "w"}' in result.stdout


def test_npy_inputs_give_the_shapes(tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, np.ones((4, 3), np.float32))
    script = write_script(tmp_path, "model.py", ONE_CELL)
    result = invoke("compile", script, "--input", x, "--emit", "ms")
    assert result.exit_code == 0, result.output
    assert "tensor<4x3xf32>" in result.stdout


def test_input_specs():
    assert specs.parse_input("f32[2,3]").value.shape == (2, 3)
    assert specs.parse_input("f64[3]").value.dtype == np.float64
    assert specs.parse_input("i32[4]").value.dtype == np.int32
    assert specs.parse_input("bool[2, 2]").value.dtype == np.bool_
    scalar = specs.parse_input("f32[]").value
    assert scalar.shape == () and scalar.dtype == np.float32


# --- user mistakes: one clear message, no traceback -----------------------------------------


def assert_one_clear_message(result, *fragments, exit_code=1):
    assert result.exit_code == exit_code, result.output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("spec", ["f32[2,x]", "f32(2,3)", "float[2]", "q32[2]", "f32[-3]"])
def test_a_bad_spec_names_it_and_the_syntax(spec):
    result = invoke("compile", SEED_GRAD, "--input", spec)
    assert_one_clear_message(result, f"'{spec}'", "f32[2,3]", "f32[]", ".npy", exit_code=2)


def test_a_missing_npy_input(tmp_path):
    result = invoke("compile", SEED_GRAD, "--input", tmp_path / "nope.npy")
    assert_one_clear_message(result, "nope.npy", exit_code=2)


def test_a_missing_entry_lists_the_candidates():
    result = invoke("compile", f"{MINDSPORE_SEED}:GradNet", *SEED_INPUTS)
    assert_one_clear_message(result, "has no 'GradNet'", "GradNetWrtX", "StopNet")


def test_a_missing_name_in_a_factory_expression():
    result = invoke("compile", f"{MINDSPORE_SEED}:GradNetWrtX(Nett())", *SEED_INPUTS)
    assert_one_clear_message(result, "has no 'Nett'", "Cell classes: Net, GradNetWrtX")


def test_several_cells_without_entry_lists_them():
    result = invoke("compile", MINDSPORE_SEED, *SEED_INPUTS)
    assert_one_clear_message(result, "several Cells", "Net, GradNetWrtX, GradNetWrtWeight")


def test_a_class_that_needs_arguments_asks_for_a_factory():
    result = invoke("compile", f"{MINDSPORE_SEED}:GradNetWrtX", *SEED_INPUTS)
    assert_one_clear_message(result, "'GradNetWrtX' needs arguments (self, net)", "factory")


def test_the_wrong_number_of_inputs():
    result = invoke("compile", SEED_GRAD, "--input", "f32[2,3]")
    assert_one_clear_message(result, "takes 2 inputs, got 1 --input (f32[2,3])")


def test_a_shape_mismatch_at_trace_time_names_the_script_line():
    result = invoke("compile", SEED_GRAD, "--input", "f32[2,3]", "--input", "f32[2,3]")
    assert_one_clear_message(
        result, "MatMul", "tensor<2x3xf32>", f"{MINDSPORE_SEED}:25", "self.matmul(x, y)"
    )


def test_an_unsupported_op_names_the_script_line(tmp_path):
    script = write_script(
        tmp_path,
        "model.py",
        textwrap.dedent(
            """\
            import mindspore.nn as nn
            import mindspore.ops as ops

            class Convolution(nn.Cell):
                def __init__(self):
                    super().__init__()
                    self.conv = ops.Conv3D(8, 3)

                def construct(self, x):
                    return self.sin(x)

            net = Convolution()
            """
        ),
    )
    result = invoke("compile", f"{script}:net", "--input", "f32[3]")
    assert_one_clear_message(result, f"{script}:7: error: cellc has no mindspore.ops.Conv3D yet")


def test_an_error_in_the_users_construct_points_at_it(tmp_path):
    script = write_script(
        tmp_path,
        "model.py",
        "import mindspore.nn as nn\n\nclass Net(nn.Cell):\n"
        "    def construct(self, x):\n        return x.no_such_method()\n",
    )
    result = invoke("compile", script, "--input", "f32[3]")
    assert_one_clear_message(result, f"{script}:5: error: AttributeError")


def test_a_missing_script():
    result = invoke("compile", "no/such/model.py:Net", "--input", "f32[2]")
    assert_one_clear_message(result, "no such file 'no/such/model.py'", exit_code=2)


def test_emit_ptx_needs_the_cuda_target():
    result = invoke("compile", SEED_GRAD, *SEED_INPUTS, "--emit", "ptx")
    assert_one_clear_message(result, "--emit=ptx needs --target cuda")


def test_chip_needs_the_cuda_target():
    result = invoke("compile", SEED_GRAD, *SEED_INPUTS, "--chip", "sm_90")
    assert_one_clear_message(result, "--chip applies to --target cuda", exit_code=2)


def test_debug_shows_the_traceback_of_a_compile_error():
    result = cellc_process("--debug", "compile", SEED_GRAD, "--input", "f32[2,3]", "-i", "f32[2,3]")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ShapeMismatchError" in result.stderr


# --- more user mistakes: never "internal error", never a traceback ---------------------------


def test_a_syntax_error_in_the_script_is_the_users_with_its_line(tmp_path):
    script = write_script(tmp_path, "model.py", "import mindspore.nn as nn\n\ndef f(:\n    pass\n")
    result = invoke("compile", script, "--input", "f32[2]")
    assert result.exit_code == 1
    assert result.stderr == (
        f"{script}:3:7: error: SyntaxError: invalid syntax\n    def f(:\n          ^\n"
    )


def test_an_indentation_error_in_a_module_the_script_imports(tmp_path):
    write_script(tmp_path, "helper.py", "def g():\n    return 1\n  x = 2\n")
    script = write_script(
        tmp_path, "model.py", ONE_CELL.replace("import numpy", "import helper\nimport numpy")
    )
    result = invoke("compile", script, "--input", "f32[2,3]")
    assert_one_clear_message(result, f"{tmp_path / 'helper.py'}:3:", "IndentationError", "x = 2")
    assert "internal error" not in result.stderr


@pytest.mark.parametrize("chip", ["sm_1", "sm_abc", "sm_1000", "80"])
def test_an_unknown_chip_is_refused_up_front_with_the_known_ones(chip):
    args = ("--target", "cuda", "--chip", chip, "--emit", "ptx")
    result = invoke("compile", SEED_GRAD, *SEED_INPUTS, *args)
    assert_one_clear_message(
        result, f"unknown chip '{chip}'; choose one of: sm_70, ", "sm_80", "sm_90", exit_code=2
    )
    assert "internal error" not in result.stderr


def test_the_python_api_refuses_an_unknown_chip_too():
    from cellc.compiler.pipeline import CompileOptions
    from cellc.runtime.errors import CellcError

    with pytest.raises(CellcError, match=r"unknown chip 'sm_1'; choose one of: sm_70, .*sm_90"):
        CompileOptions(target="cuda", chip="sm_1")
    assert CompileOptions(target="cuda", chip="sm_90").chip == "sm_90"


FACTORY = textwrap.dedent(
    """\
    import mindspore.nn as nn

    class Net(nn.Cell):
        def construct(self, x):
            return x

    def make():
        raise ValueError("no net of size 7")  # line 8
    """
)


def test_a_factory_entry_that_raises_names_the_entry_and_the_line(tmp_path):
    script = write_script(tmp_path, "model.py", FACTORY)
    result = invoke("compile", f"{script}:make()", "--input", "f32[2]")
    assert_one_clear_message(
        result, f"{script}:8: error: in ENTRY 'make()': ValueError: no net of size 7"
    )
    assert "internal error" not in result.stderr


def test_an_entry_expression_that_raises_itself_is_the_users(tmp_path):
    script = write_script(tmp_path, "model.py", FACTORY)
    result = invoke("compile", f"{script}:Net() if 1 / 0 else 0", "--input", "f32[2]")
    assert_one_clear_message(
        result, "error: in ENTRY 'Net() if 1 / 0 else 0': ZeroDivisionError: division by zero"
    )


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("f32[-2]", "dim -2 is negative"),
        ("f32[2,??]", "expected DTYPE[DIMS]"),
        ("f32[" + ",".join(["1"] * 40) + "]", "40 dims, more than 32"),
    ],
)
def test_negative_and_absurd_dims_are_refused(spec, fragment):
    result = invoke("compile", SEED_GRAD, "--input", "f32[2,3]", "--input", spec)
    assert_one_clear_message(result, "'--input' (input 1)", f"'{spec}'", fragment, exit_code=2)


@pytest.mark.parametrize("spec", ["f32[99999999999,99999999]", "f64[0,99999999999999999999]"])
def test_an_input_too_large_to_allocate_is_refused_before_allocating(spec):
    # in a subprocess: were it allocated, it could take the suite down
    result = cellc_process("compile", SEED_GRAD, "--input", spec, "--input", "f32[3,3]")
    assert result.returncode == 2
    assert "Invalid value for '--input' (input 0)" in result.stderr
    assert f"'{spec}' is too large" in result.stderr and "EiB" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_a_script_that_exits_while_loading_says_so(tmp_path):
    script = write_script(tmp_path, "model.py", "import sys\nsys.exit(3)\n" + FACTORY)
    result = cellc_process("compile", script, "--input", "f32[2]")
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"{script}:2: error: {script} exited with status 3 while being loaded (sys.exit), "
        "so no entry could be compiled"
    )
    assert 'if __name__ == "__main__":' in result.stderr


def test_allow_tf32_needs_the_cuda_target():
    result = invoke("compile", SEED_GRAD, *SEED_INPUTS, "--allow-tf32")
    assert_one_clear_message(result, "--allow-tf32 applies to --target cuda", exit_code=2)


@pytest.mark.parametrize("flag, tensor_cores", [((), False), (("--allow-tf32",), True)])
def test_allow_tf32_puts_f32_matmuls_on_tensor_cores(tmp_path, flag, tensor_cores):
    """A 64x64 @ 64x64 f32 matmul: tf32 mma.sync only when asked for (it changes results)."""
    script = write_script(tmp_path, "model.py", ONE_CELL.replace("(3, 3), 2.0", "(64, 64), 2.0"))
    ptx = tmp_path / "net.ptx"
    args = ("--target", "cuda", "--chip", "sm_80", *flag, "--emit", "ptx", "-o", ptx)
    result = invoke("compile", script, "--input", "f32[64,64]", *args)
    assert result.exit_code == 0, result.stderr
    text = ptx.read_text()
    assert ("mma.sync.aligned.m16n8k4.row.col.f32.tf32.tf32.f32" in text) is tensor_cores
