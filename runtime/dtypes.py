"""The element types cellc supports: the one table every layer reads.

Each row names one element type in every spelling cellc meets: MLIR's (`f32`, `i1`), numpy's and
the artifact manifest's (`float32`, `bool`), MindSpore's printed name (`Float32`) and the
command line's (`f32`, `bool`). The rows are in MindSpore's implicit promotion order for binary
arithmetic (bool < int8 < int16 < int32 < int64 < float16 < float32 < float64): of two operands,
the one whose row comes first is cast to the other's type. (No unsigned, bfloat16 or complex
types: MLIR's arithmetic is on signless integers, and those would need their own ops.)

The runtime is the lowest layer (it imports nothing else of cellc), so the table lives here and
the dialect, the compiler, the user API and the command line import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ElementType:
    """One element type in each of its spellings."""

    element: str  # MLIR: f32, i64, i1
    numpy: str  # numpy and the manifest: float32, int64, bool
    mindspore: str  # MindSpore's printed dtype: Float32, Int64, Bool
    cli: str  # `cellc compile --input f32[2,3]`

    @property
    def is_float(self) -> bool:
        return self.element.startswith("f")

    @property
    def numpy_dtype(self) -> np.dtype:
        return np.dtype(self.numpy)


ELEMENT_TYPES = (
    ElementType("i1", "bool", "Bool", "bool"),
    ElementType("i8", "int8", "Int8", "i8"),
    ElementType("i16", "int16", "Int16", "i16"),
    ElementType("i32", "int32", "Int32", "i32"),
    ElementType("i64", "int64", "Int64", "i64"),
    ElementType("f16", "float16", "Float16", "f16"),
    ElementType("f32", "float32", "Float32", "f32"),
    ElementType("f64", "float64", "Float64", "f64"),
)

BY_ELEMENT = {t.element: t for t in ELEMENT_TYPES}
BY_NUMPY = {t.numpy: t for t in ELEMENT_TYPES}
BY_CLI = {t.cli: t for t in ELEMENT_TYPES}
NUMPY_NAMES = tuple(t.numpy for t in ELEMENT_TYPES)


def promotion_rank(element: str) -> int:
    """The position of `element` in MindSpore's promotion order (higher wins)."""
    return ELEMENT_TYPES.index(BY_ELEMENT[element])
