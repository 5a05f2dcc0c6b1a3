"""Example inputs for `cellc compile --input`: a type spec or a `.npy` file.

    f32[2,3]   float32, shape (2, 3)       f32[]      a float32 scalar (shape ())
    f64[3]     float64, shape (3,)         i32[4]     int32, shape (4,)
    f32[?,784] float32, any batch size     x.npy      the array saved in x.npy (values used)

A spec's example value (zeros) traces the same program as real data. Each dim is a size, or
`?` (or -1): the batch, one size shared by every `?` of every input, which compiles the program
once for any batch size (compiler/dynamic_batch.py). A spec is refused before anything is
allocated when its tensor would take more than `max_input_bytes()` (2**40 bytes or this
machine's memory, whichever is less).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellc.dialects.types import SAMPLE_BATCHES
from cellc.runtime.dtypes import ELEMENT_TYPES

DTYPES = {t.cli: t.numpy_dtype.type for t in ELEMENT_TYPES}

SYNTAX = (
    "DTYPE[DIMS] such as f32[2,3], f64[3], i32[4], f32[] or f32[?,784] (? the batch; DTYPE "
    f"one of {', '.join(DTYPES)}), or a .npy file"
)

_SPEC = re.compile(r"^(?P<dtype>[a-z0-9]+)\[(?P<dims>[^\[\]]*)\]$")

# The most bytes one example input may take, whatever the machine (see max_input_bytes).
MAX_INPUT_BYTES = 2**40

# The most dims one input may have (numpy's own limit is 32 or 64, depending on its version).
MAX_RANK = 32


class SpecError(ValueError):
    """A --input that is neither a type spec nor a readable .npy file."""


@dataclass(frozen=True)
class ExampleInput:
    text: str  # as the user wrote it
    value: np.ndarray  # `?` dims at the first sample batch size
    dynamic: tuple[int, ...] = ()  # the axes given as `?`: the batch


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
    shape = _shape(text, match.group("dims"))
    dynamic = tuple(axis for axis, d in enumerate(shape) if d is None)
    shape = tuple(SAMPLE_BATCHES[0] if d is None else d for d in shape)
    _check_size(text, shape, np.dtype(dtype))
    return ExampleInput(text, np.zeros(shape, dtype), dynamic)


def _shape(text: str, dims: str) -> tuple[int | None, ...]:
    """The dims of a spec, each a size >= 0 or None (`?`, -1: the batch)."""
    pieces = [d.strip() for d in dims.split(",")] if dims.strip() else []
    shape = []
    for piece in pieces:
        if piece in ("?", "-1"):
            shape.append(None)
            continue
        if re.fullmatch(r"[+-]?[0-9]+", piece) is None:
            raise SpecError(f"bad input spec '{text}': expected {SYNTAX}")
        if int(piece) < 0:
            raise SpecError(
                f"bad input spec '{text}': dim {piece} is negative; each dim is a size >= 0; "
                f"expected {SYNTAX}"
            )
        shape.append(int(piece))
    if len(shape) > MAX_RANK:
        raise SpecError(f"bad input spec '{text}': {len(shape)} dims, more than {MAX_RANK}")
    return tuple(shape)


def _check_size(text: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Refuses a shape whose tensor would not fit, counted in Python ints (no overflow). A
    zero dim does not excuse the others: numpy refuses their product all the same."""
    extent = math.prod(d for d in shape if d)
    nbytes = extent * dtype.itemsize
    limit, what = max_input_bytes()
    if nbytes > limit:
        dims = "dims" if all(shape) else "nonzero dims"
        raise SpecError(
            f"'{text}' is too large: its {dims} multiply to {extent} elements of "
            f"{dtype.itemsize} bytes ({_bytes(nbytes)}), more than {what} ({_bytes(limit)}); "
            "an example input is allocated, so give a shape that fits"
        )


def max_input_bytes() -> tuple[int, str]:
    """The largest example input: MAX_INPUT_BYTES, or less on a machine with less memory.
    Returns the limit in bytes and what it is, for messages."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):  # no sysconf (Windows) or no such name
        memory = 0
    if 0 < memory < MAX_INPUT_BYTES:
        return memory, "this machine's memory"
    return MAX_INPUT_BYTES, "cellc's limit for one input"


def _bytes(n: int) -> str:
    """`3.5 GiB`: a byte count for people."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            break
        n /= 1024
    return f"{n} bytes" if unit == "bytes" else f"{n:.1f} {unit}"


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
