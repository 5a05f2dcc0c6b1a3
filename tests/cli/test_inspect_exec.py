"""`cellc inspect ARTIFACT` and `cellc exec ARTIFACT [ENTRY] --arg x.npy ...`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from cli_support import (
    MINDSPORE_SEED,
    SEED_DX,
    SEED_DZ,
    SEED_X,
    arrays_in,
    invoke,
    write_script,
)

SENS_AND_WEIGHTS = textwrap.dedent(
    """\
    import numpy as np
    import mindspore.nn as nn
    import mindspore.ops as ops
    from mindspore import Tensor, Parameter, ParameterTuple

    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.matmul = ops.MatMul()
            self.z = Parameter(Tensor(np.array([1.0], np.float32)), name="z")

        def construct(self, x, y):
            return self.matmul(x * self.z, y)

    class GradAll(nn.Cell):
        def __init__(self, net):
            super().__init__()
            self.net = net
            self.params = ParameterTuple(net.trainable_params())
            self.grad_op = ops.GradOperation(get_all=True, get_by_list=True, sens_param=True)

        def construct(self, x, y, sens):
            return self.grad_op(self.net, self.params)(x, y, sens)
    """
)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """The seed gradient (GradNetWrtX), its weight gradient (a tuple output) and a
    get_all + get_by_list + sens_param gradient, compiled once for this module."""
    folder = tmp_path_factory.mktemp("artifacts")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CELLC_CACHE_DIR", str(folder / "cache"))
        script = write_script(folder, "sens.py", SENS_AND_WEIGHTS)
        jobs = {
            "dx": (f"{MINDSPORE_SEED}:GradNetWrtX(Net())", "f32[2,3]", "f32[3,3]"),
            "dz": (f"{MINDSPORE_SEED}:GradNetWrtWeight(Net())", "f32[2,3]", "f32[3,3]"),
            "all": (f"{script}:GradAll(Net())", "f32[2,3]", "f32[3,3]", "f32[2,3]"),
        }
        paths = {}
        for name, (entry, *inputs) in jobs.items():
            paths[name] = folder / f"{name}.cellc"
            args = [a for spec in inputs for a in ("--input", spec)]
            result = invoke("compile", entry, *args, "-o", paths[name])
            assert result.exit_code == 0, result.output
    return paths


# --- inspect --------------------------------------------------------------------------------


def test_inspect_shows_signature_meaning_gradient_target_and_versions(artifacts):
    result = invoke("inspect", artifacts["dx"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "format_version 1" in text
    assert "written by: cellc 0.1.0, LLVM 22" in text
    assert "target: cpu (triple x86_64" in text
    assert "net.z: float32[1]" in text  # the parameter
    assert "entry GradNetWrtX(x: float32[2,3], y: float32[3,3])" in text
    assert "weights: net.z" in text
    assert "0: float32[2,3]  d/d input 0 (x)" in text
    assert "returns: output 0" in text
    assert "gradient: GradOperation(get_all=False, get_by_list=False, sens_param=False)" in text
    assert "sensitivity: ones for every output" in text


def test_inspect_shows_weight_gradients_tuples_and_the_sensitivity_layout(artifacts):
    text = invoke("inspect", artifacts["all"]).stdout
    assert "entry GradAll(x: float32[2,3], y: float32[3,3], sens: float32[2,3])" in text
    assert "0: float32[2,3]  d/d input 0 (x)" in text
    assert "1: float32[3,3]  d/d input 1 (y)" in text
    assert "2: float32[1]  d/d Parameter net.z" in text
    assert "returns: ((output 0, output 1), (output 2,))" in text
    assert "sens_param=True" in text
    assert "sens: float32[2,3]" in text.split("sensitivity", 1)[1]


def test_inspect_json_is_the_manifest(artifacts):
    from cellc.runtime.artifact import read_artifact

    result = invoke("inspect", artifacts["dz"], "--json")
    assert json.loads(result.stdout) == dict(read_artifact(artifacts["dz"]).manifest)


def test_inspect_refuses_a_corrupt_artifact(artifacts, tmp_path):
    blob = bytearray(artifacts["dx"].read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    corrupt = tmp_path / "corrupt.cellc"
    corrupt.write_bytes(bytes(blob))
    result = invoke("inspect", corrupt)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: '{corrupt}' is ") and "corrupt" in result.stderr
    assert "Traceback" not in result.output


def test_inspect_refuses_a_file_that_is_not_an_artifact(tmp_path):
    bogus = tmp_path / "model.cellc"
    bogus.write_text("hello")
    result = invoke("inspect", bogus)
    assert result.exit_code == 1 and str(bogus) in result.stderr


# --- exec -----------------------------------------------------------------------------------


def test_exec_prints_each_output_with_its_meaning(artifacts, seed_npy):
    x, y = seed_npy
    result = invoke("exec", artifacts["dz"], "--arg", x, "--arg", y)
    assert result.exit_code == 0, result.output
    header, value = result.stdout.splitlines()
    assert header == "output 0: float32[1]  d/d Parameter net.z"
    np.testing.assert_allclose(arrays_in(value)[0], SEED_DZ, rtol=1e-6)


def test_exec_out_saves_numbered_npy_files(artifacts, seed_npy, tmp_path):
    x, y = seed_npy
    sens = tmp_path / "sens.npy"
    np.save(sens, np.ones((2, 3), np.float32))
    out = tmp_path / "out"
    entry = "GradAll"
    result = invoke("exec", artifacts["all"], entry, "-a", x, "-a", y, "-a", sens, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["output0.npy", "output1.npy", "output2.npy"]
    np.testing.assert_allclose(np.load(out / "output0.npy"), SEED_DX, rtol=1e-6)
    np.testing.assert_allclose(np.load(out / "output1.npy"), SEED_X.T @ np.ones((2, 3)), rtol=1e-6)
    np.testing.assert_allclose(np.load(out / "output2.npy"), SEED_DZ, rtol=1e-6)
    assert f"{out / 'output2.npy'}: float32[1]  d/d Parameter net.z" in result.stdout


def test_exec_needs_only_the_runtime(artifacts, seed_npy):
    """No MLIR, no compiler: both are made unimportable in the process running `cellc exec`."""
    x, y = seed_npy
    code = textwrap.dedent(
        f"""\
        import sys
        for name in ("mlir", "cellc.compiler", "cellc.dialects"):
            sys.modules[name] = None
        from cellc.cli.main import main
        main(["exec", {str(artifacts["dx"])!r}, "--arg", {str(x)!r}, "--arg", {str(y)!r}])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    values = result.stdout.split("\n", 1)[1]  # after the `output 0: float32[2,3] ...` line
    np.testing.assert_allclose(arrays_in(values)[0], SEED_DX.ravel(), rtol=1e-6)


