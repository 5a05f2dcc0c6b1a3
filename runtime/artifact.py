"""The cellc artifact container: reading, validating and the shared format constants.

An artifact is ONE file (`model.cellc`): a zip archive whose members are all stored uncompressed
(`ZIP_STORED`), so that the C runtime can read it with a small central-directory reader and so
that `unzip -l model.cellc` shows what is inside. Members, in this order:

    mimetype          b"application/x-cellc-artifact" -- first, so the file starts with a
                      fixed magic (as EPUB/OpenDocument do): b"PK\\x03\\x04" at offset 0,
                      b"mimetype" at offset 30, the mime type right after it at offset 38
    manifest.json     signature, gradient meaning, target, versions (validate_manifest)
    code.so           the code for target.kind == "cpu" (a PIC ELF shared library); other
                      kinds store their own code members (CODE_MEMBERS)
    params/<i>.npy    the value of manifest["parameters"][i] (numpy .npy, C order); absent
                      when the manifest says "weights_stored": false (a disk-cache entry: code
                      only, whose loader gives the weights). A dropout mask of an entry with a
                      dynamic batch has -1 dims, stored at size 1 (masks are drawn per call)
    checksum.sha256   64 hex digits, last: the sha256 of every member between `mimetype`
                      and itself, each fed as name + b"\\0" + u64-le size + bytes

The checksum detects accidents (truncation, corruption), not tampering: whoever can edit the
file can recompute it. So the code carries its own signature: for every exported function
`NAME`, `code.so` exports the constant NUL-terminated string `cellc_signature_NAME`
(`signature_symbol`), the dtype and shape of each pointer argument in ABI order as the compiler
built it, e.g. `float32[2,3] float32[3,3] float32[1] -> float32[2,3]` (inputs and weights, then
outputs; `signature_text`). The loaders compare each entry of the manifest with it before any
call (`check_entry_signature`), so an edited manifest cannot make the code read or write outside
the buffers the caller passes. Code without the symbol is refused.

This module imports only the standard library and numpy: the runtime must load without MLIR
and without `cellc.compiler` (the compiler imports this module, never the other way round).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .dtypes import NUMPY_NAMES
from .errors import ArtifactError

FORMAT = "cellc-artifact"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)

MIMETYPE_MEMBER = "mimetype"
MIMETYPE = b"application/x-cellc-artifact"
MANIFEST_MEMBER = "manifest.json"
CHECKSUM_MEMBER = "checksum.sha256"
CODE_MEMBERS = {"cpu": "code.so", "cuda": "kernels.ptx"}
"""The member holding the code, per `target.kind`. A new kind (cuda: PTX + launch plan) adds
its members here and a loader module in `cellc.runtime.BACKENDS`."""

# The fixed bytes at the start of every artifact (a zip local header for `mimetype`, stored).
MAGIC_OFFSET = 30

DTYPES = NUMPY_NAMES  # the manifest spells dtypes as numpy does
# what a structure's {"constant": value} may hold: the Python constants a model may return
CONSTANT_TYPES = (type(None), bool, int, float, str)


SIGNATURE_PREFIX = "cellc_signature_"


def signature_symbol(symbol: str) -> str:
    """The name of the constant string holding the signature of the code's function `symbol`."""
    return SIGNATURE_PREFIX + symbol


def signature_text(arguments: list[tuple[Any, Any]], results: list[tuple[Any, Any]]) -> str:
    """The signature string of a function: (dtype, shape) of each argument, then each result.

    `float32[2,3] float32[1] -> float32[2,3]`; a scalar is `float32[]`."""
    return " ".join(
        [*(describe(d, s) for d, s in arguments), "->", *(describe(d, s) for d, s in results)]
    )


