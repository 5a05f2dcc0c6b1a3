"""gathered_blocks.py's slices: a slice of a collapsed group of dims, at an offset that is a
multiple of its size, is one slice of the dims where the size divides, or is a multiple of, the
dims it spans; then it selects the same elements (checked against numpy's reshape), and where it
is not, none is made."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from mlir import ir

from cellc.compiler.lowering.gathered_blocks import _group_slice

GROUPS = [(8, 16), (2, 4), (6, 6, 2), (3, 4, 8), (5,), (7, 3)]


@pytest.mark.parametrize("dims", GROUPS, ids=str)
def test_a_slice_of_a_collapsed_group_is_a_slice_of_its_dims(dims):
    total = int(np.prod(dims))
    data = np.arange(total).reshape(dims)
    made = 0
    for size in range(1, total + 1):
        for offset in range(0, total - size + 1, size):
            found = _group_slice(list(dims), offset, size)
            expected = data.reshape(-1)[offset : offset + size]
            contiguous = (
                any(
                    size % int(np.prod(dims[i:])) == 0 and int(np.prod(dims[i - 1 :])) % size == 0
                    for i in range(1, len(dims) + 1)
                )
                or size == total
            )
            if found is None:
                assert not contiguous, (dims, offset, size)
                continue
            made += 1
            offsets, sizes = found
            block = data[tuple(slice(o, o + s) for o, s in zip(offsets, sizes))]
            np.testing.assert_array_equal(block.reshape(-1), expected)
    assert made > 0


def test_an_offset_not_a_multiple_of_the_size_makes_no_slice():
    for offset, size in itertools.product(range(1, 8), (2, 4, 8)):
        if offset % size:
            assert _group_slice([8, 16], offset, size) is None


def test_a_dynamic_batch_is_sliced_only_as_the_outermost_dim():
    batch = ir.ShapedType.get_dynamic_size()
    assert _group_slice([batch, 16], 32, 16) == ([2, 0], [1, 16])
    assert _group_slice([batch, 4, 8], 40, 8) == ([1, 1, 0], [1, 1, 8])
    assert _group_slice([4, batch], 2, 1) is None
    assert _group_slice([batch, 16], 0, 32) is None
