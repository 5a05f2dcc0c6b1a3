"""The artifact container: what write_artifact stores, and every refusal of the reader."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from conftest import HOST_TRIPLE, SEED_Z
from manifests import Target

from cellc.compiler.package import write_artifact
from cellc.runtime import ArtifactError, load
from cellc.runtime.artifact import (
    MIMETYPE,
    cpuinfo_flags_from_llvm_features,
    host_cpu_flags,
    read_artifact,
)


def rewrite_manifest(path, change):
    """Rewrite the manifest in place, keeping the (now stale) checksum."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members:
            if info.filename == "manifest.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
            archive.writestr(info, data)


def test_layout_and_manifest(make_artifact):
    path = make_artifact()
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        manifest = json.loads(archive.read("manifest.json"))
    assert names == ["mimetype", "manifest.json", "code.so", "params/0.npy", "checksum.sha256"]
    assert path.read_bytes()[30 : 38 + len(MIMETYPE)] == b"mimetype" + MIMETYPE
    assert manifest["format"] == "cellc-artifact" and manifest["format_version"] == 1
    assert manifest["cellc_version"] and manifest["llvm_version"].startswith("22")
    assert manifest["target"] == {"kind": "cpu", "triple": HOST_TRIPLE, "cpu_features": []}
    assert manifest["parameters"] == [{"name": "z", "shape": [1], "dtype": "float32"}]
    grad = manifest["entries"][1]
    assert grad["name"] == "GradNetWrtX" and grad["weights"] == ["z"]
    assert grad["inputs"][0] == {"name": "x", "shape": [2, 3], "dtype": "float32"}
    assert grad["outputs"] == [{"shape": [2, 3], "dtype": "float32", "meaning": "d/d input 0 (x)"}]
    assert grad["gradient"] == {
        "get_all": False,
        "get_by_list": False,
        "sens_param": False,
        "sensitivity": [],
    }


def test_artifacts_are_reproducible(make_artifact):
    assert make_artifact("a.cellc").read_bytes() == make_artifact("b.cellc").read_bytes()


def test_write_is_atomic_and_leaves_no_temporary(make_artifact, tmp_path):
    make_artifact()
    make_artifact()  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["model.cellc"]


def test_parameters_round_trip(make_artifact):
    artifact = read_artifact(make_artifact(z=np.array([2.5], np.float32)))
    assert artifact.parameters["z"].tolist() == [2.5]
    assert not artifact.parameters["z"].flags.writeable


def test_write_refuses_wrong_parameters(make_artifact, seed_library, tmp_path):
    with pytest.raises(ArtifactError, match=r"parameter 'z' is float64\[1\]"):
        make_artifact(z=np.array([1.0]))
    manifest = read_artifact(make_artifact()).manifest
    with pytest.raises(ArtifactError, match="differ from the manifest"):
        write_artifact(tmp_path / "x.cellc", manifest, seed_library, {})


def test_write_refuses_bad_structure(make_artifact, seed_library, tmp_path):
    manifest = read_artifact(make_artifact()).manifest
    manifest["entries"][0]["structure"] = {"tuple": [{"tensor": 0}, {"tensor": 0}]}
    with pytest.raises(ArtifactError, match="structure uses outputs"):
        write_artifact(tmp_path / "x.cellc", manifest, seed_library, {"z": SEED_Z})
    for node, message in [
        ({"constant": [1, 2]}, "is not a scalar"),
        ({"dtype": "float8"}, "names no known dtype"),
        ({"constant": 1, "dtype": "float32"}, "bad structure node"),
    ]:
        manifest["entries"][0]["structure"] = {"tuple": [{"tensor": 0}, node]}
        with pytest.raises(ArtifactError, match=message):
            write_artifact(tmp_path / "x.cellc", manifest, seed_library, {"z": SEED_Z})
    manifest["entries"][0]["structure"] = {"tuple": [{"tensor": 0}, {"constant": None}]}
    write_artifact(tmp_path / "x.cellc", manifest, seed_library, {"z": SEED_Z})


def test_not_an_artifact(tmp_path):
    path = tmp_path / "model.cellc"
    path.write_bytes(b"\x7fELF not an artifact")
    with pytest.raises(ArtifactError, match="is not a cellc artifact"):
        load(path)
    with zipfile.ZipFile(path, "w") as archive:  # a zip, but not ours
        archive.writestr("manifest.json", "{}")
    with pytest.raises(ArtifactError, match="is not a cellc artifact"):
        load(path)


def test_missing_file(tmp_path):
    with pytest.raises(ArtifactError, match="cannot read cellc artifact"):
        load(tmp_path / "absent.cellc")


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_truncated(make_artifact, keep):
    path = make_artifact()
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ArtifactError, match="truncated or corrupt"):
        load(path)


def test_flipped_byte_in_code_fails_the_check(make_artifact):
    path = make_artifact()
    data = bytearray(path.read_bytes())
    data[data.index(b"\x7fELF") + 200] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="corrupt"):  # CRC-32 or checksum, whichever first
        load(path)


def test_modified_manifest_fails_the_checksum(make_artifact):
    path = make_artifact()
    rewrite_manifest(path, lambda m: m["entries"][1].update(weights=[]))
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        load(path)


def test_newer_format_version(make_artifact):
    path = make_artifact()
    rewrite_manifest(path, lambda m: m.update(format_version=2))
    with pytest.raises(ArtifactError, match="format_version 2.*upgrade cellc"):
        load(path)


def test_unsupported_target_kind(make_artifact):
    path = make_artifact(target=Target(kind="tpu", triple="tpu-unknown-unknown"))
    with pytest.raises(ArtifactError, match="targets 'tpu'.*supported: cpu, cuda"):
        load(path)


def test_other_architecture(make_artifact):
    path = make_artifact(target=Target.cpu(triple="riscv64-unknown-linux-gnu"))
    with pytest.raises(ArtifactError, match="compiled for riscv64"):
        load(path)


@pytest.mark.skipif(host_cpu_flags() is None, reason="no /proc/cpuinfo")
def test_missing_cpu_features(make_artifact):
    path = make_artifact(target=Target.cpu(HOST_TRIPLE, cpu_features=["imaginary_isa"]))
    with pytest.raises(ArtifactError, match="CPU features this machine lacks: imaginary_isa"):
        load(path)


@pytest.mark.skipif(host_cpu_flags() is None, reason="no /proc/cpuinfo")
def test_present_cpu_features_load(make_artifact):
    present = sorted(host_cpu_flags())[:3]
    load(make_artifact(target=Target.cpu(HOST_TRIPLE, cpu_features=present)))


def test_llvm_features_become_cpuinfo_flags():
    assert cpuinfo_flags_from_llvm_features("+avx2,+fma,-avx512f,+sse4.2,+64bit,+sse3") == [
        "avx2",
        "fma",
        "pni",
        "sse4_2",
    ]
