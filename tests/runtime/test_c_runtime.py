"""The C runtime (runtime/src/cellc_runtime.c) through the CMake package and examples/c:
the same artifact gives the same numbers as the Python loader, and the same refusals."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from conftest import HOST_TRIPLE, SEED_X, SEED_Y, parse_outputs, run_program
from manifests import Target

from cellc import runtime


def flatten(value) -> list[np.ndarray]:
    return (
        [leaf for item in value for leaf in flatten(item)] if isinstance(value, tuple) else [value]
    )


@pytest.mark.parametrize("entry", ["Net", "GradNetWrtX", "GradNetWrtXY", "GradNetAll"])
def test_c_matches_python(seed_program, make_artifact, entry):
    path = make_artifact()
    result = run_program(seed_program, path, entry)
    assert result.returncode == 0, result.stderr
    from_c = parse_outputs(result.stdout)
    from_python = flatten(runtime.load(path)[entry](SEED_X, SEED_Y))
    assert len(from_c) == len(from_python)
    for c_value, py_value in zip(from_c, from_python):
        np.testing.assert_allclose(c_value, py_value, rtol=1e-7)  # %.9g round-trips float32


def test_c_prints_meaning_and_structure(seed_program, make_artifact):
    result = run_program(seed_program, make_artifact(), "GradNetWrtX")
    assert "output 0 (d/d input 0 (x)) float32[2,3]:" in result.stdout
    structure = result.stdout.split("structure ", 1)[1].split("output 0")[0]
    assert json.loads(structure) == {"tensor": 0}


def test_c_missing_entry(seed_program, make_artifact):
    result = run_program(seed_program, make_artifact(), "Forward")
    assert result.returncode == 1 and "has no entry 'Forward'; entries: Net" in result.stderr


def refusal(program, path) -> str:
    result = run_program(program, path)
    assert result.returncode == 1
    return result.stderr


def test_c_refusals(seed_program, make_artifact, tmp_path):
    not_artifact = tmp_path / "plain.cellc"
    not_artifact.write_bytes(b"hello")
    assert "is not a cellc artifact" in refusal(seed_program, not_artifact)

    path = make_artifact()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in refusal(seed_program, path)

    path = make_artifact()
    data = bytearray(path.read_bytes())
    data[data.index(b"\x7fELF") + 200] ^= 0xFF
    path.write_bytes(bytes(data))
    assert "checksum mismatch" in refusal(seed_program, path)

    path = make_artifact(target=Target(kind="cuda", triple="nvptx64-nvidia-cuda"))
    assert "targets 'cuda'" in refusal(seed_program, path)

    path = make_artifact(target=Target.cpu(HOST_TRIPLE, cpu_features=["imaginary_isa"]))
    assert "CPU features this machine lacks: imaginary_isa" in refusal(seed_program, path)


def test_c_newer_format_version(seed_program, make_artifact):
    path = make_artifact()
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members:
            if info.filename == "manifest.json":
                data = data.replace(b'"format_version": 1', b'"format_version": 7')
            archive.writestr(info, data)
    assert "format_version 7; this runtime reads format_version 1: upgrade cellc" in refusal(
        seed_program, path
    )
