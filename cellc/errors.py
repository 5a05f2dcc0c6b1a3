"""Errors cellc raises for user mistakes (MindSpore's `TypeError`/`ValueError` where it raises
them). Each names the op, the disagreeing types and the user's source line; the CLI prints them
without a traceback. The hierarchy is defined once, in `cellc.runtime.errors`."""

from cellc.runtime.errors import (
    ArtifactError,
    CellcError,
    DistributedError,
    DTypeMismatchError,
    ShapeMismatchError,
    UnsupportedError,
)

__all__ = [
    "ArtifactError",
    "CellcError",
    "DistributedError",
    "DTypeMismatchError",
    "ShapeMismatchError",
    "UnsupportedError",
]