def assert_one_clear_message(result, *fragments):
    assert result.exit_code == 1, result.output
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_exec_wrong_argument_shape(artifacts, seed_npy):
    y = seed_npy[1]
    result = invoke("exec", artifacts["dx"], "--arg", y, "--arg", y)
    assert_one_clear_message(
        result, f"--arg {y}: input 'x' of 'GradNetWrtX' expects float32[2,3], got float32[3,3]"
    )


def test_exec_wrong_argument_dtype(artifacts, seed_npy, tmp_path):
    x64 = tmp_path / "x64.npy"
    np.save(x64, SEED_X.astype(np.float64))
    result = invoke("exec", artifacts["dx"], "--arg", x64, "--arg", seed_npy[1])
    assert_one_clear_message(result, "expects float32[2,3], got float64[2,3]")


def test_exec_wrong_argument_count(artifacts, seed_npy):
    result = invoke("exec", artifacts["dx"], "--arg", seed_npy[0])
    assert_one_clear_message(result, "takes 2 inputs, got 1 --arg", "x: float32[2,3]")


def test_exec_unknown_entry(artifacts, seed_npy):
    result = invoke("exec", artifacts["dx"], "Nope", "--arg", seed_npy[0])
    assert_one_clear_message(result, "has no entry 'Nope'; entries: GradNetWrtX")


def test_exec_missing_argument_file(artifacts, tmp_path, seed_npy):
    result = invoke("exec", artifacts["dx"], "--arg", tmp_path / "no.npy", "--arg", seed_npy[1])
    assert_one_clear_message(result, "no such file", "no.npy")


def test_exec_corrupt_artifact(artifacts, tmp_path, seed_npy):
    truncated = tmp_path / "truncated.cellc"
    truncated.write_bytes(artifacts["dx"].read_bytes()[:2000])
    result = invoke("exec", truncated, "--arg", seed_npy[0], "--arg", seed_npy[1])
    assert_one_clear_message(result, f"'{truncated}' is truncated or corrupt")


def test_exec_missing_artifact(tmp_path):
    result = invoke("exec", tmp_path / "none.cellc")
    assert_one_clear_message(result, "cannot read cellc artifact", "none.cellc")
