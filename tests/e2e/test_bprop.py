"""Cells with a custom gradient (`bprop`): MindSpore uses the bprop, never the automatic
derivative, wherever the cell is differentiated. Expected values were recorded on MindSpore 2.10
(GRAPH_MODE), and the second-order ones are those of differentiating the bprop's own code."""

import numpy as np
import pytest

import cellc
from cellc import Parameter, Tensor, nn, ops

X = Tensor(np.array([1.0, 2.0, 3.0], np.float32))
Y = Tensor(np.array([4.0, 5.0, 6.0], np.float32))


class Twice(nn.Cell):
    """x * y whose gradients are 2 * dout and 3 * dout * x."""

    def construct(self, x, y):
        return x * y

    def bprop(self, x, y, out, dout):
        return 2 * dout, 3 * dout * x


class Outer(nn.Cell):
    def __init__(self):
        super().__init__()
        self.twice = Twice()

    def construct(self, x, y):
        return ops.Sin()(self.twice(x, y)) * x


class Cube(nn.Cell):
    """x**3 with the (wrong on purpose) gradient 5 * x * x * dout."""

    def construct(self, x):
        return x * x * x

    def bprop(self, x, out, dout):
        return (dout * x * x * 5,)


class Clip(nn.Cell):
    """The identity whose gradient is clipped to [-0.5, 0.5]."""

    def construct(self, x):
        return x * 1.0

    def bprop(self, x, out, dout):
        return (ops.clip_by_value(dout, -0.5, 0.5),)


class Scaled(nn.Cell):
    def __init__(self):
        super().__init__()
        self.w = Parameter(Tensor(np.array([2.0, 2.0, 2.0], np.float32)), name="w")

    def construct(self, x):
        return x * self.w

    def bprop(self, x, out, dout):
        return (dout * 10 / self.w * 2,)


class Pair(nn.Cell):
    def construct(self, x):
        return x * 2, x * 3

    def bprop(self, x, out, dout):
        return (dout[0] * 100 + dout[1],)


TWICE, OUTER, CUBE, CLIP, SCALED, PAIR = Twice(), Outer(), Cube(), Clip(), Scaled(), Pair()


def check(result, expected):
    if isinstance(expected, tuple):
        assert isinstance(result, tuple) and len(result) == len(expected)
        for got, want in zip(result, expected):
            check(got, want)
    else:
        np.testing.assert_allclose(result.asnumpy(), expected, rtol=1e-5, atol=1e-6)


def test_forward_runs_the_construct():
    check(TWICE(X, Y), [4.0, 10.0, 18.0])


def test_grad_uses_the_bprop():
    check(cellc.grad(TWICE)(X, Y), [2.0, 2.0, 2.0])
    check(cellc.grad(TWICE, (0, 1))(X, Y), ([2.0, 2.0, 2.0], [3.0, 6.0, 9.0]))


def test_value_and_grad_and_grad_operation():
    check(cellc.value_and_grad(TWICE)(X, Y), ([4.0, 10.0, 18.0], [2.0, 2.0, 2.0]))
    check(ops.GradOperation(get_all=True)(TWICE)(X, Y), ([2.0, 2.0, 2.0], [3.0, 6.0, 9.0]))


def test_a_bprop_cell_inside_a_network():
    # d/dx sin(t) x = cos(t) x 2 + sin(t), d/dy = cos(t) x 3x, with t = x y
    check(
        cellc.grad(OUTER, (0, 1))(X, Y),
        (
            [-2.06408978, -3.90030718, 3.21091294],
            [-1.96093082, -10.0688581, 17.8285503],
        ),
    )


def test_a_clipping_bprop():
    sens = Tensor(np.array([-2.0, 0.2, 3.0], np.float32))
    check(cellc.grad(CLIP, sens_param=True)(X, sens), [-0.5, 0.2, 0.5])
    check(ops.GradOperation(sens_param=True)(CLIP)(X, sens), [-0.5, 0.2, 0.5])


def test_second_order_differentiates_the_bprop():
    first = cellc.grad(CUBE)
    check(first(X), [5.0, 20.0, 45.0])
    check(cellc.grad(first)(X), [10.0, 20.0, 30.0])  # d/dx 5 x^2, not 6x

    first_twice = cellc.grad(TWICE, 0)

    def through(x, y):
        return first_twice(x, y)

    check(cellc.grad(through, (0, 1))(X, Y), ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]))


def test_parameters_inside_get_no_gradient():
    # the bprop may read them; their gradient through the cell is zero (MindSpore's)
    grads = cellc.grad(SCALED, 0, weights=SCALED.trainable_params())(X)
    check(grads, ([10.0, 10.0, 10.0], ([0.0, 0.0, 0.0],)))


def test_tuple_output_gets_a_tuple_dout():
    check(cellc.grad(PAIR)(X), [101.0, 101.0, 101.0])


def test_a_bprop_of_the_wrong_type_is_named():
    class Wrong(nn.Cell):
        def construct(self, x):
            return x * 2

        def bprop(self, x, out, dout):
            return (dout.sum(),)

    with pytest.raises(ValueError, match=r"Wrong.bprop: the gradient of input 0 must be"):
        cellc.grad(Wrong())(X)


def test_a_bprop_returning_too_few_gradients_is_named():
    class Short(nn.Cell):
        def construct(self, x, y):
            return x * y

        def bprop(self, x, y, out, dout):
            return (dout,)

    with pytest.raises(TypeError, match=r"Short.bprop must return a tuple of 2 gradient"):
        cellc.grad(Short())(X, Y)
