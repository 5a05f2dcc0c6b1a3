"""Parameter updates in compiled code (ops.assign, set_data, BatchNorm's moving statistics),
BatchNorm1d/2d, LayerNorm and Dropout, through the compiled CPU path.

Expected values are MindSpore's documented rules written in numpy (checked against MindSpore
2.10: the moving statistics use momentum * old + (1 - momentum) * batch, with the unbiased
batch variance; the normalization uses the biased one; assignments inside a GradOperation
happen once per call); gradients are checked against float64 central finite differences.
"""

import numpy as np
import pytest

import cellc
from cellc import Parameter, Tensor, nn, ops, runtime
from cellc.cli.inspect import describe_manifest

F = ops.functional
RNG = np.random.default_rng(7)


class Accumulate(nn.Cell):
    """p += x, then returns 2 * p (the new value: MindSpore reads after the assignment)."""

    def __init__(self):
        super().__init__()
        self.p = Parameter(Tensor(np.zeros(3, np.float32)), name="p")

    def construct(self, x):
        ops.assign(self.p, self.p + x)
        return self.p * 2


class ReadThenAssign(nn.Cell):
    def __init__(self):
        super().__init__()
        self.p = Parameter(Tensor(np.zeros(3, np.float32)), name="p")

    def construct(self, x):
        y = self.p * 2 * x
        ops.Assign()(self.p, self.p + x)
        return y


class SetData(nn.Cell):
    def __init__(self):
        super().__init__()
        self.p = Parameter(Tensor(np.ones(2, np.float32)), name="p")

    def construct(self, x):
        self.p.set_data(self.p * x)
        return ops.depend(x + 1, self.p)


ONES = np.ones(3, np.float32)


def test_assign_updates_the_parameter_after_each_call():
    net = Accumulate()
    np.testing.assert_array_equal(net(Tensor(ONES)).asnumpy(), [2, 2, 2])
    np.testing.assert_array_equal(net.p.asnumpy(), [1, 1, 1])
    np.testing.assert_array_equal(net(Tensor(ONES)).asnumpy(), [4, 4, 4])
    np.testing.assert_array_equal(net.p.asnumpy(), [2, 2, 2])


def test_reads_before_the_assignment_see_the_old_value():
    net = ReadThenAssign()
    np.testing.assert_array_equal(net(Tensor(ONES)).asnumpy(), [0, 0, 0])
    np.testing.assert_array_equal(net.p.asnumpy(), [1, 1, 1])


def test_set_data_in_construct_and_depend():
    net = SetData()
    x = np.array([2, 3], np.float32)
    np.testing.assert_array_equal(net(Tensor(x)).asnumpy(), [3, 4])
    net(Tensor(x))
    np.testing.assert_array_equal(net.p.asnumpy(), [4, 9])


def test_assignments_under_grad_operation_happen_once_per_call():
    # MindSpore: the gradient of 2 * p * x by x is 2 * p (old p), and p += x once per call
    net = ReadThenAssign()
    grad = ops.GradOperation()(net)
    np.testing.assert_array_equal(grad(Tensor(ONES)).asnumpy(), [0, 0, 0])
    np.testing.assert_array_equal(net.p.asnumpy(), [1, 1, 1])
    np.testing.assert_array_equal(grad(Tensor(ONES)).asnumpy(), [2, 2, 2])
    np.testing.assert_array_equal(net.p.asnumpy(), [2, 2, 2])


def test_assign_of_the_wrong_shape_names_the_parameter():
    class Wrong(nn.Cell):
        def __init__(self):
            super().__init__()
            self.p = Parameter(Tensor(np.zeros(3, np.float32)), name="p")

        def construct(self, x):
            ops.assign(self.p, x)
            return x

    with pytest.raises(
        cellc.errors.ShapeMismatchError,
        match="Parameter 'p' \\(tensor<3xf32>\\).*got tensor<2xf32>\n.*ops.assign",
    ):
        Wrong()(Tensor(np.zeros(2, np.float32)))


def test_an_exported_artifact_updates_its_parameters_with_the_runtime_alone(tmp_path):
    path = cellc.export(Accumulate(), Tensor(ONES), file_name=str(tmp_path / "acc"))
    module = runtime.load(path)
    entry = module["Accumulate"]
    assert entry.outputs[1].meaning == "new value of Parameter p"
    np.testing.assert_array_equal(entry(ONES), [2, 2, 2])  # the hidden output is not returned
    np.testing.assert_array_equal(entry(ONES), [4, 4, 4])
    np.testing.assert_array_equal(module.parameters["p"], [2, 2, 2])
    module.set_parameter("p", np.full(3, 10, np.float32))
    np.testing.assert_array_equal(entry(ONES), [22, 22, 22])
    lines = describe_manifest(dict(module.manifest), path)
    assert "      1: float32[3]  new value of Parameter p" in lines
    assert "    returns: output 0" in lines