def check_entry_signature(
    path: str, manifest: dict[str, Any], entry: dict[str, Any], code_signature: str | None
) -> None:
    """Refuse an entry whose manifest disagrees with the signature its code was built with.

    `code_signature` is the entry's `signature_symbol` string read from the code (None if the
    code has none). The message names the entry and each argument that differs."""
    name = entry["name"]
    if code_signature is None:
        raise ArtifactError(
            f"'{path}': the code of entry '{name}' carries no signature "
            f"('{signature_symbol(entry['symbol'])}'), so the manifest cannot be checked "
            "against it (written by an older cellc or not by cellc): recompile the model"
        )
    parameters = {spec["name"]: spec for spec in manifest["parameters"]}
    arguments = [
        (f"input '{spec['name']}'", describe(spec["dtype"], spec["shape"]))
        for spec in entry["inputs"]
    ] + [
        (f"weight '{weight}'", describe(parameters[weight]["dtype"], parameters[weight]["shape"]))
        for weight in entry["weights"]
    ]
    results = [
        (f"output {index}", describe(spec["dtype"], spec["shape"]))
        for index, spec in enumerate(entry["outputs"])
    ]
    code_arguments, arrow, code_results = code_signature.partition("->")
    if not arrow:
        raise ArtifactError(
            f"'{path}' is corrupt: the signature of entry '{name}' is {code_signature!r}"
        )
    differences = _differences(arguments, code_arguments.split(), "arguments (inputs, weights)")
    differences += _differences(results, code_results.split(), "outputs")
    if differences:
        raise ArtifactError(
            f"'{path}' does not match its code: entry '{name}': {'; '.join(differences)} "
            "(the manifest was edited after compiling; recompile the model)"
        )


def _differences(manifest: list[tuple[str, str]], code: list[str], what: str) -> list[str]:
    if len(manifest) != len(code):
        listed = ", ".join(f"{label} {text}" for label, text in manifest) or "none"
        return [
            f"the manifest lists {len(manifest)} {what} ({listed}), the code takes "
            f"{len(code)} ({', '.join(code) or 'none'})"
        ]
    return [
        f"{label} is {text} in the manifest, {built} in the code"
        for (label, text), built in zip(manifest, code)
        if text != built
    ]


def parameter_member(index: int) -> str:
    """The member name of the i-th parameter of manifest["parameters"]."""
    return f"params/{index}.npy"


