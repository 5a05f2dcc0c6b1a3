"""A matrix product with a constant of one repeated value (GradOperation's default sensitivity)
is computed as a sum (ops/matmul.py `_product_with_splat`): the same values as numpy's product,
for a splat on either side, every transpose, and a deep k that the reduction accumulates in
vector lanes; a splat of 0 or inf stays a product (NaN and overflow as numpy's)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from cpu_harness import Function, compile_functions, spec

from cellc.dialects import ms

CASES = [
    # (splat side, transpose_a, transpose_b, m, n, k, splat value)
    (side, ta, tb, m, n, k, value)
    for side, ta, tb in itertools.product("ab", (False, True), (False, True))
    for m, n, k, value in [(5, 7, 3, 1.0), (4, 9, 300, -2.5)]
] + [
    # 0 and inf stay products: inf * 0 is NaN in a product, not in inf * (a sum); 0 * b is 0
    # in a product, but NaN as 0 * (a sum that overflows)
    ("a", False, False, 3, 4, 5, np.inf),
    ("b", False, True, 3, 4, 5, 0.0),
]


def _name(case) -> str:
    side, ta, tb, m, n, k, value = case
    kind = "inf" if np.isinf(value) else "zero" if value == 0 else k
    return f"splat_{side}_{int(ta)}{int(tb)}_{kind}"


def _shapes(case):
    side, ta, tb, m, n, k, value = case
    a = (k, m) if ta else (m, k)
    b = (n, k) if tb else (k, n)
    return a, b


def _function(case) -> Function:
    side, ta, tb, m, n, k, value = case
    a_shape, b_shape = _shapes(case)
    splat_shape = a_shape if side == "a" else b_shape
    other_shape = b_shape if side == "a" else a_shape

    def body(other):
        splat = ms.constant(np.full(splat_shape, value, np.float32), spec(splat_shape))
        a, b = (splat, other) if side == "a" else (other, splat)
        return ms.matmul(a, b, transpose_a=ta, transpose_b=tb)

    return Function(_name(case), [spec(other_shape)], body)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return compile_functions([_function(c) for c in CASES], tmp_path_factory.mktemp("splat"))


@pytest.mark.parametrize("case", CASES, ids=_name)
def test_product_with_a_splat(library, case):
    side, ta, tb, m, n, k, value = case
    a_shape, b_shape = _shapes(case)
    rng = np.random.default_rng(k)
    other = rng.standard_normal(b_shape if side == "a" else a_shape).astype(np.float32)
    if np.isinf(value):
        other[0, 0] = 0.0  # the element that tells a product from a sum
    elif value == 0:
        other[0, :2] = 3e38  # a row of A whose sum overflows
    splat = np.full(a_shape if side == "a" else b_shape, value)
    a, b = (splat, other.astype(np.float64)) if side == "a" else (other.astype(np.float64), splat)
    (got,) = library(_name(case), other)
    with np.errstate(invalid="ignore"):
        want = (a.T if ta else a) @ (b.T if tb else b)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5 * np.sqrt(k), equal_nan=True)