# --- BatchNorm --------------------------------------------------------------------------------


def batch_norm_reference(x, gamma, beta, mean, var, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * gamma.reshape(
        shape
    ) + beta.reshape(shape)


def moving_statistics_reference(x, moving_mean, moving_var, momentum):
    axes = tuple(a for a in range(x.ndim) if a != 1)
    mean, unbiased = x.mean(axes), x.var(axes, ddof=1)
    return (
        momentum * moving_mean + (1 - momentum) * mean,
        momentum * moving_var + (1 - momentum) * unbiased,
    )


X4 = RNG.standard_normal((4, 3, 2, 2)).astype(np.float32)


@pytest.fixture(scope="module")
def bn2d():
    bn = nn.BatchNorm2d(3, momentum=0.8, eps=1e-3)
    bn.gamma.set_data(np.array([1.0, 2.0, 3.0], np.float32))
    bn.beta.set_data(np.array([0.1, 0.2, 0.3], np.float32))
    return bn


def test_batch_norm_training_then_evaluation(bn2d):
    bn2d.set_train(True)
    gamma, beta = bn2d.gamma.asnumpy(), bn2d.beta.asnumpy()
    moving = (np.zeros(3), np.ones(3))
    for _ in range(2):
        y = bn2d(Tensor(X4)).asnumpy()
        axes = (0, 2, 3)
        expected = batch_norm_reference(X4, gamma, beta, X4.mean(axes), X4.var(axes), 1e-3)
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
        moving = moving_statistics_reference(X4, *moving, 0.8)
        np.testing.assert_allclose(bn2d.moving_mean.asnumpy(), moving[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bn2d.moving_variance.asnumpy(), moving[1], rtol=1e-5)
    bn2d.set_train(False)  # compiles again: evaluation uses the moving statistics
    y = bn2d(Tensor(X4)).asnumpy()
    expected = batch_norm_reference(X4, gamma, beta, *moving, 1e-3)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bn2d.moving_mean.asnumpy(), moving[0], rtol=1e-5, atol=1e-6)
    assert len(bn2d.__dict__["_cellc_compiled"]) == 2


def test_batch_norm_matches_mindspore_values():
    # MindSpore 2.10, BatchNorm2d(3) in training mode on this input, gamma (1, 2, 3),
    # beta (.1, .2, .3): moving statistics after one call
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2)).astype(np.float32)
    bn = nn.BatchNorm2d(3)
    bn.set_train()
    bn(Tensor(x))
    expected_mean, expected_var = moving_statistics_reference(x, np.zeros(3), np.ones(3), 0.9)
    np.testing.assert_allclose(bn.moving_mean.asnumpy(), expected_mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bn.moving_variance.asnumpy(), expected_var, rtol=1e-5)


@pytest.mark.parametrize("use_batch_statistics", [True, False])
def test_use_batch_statistics_overrides_the_mode(use_batch_statistics):
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    bn = nn.BatchNorm1d(3, use_batch_statistics=use_batch_statistics)
    bn.set_train(not use_batch_statistics)
    y = bn(Tensor(x)).asnumpy()
    if use_batch_statistics:
        expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
        np.testing.assert_allclose(bn.moving_mean.asnumpy(), 0.1 * x.mean(0), rtol=1e-5)
    else:
        expected = x / np.sqrt(1 + 1e-5)
        np.testing.assert_array_equal(bn.moving_mean.asnumpy(), np.zeros(3))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


class Weighted(nn.Cell):
    """sum(layer(x) * w): a scalar whose gradient reaches every output element differently."""

    def __init__(self, layer, shape):
        super().__init__()
        self.layer = layer
        self.w = Tensor(RNG.standard_normal(shape))

    def construct(self, x):
        return (self.layer(x) * self.w).sum()


def finite_differences(f, x, step=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += step
        minus[index] -= step
        grad[index] = (f(plus) - f(minus)) / (2 * step)
    return grad


@pytest.mark.parametrize(
    "make_layer, shape",
    [
        (lambda: nn.BatchNorm1d(3).set_train(True), (4, 3)),
        (lambda: nn.BatchNorm2d(2).set_train(True), (3, 2, 2, 2)),
        (lambda: nn.BatchNorm1d(3).set_train(False), (4, 3)),
        (lambda: nn.LayerNorm((3,)), (4, 3)),
        (lambda: nn.LayerNorm((2, 3), begin_norm_axis=1, begin_params_axis=1), (2, 2, 3)),
    ],
    ids=["bn1d-train", "bn2d-train", "bn1d-eval", "layernorm", "layernorm-2axes"],
)
def test_normalization_gradients_against_finite_differences(make_layer, shape):
    layer = make_layer()
    net = Weighted(layer, shape)
    net.set_train(layer.training)
    x = RNG.standard_normal(shape)
    grad = ops.GradOperation()(net)(Tensor(x)).asnumpy()
    expected = finite_differences(lambda v: float(net(Tensor(v)).asnumpy()), x)
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)