def checksum_of(members: list[tuple[str, bytes]]) -> str:
    """The artifact checksum of (name, data) members, in archive order.

    `mimetype` and the checksum member itself are not covered. Each member is fed as its
    UTF-8 name, a NUL byte, its size as a little-endian u64, then its bytes, so that moving
    bytes from one member to the next changes the digest.
    """
    digest = hashlib.sha256()
    for name, data in members:
        if name in (MIMETYPE_MEMBER, CHECKSUM_MEMBER):
            continue
        digest.update(name.encode() + b"\0" + len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


@dataclass(frozen=True)
class Artifact:
    """A read, checksum-verified and validated artifact (not yet bound to a machine)."""

    path: str
    manifest: dict[str, Any]
    members: dict[str, bytes]
    parameters: dict[str, np.ndarray]

    def member(self, name: str) -> bytes:
        """The bytes of a member a backend needs (e.g. `code.so`); ArtifactError if absent."""
        if name not in self.members:
            raise ArtifactError(f"'{self.path}' is corrupt: member '{name}' is missing")
        return self.members[name]


def read_artifact(
    path: str | Path, weights: Mapping[str, Any] | None = None, *, code_only: bool = False
) -> Artifact:
    """Read and check an artifact file; raise ArtifactError naming the reason.

    `weights` (name -> array of the manifest's dtype and shape) replace the stored parameter
    values; an artifact that stores none (a cache entry) needs them all. With `code_only`, no
    parameter values are read (`Artifact.parameters` is empty): for listings."""
    path = str(path)
    try:
        blob = Path(path).read_bytes()
    except OSError as error:
        raise ArtifactError(f"cannot read cellc artifact '{path}': {error.strerror}") from None
    _check_magic(path, blob)
    members = _read_members(path, blob)
    names = [name for name, _ in members]
    by_name = dict(members)

    manifest = _parse_manifest(path, by_name)
    _check_format(path, manifest)
    if names[-1] != CHECKSUM_MEMBER:
        raise ArtifactError(f"'{path}' is corrupt: the last member is not {CHECKSUM_MEMBER}")
    stored = by_name[CHECKSUM_MEMBER].decode("ascii", "replace").strip()
    if checksum_of(members) != stored:
        raise ArtifactError(
            f"'{path}' is corrupt: checksum mismatch (the file was truncated or modified "
            "after it was written)"
        )
    validate_manifest(manifest, where=path)

    if code_only:
        parameters = {}
    elif weights is not None:
        parameters = _given_parameters(path, manifest, weights)
    elif manifest.get("weights_stored", True):
        parameters = _read_parameters(path, manifest, by_name)
    else:
        raise ArtifactError(
            f"'{path}' stores no weights (a cellc cache entry holds code only): load it with "
            "cellc.runtime.load(path, weights={name: array, ...}), or write a complete "
            "artifact with `cellc compile` or cellc.export"
        )
    return Artifact(path=path, manifest=manifest, members=by_name, parameters=parameters)


def _given_parameters(
    path: str, manifest: dict[str, Any], weights: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    expected = [spec["name"] for spec in manifest["parameters"]]
    if sorted(weights) != sorted(expected):
        raise ArtifactError(
            f"'{path}': the weights given ({', '.join(sorted(weights)) or 'none'}) differ from "
            f"its parameters ({', '.join(sorted(expected)) or 'none'})"
        )
    parameters = {}
    for spec in manifest["parameters"]:
        value = np.asarray(weights[spec["name"]])
        if not fits(value, spec):
            raise ArtifactError(
                f"'{path}': weight '{spec['name']}' is {describe(value.dtype, value.shape)}, "
                f"the manifest says {describe(spec['dtype'], spec['shape'])}"
            )
        parameters[spec["name"]] = frozen_copy(value)
    return parameters


def _check_magic(path: str, blob: bytes) -> None:
    magic = blob[:4] == b"PK\x03\x04" and blob[MAGIC_OFFSET : MAGIC_OFFSET + 8] == b"mimetype"
    if not magic or blob[MAGIC_OFFSET + 8 : MAGIC_OFFSET + 8 + len(MIMETYPE)] != MIMETYPE:
        raise ArtifactError(
            f"'{path}' is not a cellc artifact (it does not start with the cellc magic; "
            "artifacts are written by `cellc compile` or cellc.export)"
        )


def _read_members(path: str, blob: bytes) -> list[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            infos = archive.infolist()
            for info in infos:
                if info.compress_type != zipfile.ZIP_STORED:
                    raise ArtifactError(
                        f"'{path}' is corrupt: member '{info.filename}' is compressed "
                        "(cellc artifacts store every member uncompressed)"
                    )
            # ZipFile.read checks each member's CRC-32.
            return [(info.filename, archive.read(info)) for info in infos]
    except (zipfile.BadZipFile, EOFError, ValueError) as error:
        raise ArtifactError(
            f"'{path}' is truncated or corrupt (its zip directory cannot be read: {error})"
        ) from None


def _parse_manifest(path: str, by_name: dict[str, bytes]) -> dict[str, Any]:
    if MANIFEST_MEMBER not in by_name:
        raise ArtifactError(f"'{path}' is corrupt: it has no {MANIFEST_MEMBER}")
    try:
        manifest = json.loads(by_name[MANIFEST_MEMBER])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(
            f"'{path}' is corrupt: {MANIFEST_MEMBER} is not JSON ({error})"
        ) from None
    if not isinstance(manifest, dict):
        raise ArtifactError(f"'{path}' is corrupt: {MANIFEST_MEMBER} is not a JSON object")
    return manifest


def _check_format(path: str, manifest: dict[str, Any]) -> None:
    if manifest.get("format") != FORMAT:
        raise ArtifactError(
            f"'{path}' is not a cellc artifact (manifest format is {manifest.get('format')!r})"
        )
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ArtifactError(f"'{path}' is corrupt: format_version is {version!r}")
    if version not in SUPPORTED_FORMAT_VERSIONS:
        newest = max(SUPPORTED_FORMAT_VERSIONS)
        advice = "upgrade cellc" if version > newest else "recompile the model"
        raise ArtifactError(
            f"'{path}' has format_version {version} (written by cellc "
            f"{manifest.get('cellc_version', '?')}); this runtime reads format_version "
            f"{', '.join(map(str, SUPPORTED_FORMAT_VERSIONS))}: {advice}"
        )


def _read_parameters(
    path: str, manifest: dict[str, Any], by_name: dict[str, bytes]
) -> dict[str, np.ndarray]:
    parameters = {}
    for index, spec in enumerate(manifest["parameters"]):
        member = parameter_member(index)
        if member not in by_name:
            raise ArtifactError(f"'{path}' is corrupt: member '{member}' is missing")
        try:
            value = np.load(io.BytesIO(by_name[member]), allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise ArtifactError(
                f"'{path}' is corrupt: {member} is not a .npy file ({error})"
            ) from None
        if not fits(value, spec):
            raise ArtifactError(
                f"'{path}' is corrupt: parameter '{spec['name']}' is "
                f"{describe(value.dtype, value.shape)}, the manifest says "
                f"{describe(spec['dtype'], spec['shape'])}"
            )
        parameters[spec["name"]] = frozen_copy(value)
    return parameters


def fits(value: np.ndarray, spec: Mapping[str, Any]) -> bool:
    """Whether `value` has the dtype and shape of a manifest's tensor `spec`; a -1 there (the
    dynamic batch of a dropout mask) takes any size."""
    shape = spec["shape"]
    return (
        value.dtype == np.dtype(spec["dtype"])
        and value.ndim == len(shape)
        and all(want in (-1, got) for got, want in zip(value.shape, shape))
    )


def frozen_copy(value: np.ndarray) -> np.ndarray:
    """A C-contiguous, aligned, native-endian, read-only copy that the runtime owns."""
    owned = np.array(value, dtype=value.dtype.newbyteorder("="), order="C", copy=True)
    owned.flags.writeable = False
    return owned


def describe(dtype: Any, shape: Any) -> str:
    """`float32[2,3]` -- how messages spell a tensor type."""
    return f"{np.dtype(dtype).name}[{','.join(str(d) for d in shape)}]"


# ---------------------------------------------------------------------------------------------
# Manifest schema. Checked once at load, so the call path can trust it.


def validate_manifest(manifest: dict[str, Any], where: str = "manifest") -> None:
    """Raise ArtifactError if `manifest` does not follow format_version 1."""

    def fail(message: str) -> None:
        raise ArtifactError(f"'{where}' has an invalid manifest: {message}")

    def check_tensor(spec: Any, what: str, named: bool, dynamic: bool = False) -> None:
        if not isinstance(spec, dict):
            fail(f"{what} is not an object")
        if named and not isinstance(spec.get("name"), str):
            fail(f"{what} has no name")
        shape = spec.get("shape")
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= (-1 if dynamic else 0)
            for d in shape
        ):
            expected = "non-negative ints, -1 for the batch" if dynamic else "non-negative ints"
            fail(f"{what} has shape {shape!r} (expected a list of {expected})")
        if spec.get("dtype") not in DTYPES:
            fail(f"{what} has dtype {spec.get('dtype')!r} (supported: {', '.join(DTYPES)})")

    for key in ("cellc_version", "llvm_version"):
        if not isinstance(manifest.get(key), str):
            fail(f"'{key}' is missing")
    target = manifest.get("target")
    if not isinstance(target, dict) or not isinstance(target.get("kind"), str):
        fail("'target.kind' is missing")
    if not isinstance(target.get("cpu_features", []), list):
        fail("'target.cpu_features' is not a list")

    if not isinstance(manifest.get("weights_stored", True), bool):
        fail("'weights_stored' is not a boolean")
    parameters = manifest.get("parameters")
    if not isinstance(parameters, list):
        fail("'parameters' is not a list")
    for index, spec in enumerate(parameters):
        keep = spec.get("random") if isinstance(spec, dict) else None
        # a dropout mask of an entry compiled for a dynamic batch is drawn at the call's size
        check_tensor(spec, f"parameter {index}", named=True, dynamic=keep is not None)
        if keep is not None and (
            not isinstance(keep, (int, float)) or isinstance(keep, bool) or not 0 < keep <= 1
        ):
            fail(f"parameter {index} has random {keep!r} (a keep probability in (0, 1])")
    parameter_names = [spec["name"] for spec in parameters]
    if len(set(parameter_names)) != len(parameter_names):
        fail(f"parameter names repeat: {parameter_names}")

    entries = manifest.get("entries")
    if not isinstance(entries, list) or not entries:
        fail("'entries' is empty")
    seen = set()
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            fail("an entry has no name")
        if name in seen:
            fail(f"entry '{name}' appears twice")
        seen.add(name)
        if not isinstance(entry.get("symbol"), str):
            fail(f"entry '{name}' has no symbol")
        for key in ("inputs", "weights", "outputs"):
            if not isinstance(entry.get(key), list):
                fail(f"entry '{name}': '{key}' is not a list")
        dynamic = entry.get("dynamic_batch", False)
        if not isinstance(dynamic, bool):
            fail(f"entry '{name}': 'dynamic_batch' is not a bool")
        for index, spec in enumerate(entry["inputs"]):
            check_tensor(spec, f"entry '{name}' input {index}", named=True, dynamic=dynamic)
        for index, spec in enumerate(entry["outputs"]):
            check_tensor(spec, f"entry '{name}' output {index}", named=False, dynamic=dynamic)
        if dynamic and not any(-1 in spec["shape"] for spec in entry["inputs"]):
            fail(f"entry '{name}' has a dynamic batch but no input of a dynamic shape")
        by_name = {spec["name"]: spec for spec in parameters}
        for weight in entry["weights"]:
            if weight not in by_name:
                fail(f"entry '{name}' uses weight {weight!r}, which is not a parameter")
            if -1 in by_name[weight]["shape"] and not dynamic:
                fail(
                    f"entry '{name}' uses weight {weight!r} of a dynamic shape but has no "
                    "dynamic batch"
                )
        hidden = []  # outputs holding a parameter's new value, outside the structure
        for index, spec in enumerate(entry["outputs"]):
            updated = spec.get("update")
            if updated is None:
                continue
            if updated not in entry["weights"]:
                fail(f"entry '{name}' output {index} updates {updated!r}, not one of its weights")
            if [spec["shape"], spec["dtype"]] != [by_name[updated][k] for k in ("shape", "dtype")]:
                fail(f"entry '{name}' output {index} is not of parameter {updated!r}'s type")
            hidden.append(index)
        leaves = structure_leaves(entry.get("structure"), fail, name)
        visible = [i for i in range(len(entry["outputs"])) if i not in hidden]
        if sorted(leaves) != visible:
            fail(
                f"entry '{name}': structure uses outputs {leaves}, expected each of "
                f"{visible} exactly once"
            )
        gradient = entry.get("gradient")
        if gradient is not None:
            if not isinstance(gradient, dict):
                fail(f"entry '{name}': 'gradient' is not an object or null")
            for index, spec in enumerate(gradient.get("sensitivity", [])):
                check_tensor(
                    spec, f"entry '{name}' sensitivity {index}", named=False, dynamic=dynamic
                )


def structure_leaves(structure: Any, fail, entry_name: str) -> list[int]:
    """The output indices a structure tree refers to, depth first."""
    if isinstance(structure, dict) and set(structure) == {"tensor"}:
        index = structure["tensor"]
        if not isinstance(index, int) or isinstance(index, bool):
            fail(f"entry '{entry_name}': structure leaf {structure!r} is not an int")
        return [index]
    if isinstance(structure, dict) and set(structure) == {"tuple"}:
        if not isinstance(structure["tuple"], list):
            fail(f"entry '{entry_name}': structure {structure!r} is not a list")
        return [
            i for child in structure["tuple"] for i in structure_leaves(child, fail, entry_name)
        ]
    if isinstance(structure, dict) and set(structure) == {"constant"}:
        if not isinstance(structure["constant"], CONSTANT_TYPES):
            fail(f"entry '{entry_name}': structure constant {structure!r} is not a scalar")
        return []
    if isinstance(structure, dict) and set(structure) == {"dtype"}:
        if structure["dtype"] not in DTYPES:
            fail(f"entry '{entry_name}': structure {structure!r} names no known dtype")
        return []
    fail(f"entry '{entry_name}': bad structure node {structure!r}")
    return []


# ---------------------------------------------------------------------------------------------
# CPU features. The manifest lists them as Linux /proc/cpuinfo flag names (what the loader can
# check); the compiler knows LLVM feature names, so it converts with this table.

_LLVM_TO_CPUINFO = {
    "sse3": "pni",
    "sse4.1": "sse4_1",
    "sse4.2": "sse4_2",
    "lzcnt": "abm",
    "sahf": "lahf_lm",
    "pclmul": "pclmulqdq",
    "rdrnd": "rdrand",
    "bmi": "bmi1",
    "sha": "sha_ni",
    "prfchw": "3dnowprefetch",
    "cmpxchg16b": "cx16",
    "avx512vnni": "avx512_vnni",
    "avx512bf16": "avx512_bf16",
    "avx512fp16": "avx512_fp16",
    "avx512vbmi2": "avx512_vbmi2",
    "avx512bitalg": "avx512_bitalg",
    "avx512vpopcntdq": "avx512_vpopcntdq",
    "avx512vp2intersect": "avx512_vp2intersect",
    "avxvnni": "avx_vnni",
    "avxifma": "avx_ifma",
    "avxvnniint8": "avx_vnni_int8",
    "neon": "asimd",
    "fp-armv8": "fp",
}
# LLVM features with no /proc/cpuinfo flag of their own (implied by the architecture or by
# another flag): not listed, so that they never cause a false refusal.
_LLVM_WITHOUT_CPUINFO = {
    "64bit",
    "crc32",
    "evex512",
    "cx8",
    "x87",
    "kl",
    "widekl",
    "shstk",
    "prefetchi",
    "retpoline",
    "v8a",
    "v9a",
}


def cpuinfo_flags_from_llvm_features(features: str | list[str]) -> list[str]:
    """`"+avx2,+fma,-avx512f"` (llc's -mattr syntax) or a list -> sorted cpuinfo flags.

    Only enabled features ("+name" or a bare name) are kept.
    """
    if isinstance(features, str):
        features = [f for f in features.split(",") if f]
    flags = set()
    for feature in features:
        if feature.startswith("-"):
            continue
        name = feature.lstrip("+").lower()
        if name in _LLVM_WITHOUT_CPUINFO:
            continue
        flags.add(_LLVM_TO_CPUINFO.get(name, name.replace(".", "_").replace("-", "_")))
    return sorted(flags)


def host_cpu_flags() -> set[str] | None:
    """The running CPU's /proc/cpuinfo flags (x86 "flags", Arm "Features"), or None if unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return None
