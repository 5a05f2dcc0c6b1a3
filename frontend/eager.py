"""Eager evaluation: one primitive on concrete tensors, outside any cell.

MindSpore's PyNative mode runs a single primitive at once; so does cellc, with the op's own
shape and dtype rule (`Op.infer`) and numpy semantics (`Op.reference`): the same checks and the
same message as when the op is traced, and no MLIR.
"""

from __future__ import annotations

import numpy as np

from cellc.dialects.ms_ops import Op
from cellc.dialects.types import TensorSpec

from .tracing import infer, user_location


def evaluate(primitive: str, op: type[Op], arrays: list[np.ndarray], attrs: dict) -> np.ndarray:
    """`op` applied to `arrays`; `primitive` is the MindSpore name used in errors."""
    specs = [TensorSpec.of_array(a) for a in arrays]
    (result,) = infer(primitive, op, specs, attrs, user_location())
    value = np.asarray(op.reference(*arrays, **{**op.defaults, **attrs}))
    return value.astype(result.numpy_dtype, copy=False)
