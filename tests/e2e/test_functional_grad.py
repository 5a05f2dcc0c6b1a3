"""MindSpore 2.x's functional autodiff (mindspore.grad, value_and_grad, vjp, jit): values and
return structures as MindSpore 2.10 gives them (recorded from it), compiled."""

import numpy as np
import pytest

import cellc
from cellc import Parameter, ParameterTuple, Tensor, nn, ops
from cellc.errors import UnsupportedError

X = Tensor([1.0, 2.0])
Y = Tensor([3.0, 4.0])
Z = Tensor([5.0, 6.0])


def product_sum(x, y, z):
    return (x * y * z).sum()


def two_outputs(x, y):
    return (x * y).sum(), x + y


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.w = Parameter(Tensor(np.array([2.0, 3.0], np.float32)), name="w")
        self.b = Parameter(Tensor(np.array([1.0], np.float32)), name="b")

    def construct(self, x, y):
        return (x * self.w * y + self.b).sum(), x * y


NET = Net()
W_GRADS = ([3.0, 8.0], [2.0])  # d/dw, d/db of NET's outputs summed, at X, Y


def values(result):
    """Tensors as lists, nested as the result; ids and names as they are."""
    if isinstance(result, tuple):
        return tuple(values(item) for item in result)
    if isinstance(result, Tensor):
        return result.asnumpy().tolist()
    return result


def test_the_same_objects_everywhere():
    assert cellc.grad is ops.grad
    assert cellc.value_and_grad is ops.value_and_grad
    assert cellc.vjp is ops.vjp


@pytest.mark.parametrize(
    "grad_position, expected",
    [
        (0, [15.0, 24.0]),
        (1, [5.0, 12.0]),
        ((0, 2), ([15.0, 24.0], [3.0, 8.0])),
        ((1,), [5.0, 12.0]),  # a one-position tuple: a bare Tensor
    ],
)
def test_grad_positions(grad_position, expected):
    assert values(cellc.grad(product_sum, grad_position)(X, Y, Z)) == expected


def test_value_and_grad():
    assert values(cellc.value_and_grad(product_sum)(X, Y, Z)) == (63.0, [15.0, 24.0])
    assert values(cellc.value_and_grad(product_sum, (0, 1))(X, Y, Z)) == (
        63.0,
        ([15.0, 24.0], [5.0, 12.0]),
    )


def test_every_output_is_differentiated_without_has_aux():
    assert values(cellc.grad(lambda x, y: (x * y, x + y))(X, Y)) == [4.0, 5.0]


def test_has_aux():
    assert values(cellc.grad(two_outputs, has_aux=True)(X, Y)) == ([3.0, 4.0], ([4.0, 6.0],))
    assert values(cellc.value_and_grad(two_outputs, has_aux=True)(X, Y)) == (
        (11.0, [4.0, 6.0]),
        [3.0, 4.0],
    )
    with pytest.raises(ValueError, match="requires more than one outputs"):
        cellc.grad(lambda x: x * x, has_aux=True)(X)


def test_weights():
    assert values(cellc.grad(NET, None, NET.trainable_params())(X, Y)) == W_GRADS
    assert values(cellc.grad(NET, None, NET.w)(X, Y)) == W_GRADS[0]
    assert values(cellc.grad(NET, None, ParameterTuple(NET.trainable_params()))(X, Y)) == W_GRADS
    assert values(cellc.grad(NET, 0, NET.trainable_params())(X, Y)) == ([9.0, 16.0], W_GRADS)
    assert values(cellc.grad(NET, 0, NET.trainable_params(), has_aux=True)(X, Y)) == (
        ([6.0, 12.0], W_GRADS),
        ([3.0, 8.0],),
    )
    assert values(cellc.value_and_grad(NET, None, NET.trainable_params())(X, Y)) == (
        (32.0, [3.0, 8.0]),
        W_GRADS,
    )
    assert cellc.grad(NET, None, [])(X, Y) == ()


def test_return_ids():
    assert values(cellc.grad(NET, 0, return_ids=True)(X, Y)) == (0, [9.0, 16.0])
    assert values(cellc.grad(NET, (0, 1), return_ids=True)(X, Y)) == (
        (0, [9.0, 16.0]),
        (1, [3.0, 8.0]),
    )
    assert values(cellc.grad(NET, (1,), return_ids=True)(X, Y)) == (1, [3.0, 8.0])
    assert values(cellc.grad(NET, None, NET.trainable_params(), return_ids=True)(X, Y)) == (
        ("w", [3.0, 8.0]),
        ("b", [2.0]),
    )
    assert values(cellc.value_and_grad(NET, (0, 1), return_ids=True)(X, Y)) == (
        (32.0, [3.0, 8.0]),
        ((0, [9.0, 16.0]), (1, [3.0, 8.0])),
    )


def test_python_value_arguments_have_no_gradient():
    def scale(x, n):
        return x * n

    assert cellc.grad(scale, 1)(X, 3.0) == ()
    assert values(cellc.grad(scale, (0, 1))(X, 3.0)) == [3.0, 3.0]


