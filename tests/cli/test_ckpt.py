"""`--ckpt`: trained weights from a MindSpore checkpoint, for `cellc compile` (into the entry
cell before tracing) and `cellc exec` (into the loaded artifact)."""

from __future__ import annotations

import numpy as np
import pytest
from cli_support import MINDSPORE_SEED, SEED_DX, SEED_X, SEED_Y, invoke

from cellc import Tensor
from cellc.serialization import save_checkpoint

SEED_GRAD = f"{MINDSPORE_SEED}:GradNetWrtX(Net())"
SEED_INPUTS = ("--input", "f32[2,3]", "--input", "f32[3,3]")


@pytest.fixture
def inputs(tmp_path):
    np.save(tmp_path / "x.npy", SEED_X)
    np.save(tmp_path / "y.npy", SEED_Y)
    return ("--arg", tmp_path / "x.npy", "--arg", tmp_path / "y.npy")


def checkpoint(path, name, value):
    save_checkpoint([{"name": name, "data": Tensor(np.array(value, np.float32))}], path)
    return path


def dx_of(result):
    assert result.exit_code == 0, result.output
    rows = result.stdout.split("]]")[0].split("[[")[1]
    return np.array([[float(v) for v in row.strip(" []").split()] for row in rows.split("\n")])


def test_compile_with_a_checkpoint_uses_its_weights(tmp_path, inputs):
    # the seed's gradient d/dx of matmul(x * z, y) is linear in z: z = 2 doubles it
    ckpt = checkpoint(tmp_path / "z.ckpt", "net.z", [2.0])
    out = tmp_path / "grad.cellc"
    result = invoke("compile", SEED_GRAD, *SEED_INPUTS, "--ckpt", ckpt, "-o", out)
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(dx_of(invoke("exec", out, *inputs)), 2 * SEED_DX, rtol=1e-5)


def test_exec_with_a_checkpoint_sets_the_artifacts_parameters(tmp_path, inputs):
    out = tmp_path / "grad.cellc"
    assert invoke("compile", SEED_GRAD, *SEED_INPUTS, "-o", out).exit_code == 0
    ckpt = checkpoint(tmp_path / "z.ckpt", "net.z", [3.0])
    got = dx_of(invoke("exec", out, *inputs, "--ckpt", ckpt))
    np.testing.assert_allclose(got, 3 * SEED_DX, rtol=1e-5)


def test_a_checkpoint_for_another_network_is_refused(tmp_path, inputs):
    ckpt = checkpoint(tmp_path / "other.ckpt", "fc.weight", [1.0])
    result = invoke("compile", SEED_GRAD, *SEED_INPUTS, "--ckpt", ckpt, "-o", tmp_path / "a")
    assert result.exit_code == 1
    assert "sets none of the entry's Parameters (net.z); it holds fc.weight" in result.stderr
    out = tmp_path / "grad.cellc"
    assert invoke("compile", SEED_GRAD, *SEED_INPUTS, "-o", out).exit_code == 0
    refused = invoke("exec", out, *inputs, "--ckpt", ckpt)
    assert refused.exit_code == 1 and "holds none of the artifact's parameters" in refused.stderr
    wrong = checkpoint(tmp_path / "wrong.ckpt", "net.z", [1.0, 2.0])
    refused = invoke("exec", out, *inputs, "--ckpt", wrong)
    assert "'net.z' is float32[2]" in refused.stderr
