"""cellc.runtime: load a compiled cellc artifact and call it on numpy arrays.

    import cellc.runtime
    module = cellc.runtime.load("model.cellc")
    dx = module.GradNetWrtX(x, y)          # or module["GradNetWrtX"](x, y)

The runtime needs numpy and the standard library only: it imports neither MLIR nor
`cellc.compiler`, so a deployed model runs where the compiler is not installed. Each
`target.kind` has a backend module, imported only when an artifact of that kind is loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .artifact import ArtifactError, read_artifact
from .module import Entry, Module, Slot

__all__ = [
    "BACKENDS",
    "ArtifactError",
    "Entry",
    "Module",
    "Slot",
    "cmake_dir",
    "include_dir",
    "load",
]

BACKENDS = {"cpu": "cellc.runtime.cpu", "cuda": "cellc.runtime.cuda"}
"""target.kind -> the module whose `load(artifact) -> Module` binds it."""


def load(path: str | Path, weights: Mapping[str, Any] | None = None) -> Module:
    """Load an artifact written by `cellc compile` / cellc.export.

    `weights` (name -> array) replace the parameter values it stores; a disk-cache entry stores
    none (code only) and is loaded with all of them.

    Raises ArtifactError, naming the file and the reason, when the file is not a cellc
    artifact, is truncated or corrupt (checksum), has a newer format_version than this runtime
    reads, targets a kind this runtime has no backend for, or needs CPU features this machine
    lacks. The cellc and LLVM versions that wrote it are recorded in `module.manifest` but not
    checked: the code is self-contained native code whose calling convention is fixed by
    format_version, so a version difference alone does not make it unusable.
    """
    artifact = read_artifact(path, weights)
    kind = artifact.manifest["target"]["kind"]
    if kind not in BACKENDS:
        raise ArtifactError(
            f"'{artifact.path}' targets '{kind}', which this runtime cannot run "
            f"(supported: {', '.join(BACKENDS)})"
        )
    try:
        backend = importlib.import_module(BACKENDS[kind])
    except ImportError as error:
        raise ArtifactError(
            f"'{artifact.path}' targets '{kind}', whose runtime backend cannot be imported: {error}"
        ) from None
    return backend.load(artifact)


def include_dir() -> Path:
    """The directory holding cellc.h, for C/C++ hosts."""
    return Path(__file__).parent / "include"


def cmake_dir() -> Path:
    """The directory holding cellcConfig.cmake: pass it as -Dcellc_DIR=... to CMake."""
    return Path(__file__).resolve().parent.parent / "cmake"
