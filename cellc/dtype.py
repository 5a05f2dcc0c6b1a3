"""MindSpore's dtypes: `from cellc import dtype as mstype; mstype.float32`."""

from __future__ import annotations

import numpy as np

from cellc.runtime.dtypes import ELEMENT_TYPES, ElementType


class DType:
    """A tensor element type. Prints as MindSpore does (`Float32`)."""

    def __init__(self, row: ElementType):
        self.name = row.mindspore
        self.numpy = row.numpy_dtype
        self.element = row.element  # MLIR element type spelling

    @property
    def is_float(self) -> bool:
        return self.numpy.kind == "f"

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__

    def __reduce__(self):
        return (from_numpy, (self.numpy.name,))


_BY_ELEMENT = {row.element: DType(row) for row in ELEMENT_TYPES}
float16 = _BY_ELEMENT["f16"]
float32 = _BY_ELEMENT["f32"]
float64 = _BY_ELEMENT["f64"]
int8 = _BY_ELEMENT["i8"]
int16 = _BY_ELEMENT["i16"]
int32 = _BY_ELEMENT["i32"]
int64 = _BY_ELEMENT["i64"]
bool_ = _BY_ELEMENT["i1"]

# MindSpore's aliases
float_ = float32
half = float16
single = float32
double = float64
int_ = int32

ALL = tuple(_BY_ELEMENT.values())
_BY_NUMPY = {d.numpy: d for d in ALL}


def from_numpy(numpy_dtype) -> DType:
    """The DType of a numpy dtype; TypeError for one cellc does not support."""
    found = _BY_NUMPY.get(numpy_dtype)  # an array's dtype: every compiled call's outputs
    if found is not None:
        return found
    key = np.dtype(numpy_dtype)
    if key not in _BY_NUMPY:
        supported = ", ".join(str(d.numpy) for d in ALL)
        raise TypeError(f"unsupported dtype {key}; cellc supports {supported}")
    return _BY_NUMPY[key]


def from_element(element: str) -> DType:
    return _BY_ELEMENT[element]


def dtype_to_nptype(dtype: DType):
    """MindSpore's `mstype.dtype_to_nptype`."""
    return dtype.numpy.type


def pytype_to_dtype(obj) -> DType:
    return {bool: bool_, int: int64, float: float32}[obj]