def test_batch_norm_under_grad_updates_once_per_call():
    bn = nn.BatchNorm1d(3)
    net = Weighted(bn, (4, 3))
    net.set_train()
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    net.w = Tensor(RNG.standard_normal((4, 3)).astype(np.float32))
    grads = ops.GradOperation(get_by_list=True)(net, cellc.ParameterTuple(net.trainable_params()))
    grads(Tensor(x))
    expected = moving_statistics_reference(x, np.zeros(3), np.ones(3), 0.9)
    np.testing.assert_allclose(bn.moving_mean.asnumpy(), expected[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(bn.moving_variance.asnumpy(), expected[1], rtol=1e-5)


def test_batch_norm_artifact_marks_the_moving_statistics(tmp_path):
    class Net(nn.Cell):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(2)

        def construct(self, x):
            return self.bn(x)

    net = Net().set_train()
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    module = runtime.load(cellc.export(net, Tensor(x), file_name=str(tmp_path / "bn")))
    lines = describe_manifest(dict(module.manifest), "bn.cellc")
    assert "      1: float32[2]  new value of Parameter bn.moving_mean" in lines
    assert "      2: float32[2]  new value of Parameter bn.moving_variance" in lines
    module.Net(x)
    np.testing.assert_allclose(module.parameters["bn.moving_mean"], [0.2, 0.3], rtol=1e-6)


# --- LayerNorm --------------------------------------------------------------------------------


def test_layer_norm_values():
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    layer = nn.LayerNorm((3, 4), begin_norm_axis=1, begin_params_axis=1, epsilon=1e-5)
    gamma = RNG.standard_normal((3, 4)).astype(np.float32)
    layer.gamma.set_data(gamma)
    mean = x.mean((1, 2), keepdims=True)
    expected = (x - mean) / np.sqrt(x.var((1, 2), keepdims=True) + 1e-5) * gamma
    np.testing.assert_allclose(layer(Tensor(x)).asnumpy(), expected, rtol=1e-5, atol=1e-5)
    assert [p.name for p in layer.get_parameters()] == ["gamma", "beta"]


def test_layer_norm_shape_mismatch():
    with pytest.raises(ValueError, match="normalized_shape \\(4,\\)"):
        nn.LayerNorm((4,))(Tensor(np.zeros((2, 3), np.float32)))


# --- Dropout ----------------------------------------------------------------------------------


class DropoutNet(nn.Cell):
    def __init__(self, **kwargs):
        super().__init__()
        self.dropout = nn.Dropout(**kwargs)

    def construct(self, x):
        return self.dropout(x)


def test_dropout_is_the_identity_in_evaluation_mode():
    x = RNG.standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_array_equal(DropoutNet(p=0.5)(Tensor(x)).asnumpy(), x)


def test_dropout_masks_are_fresh_per_call_and_seeded():
    net = DropoutNet(keep_prob=0.8).set_train()
    x = np.ones((50, 40), np.float32)
    cellc.set_seed(3)
    first, second = net(Tensor(x)).asnumpy(), net(Tensor(x)).asnumpy()
    assert set(np.unique(first)) <= {0.0, np.float32(1 / 0.8)}
    assert 0.7 < np.count_nonzero(first) / first.size < 0.9
    assert not np.array_equal(first, second)
    cellc.set_seed(3)
    np.testing.assert_array_equal(net(Tensor(x)).asnumpy(), first)


def test_dropout_gradient_is_the_mask():
    net = DropoutNet(p=0.3).set_train()
    grad = ops.GradOperation(get_all=True)(Weighted(net.dropout, (6, 5)).set_train())
    x = RNG.standard_normal((6, 5)).astype(np.float32)
    cellc.set_seed(5)
    (dx,) = grad(Tensor(x))
    weights = grad.fn.w.asnumpy() if hasattr(grad, "fn") else None
    kept = dx.asnumpy() != 0
    assert 0 < kept.mean() < 1
    if weights is not None:
        np.testing.assert_allclose(dx.asnumpy()[kept], (weights / 0.7)[kept], rtol=1e-6)


def test_functional_dropout():
    x = np.ones((20, 20), np.float32)
    y = ops.dropout(Tensor(x), p=0.25).asnumpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    np.testing.assert_array_equal(ops.dropout(Tensor(x), p=0.25, training=False).asnumpy(), x)
    assert repr(nn.Dropout(p=0.2)) == "Dropout(p=0.2)"
