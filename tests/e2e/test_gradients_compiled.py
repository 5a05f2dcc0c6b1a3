"""GradOperation through the compiled CPU path, from the user's side, against closed forms.

The network is the seed's f(x, y; z) = matmul(x * z, y). With L = sum(sens * f):
    dL/dx = (sens @ y.T) * z,  dL/dy = (x * z).T @ sens,  dL/dz = sum((sens @ y.T) * x)
"""

import itertools

import numpy as np
import pytest
from support.cells import Grad

from cellc import Parameter, ParameterTuple, Tensor, nn, ops

X = np.array([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], np.float32)
Y = np.array([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], np.float32)
SENS = np.array([[0.1, 0.6, 0.2], [0.8, 1.3, 1.1]], np.float32)


class Net(nn.Cell):
    def __init__(self, z=1.0, w_unused=False):
        super().__init__()
        self.matmul = ops.MatMul()
        self.z = Parameter(Tensor(np.array([z], np.float32)), name="z")
        if w_unused:
            self.w = Parameter(Tensor(np.ones((2, 2), np.float32)), name="w")

    def construct(self, x, y):
        return self.matmul(x * self.z, y)


def closed_form(z, sens):
    dx = (sens @ Y.T) * z
    dy = (X * z).T @ sens
    dz = np.array([np.sum((sens @ Y.T) * X)], np.float32)
    return dx, dy, dz


def as_numpy(result):
    if isinstance(result, tuple):
        return tuple(as_numpy(r) for r in result)
    return result.asnumpy()


@pytest.mark.parametrize(
    "get_all, get_by_list, sens_param", list(itertools.product([False, True], repeat=3))
)
def test_all_eight_flag_combinations(get_all, get_by_list, sens_param):
    z = 1.5
    net = Net(z)
    grad_op = ops.GradOperation(get_all=get_all, get_by_list=get_by_list, sens_param=sens_param)
    weights = ParameterTuple(net.trainable_params()) if get_by_list else None
    args = [Tensor(X), Tensor(Y)] + ([Tensor(SENS)] if sens_param else [])
    result = as_numpy(Grad(net, grad_op, weights)(*args))
    dx, dy, dz = closed_form(z, SENS if sens_param else np.ones((2, 3), np.float32))
    if get_all and get_by_list:
        expected = ((dx, dy), (dz,))
    elif get_by_list:
        expected = (dz,)
    elif get_all:
        expected = (dx, dy)
    else:
        expected = dx
    _assert_nested_close(result, expected)


def _assert_nested_close(result, expected):
    if isinstance(expected, tuple):
        assert isinstance(result, tuple) and len(result) == len(expected)
        for r, e in zip(result, expected):
            _assert_nested_close(r, e)
    else:
        np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-6)


def test_single_parameter_gives_a_bare_tensor():
    net = Net(2.0)
    result = Grad(net, ops.GradOperation(get_by_list=True), net.z)(Tensor(X), Tensor(Y))
    assert isinstance(result, Tensor)
    np.testing.assert_allclose(result.asnumpy(), closed_form(2.0, np.ones((2, 3)))[2], rtol=1e-5)


def test_unused_weight_gets_zeros():
    net = Net(1.0, w_unused=True)
    params = ParameterTuple(net.trainable_params())
    assert [p.name for p in params] == ["z", "w"]
    dz, dw = as_numpy(Grad(net, ops.GradOperation(get_by_list=True), params)(Tensor(X), Tensor(Y)))
    np.testing.assert_allclose(dz, closed_form(1.0, np.ones((2, 3)))[2], rtol=1e-5)
    np.testing.assert_array_equal(dw, np.zeros((2, 2), np.float32))


def test_requires_grad_false_weight_is_not_differentiated():
    net = Net(1.0)
    net.z.requires_grad = False
    assert net.trainable_params() == []
    result = Grad(net, ops.GradOperation(get_by_list=True), ParameterTuple(net.trainable_params()))(
        Tensor(X), Tensor(Y)
    )
    assert result == ()


class TwoOutputs(nn.Cell):
    def construct(self, x):
        return x * x, ops.functional.exp(x)


