"""MindSpore 2.x's forward mode and Jacobians (mindspore.jvp, jacfwd, jacrev) and vmap,
compiled: return structures as MindSpore 2.10 gives them (jvp and vmap recorded from it; its
jacfwd/jacrev structures read from its source, as they fail to compile on its CPU build), values
against numpy."""

import numpy as np
import pytest

import cellc
from cellc import Tensor, nn, ops

X = Tensor(np.array([1.0, 2.0, 3.0], np.float32))
Y = Tensor(np.array([4.0, 5.0, 6.0], np.float32))
V = Tensor(np.ones(3, np.float32))
M = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))


def square(a):
    return a * a


def product(a, b):
    return a * b


def product_and_sum(a, b):
    return a * b, a + b


def with_aux(a):
    return a * a, a + 1


def sin_sum(a):
    return ops.Sin()(a).sum()


class Scale(nn.Cell):
    def construct(self, x):
        return ops.Sin()(x) * 2


SCALE = Scale()


def check(result, expected):
    if isinstance(expected, tuple):
        assert isinstance(result, tuple) and len(result) == len(expected), result
        for got, want in zip(result, expected):
            check(got, want)
    else:
        assert isinstance(result, Tensor), result
        np.testing.assert_allclose(result.asnumpy(), expected, rtol=1e-5, atol=1e-5)


def test_jvp_of_one_input():
    check(cellc.jvp(square, X, V), ([1.0, 4.0, 9.0], [2.0, 4.0, 6.0]))


def test_jvp_of_a_tuple_of_inputs():
    check(cellc.jvp(product, (X, Y), (V, V)), ([4.0, 10.0, 18.0], [5.0, 7.0, 9.0]))
    check(cellc.ops.jvp(product, [X, Y], [V, V]), ([4.0, 10.0, 18.0], [5.0, 7.0, 9.0]))


def test_jvp_of_a_tuple_output():
    check(
        cellc.jvp(product_and_sum, (X, Y), (V, V)),
        (([4.0, 10.0, 18.0], [5.0, 7.0, 9.0]), ([5.0, 7.0, 9.0], [2.0, 2.0, 2.0])),
    )


def test_jvp_with_aux():
    check(
        cellc.jvp(with_aux, X, V, has_aux=True),
        ([1.0, 4.0, 9.0], [2.0, 4.0, 6.0], [2.0, 3.0, 4.0]),
    )


def test_jvp_of_a_cell_against_the_derivative():
    v = Tensor(np.array([0.5, -1.0, 2.0], np.float32))
    x = X.asnumpy()
    check(cellc.jvp(SCALE, X, v), (2 * np.sin(x), 2 * np.cos(x) * v.asnumpy()))


def test_jvp_composes_with_grad():
    def jvp_sum(a):
        return cellc.jvp(square, a, V)[1].sum()  # sum of 2 a v

    check(cellc.grad(jvp_sum)(X), [2.0, 2.0, 2.0])


def test_jacobians_of_one_input_and_output():
    for jacobian in (cellc.jacfwd, cellc.jacrev):
        check(jacobian(product)(X, Y), np.diag([4.0, 5.0, 6.0]))


def test_jacobian_structures():
    dx, dy = np.diag([4.0, 5.0, 6.0]), np.diag([1.0, 2.0, 3.0])
    eye = np.eye(3)
    for jacobian in (cellc.jacfwd, cellc.jacrev):
        # one position, several outputs: a tuple over outputs
        check(jacobian(product_and_sum)(X, Y), (dx, eye))
        # several positions, one output: a tuple over positions
        check(jacobian(product, (0, 1))(X, Y), (dx, dy))
        # both: outputs, then positions
        check(jacobian(product_and_sum, (0, 1))(X, Y), ((dx, dy), (eye, eye)))
        # a one-element tuple of positions is bare
        check(jacobian(product, (1,))(X, Y), dy)


def test_jacobian_with_aux():
    for jacobian in (cellc.jacfwd, cellc.jacrev):
        check(jacobian(with_aux, has_aux=True)(X), (np.diag([2.0, 4.0, 6.0]), [2.0, 3.0, 4.0]))


def test_jacobian_shapes_are_output_then_input():
    m = M.asnumpy()
    check(cellc.jacrev(sin_sum)(M), np.cos(m))
    jac = cellc.jacfwd(SCALE)(M)
    expected = np.zeros((2, 3, 2, 3))
    for i, j in np.ndindex(2, 3):
        expected[i, j, i, j] = 2 * np.cos(m[i, j])
    check(jac, expected)
    check(cellc.jacrev(SCALE)(M), expected)


def test_hessian_by_jacfwd_of_grad():
    hessian = cellc.jacfwd(cellc.grad(sin_sum))(X)
    check(hessian, np.diag(-np.sin(X.asnumpy())))


def test_vmap_of_mapped_and_unmapped_arguments():
    def scaled(a, b):
        return a * b.sum()

    check(cellc.vmap(scaled, in_axes=(0, None))(M, Y), [[0.0, 15.0, 30.0], [45.0, 60.0, 75.0]])


def test_vmap_of_a_tuple_output():
    def pair(a):
        return a * 2, a.sum()

    check(cellc.vmap(pair)(M), ([[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]], [3.0, 12.0]))


def test_vmap_axes():
    def double(a):
        return a * 2

    expected = [[0.0, 6.0], [2.0, 8.0], [4.0, 10.0]]
    check(cellc.vmap(double, out_axes=1)(M), expected)
    check(cellc.vmap(double, in_axes=1)(M), expected)
    check(cellc.ops.vmap(SCALE)(M), 2 * np.sin(M.asnumpy()))


def test_vmap_composes_with_grad():
    per_row = cellc.vmap(cellc.grad(sin_sum))
    check(per_row(M), np.cos(M.asnumpy()))


def test_vmap_needs_one_batch_size():
    with pytest.raises(ValueError, match="one size"):
        cellc.vmap(product)(M, X)
