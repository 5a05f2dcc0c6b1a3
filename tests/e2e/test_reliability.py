"""Regressions from gradient fuzzing and malformed-input runs: each case gave a wrong answer,
a crash or a misleading message before its fix. Gradients are checked against closed forms."""

import numpy as np
import pytest
from support.cells import Grad, Lambda

from cellc import Parameter, ParameterTuple, Tensor, nn, ops

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


class WeightNet(nn.Cell):
    def __init__(self):
        super().__init__()
        self.w = Parameter(Tensor(np.array([2.0])), name="w")

    def construct(self, a, x):
        return a * x * self.w


def test_single_parameter_and_parameter_tuple_keep_their_structures_from_the_cache():
    net, x = WeightNet(), Tensor(np.array([3.0]))
    grad = ops.GradOperation(get_by_list=True)
    single = grad(net, net.w)(x, x)
    assert isinstance(single, Tensor) and single.asnumpy().tolist() == [9.0]  # d/dw = a x
    as_tuple = grad(net, ParameterTuple([net.w]))(x, x)
    assert isinstance(as_tuple, tuple) and as_tuple[0].asnumpy().tolist() == [9.0]
    assert isinstance(grad(net, net.w)(x, x), Tensor)


def test_a_python_number_first_input_has_no_gradient():
    # MindSpore differentiates Tensor inputs only: GradOperation()(net)(2.0, x) is ()
    net, x = WeightNet(), Tensor(np.array([3.0]))
    assert ops.GradOperation()(net)(2.0, x) == ()
    (dx,) = ops.GradOperation(get_all=True)(net)(2.0, x)
    assert dx.asnumpy().tolist() == [4.0]


class TwoOutputs(nn.Cell):
    def construct(self, x):
        return x * 2.0, x * x


def test_a_tuple_sensitivity_is_an_input_not_a_constant():
    grad = ops.GradOperation(sens_param=True)(TwoOutputs())
    x = Tensor(np.array([3.0]))
    first = grad(x, (Tensor(np.array([1.0])), Tensor(np.array([1.0]))))
    nudged = grad(x, (Tensor(np.array([1.0 + 1e-10])), Tensor(np.array([1.0]))))
    other = grad(x, (Tensor(np.array([2.0])), Tensor(np.array([0.0]))))
    # d/dx (2x s1 + x^2 s2) = 2 s1 + 2 x s2
    assert first.asnumpy().tolist() == [8.0]
    np.testing.assert_allclose(nudged.asnumpy() - first.asnumpy(), [2e-10], rtol=1e-4)
    assert other.asnumpy().tolist() == [4.0]


def test_a_replaced_parameter_is_used():
    net, x = WeightNet(), Tensor(np.array([3.0]))
    assert net(x, x).asnumpy().tolist() == [18.0]
    net.w = Parameter(Tensor(np.array([5.0])), name="w")
    assert net(x, x).asnumpy().tolist() == [45.0]
    assert ops.GradOperation()(net)(x, x).asnumpy().tolist() == [15.0]  # d/da = x w


# --- messages that name the problem ----------------------------------------------------------


class Net(nn.Cell):
    def construct(self, x, y):
        return ops.MatMul()(x, y)


X, Y = Tensor(np.ones((2, 3), np.float32)), Tensor(np.ones((3, 3), np.float32))


def test_sens_param_without_arguments():
    with pytest.raises(TypeError, match="sensitivity as the last argument.*got no arguments"):
        ops.GradOperation(sens_param=True)(Net())()


def test_sens_param_with_the_sensitivity_forgotten():
    with pytest.raises(TypeError, match=r"GradOperation.*missing.*'y'.*last argument is the sens"):
        ops.GradOperation(sens_param=True)(Net())(X, Y)


def test_sens_param_with_a_python_number():
    with pytest.raises(TypeError, match="sensitivity.*a Tensor shaped like.*got float"):
        ops.GradOperation(sens_param=True)(Net())(X, Y, 1.0)


def test_weights_that_are_not_parameters():
    with pytest.raises(TypeError, match="weights must hold Parameters only; item 1 is a Tensor"):
        ops.GradOperation(get_by_list=True)(WeightNet(), [WeightNet().w, X])


def test_writes_into_a_parameters_array_are_seen():
    # MindSpore's asnumpy() shares the Parameter's storage: an in-place write changes it
    net, x = WeightNet(), Tensor(np.array([3.0]))
    assert net(x, x).asnumpy().tolist() == [18.0]
    net.w.asnumpy()[0] = 13.0
    assert net(x, x).asnumpy().tolist() == [117.0]
    net.w.set_data(Tensor(np.array([1.0])))
    assert net(x, x).asnumpy().tolist() == [9.0]


def test_a_damaged_cache_entry_is_compiled_again(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLC_CACHE_DIR", str(tmp_path))
    x = Tensor(np.array([3.0]))
    assert WeightNet()(x, x).asnumpy().tolist() == [18.0]
    (entry,) = tmp_path.glob("*.cellc")
    entry.write_bytes(entry.read_bytes()[:100])  # truncated
    assert WeightNet()(x, x).asnumpy().tolist() == [18.0]
    (again,) = tmp_path.glob("*.cellc")
    assert again.stat().st_size > 100