def test_tuple_output_default_sensitivity_adds_gradients():
    x = np.array([0.5, -1.0, 2.0], np.float32)
    result = Grad(TwoOutputs(), ops.GradOperation())(Tensor(x))
    np.testing.assert_allclose(result.asnumpy(), 2 * x + np.exp(x), rtol=1e-5)


def test_tuple_output_with_tuple_sensitivity():
    x = np.array([0.5, -1.0, 2.0], np.float32)
    s1 = np.array([1.0, 2.0, 3.0], np.float32)
    s2 = np.array([0.5, 0.0, -1.0], np.float32)
    result = Grad(TwoOutputs(), ops.GradOperation(sens_param=True))(
        Tensor(x), (Tensor(s1), Tensor(s2))
    )
    np.testing.assert_allclose(result.asnumpy(), s1 * 2 * x + s2 * np.exp(x), rtol=1e-5)


def test_sensitivity_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="sensitivity"):
        Grad(Net(), ops.GradOperation(sens_param=True))(
            Tensor(X), Tensor(Y), Tensor(np.ones((3, 3), np.float32))
        )


class Chain(nn.Cell):
    """tanh(x) * stop_gradient(x * x) + x: d/dx = (1 - tanh²) * x² + 1."""

    def construct(self, x):
        return ops.functional.tanh(x) * ops.stop_gradient(x * x) + x


def test_stop_gradient_in_the_middle_of_a_chain():
    x = np.array([0.3, -0.7, 1.2], np.float32)
    result = Grad(Chain(), ops.GradOperation())(Tensor(x))
    np.testing.assert_allclose(result.asnumpy(), (1 - np.tanh(x) ** 2) * x * x + 1, rtol=1e-5)


class Cube(nn.Cell):
    def construct(self, x):
        return ops.ReduceSum()(x * x * x)


class GradOf(nn.Cell):
    """GradOperation of a cell, so that GradOf(GradOf(net)) is the second derivative."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.grad_op = ops.GradOperation()

    def construct(self, x):
        return self.grad_op(self.net)(x)


def test_nested_gradients_to_third_order():
    x = np.array([0.5, -1.5, 2.0], np.float64)
    first = GradOf(Cube())
    second = GradOf(first)
    third = GradOf(second)
    np.testing.assert_allclose(first(Tensor(x)).asnumpy(), 3 * x**2)
    np.testing.assert_allclose(second(Tensor(x)).asnumpy(), 6 * x)
    np.testing.assert_allclose(third(Tensor(x)).asnumpy(), np.full_like(x, 6.0))


class Tanh(nn.Cell):
    def construct(self, x):
        return ops.Tanh()(x)


def test_third_derivative_of_tanh():
    x = np.array([0.2, -0.4, 0.9], np.float64)
    t = np.tanh(x)
    third = GradOf(GradOf(GradOf(Tanh())))(Tensor(x)).asnumpy()
    np.testing.assert_allclose(third, -2 * (1 - t**2) * (1 - 3 * t**2), rtol=1e-10)


def test_gradient_function_called_outside_a_cell():
    net = Net(3.0)
    dx = ops.GradOperation()(net)(Tensor(X), Tensor(Y))
    np.testing.assert_allclose(dx.asnumpy(), closed_form(3.0, np.ones((2, 3)))[0], rtol=1e-5)


def test_new_parameter_values_are_used_without_recompiling():
    net = Net(1.0)
    grad = Grad(net, ops.GradOperation())
    first = grad(Tensor(X), Tensor(Y)).asnumpy()
    net.z.set_data(Tensor(np.array([2.0], np.float32)))
    second = grad(Tensor(X), Tensor(Y)).asnumpy()
    np.testing.assert_allclose(second, 2 * first, rtol=1e-6)


class Square(nn.Cell):
    def construct(self, x):
        return x * x


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_every_float_dtype_compiles_and_differentiates(dtype):
    x = np.array([0.5, -1.25, 2.0], dtype)
    out = Square()(Tensor(x))
    assert out.asnumpy().dtype == dtype
    np.testing.assert_allclose(out.asnumpy(), x * x)
    grad = ops.GradOperation()(Square())(Tensor(x))
    np.testing.assert_allclose(grad.asnumpy(), 2 * x)