@pytest.mark.parametrize(
    "grad_position, error, message",
    [
        (2, IndexError, "Position index 2 is exceed input size."),
        (-1, ValueError, "grad_position must be >= 0."),
        (1.0, TypeError, "'grad_position' must be int or tuple"),
        ([0, 1], TypeError, "'grad_position' must be int or tuple"),
        (None, ValueError, "can not be None at the same time"),
    ],
)
def test_bad_grad_positions(grad_position, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        cellc.grad(NET, grad_position)(X, Y)


def test_sens_param():
    sens = (Tensor(2.0), Tensor([1.0, 1.0]))
    assert values(cellc.grad(NET, 0, sens_param=True)(X, Y, sens)) == [15.0, 28.0]


def test_vjp():
    def cube_plus(x, y):
        return x**3 + y

    outputs, vjp_fn = cellc.vjp(cube_plus, X, Y)
    assert values(outputs) == [4.0, 12.0]
    assert values(vjp_fn(Tensor([1.0, 1.0]))) == ([3.0, 12.0], [1.0, 1.0])
    outputs, vjp_fn = cellc.vjp(lambda x, y: (x * y, x + y), X, Y)
    assert values(vjp_fn((Tensor([1.0, 1.0]), Tensor([1.0, 1.0])))) == ([4.0, 5.0], [2.0, 3.0])
    out, vjp_fn, aux = cellc.vjp(lambda x, y: (x * y, x + 1), X, Y, has_aux=True)
    assert (values(out), values(aux)) == ([3.0, 8.0], [2.0, 3.0])
    assert values(vjp_fn(Tensor([1.0, 1.0]))) == ([3.0, 4.0], [1.0, 2.0])
    _, vjp_fn = cellc.vjp(lambda x: x * x, X)
    assert values(vjp_fn(Tensor([1.0, 1.0]))) == ([2.0, 4.0],)  # always a tuple


def test_nesting_and_mixing_with_grad_operation():
    x = Tensor(np.array([0.5, 1.0], np.float32))
    sin = ops.Sin()
    third = cellc.grad(cellc.grad(cellc.grad(sin)))
    np.testing.assert_allclose(third(x).asnumpy(), -np.cos([0.5, 1.0]), rtol=1e-5)
    mixed = ops.GradOperation()(cellc.grad(sin))
    np.testing.assert_allclose(mixed(x).asnumpy(), -np.sin([0.5, 1.0]), rtol=1e-5)
    other_way = cellc.grad(ops.GradOperation()(sin))
    np.testing.assert_allclose(other_way(x).asnumpy(), -np.sin([0.5, 1.0]), rtol=1e-5)


class GradInConstruct(nn.Cell):
    """mindspore.grad and value_and_grad traced inside construct."""

    def __init__(self):
        super().__init__()
        self.net = Net()

    def construct(self, x, y):
        (loss, _), weight_grads = cellc.value_and_grad(self.net, None, self.net.trainable_params())(
            x, y
        )
        return loss, weight_grads, cellc.grad(product_sum, (0, 2))(x, y, y)


def test_inside_a_construct():
    assert values(GradInConstruct()(X, Y)) == (32.0, W_GRADS, ([9.0, 16.0], [3.0, 8.0]))


def test_jit():
    @cellc.jit
    def double(x):
        return x * 2

    @cellc.jit(jit_level="O1", mode="PSJit")
    def triple(x):
        return x * 3

    class JitNet(nn.Cell):
        @cellc.jit
        def construct(self, x):
            return double(x) + 1

    assert values(double(X)) == [2.0, 4.0]
    assert values(triple(X)) == [3.0, 6.0]
    assert values(JitNet()(X)) == [3.0, 5.0]
    assert values(cellc.grad(double)(X)) == [2.0, 2.0]


# --- GradOperation's edge cases (MindSpore's PyNative mode, 2.x's default, and GRAPH_MODE) ---


class Scale(nn.Cell):
    def __init__(self):
        super().__init__()
        self.w = Parameter(Tensor(np.array([2.0, 3.0], np.float32)), name="w")

    def construct(self, x):
        return x * self.w


class NoInputs(nn.Cell):
    def __init__(self):
        super().__init__()
        self.w = Parameter(Tensor(np.array([2.0, 3.0], np.float32)), name="w")

    def construct(self):
        return self.w * 2


class Constant(nn.Cell):
    def __init__(self):
        super().__init__()
        self.w = Parameter(Tensor(np.array([2.0, 3.0], np.float32)), name="w")

    def construct(self, x, y):
        return self.w * 2


@pytest.fixture
def graph_mode():
    cellc.set_context(mode=cellc.GRAPH_MODE)
    yield
    cellc.set_context(mode=cellc.PYNATIVE_MODE)


def test_get_by_list_without_weights_pynative():
    net = Scale()
    assert values(ops.GradOperation(get_by_list=True)(net)(X)) == ([1.0, 2.0],)
    assert values(ops.GradOperation(get_all=True, get_by_list=True)(net, None)(X)) == (
        ([2.0, 3.0],),
        ([1.0, 2.0],),
    )


def test_get_by_list_without_weights_graph_mode(graph_mode):
    net = Scale()
    assert ops.GradOperation(get_by_list=True)(net)(X) == ()
    assert values(ops.GradOperation(get_all=True, get_by_list=True)(net)(X)) == (([2.0, 3.0],), ())


def test_a_network_without_tensor_inputs():
    net = NoInputs()
    assert ops.GradOperation()(net)() == ()
    assert ops.GradOperation(get_all=True)(net)() == ()
    assert values(ops.GradOperation(get_by_list=True)(net, net.trainable_params())()) == (
        [2.0, 2.0],
    )


def test_an_output_independent_of_the_inputs_has_zero_gradients():
    net, y = Constant(), Tensor([[1.0, 2.0, 3.0]])
    assert values(ops.GradOperation()(net)(X, y)) == [0.0, 0.0]
    assert values(ops.GradOperation(get_all=True)(net)(X, y)) == ([0.0, 0.0], [[0.0, 0.0, 0.0]])
    assert values(cellc.grad(net, (0, 1))(X, y)) == ([0.0, 0.0], [[0.0, 0.0, 0.0]])


class Duplicate(nn.Cell):
    def __init__(self):
        super().__init__()
        self.a = Parameter(Tensor(np.array([2.0, 3.0], np.float32)), name="w")
        self.b = Parameter(Tensor(np.array([2.0, 3.0], np.float32)), name="w")

    def construct(self, x):
        return x * self.a * self.b


DUPLICATE_MESSAGE = r"its name 'w' already exists. Please set a unique name for the parameter."


def test_two_parameters_of_one_name_are_refused():
    net = Duplicate()
    with pytest.raises(ValueError, match=DUPLICATE_MESSAGE):
        ParameterTuple(net.trainable_params())
    with pytest.raises(ValueError, match=DUPLICATE_MESSAGE):
        ops.GradOperation(get_by_list=True)(net, net.trainable_params())
    with pytest.raises(ValueError, match=DUPLICATE_MESSAGE):
        cellc.grad(net, None, net.trainable_params())
    with pytest.raises(ValueError, match=DUPLICATE_MESSAGE):  # cellc's artifacts name weights
        net(X)


# --- the namespace and honest refusals -----------------------------------------------------


def test_the_mindspore_namespace():
    assert cellc.float32 is cellc.dtype.float32 and cellc.bool_ is cellc.dtype.bool_
    assert cellc.get_context("mode") == cellc.PYNATIVE_MODE  # MindSpore 2.x's default
    cellc.set_context(mode=cellc.GRAPH_MODE, device_target="CPU")
    assert cellc.get_context("mode") == cellc.GRAPH_MODE
    cellc.set_context(mode=cellc.PYNATIVE_MODE)
    with pytest.raises(ValueError, match="should be context.GRAPH_MODE"):
        cellc.set_context(mode=5)


@pytest.mark.parametrize(
    "module, name", [(cellc, "Profiler"), (cellc.nn, "Conv3d"), (cellc.ops, "no_such_op")]
)
def test_a_missing_name_says_cellc_lacks_it(module, name):
    path = module.__name__.replace("cellc", "mindspore")
    with pytest.raises(AttributeError, match=f"cellc has no {path}.{name} yet"):
        getattr(module, name)


def test_export_refuses_formats_it_does_not_write(tmp_path):
    for file_format in ("ONNX", "AIR"):
        with pytest.raises(UnsupportedError, match=f"cannot write file_format='{file_format}'"):
            cellc.export(Scale(), X, file_name=str(tmp_path / "net"), file_format=file_format)
    assert not list(tmp_path.iterdir())


def test_the_save_and_load_tutorials_mindir_round_trip(tmp_path):
    """MindSpore's save-and-load tutorial: export as MINDIR, `load`, run with nn.GraphCell
    (cellc's artifact under that name, with a warning saying so)."""
    with pytest.warns(UserWarning, match="MindSpore's tools cannot read it"):
        path = cellc.export(Scale(), X, file_name=str(tmp_path / "model"), file_format="MINDIR")
    assert path.endswith("model.mindir")
    graph_cell = nn.GraphCell(cellc.load(path))
    np.testing.assert_array_equal(graph_cell(X).asnumpy(), Scale()(X).asnumpy())
    with pytest.raises(ValueError, match="does not exist"):
        cellc.load(str(tmp_path / "missing.mindir"))
    with pytest.raises(TypeError, match="graph must be what cellc.load returned"):
        nn.GraphCell(Scale())


class Branchy(nn.Cell):
    def construct(self, x):
        if x.sum() > 0:  # data-dependent
            return x
        return -x


class Converts(nn.Cell):
    def construct(self, x):
        return x * float(x.sum())


@pytest.mark.parametrize("cell, line", [(Branchy(), "if x.sum() > 0:"), (Converts(), "float(")])
def test_data_dependent_control_flow_is_refused_with_the_users_line(cell, line):
    with pytest.raises(UnsupportedError, match="data-dependent control flow") as error:
        cell(X)
    assert "test_functional_grad.py" in str(error.value) and line in str(error.value)
