"""Tensor types as plain Python values, shared by the tracer, the verifiers and the runtime.

The `ms` dialect's shape rules are written once, against `TensorSpec`, so that the tracer can
check a user's program before any MLIR exists and the MLIR verifier can check parsed IR with
the same code (see `dialects/ms.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cellc.runtime.dtypes import BY_ELEMENT, BY_NUMPY
from cellc.runtime.errors import ShapeMismatchError

# MLIR's dynamic dimension (ShapedType::kDynamic), as `RankedTensorType.shape` reports it.
DYNAMIC_DIM = -(2**63)

# The batch sizes a program for a dynamic batch dimension is traced at (see
# compiler/dynamic_batch.py): neither 1 (where broadcasting behaves differently) nor small
# enough to coincide with a derived size by accident (B + 2 at 5 is 7, but at 7 it is 9).
SAMPLE_BATCHES = (5, 7)


def static_shape_message(shape, element: str) -> str:
    """Why a shape with a dynamic (`?`, `DYNAMIC_DIM`) or negative dim is refused: the `ms`
    dialect, and everything after it, has static shapes only."""
    dims = "".join("?x" if d == DYNAMIC_DIM else f"{d}x" for d in shape)
    if any(d == DYNAMIC_DIM for d in shape):
        return f"tensor<{dims}{element}> has a dynamic shape; cellc supports only static shapes"
    return f"tensor<{dims}{element}> has a negative dimension"


@dataclass(frozen=True)
class TensorSpec:
    """A ranked tensor type: static shape and MLIR element type name (`f32`, `i64`, `i1`)."""

    shape: tuple[int, ...]
    element: str

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        if self.element not in BY_ELEMENT:
            raise ValueError(f"unsupported element type '{self.element}'")
        if any(d < 0 for d in self.shape):
            raise ShapeMismatchError(static_shape_message(self.shape, self.element))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def is_float(self) -> bool:
        return BY_ELEMENT[self.element].is_float

    @property
    def numpy_dtype(self) -> str:
        return BY_ELEMENT[self.element].numpy

    @staticmethod
    def of_array(array) -> TensorSpec:
        """The spec of a numpy array (ValueError for a dtype cellc does not support)."""
        if array.dtype.name not in BY_NUMPY:
            raise ValueError(f"unsupported dtype {array.dtype.name}")
        return TensorSpec(array.shape, BY_NUMPY[array.dtype.name].element)

    def with_shape(self, shape) -> TensorSpec:
        return TensorSpec(tuple(shape), self.element)

    def __str__(self) -> str:
        dims = "".join(f"{d}x" for d in self.shape)
        return f"tensor<{dims}{self.element}>"

    @staticmethod
    def parse(text: str) -> TensorSpec:
        """Parses `tensor<2x3xf32>` (the MLIR spelling)."""
        body = text.strip()
        if not (body.startswith("tensor<") and body.endswith(">")):
            raise ValueError(f"not a ranked tensor type: {text}")
        *dims, element = body[len("tensor<") : -1].split("x")
        return TensorSpec(tuple(int(d) for d in dims), element)


def broadcast_shapes(lhs: tuple[int, ...], rhs: tuple[int, ...]) -> tuple[int, ...] | None:
    """numpy's broadcasting rule; None when the shapes are incompatible."""
    rank = max(len(lhs), len(rhs))
    a = (1,) * (rank - len(lhs)) + tuple(lhs)
    b = (1,) * (rank - len(rhs)) + tuple(rhs)
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            return None
        out.append(max(x, y) if 0 not in (x, y) else 0)
    return tuple(out)


def broadcastable_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """True when `shape` broadcasts to exactly `target`."""
    return len(shape) <= len(target) and broadcast_shapes(shape, target) == tuple(target)
