"""`cellc run SCRIPT [ARGS...]`: MindSpore and LuoJiaNET scripts, unchanged."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
from cli_support import (
    LUOJIANET_SEED,
    MINDSPORE_SEED,
    SEED_DX,
    SEED_DX_SENS,
    SEED_DX_STOP,
    SEED_DZ,
    cell_blocks,
    cellc_process,
    invoke,
    write_script,
)


def test_mindspore_seed_prints_the_documented_values():
    result = cellc_process("run", MINDSPORE_SEED)
    assert result.returncode == 0, result.stderr
    dx, dz, dx_sens, dx_stop = cell_blocks(result.stdout)
    np.testing.assert_allclose(dx, SEED_DX.ravel(), rtol=1e-6)
    np.testing.assert_allclose(dz, SEED_DZ, rtol=1e-6)
    np.testing.assert_allclose(dx_sens, SEED_DX_SENS.ravel(), rtol=1e-5)
    np.testing.assert_allclose(dx_stop, SEED_DX_STOP.ravel(), rtol=1e-5)
    # MindSpore's layouts: numpy's for a printed Tensor, the Tensor repr inside a tuple
    assert "[[4.5099998 2.7       3.6000001]" in result.stdout
    assert "(Tensor(shape=[1], dtype=Float32, value= [ 2.15359993e+01]),)" in result.stdout
    assert result.stderr == ""


def test_luojianet_seed_prints_the_documented_values():
    result = invoke("run", LUOJIANET_SEED)
    assert result.exit_code == 0, result.output
    dx, dz, dx_stop = cell_blocks(result.stdout)
    np.testing.assert_allclose(dx, SEED_DX.ravel(), rtol=1e-6)
    np.testing.assert_allclose(dz, SEED_DZ, rtol=1e-6)
    np.testing.assert_allclose(dx_stop, SEED_DX_STOP.ravel(), rtol=1e-5)


def test_script_runs_as_main_with_its_argv_and_folder_on_sys_path(tmp_path):
    write_script(tmp_path, "helper.py", "VALUE = 42\n")
    script = write_script(
        tmp_path,
        "main.py",
        textwrap.dedent(
            """\
            import sys
            import mindspore, luojianet_ms
            from helper import VALUE
            print(__name__, sys.argv[1:], VALUE, mindspore.__name__, luojianet_ms.__name__)
            """
        ),
    )
    result = invoke("run", script, "--epochs", "3", "-v")
    assert result.exit_code == 0, result.output
    assert result.stdout == "__main__ ['--epochs', '3', '-v'] 42 cellc cellc\n"


def test_the_aliases_live_only_while_the_script_runs(tmp_path):
    script = write_script(tmp_path, "s.py", "import mindspore.nn\n")
    argv, path = sys.argv[:], sys.path[:]
    assert invoke("run", script).exit_code == 0
    assert "mindspore" not in sys.modules and "mindspore.nn" not in sys.modules
    assert (sys.argv, sys.path) == (argv, path)
    with pytest.raises(ImportError):
        import mindspore  # noqa: F401


def test_the_scripts_exit_status_is_kept(tmp_path):
    script = write_script(tmp_path, "s.py", "import sys\nsys.exit(3)\n")
    assert cellc_process("run", script).returncode == 3


def test_a_mistake_in_the_script_is_one_message_at_its_line(tmp_path):
    script = write_script(tmp_path, "s.py", "def f():\n    return 1 / 0\n\nf()\n")
    result = invoke("run", script)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{script}:2: error: ZeroDivisionError: division by zero")
    assert "Traceback" not in result.output


def test_debug_shows_the_traceback(tmp_path):
    script = write_script(tmp_path, "s.py", "def f():\n    return 1 / 0\n\nf()\n")
    result = cellc_process("--debug", "run", script)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "return 1 / 0" in result.stderr


def test_an_unsupported_op_names_the_script_line(tmp_path):
    script = write_script(
        tmp_path,
        "s.py",
        "import numpy as np\nimport mindspore.ops as ops\nconv = ops.Conv3D(8, 3)\n",
    )
    result = invoke("run", script)
    assert result.exit_code == 1
    assert f"{script}:3: error: cellc has no mindspore.ops.Conv3D yet" in result.stderr
    assert "Traceback" not in result.output


def test_an_unsupported_module_names_the_script_line(tmp_path):
    script = write_script(tmp_path, "s.py", "import os\nimport mindspore.hypercomplex as hc\n")
    result = invoke("run", script)
    assert result.exit_code == 1
    assert f"{script}:2: error: cellc has no mindspore.hypercomplex yet" in result.stderr


def test_a_shape_mistake_in_a_cell_names_the_construct_line(tmp_path):
    script = write_script(
        tmp_path,
        "s.py",
        textwrap.dedent(
            """\
            import numpy as np
            import mindspore.nn as nn
            import mindspore.ops as ops
            from mindspore import Tensor

            class Net(nn.Cell):
                def __init__(self):
                    super().__init__()
                    self.matmul = ops.MatMul()

                def construct(self, x, y):
                    return self.matmul(x, y)

            x = Tensor(np.ones((2, 3), np.float32))
            print(Net()(x, x))
            """
        ),
    )
    result = invoke("run", script)
    assert result.exit_code == 1
    assert "MatMul" in result.stderr and "tensor<2x3xf32>" in result.stderr
    assert f"{script}:12" in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_script_is_a_usage_error():
    result = invoke("run", "no/such/script.py")
    assert result.exit_code == 2
    assert "no/such/script.py" in result.stderr


@pytest.mark.parametrize("command", ["run", "compile", "inspect", "exec", "opt"])
def test_every_command_has_a_worked_example_in_its_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and f"cellc {command} " in result.stdout


def test_the_group_lists_every_command():
    result = invoke("--help")
    for command in ("compile", "exec", "inspect", "opt", "run"):
        assert f"  {command} " in result.stdout


def test_a_syntax_error_is_the_users_with_its_line_and_caret(tmp_path):
    script = write_script(tmp_path, "s.py", "import sys\n\ndef f(:\n    pass\n")
    result = invoke("run", script)
    assert result.exit_code == 1
    assert result.stderr == (
        f"{script}:3:7: error: SyntaxError: invalid syntax\n    def f(:\n          ^\n"
    )


def test_the_scripts_exit_is_its_own_and_silent(tmp_path):
    # like `python s.py`: status 3, and nothing said (cellc compile reports it, see there)
    script = write_script(tmp_path, "s.py", "import sys\nprint('bye')\nsys.exit(3)\n")
    result = cellc_process("run", script)
    assert (result.returncode, result.stdout, result.stderr) == (3, "bye\n", "")
