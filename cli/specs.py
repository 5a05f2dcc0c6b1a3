"""Example inputs for `cellc compile --input`: a type spec or a `.npy` file.

    f32[2,3]   float32, shape (2, 3)       f32[]      a float32 scalar (shape ())
    f64[3]     float64, shape (3,)         i32[4]     int32, shape (4,)
    x.npy      the array saved in x.npy (its values are used)

Shapes are static, so a spec's example value (zeros) traces the same program as real data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellc.runtime.dtypes import ELEMENT_TYPES

DTYPES = {t.cli: t.numpy_dtype.type for t in ELEMENT_TYPES}

SYNTAX = (
    "DTYPE[DIMS] such as f32[2,3], f64[3], i32[4] or f32[] (DTYPE one of "
    f"{', '.join(DTYPES)}), or a .npy file"
)

_SPEC = re.compile(r"^(?P<dtype>[a-z0-9]+)\[(?P<dims>[0-9,\s]*)\]$")


class SpecError(ValueError):
    """A --input that is neither a type spec nor a readable .npy file."""


@dataclass(frozen=True)
class ExampleInput:
    text: str  # as the user wrote it
    value: np.ndarray


def parse_input(text: str) -> ExampleInput:
    """The example value of one --input (see the module docstring)."""
    if text.endswith(".npy"):
        return ExampleInput(text, _load_npy(text))
    match = _SPEC.match(text.strip())
    if match is None:
        raise SpecError(f"bad input spec '{text}': expected {SYNTAX}")
    dtype = DTYPES.get(match.group("dtype"))
    if dtype is None:
        raise SpecError(
            f"bad input spec '{text}': unknown dtype '{match.group('dtype')}'; expected {SYNTAX}"
        )
    dims = match.group("dims").strip()
    try:
        shape = tuple(int(d) for d in dims.split(",")) if dims else ()
    except ValueError:
        raise SpecError(f"bad input spec '{text}': expected {SYNTAX}") from None
    return ExampleInput(text, np.zeros(shape, dtype))


def _load_npy(text: str) -> np.ndarray:
    path = Path(text)
    if not path.is_file():
        raise SpecError(f"no such .npy file '{text}'")
    try:
        value = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise SpecError(f"cannot read '{text}' as a numpy .npy file: {error}") from None
    if not isinstance(value, np.ndarray):
        raise SpecError(f"'{text}' holds several arrays (.npz); give one .npy file per input")
    return value


def describe(value: np.ndarray) -> str:
    """`float32[2,3]`, the way the runtime and `cellc inspect` write a tensor type."""
    return f"{value.dtype.name}[{','.join(str(d) for d in value.shape)}]"
