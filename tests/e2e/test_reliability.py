"""Regressions from gradient fuzzing and malformed-input runs: each case gave a wrong answer,
a crash or a misleading message before its fix. Gradients are checked against closed forms."""

import numpy as np
import pytest

from cellc import Parameter, ParameterTuple, Tensor, nn, ops


class Lambda(nn.Cell):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def construct(self, *args):
        return self.fn(*args)


class Grad(nn.Cell):
    def __init__(self, net, **flags):
        super().__init__()
        self.net = net
        self.grad = ops.GradOperation(**flags)

    def construct(self, *args):
        return self.grad(self.net)(*args)


# --- wrong answers -------------------------------------------------------------------------


def test_second_order_does_not_see_through_stop_gradient():
    # f(x) = stop_gradient(x) * x: f'(x) = stop_gradient(x) = x, so f''(x) = 0 (MindSpore, JAX)
    f = Lambda(lambda x: ops.stop_gradient(x) * x)
    x = Tensor(np.array([3.0, -2.0]))
    np.testing.assert_array_equal(Grad(f)(x).asnumpy(), [3.0, -2.0])
    np.testing.assert_array_equal(Grad(Grad(f))(x).asnumpy(), [0.0, 0.0])


def test_third_order_through_stop_gradient_of_a_product():
    # f(x) = stop_gradient(x**2) * x**3: f' = 3 s x**2, f'' = 6 s x, f''' = 6 s (s = x**2 held)
    f = Lambda(lambda x: ops.stop_gradient(x * x) * x * x * x)
    x = Tensor(np.array([1.5]))
    np.testing.assert_allclose(Grad(Grad(Grad(f)))(x).asnumpy(), [6 * 1.5**2])


@pytest.mark.parametrize(
    ("reduce", "closed_form"),
    [
        (ops.ReduceSum(), lambda v: np.sum(v)),
        (ops.ReduceMean(), lambda v: np.mean(v)),
        (ops.ReduceMax(), lambda v: np.max(v)),
    ],
)
@pytest.mark.parametrize("value", [np.float64(2.0), np.array([2.0]), np.array([2.0, -1.0])])
def test_a_reduction_broadcast_again(reduce, closed_form, value):
    net = Lambda(lambda x: ops.BroadcastTo((3,))(reduce(x)))
    np.testing.assert_array_equal(net(Tensor(value)).asnumpy(), [closed_form(value)] * 3)
    # d/dx sum(broadcast(r(x))) = 3 dr/dx: 3 for a 0-d or one-element x
    grad = Grad(net)(Tensor(value)).asnumpy()
    assert grad.shape == np.shape(value)
    if np.size(value) == 1:
        np.testing.assert_array_equal(grad, np.full(np.shape(value), 3.0))


class Scaled(nn.Cell):
    def __init__(self):
        super().__init__()
        self.b = Parameter(Tensor(np.float64(1.5)), name="b")  # a 0-d Parameter

    def construct(self, x):
        return x * self.b


def test_a_0d_parameter_compiles_and_differentiates():
    net = Scaled()
    x = Tensor(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(net(x).asnumpy(), [1.5, 3.0])
    np.testing.assert_array_equal(Grad(net)(x).asnumpy(), [1.5, 1.5])

    class WrtB(nn.Cell):
        def __init__(self, net):
            super().__init__()
            self.net = net
            self.grad = ops.GradOperation(get_by_list=True)

        def construct(self, x):
            return self.grad(self.net, self.net.b)(x)

    db = WrtB(net)(x)
    assert db.shape == ()
    assert db.asnumpy() == 3.0
