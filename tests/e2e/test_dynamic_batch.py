"""Compile once for any batch size: a dynamic batch dimension, as a MindSpore user asks for it.

`Cell.set_inputs(Tensor(shape=[None, n], ...))`, `cellc.export` of such an input (or with
`dynamic_batch=True`) and `--input 'f32[?,n]'` compile one program whose batch is any size at
run time (compiler/dynamic_batch.py). Its values are checked against the same cells compiled
per batch size and against numpy; a model whose program depends on the batch size otherwise
is refused naming the op, or (through set_inputs) warned about and compiled per size."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from support.cells import GradInputsAndWeights

import cellc
from cellc import Tensor, nn, ops, runtime
from cellc import dtype as mstype
from cellc.compiler.dynamic_batch import DynamicBatchError
from cellc.compiler.pipeline import CompileOptions
from cellc.frontend import compiled as frontend_compiled
from cellc.runtime.errors import ShapeMismatchError

BATCHES = (4, 9, 1, 16)


class MLP(nn.Cell):
    def __init__(self, inputs: int = 12, hidden: int = 16, outputs: int = 3):
        super().__init__()
        self.fc1 = nn.Dense(inputs, hidden)
        self.fc2 = nn.Dense(hidden, outputs)
        self.relu = nn.ReLU()

    def construct(self, x):
        return self.fc2(self.relu(self.fc1(x)))


def copy_of(net: nn.Cell) -> nn.Cell:
    """Another cell of `net`'s class, in its mode, with copies of its Parameters' values."""
    other = type(net)().set_train(net.training)
    for mine, theirs in zip(other.get_parameters(), net.get_parameters()):
        mine.set_data(Tensor(theirs.asnumpy().copy()))
    return other


def train_step(net: MLP) -> nn.Cell:
    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    optimizer = nn.Momentum(net.trainable_params(), learning_rate=0.1, momentum=0.9)
    return nn.TrainOneStepCell(nn.WithLossCell(net, loss), optimizer)


def data(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed + batch)
    x = rng.standard_normal((batch, 12)).astype(np.float32)
    return x, rng.integers(0, 3, batch).astype(np.int32)


def assert_trains_as_per_size_compiles(
    net, specs, batches, data_of, step_of=None, loss_atol=1e-6
) -> None:
    """Trains `net` through `step_of(net)` (default `train_step`) given `specs` (a None batch:
    one compile) and a copy of it compiled per batch size, one step at each of `batches` on
    `data_of(batch)`, both drawing the same dropout masks: the losses and then the
    Parameters agree after every step."""
    step_of = step_of or train_step
    reference = copy_of(net)
    step, reference_step = step_of(net), step_of(reference)
    step.set_inputs(*specs)
    for batch in batches:
        args = [Tensor(a) for a in data_of(batch)]
        cellc.set_seed(batch)
        loss = step(*args).asnumpy()
        cellc.set_seed(batch)
        want = reference_step(*args).asnumpy()
        np.testing.assert_allclose(loss, want, rtol=1e-5, atol=loss_atol)
        for mine, theirs in zip(net.get_parameters(), reference.get_parameters()):
            np.testing.assert_allclose(mine.asnumpy(), theirs.asnumpy(), rtol=1e-5, atol=1e-6)


@pytest.fixture
def compiles(monkeypatch, tmp_path):
    """Counts the pipeline's runs: (static, dynamic-batch), into a disk cache of the test's
    own (a program another test compiled would be a cache hit, no run). A dynamic-batch
    compile that fails and falls back to compiles per batch size (set_inputs' warning) fails
    the test: the fallback's compiles may be cache hits of the reference's, and not count."""
    monkeypatch.setenv("CELLC_CACHE_DIR", str(tmp_path / "cache"))
    counts = {"static": 0, "dynamic": 0}
    original = frontend_compiled.compile_program

    def counting(*args, batch_sample=None, **kwargs):
        counts["static" if batch_sample is None else "dynamic"] += 1
        return original(*args, batch_sample=batch_sample, **kwargs)

    monkeypatch.setattr(frontend_compiled, "compile_program", counting)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*set_inputs asks for a dynamic shape")
        yield counts


MLP_SPECS = (
    Tensor(shape=[None, 12], dtype=mstype.float32),
    Tensor(shape=[None], dtype=mstype.int32),
)


def test_a_training_step_compiles_once_and_matches_per_size_compiles(compiles):
    assert_trains_as_per_size_compiles(MLP(), MLP_SPECS, BATCHES, data)
    assert compiles == {"static": len(BATCHES), "dynamic": 1}


class DropoutMLP(MLP):
    """The MLP with nn.Dropout between its layers: in training mode, a fresh mask for every
    call, the size of that call's batch."""

    def __init__(self):
        super().__init__()
        self.dropout = nn.Dropout(p=0.25)

    def construct(self, x):
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


def test_dropout_in_training_mode_compiles_once_and_masks_each_batch(compiles):
    net = DropoutMLP().set_train()
    net.set_inputs(Tensor(shape=[None, 12], dtype=mstype.float32))
    w1, b1, w2, b2 = (p.asnumpy().astype(np.float64) for p in net.get_parameters())
    for batch in BATCHES:
        x = data(batch)[0]
        cellc.set_seed(batch)
        got = net(Tensor(x)).asnumpy()
        # the mask the runtime draws: uniform [0, 1) below keep_prob, scaled by 1 / keep_prob
        mask = (np.random.default_rng(batch).random((batch, 16)) < 0.75) / 0.75
        want = (np.maximum(x @ w1.T + b1, 0) * mask) @ w2.T + b2
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert compiles == {"static": 0, "dynamic": 1}


def test_a_training_step_with_dropout_compiles_once_and_matches_per_size_compiles(compiles):
    assert_trains_as_per_size_compiles(DropoutMLP(), MLP_SPECS, BATCHES, data)
    assert compiles == {"static": len(BATCHES), "dynamic": 1}


def test_an_exported_step_with_dropout_draws_masks_at_the_call_batch(tmp_path):
    path = cellc.export(
        DropoutMLP().set_train(),
        Tensor(shape=[None, 12], dtype=mstype.float32),
        file_name=str(tmp_path / "drop"),
    )
    module = runtime.load(path)
    (mask,) = (spec for spec in module.manifest["parameters"] if "random" in spec)
    assert mask["shape"] == [-1, 16] and mask["random"] == 0.75
    for batch in (1, 7):
        module.random_generator = np.random.default_rng(batch)
        got = module["DropoutMLP"](data(batch)[0])
        assert got.shape == (batch, 3)
        module.random_generator = np.random.default_rng(batch)
        np.testing.assert_array_equal(module["DropoutMLP"](data(batch)[0]), got)


class MeanBySize(nn.Cell):
    """A mean written with the batch size itself (`x.shape[0]`), a number the trace bakes in."""

    def construct(self, x):
        return ops.ReduceSum()(x * x) / x.shape[0]


def test_a_number_made_from_the_batch_size_follows_it():
    net = MeanBySize()
    net.set_inputs(Tensor(shape=[None, 3], dtype=mstype.float32))
    for batch in BATCHES:
        x = np.random.default_rng(batch).standard_normal((batch, 3)).astype(np.float32)
        got = net(Tensor(x)).asnumpy()
        np.testing.assert_allclose(got, (x.astype(np.float64) ** 2).sum() / batch, rtol=1e-5)


@pytest.mark.parametrize("how", ["described", "dynamic_batch"])
def test_an_exported_artifact_runs_every_batch_size(tmp_path, how):
    net = MLP()
    if how == "described":
        inputs = [Tensor(shape=[None, 12], dtype=mstype.float32)]
        path = cellc.export(net, *inputs, file_name=str(tmp_path / "mlp"))
    else:
        path = cellc.export(
            net, Tensor(data(2)[0]), file_name=str(tmp_path / "mlp"), dynamic_batch=True
        )
    module = runtime.load(path)
    entry = module["MLP"]
    assert entry.manifest["inputs"][0]["shape"] == [-1, 12]
    assert entry.manifest["outputs"][0]["shape"] == [-1, 3]
    w1, b1, w2, b2 = (p.asnumpy().astype(np.float64) for p in net.get_parameters())
    for batch in BATCHES:
        x = data(batch)[0]
        want = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2
        np.testing.assert_allclose(entry(x), want, rtol=1e-5, atol=1e-5)


def test_a_call_that_breaks_the_batch_contract_is_refused(tmp_path):
    class Pair(nn.Cell):
        def construct(self, x, y):
            return x * y

    described = Tensor(shape=[None, 2], dtype=mstype.float32)
    path = cellc.export(Pair(), described, described, file_name=str(tmp_path / "pair"))
    entry = runtime.load(path)["Pair"]
    a = np.ones((4, 2), np.float32)
    np.testing.assert_array_equal(entry(a, 3 * a), 3 * a)
    with pytest.raises(
        ShapeMismatchError, match=r"input 'y' .* float32\[-1,2\] \(-1: the batch, 4"
    ):
        entry(a, np.ones((5, 2), np.float32))
    with pytest.raises(ShapeMismatchError, match=r"got shape \[4, 3\]"):
        entry(a, np.ones((4, 3), np.float32))
    with pytest.raises(ShapeMismatchError, match="batch size 0"):
        entry(np.ones((0, 2), np.float32), np.ones((0, 2), np.float32))


class FoldsTheBatch(nn.Cell):
    """Returns its input flattened: the batch folded into the one dim (3N) of the result."""

    def construct(self, x):
        return ops.reshape(x, (-1,)) * 2.0


def test_a_result_that_folds_the_batch_is_refused_naming_its_op(tmp_path):
    # inside the program a dim may be a multiple of the batch (below); a result may not: the
    # runtime sizes each -1 of an output by the batch
    described = Tensor(shape=[None, 3], dtype=mstype.float32)
    with pytest.raises(DynamicBatchError) as caught:
        cellc.export(FoldsTheBatch(), described, file_name=str(tmp_path / "folds"))
    message = str(caught.value)
    assert "'ms.mul' at" in message and "test_dynamic_batch.py" in message
    assert "makes tensor<?xf32>, the batch folded into a dim (3 times the batch)" in message


class NormalizedRegression(nn.Cell):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(12, 2)
        self.norm = nn.BatchNorm1d(2)

    def construct(self, x):
        return self.norm(self.dense(x))


def test_constants_equal_at_one_sample_batch_stay_apart(compiles):
    # at the sample batch 5, MSELoss's mean over [N, 2] is 1/(2N) = 0.1, BatchNorm's
    # 1 - momentum: one constant in that trace (merged as equal) but two at batch 7
    assert_trains_as_per_size_compiles(
        NormalizedRegression(),
        (
            Tensor(shape=[None, 12], dtype=mstype.float32),
            Tensor(shape=[None, 2], dtype=mstype.float32),
        ),
        BATCHES[:2],
        lambda batch: (data(batch)[0], np.random.default_rng(batch).random((batch, 2), np.float32)),
        step_of=lambda model: nn.TrainOneStepCell(
            nn.WithLossCell(model, nn.MSELoss()), nn.SGD(model.trainable_params())
        ),
    )
    assert compiles == {"static": 2, "dynamic": 1}


def test_an_encoder_layer_splitting_heads_runs_at_every_batch_size(compiles):
    # multi-head attention folds the batch with the heads ([N, s, h*d] -> [N*h, s, d]) and
    # back: two multiples of the batch in one reshape
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    reference = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    for mine, theirs in zip(reference.get_parameters(), layer.get_parameters()):
        mine.set_data(Tensor(theirs.asnumpy().copy()))
    layer.set_inputs(Tensor(shape=[None, 5, 8], dtype=mstype.float32))
    for batch in BATCHES[:3]:
        x = np.random.default_rng(batch).standard_normal((batch, 5, 8)).astype(np.float32)
        got = layer(Tensor(x)).asnumpy()
        np.testing.assert_allclose(got, reference(Tensor(x)).asnumpy(), rtol=1e-5, atol=1e-5)
    assert compiles == {"static": 3, "dynamic": 1}


class GrowsTheBatch(nn.Cell):
    def construct(self, x):
        return ops.concat((x, ops.zeros((1, 3), mstype.float32)), 0)


def test_a_dim_that_follows_the_batch_otherwise_is_refused_naming_its_op(tmp_path):
    described = Tensor(shape=[None, 3], dtype=mstype.float32)
    with pytest.raises(DynamicBatchError) as caught:
        cellc.export(GrowsTheBatch(), described, file_name=str(tmp_path / "grows"))
    message = str(caught.value)
    assert "'ms.concat' at" in message and "test_dynamic_batch.py" in message
    assert "tensor<6x3xf32> at batch 5 and tensor<8x3xf32> at batch 7" in message
    assert "without being it or a multiple of it" in message


class SequenceModel(nn.Cell):
    """An Embedding and a Dense over a sequence: each reshapes [N, 4, ...] to [4N, ...] and
    back (MindSpore's Dense on rank 3, the Embedding's lookup), so the ops between hold the
    batch folded with the sequence."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(20, 8)
        self.dense = nn.Dense(8, 6, activation="relu")
        self.head = nn.Dense(6, 3)

    def construct(self, ids):
        return self.head(self.dense(self.embedding(ids)).mean(axis=1))


def test_a_sequence_model_folding_the_batch_trains_at_every_batch_size(compiles):
    def ids_and_labels(batch):
        rng = np.random.default_rng(batch)
        return rng.integers(0, 20, (batch, 4), np.int32), rng.integers(0, 3, batch, np.int32)

    specs = (Tensor(shape=[None, 4], dtype=mstype.int32), Tensor(shape=[None], dtype=mstype.int32))
    assert_trains_as_per_size_compiles(SequenceModel(), specs, BATCHES, ids_and_labels)
    assert compiles == {"static": len(BATCHES), "dynamic": 1}


class ConvNet(nn.Cell):
    """LeNet's kinds of layers, small, and BatchNorm (its mean's 1/(N*H*W) and its moving
    variance's unbiased m/(m-1) follow the batch): convolution, BatchNorm, ReLU, max pooling,
    flatten, dense."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, pad_mode="valid")
        self.norm = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.dense = nn.Dense(4 * 3 * 3, 3)
        self.relu = nn.ReLU()
        self.flatten = nn.Flatten()

    def construct(self, x):
        return self.dense(self.flatten(self.pool(self.relu(self.norm(self.conv(x))))))


def test_the_dynamic_program_computes_what_the_static_one_does_once(tmp_path):
    # the traces keep equal constants apart (above); merged after generalize, the ops that
    # read them merge again: unmerged, a ResNet block's step had 216 generics against 138
    # static, and ran 1.4x slower. What is left: the batch's own arithmetic (c/N, m/(m-1)).
    step = train_step(ConvNet().set_train())
    x = Tensor(np.ones((5, 1, 8, 8), np.float32))
    y = Tensor(np.zeros(5, np.int32))
    options = CompileOptions(emit="linalg")
    static = frontend_compiled.compile(step, x, y, options=options).ir("linalg")
    dynamic = frontend_compiled.compile(step, x, y, options=options, batch_axes=((0,), (0,))).ir(
        "linalg"
    )
    assert "?x" in dynamic
    extra = dynamic.count("linalg.generic") - static.count("linalg.generic")
    assert 0 <= extra <= 6, extra


def test_a_convolutional_training_step_compiles_once(compiles):
    def images_and_labels(batch):
        rng = np.random.default_rng(batch)
        x = rng.standard_normal((batch, 1, 8, 8)).astype(np.float32)
        return x, rng.integers(0, 3, batch).astype(np.int32)

    specs = (
        Tensor(shape=[None, 1, 8, 8], dtype=mstype.float32),
        Tensor(shape=[None], dtype=mstype.int32),
    )
    assert_trains_as_per_size_compiles(
        ConvNet().set_train(), specs, (3, 1, 6), images_and_labels, loss_atol=0
    )
    assert compiles == {"static": 3, "dynamic": 1}


def test_set_inputs_on_a_cell_that_cannot_batch_dynamically_warns_and_runs_per_size():
    net = FoldsTheBatch()
    net.set_inputs(Tensor(shape=[None, 3], dtype=mstype.float32))
    for batch in (2, 3):
        x = np.random.default_rng(batch).standard_normal((batch, 3)).astype(np.float32)
        if batch == 2:
            with pytest.warns(UserWarning, match=r"'ms.mul' at .*test_dynamic_batch.py"):
                got = net(Tensor(x)).asnumpy()
        else:
            got = net(Tensor(x)).asnumpy()
        np.testing.assert_array_equal(got, 2 * x.ravel())


class SliceAndJoin(nn.Cell):
    def construct(self, x):
        z = ops.concat((x[:, :1], x[:, 1:] * 2.0), axis=1)
        return ops.ReduceSum()(z * z)


class GradAll(nn.Cell):
    def __init__(self, network):
        super().__init__()
        self.network = network
        self.grad = ops.GradOperation(get_all=True)

    def construct(self, x):
        return self.grad(self.network)(x)


def test_slices_concats_and_their_gradients_follow_the_batch(tmp_path):
    path = cellc.export(
        GradAll(SliceAndJoin()),
        Tensor(shape=[None, 3], dtype=mstype.float32),
        file_name=str(tmp_path / "slices"),
    )
    entry = runtime.load(path)["GradAll"]
    for batch in (1, 4):
        x = np.random.default_rng(batch).standard_normal((batch, 3)).astype(np.float32)
        (dx,) = entry(x)
        np.testing.assert_allclose(dx, 2 * x * np.array([1.0, 4.0, 4.0]), rtol=1e-6)


def test_the_gradient_of_a_described_cell_compiles_once(compiles):
    net = MLP()
    net.set_inputs(Tensor(shape=[None, 12], dtype=mstype.float32))
    grad = ops.GradOperation(get_by_list=True)(net, net.trainable_params())
    w1, b1, w2, b2 = (p.asnumpy().astype(np.float64) for p in net.get_parameters())
    for batch in (2, 5):
        x = data(batch)[0].astype(np.float64)
        hidden = x @ w1.T + b1
        mask = hidden > 0
        # d sum(out) / d W2 = sum over the batch of relu(hidden)
        want_w2 = np.tile((np.maximum(hidden, 0)).sum(0), (3, 1))
        want_w1 = ((np.ones((batch, 3)) @ w2) * mask).T @ x
        got = grad(Tensor(x.astype(np.float32)))
        np.testing.assert_allclose(got[0].asnumpy(), want_w1, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(got[2].asnumpy(), want_w2, rtol=1e-4, atol=1e-4)
    assert compiles == {"static": 0, "dynamic": 1}


def test_every_call_path_of_a_dynamic_entry_agrees(tmp_path, monkeypatch):
    from cellc.runtime import cpu

    net = MLP()
    path = cellc.export(
        net, Tensor(shape=[None, 12], dtype=mstype.float32), file_name=str(tmp_path / "m")
    )
    entry = runtime.load(path)["MLP"]
    x = data(20)[0]
    want = entry(x)
    np.testing.assert_array_equal(entry(x.tolist()), want)  # converted on the way
    np.testing.assert_array_equal(entry(np.asfortranarray(x)), want)  # copied contiguous
    for batch in range(1, cpu._REMEMBERED_BATCHES + 3):  # past the remembered shapes
        np.testing.assert_array_equal(entry(x[:batch]), want[:batch])
    monkeypatch.setattr(cpu, "_DATA_OFFSET", None)  # a numpy whose layout was not confirmed
    portable = runtime.load(path)["MLP"]
    np.testing.assert_array_equal(portable(x), want)
    np.testing.assert_array_equal(portable(x[:3].tolist()), want[:3])


class BranchesOnTheBatch(nn.Cell):
    """The same ops either way, wired differently: only the operands tell the traces apart."""

    def construct(self, x, y):
        return x - y if x.shape[0] > 6 else y - x


def test_a_program_that_branches_on_the_batch_size_is_refused(tmp_path):
    described = Tensor(shape=[None, 2], dtype=mstype.float32)
    with pytest.raises(DynamicBatchError, match=r"'ms.sub' at .* has no counterpart"):
        cellc.export(BranchesOnTheBatch(), described, described, file_name=str(tmp_path / "b"))


class Outer(nn.Cell):
    """Two dims that are both the batch, reshaped: each `?` keeps its own group."""

    def construct(self, x, y):
        z = ops.ExpandDims()(x, 1) * ops.ExpandDims()(y, 0)
        return z.reshape(x.shape[0], y.shape[0], 1) * 2.0


def test_a_reshape_of_two_batch_dims(tmp_path):
    described = Tensor(shape=[None], dtype=mstype.float32)
    path = cellc.export(Outer(), described, described, file_name=str(tmp_path / "outer"))
    entry = runtime.load(path)["Outer"]
    assert entry.manifest["outputs"][0]["shape"] == [-1, -1, 1]
    for batch in (1, 6):
        x = np.arange(batch, dtype=np.float32)
        np.testing.assert_array_equal(entry(x, x + 1), 2 * np.outer(x, x + 1)[:, :, None])


LAYERS = {
    "avg_pool": (lambda: nn.AvgPool2d(2, 2), (2, 6, 6)),
    "layer_norm": (lambda: nn.LayerNorm((6,)), (6,)),
    "log_softmax": (lambda: nn.LogSoftmax(), (6,)),
    "strided_conv": (lambda: nn.Conv2d(2, 3, 3, stride=2, pad_mode="same"), (2, 7, 7)),
}


class SquaredSum(nn.Cell):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def construct(self, x):
        y = self.layer(x)
        return ops.ReduceSum()(y * y)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_and_their_gradients_at_every_batch_size(tmp_path, name):
    make, inner = LAYERS[name]
    net = GradAll(SquaredSum(make()))
    described = Tensor(shape=[None, *inner], dtype=mstype.float32)
    entry = runtime.load(cellc.export(net, described, file_name=str(tmp_path / name)))["GradAll"]
    for batch in (1, 5, 8):
        x = np.random.default_rng(batch).standard_normal((batch, *inner)).astype(np.float32)
        (got,) = entry(x)
        (want,) = net(Tensor(x))
        np.testing.assert_allclose(got, want.asnumpy(), rtol=1e-5, atol=1e-5)


def test_model_train_with_a_described_network_compiles_one_step(compiles):
    from cellc import dataset as ds
    from cellc.train import Model

    net = MLP()
    net.set_inputs(Tensor(shape=[None, 12], dtype=mstype.float32))
    x, y = data(10)
    loader = ds.NumpySlicesDataset({"x": x, "y": y}, shuffle=False).batch(4)  # 4, 4 and 2
    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    model = Model(net, loss, nn.Momentum(net.trainable_params(), 0.1, 0.9), metrics={"acc"})
    model.train(2, loader)
    assert compiles == {"static": 0, "dynamic": 1}
    model.eval(loader)
    assert compiles == {"static": 0, "dynamic": 2}  # the evaluation cell, once


@pytest.mark.parametrize("grad", [GradAll, GradInputsAndWeights])
def test_a_convolution_planned_for_a_large_batch_at_every_batch_size(tmp_path, grad):
    """64 filters of 8 channels: at a dynamic batch the product is planned large and B packed
    into panels, unlike the static code at these batches: the im2col is gathered into the
    panels over the batch (N*OH*OW columns); with the filters' gradient, which reads the
    im2col too, the gather into panels is a second one, and the filter gradient's B,
    (N*OH*OW, 64), is packed with a dynamic depth."""
    net = grad(SquaredSum(nn.Conv2d(8, 64, 3, pad_mode="same", has_bias=True)))
    described = Tensor(shape=[None, 8, 8, 8], dtype=mstype.float32)
    entry = runtime.load(cellc.export(net, described, file_name=str(tmp_path / "conv")))
    for batch in (1, 3, 5):
        x = np.random.default_rng(batch).standard_normal((batch, 8, 8, 8)).astype(np.float32)
        got, want = flat(entry[grad.__name__](x)), flat(net(Tensor(x)))
        assert len(got) == len(want) == (1 if grad is GradAll else 3)
        for mine, theirs in zip(got, want):
            np.testing.assert_allclose(mine, theirs.asnumpy(), rtol=1e-4, atol=1e-4)


def flat(values):
    if isinstance(values, (tuple, list)):
        return [leaf for value in values for leaf in flat(value)]
    return [values]


def check_weight_gradients_at_batches(net: MLP, batches, path, tolerance: float) -> None:
    """Exports the gradient of `net`'s output summed with respect to its weights at a dynamic
    batch and checks it at each of `batches` against float64 (the hidden layer's bias
    gradient is the upstream sum, the output bias's not checked)."""
    inputs, outputs = net.fc1.in_channels, net.fc2.out_channels
    grad = ops.GradOperation(get_by_list=True)(net, net.trainable_params())
    exported = cellc.export(
        grad, Tensor(shape=[None, inputs], dtype=mstype.float32), file_name=str(path)
    )
    entry = runtime.load(exported)["grad_MLP"]
    w1, b1, w2, _ = (p.asnumpy().astype(np.float64) for p in net.get_parameters())
    for batch in batches:
        x = np.random.default_rng(batch).standard_normal((batch, inputs)).astype(np.float32)
        hidden = x.astype(np.float64) @ w1.T + b1
        upstream = (np.ones((batch, outputs)) @ w2) * (hidden > 0)
        got = entry(x)
        np.testing.assert_allclose(got[0], upstream.T @ x, rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(got[1], upstream.sum(0), rtol=tolerance, atol=tolerance)
        np.testing.assert_allclose(
            got[2],
            np.tile(np.maximum(hidden, 0).sum(0), (outputs, 1)),
            rtol=tolerance,
            atol=10 * tolerance,
        )


@pytest.mark.parametrize("threads", ["1", "2"])
def test_blocks_planned_parallel_run_serially_at_a_small_batch(tmp_path, monkeypatch, threads):
    """At the nominal batch the weight gradients' matmuls and transposes are cut into parallel
    blocks; whether they run on the pool is decided at run time (parallel_guards.py): serially
    at a batch of 3 (3 x 256 x 256 multiply-adds), in parallel at 300. Both against float64."""
    monkeypatch.setenv("CELLC_NUM_THREADS", threads)
    check_weight_gradients_at_batches(MLP(256, 256, 10), (3, 300), tmp_path / "w", 2e-4)


def test_each_row_count_of_the_last_register_tile(tmp_path):
    """At a dynamic batch the last register tile has 0 to 5 rows, known at run time; with a
    reduction of 64 or more it switches to a static tile of its count (ragged_tiles.py). Every
    count, in the forward product (96-deep) of a weight gradient, against float64."""
    batches = (1, 2, 3, 4, 5, 6, 7, 11, 16)
    check_weight_gradients_at_batches(MLP(96, 40, 3), batches, tmp_path / "t", 1e-4)
