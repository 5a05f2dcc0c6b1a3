"""The gradient of a gather (nn.Embedding's, `x[indices]`'s) on the CPU: `ms.gather_grad` adds
each slice of `ct` into the result at its index, as a loop over the indices
(compiler/lowering/scatter_adds.py), checked against numpy's `np.add.at`: repeated indices
add up, a negative one counts from the end, one out of range adds nothing; along every axis,
for indices of rank 0, 1 and 2."""

from __future__ import annotations

import numpy as np
import pytest
from cpu_harness import Function, compile_functions, spec

from cellc.dialects import ms

CASES = {
    # name: (result shape, axis, indices)
    "rows-of-a-table": ((6, 4), 0, [[0, 5, -1], [2, 0, 0]]),
    "columns-out-of-range": ((3, 5), 1, [4, 4, 0, 7, -6, -5]),
    "last-axis-scalar-index": ((2, 3, 4), 2, 2),
    "middle-axis": ((2, 5, 3), 1, [[1, 1], [4, 0], [-2, 3]]),
    "many-indices": ((100, 16), 0, np.random.default_rng(0).integers(-100, 100, (10, 30))),
}


def _ct_shape(shape, axis, indices):
    return tuple(shape[:axis]) + np.shape(indices) + tuple(shape[axis + 1 :])


def _function(name) -> Function:
    shape, axis, indices = CASES[name]
    index_array = np.asarray(indices, np.int32)

    def body(ct):
        constant = ms.constant(index_array, spec(index_array.shape, "i32"))
        return ms.gather_grad(ct, constant, axis=axis, size=shape[axis])

    return Function(name.replace("-", "_"), [spec(_ct_shape(shape, axis, indices))], body)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return compile_functions([_function(n) for n in CASES], tmp_path_factory.mktemp("scatter"))


def _numpy_scatter_add(ct, shape, axis, indices):
    indices = np.asarray(indices)
    result = np.zeros(shape, np.float64)
    moved = np.moveaxis(result, axis, 0)  # a view: adding into it adds into result
    ct = np.asarray(ct, np.float64).reshape(
        tuple(shape[:axis]) + (indices.size,) + tuple(shape[axis + 1 :])
    )
    for j, index in enumerate(indices.ravel()):
        if -shape[axis] <= index < shape[axis]:
            moved[index] += np.moveaxis(ct, axis, 0)[j]
    return result


@pytest.mark.parametrize("name", sorted(CASES))
def test_scatter_add_matches_numpy(library, name):
    shape, axis, indices = CASES[name]
    ct = np.random.default_rng(len(name)).standard_normal(_ct_shape(shape, axis, indices))
    (got,) = library(name.replace("-", "_"), ct.astype(np.float32))
    want = _numpy_scatter_add(ct.astype(np.float32), shape, axis, indices)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
