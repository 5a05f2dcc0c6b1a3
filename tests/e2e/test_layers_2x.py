"""MindSpore's layers built on the 2.x functions: Embedding, PReLU, GroupNorm, the activations
SiLU/Mish/Softplus/ReLU6/Hardtanh, Identity, ZeroPad2d and the losses BCELoss, SmoothL1Loss,
HuberLoss and KLDivLoss. Values against numpy formulas of MindSpore's documented rules,
compiled; the gradients of the learned weights against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from support.cells import GradInputsAndWeights

from cellc import Tensor, nn

RNG = np.random.default_rng(3)
X = RNG.uniform(-3, 3, (2, 4, 3, 3))
Y = RNG.uniform(-3, 3, (2, 4, 3, 3))
P = RNG.uniform(0.05, 0.95, (2, 5))
IDS = np.array([[1, 0, 3], [3, 3, 2]], np.int32)


def _softplus(x):
    return np.log1p(np.exp(x))


def _group_norm(x, groups, gamma, beta, eps=1e-5):
    grouped = x.reshape(x.shape[0], groups, -1)
    normalized = (grouped - grouped.mean(2, keepdims=True)) / np.sqrt(
        grouped.var(2, keepdims=True) + eps
    )
    return normalized.reshape(x.shape) * gamma[:, None, None] + beta[:, None, None]


ACTIVATIONS = {
    "SiLU": (nn.SiLU(), lambda x: x / (1 + np.exp(-x))),
    "Mish": (nn.Mish(), lambda x: x * np.tanh(_softplus(x))),
    "Softplus": (nn.Softplus(2, 4), lambda x: np.where(2 * x > 4, x, _softplus(2 * x) / 2)),
    "ReLU6": (nn.ReLU6(), lambda x: np.clip(x, 0, 6)),
    "Hardtanh": (nn.Hardtanh(-0.5, 2.0), lambda x: np.clip(x, -0.5, 2.0)),
    "Identity": (nn.Identity(), lambda x: x),
    "PReLU-1": (nn.PReLU(), lambda x: np.where(x > 0, x, 0.25 * x)),
    "PReLU-4": (
        nn.PReLU(4, [0.1, 0.2, 0.3, 0.4]),
        lambda x: np.where(x > 0, x, np.array([0.1, 0.2, 0.3, 0.4])[:, None, None] * x),
    ),
    "GroupNorm": (nn.GroupNorm(2, 4), lambda x: _group_norm(x, 2, np.ones(4), np.zeros(4))),
    "ZeroPad2d": (
        nn.ZeroPad2d((1, 2, 0, 1)),
        lambda x: np.pad(x, [(0, 0), (0, 0), (0, 1), (1, 2)]),
    ),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_layer_values(name):
    layer, reference = ACTIVATIONS[name]
    got = layer(Tensor(X.astype(np.float32))).asnumpy()
    np.testing.assert_allclose(got, reference(X), rtol=2e-5, atol=2e-5)


LOSSES = {
    "BCELoss": (
        nn.BCELoss(reduction="sum"),
        P,
        np.round(P),
        lambda p, y: -(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)).sum(),
    ),
    "SmoothL1Loss": (
        nn.SmoothL1Loss(0.7),
        X,
        Y,
        lambda a, b: np.where(np.abs(a - b) < 0.7, 0.5 * (a - b) ** 2 / 0.7, np.abs(a - b) - 0.35),
    ),
    "HuberLoss": (
        nn.HuberLoss(delta=1.5),
        X,
        Y,
        lambda a, b: np.mean(
            np.where(np.abs(a - b) <= 1.5, 0.5 * (a - b) ** 2, 1.5 * (np.abs(a - b) - 0.75))
        ),
    ),
    "KLDivLoss": (
        nn.KLDivLoss("batchmean"),
        np.log(P),
        P[::-1],
        lambda logp, q: (q * (np.log(q) - logp)).sum() / 2,
    ),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_values(name):
    loss, logits, labels, reference = LOSSES[name]
    got = loss(Tensor(logits.astype(np.float32)), Tensor(labels.astype(np.float32))).asnumpy()
    np.testing.assert_allclose(got, reference(logits, labels), rtol=2e-5, atol=2e-5)


def test_embedding_looks_up_rows_and_zeroes_the_padding_row():
    table = RNG.uniform(-1, 1, (4, 3)).astype(np.float32)
    gather = nn.Embedding(4, 3, embedding_table=Tensor(table), padding_idx=3)
    one_hot = nn.Embedding(4, 3, use_one_hot=True, embedding_table=Tensor(table))
    want = table[IDS]
    np.testing.assert_allclose(one_hot(Tensor(IDS)).asnumpy(), want, rtol=1e-6)
    want[IDS == 3] = 0
    got = gather(Tensor(IDS)).asnumpy()
    assert got.shape == (2, 3, 3)
    np.testing.assert_array_equal(got, want)
    drawn = nn.Embedding(50, 8).embedding_table.asnumpy()  # 'normal': N(0, 0.01)
    assert drawn.shape == (50, 8) and 0.005 < drawn.std() < 0.02


def test_a_bad_embedding_or_group_count_is_named():
    with pytest.raises(ValueError, match="padding_idx must be in"):
        nn.Embedding(4, 3, padding_idx=4)
    with pytest.raises(ValueError, match="num_channels 6 must be divisible by num_groups 4"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="'PReLU', the input's channels"):
        nn.PReLU(3)(Tensor(X))


class Scored(nn.Cell):
    """sum(layer(x) * weights): a scalar whose gradients reach every weight of the layer."""

    def __init__(self, layer, weights):
        super().__init__()
        self.layer = layer
        self.weights = Tensor(weights)

    def construct(self, x):
        return (self.layer(x) * self.weights).sum()


SCORES = RNG.uniform(-1, 1, X.shape)


def _prelu_grads(layer):
    return [(SCORES * np.minimum(X, 0)).sum(axis=(0, 2, 3))]


def _group_norm_grads(layer):
    normalized = _group_norm(X, 2, np.ones(4), np.zeros(4))
    return [(SCORES * normalized).sum(axis=(0, 2, 3)), SCORES.sum(axis=(0, 2, 3))]


def _embedding_grads(layer):
    scores = SCORES[:, 0, :3, :3].reshape(2, 3, 3)
    table = np.zeros((4, 3))
    np.add.at(table, IDS, scores)
    return [table]


@pytest.mark.parametrize(
    ("make", "closed_form"),
    [
        (lambda: nn.PReLU(4, [0.1, -0.2, 0.3, 0.5]), _prelu_grads),
        (
            lambda: nn.GroupNorm(2, 4, gamma_init=Tensor(np.array([1.0, 2, 0.5, -1]))),
            _group_norm_grads,
        ),
        (lambda: nn.Embedding(4, 3), _embedding_grads),
    ],
    ids=["PReLU", "GroupNorm", "Embedding"],
)
def test_weight_gradients_match_closed_forms(make, closed_form):
    """d sum(layer(x) * scores) / d weights: PReLU's slopes get the scores times min(x, 0),
    GroupNorm's gamma the scores times the normalized input and beta the scores, and each row
    of the embedding table the scores of the positions that looked it up."""
    layer = make()
    is_embedding = isinstance(layer, nn.Embedding)
    scores = SCORES[:, 0, :3, :3].reshape(2, 3, 3) if is_embedding else SCORES
    net = Scored(layer, scores.astype(np.float32))
    x = Tensor(IDS) if is_embedding else Tensor(X.astype(np.float32))
    _, grads = GradInputsAndWeights(net)(x)
    for got, want in zip(grads, closed_form(layer), strict=True):
        np.testing.assert_allclose(got.asnumpy(), want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize(
    ("batch", "pad_mode", "stride"), [(5, "same", 1), (2, "valid", 2), (3, "pad", 1)]
)
def test_conv1d_adds_its_bias_per_channel(batch, pad_mode, stride):
    """(N, C, L) -> (N, O, L'): sum over c, k of w[o, c, 0, k] * x[n, c, l * stride + k - pad]
    + bias[o]; with N == O (5), a bias broadcast along the batch would also run, wrongly."""
    conv = nn.Conv1d(3, 5, 3, stride, pad_mode, padding=1, has_bias=True, bias_init="normal")
    x = RNG.uniform(-1, 1, (batch, 3, 7)).astype(np.float32)
    w, b = conv.weight.asnumpy()[:, :, 0, :], conv.bias.asnumpy()
    pad = {"same": 1, "valid": 0, "pad": 1}[pad_mode]
    padded = np.pad(x, [(0, 0), (0, 0), (pad, pad)])
    length = (padded.shape[2] - 3) // stride + 1
    want = (
        np.stack(
            [
                np.einsum("nck,ock->no", padded[:, :, i * stride : i * stride + 3], w)
                for i in range(length)
            ],
            axis=2,
        )
        + b[None, :, None]
    )
    got = conv(Tensor(x)).asnumpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _pixel_shuffle(x, r):
    n, c, h, w = x.shape
    return (
        x.reshape(n, c // (r * r), r, r, h, w)
        .transpose(0, 1, 4, 2, 5, 3)
        .reshape(n, c // (r * r), h * r, w * r)
    )


def _instance_norm(x, eps=1e-5):
    mean = x.mean((2, 3), keepdims=True)
    return (x - mean) / np.sqrt(x.var((2, 3), keepdims=True) + eps)


SEQ = X.reshape(2, 4, 9)
SHAPING = {
    "ConstantPad2d": (
        nn.ConstantPad2d((1, 0, 2, 1), -2.0),
        X,
        lambda x: np.pad(x, [(0, 0), (0, 0), (2, 1), (1, 0)], constant_values=-2),
    ),
    "ConstantPad1d": (
        nn.ConstantPad1d(2, 3.0),
        SEQ,
        lambda x: np.pad(x, [(0, 0), (0, 0), (2, 2)], constant_values=3),
    ),
    "ZeroPad2d": (
        nn.ZeroPad2d((1, 2, 0, 1)),
        X,
        lambda x: np.pad(x, [(0, 0), (0, 0), (0, 1), (1, 2)]),
    ),
    "ReflectionPad2d": (
        nn.ReflectionPad2d((2, 1, 1, 2)),
        X,
        lambda x: np.pad(x, [(0, 0), (0, 0), (1, 2), (2, 1)], mode="reflect"),
    ),
    "ReflectionPad1d": (
        nn.ReflectionPad1d((3, 1)),
        SEQ,
        lambda x: np.pad(x, [(0, 0), (0, 0), (3, 1)], mode="reflect"),
    ),
    "ReplicationPad2d": (
        nn.ReplicationPad2d(2),
        X,
        lambda x: np.pad(x, [(0, 0), (0, 0), (2, 2), (2, 2)], mode="edge"),
    ),
    "MaxPool1d": (
        nn.MaxPool1d(3, 2),
        SEQ,
        lambda x: np.stack([x[:, :, i : i + 3].max(2) for i in range(0, 7, 2)], 2),
    ),
    "AvgPool1d": (nn.AvgPool1d(2, 2), SEQ, lambda x: (x[:, :, 0:8:2] + x[:, :, 1:8:2]) / 2),
    "PixelShuffle": (nn.PixelShuffle(2), X, lambda x: _pixel_shuffle(x, 2)),
    "Threshold": (nn.Threshold(0.5, -1.0), X, lambda x: np.where(x > 0.5, x, -1.0)),
    "Unflatten": (nn.Unflatten(2, (3, 3)), SEQ, lambda x: x.reshape(2, 4, 3, 3)),
    "InstanceNorm2d": (nn.InstanceNorm2d(4), X, _instance_norm),
}


@pytest.mark.parametrize("name", sorted(SHAPING))
def test_shaping_layer_values(name):
    layer, x, reference = SHAPING[name]
    got = layer(Tensor(x.astype(np.float32))).asnumpy()
    want = reference(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


def test_reflection_padding_sends_each_gradient_back_to_its_source():
    """d sum(pad(x) * s) / dx: each input element gets the scores of every place it was copied
    to (np.pad's reflect, applied to the index grid, says where)."""
    x = X[:, :, :, :].astype(np.float32)
    pad = nn.ReflectionPad2d((2, 1, 1, 2))
    scores = RNG.uniform(-1, 1, (2, 4, 6, 6))
    net = Scored(pad, scores.astype(np.float32))
    (grad,), _ = GradInputsAndWeights(net)(Tensor(x))
    sources = np.pad(np.arange(9).reshape(3, 3), [(1, 2), (2, 1)], mode="reflect")
    want = np.zeros((2, 4, 9))
    for (i, j), source in np.ndenumerate(sources):
        want[:, :, source] += scores[:, :, i, j]
    np.testing.assert_allclose(grad.asnumpy(), want.reshape(2, 4, 3, 3), rtol=1e-5, atol=1e-6)


def test_pixel_unshuffle_undoes_pixel_shuffle_also_without_a_batch():
    x = Tensor(X.reshape(2, 4, 3, 3).astype(np.float32))
    shuffled = nn.PixelShuffle(2)(x)
    np.testing.assert_array_equal(shuffled.asnumpy(), _pixel_shuffle(X.astype(np.float32), 2))
    np.testing.assert_array_equal(nn.PixelUnshuffle(2)(shuffled).asnumpy(), x.asnumpy())
    single = nn.PixelShuffle(2)(Tensor(np.arange(16.0).reshape(4, 2, 2)))
    np.testing.assert_array_equal(
        single.asnumpy(), _pixel_shuffle(np.arange(16.0).reshape(1, 4, 2, 2), 2)[0]
    )


def _soft(x):
    return np.log1p(np.exp(x))


T = np.where(RNG.uniform(-1, 1, (3, 4)) > 0, 1.0, -1.0)
U, V = RNG.uniform(-1, 1, (3, 4)), RNG.uniform(-1, 1, (3, 4))
COS = (U * V).sum(1) / np.sqrt((U * U).sum(1) * (V * V).sum(1))
MORE_LOSSES = {
    "MarginRankingLoss": (
        lambda: nn.MarginRankingLoss(0.2),
        (U, V, T),
        lambda a, b, t: np.maximum(-t * (a - b) + 0.2, 0).mean(),
    ),
    "HingeEmbeddingLoss": (
        lambda: nn.HingeEmbeddingLoss(0.5, "sum"),
        (U, T),
        lambda x, t: np.where(t > 0, x, np.maximum(0.5 - x, 0)).sum(),
    ),
    "SoftMarginLoss": (lambda: nn.SoftMarginLoss(), (U, T), lambda x, t: _soft(-t * x).mean()),
    "MultiLabelSoftMarginLoss": (
        lambda: nn.MultiLabelSoftMarginLoss(reduction="none"),
        (U, (T > 0).astype(float)),
        lambda x, t: (t * _soft(-x) + (1 - t) * _soft(x)).mean(1),
    ),
    "GaussianNLLLoss": (
        lambda: nn.GaussianNLLLoss(full=True),
        (U, V, np.abs(U[:, 0]) + 0.1),
        lambda x, y, v: (
            0.5 * (np.log(v[:, None]) + (x - y) ** 2 / v[:, None]) + 0.5 * np.log(2 * np.pi)
        ).mean(),
    ),
    "CosineEmbeddingLoss": (
        lambda: nn.CosineEmbeddingLoss(0.1, "none"),
        (U, V, T[:, 0]),
        lambda a, b, t: np.where(t == 1, 1 - COS, np.maximum(COS - 0.1, 0)),
    ),
    "TripletMarginLoss": (
        lambda: nn.TripletMarginLoss(margin=0.5),
        (U, V, T),
        lambda a, p, n: np.maximum(
            np.linalg.norm(a - p + 1e-6, axis=1) - np.linalg.norm(a - n + 1e-6, axis=1) + 0.5, 0
        ).mean(),
    ),
}


@pytest.mark.parametrize("name", sorted(MORE_LOSSES))
def test_more_losses_follow_their_formulas(name):
    make, args, reference = MORE_LOSSES[name]
    got = make()(*(Tensor(a.astype(np.float32)) for a in args)).asnumpy()
    np.testing.assert_allclose(got, reference(*args), rtol=2e-5, atol=2e-6)


def test_random_functions_are_seeded_and_refused_inside_a_construct():
    from cellc import ops, set_seed

    set_seed(7)
    first = ops.randn(2, 3).asnumpy()
    set_seed(7)
    assert np.array_equal(ops.randn((2, 3)).asnumpy(), first)
    assert ops.rand(4, seed=1).asnumpy().tolist() == ops.rand(4, seed=1).asnumpy().tolist()
    ints = ops.randint(2, 5, (100,)).asnumpy()
    assert ints.dtype == np.int64 and ints.min() >= 2 and ints.max() < 5
    assert ops.randn_like(Tensor(np.zeros((2, 2), np.float64))).dtype == Tensor(np.zeros(1)).dtype
    drawn = ops.uniform((1000,), Tensor(1.0), Tensor(2.0)).asnumpy()
    assert 1 <= drawn.min() and drawn.max() < 2

    class Noisy(nn.Cell):
        def construct(self, x):
            return x + ops.randn(2)

    with pytest.raises(Exception, match="ops.randn inside a compiled construct"):
        Noisy()(Tensor(np.zeros(2, np.float32)))


def test_channel_shuffle_instance_norm_1d_and_avg_pool_counting_padding():
    x = RNG.uniform(-1, 1, (2, 6, 3, 3))
    got = nn.ChannelShuffle(3)(Tensor(x.astype(np.float32))).asnumpy()
    np.testing.assert_array_equal(
        got, x.reshape(2, 3, 2, 3, 3).transpose(0, 2, 1, 3, 4).reshape(x.shape).astype(np.float32)
    )
    seq = RNG.uniform(-1, 1, (2, 4, 7))
    want = (seq - seq.mean(2, keepdims=True)) / np.sqrt(seq.var(2, keepdims=True) + 1e-5)
    np.testing.assert_allclose(
        nn.InstanceNorm1d(4)(Tensor(seq.astype(np.float32))).asnumpy(), want, rtol=2e-5, atol=2e-5
    )
    counted = nn.AvgPool2d(3, 2, pad_mode="pad", padding=1)(
        Tensor(IMG_SMALL.astype(np.float32))
    ).asnumpy()
    padded = np.pad(IMG_SMALL, [(0, 0), (0, 0), (1, 1), (1, 1)])
    want = np.stack(
        [
            [padded[:, :, i : i + 3, j : j + 3].mean((2, 3)) for j in range(0, 5, 2)]
            for i in range(0, 5, 2)
        ]
    )
    np.testing.assert_allclose(counted, want.transpose(2, 3, 0, 1), rtol=2e-5, atol=2e-6)


IMG_SMALL = RNG.uniform(-1, 1, (1, 2, 5, 5))


def test_bidense_is_a_bilinear_form_per_output():
    layer = nn.BiDense(3, 4, 5)
    x1, x2 = RNG.uniform(-1, 1, (2, 7, 3)), RNG.uniform(-1, 1, (2, 7, 4))
    got = layer(Tensor(x1.astype(np.float32)), Tensor(x2.astype(np.float32))).asnumpy()
    want = np.einsum("bti,oij,btj->bto", x1, layer.weight.asnumpy(), x2) + layer.bias.asnumpy()
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_channel_dropout_layers_drop_whole_channels_in_training_only():
    x = Tensor(RNG.uniform(1, 2, (4, 16, 3, 3)).astype(np.float32))
    layer = nn.Dropout2d(0.5)
    np.testing.assert_array_equal(
        layer(x).asnumpy(), x.asnumpy()
    )  # a new cell is in inference mode
    layer.set_train()
    out = layer(x).asnumpy()
    kept = out[:, :, :1, :1] != 0
    assert ((out != 0) == kept).all()  # all of a channel, or none of it
    np.testing.assert_allclose(
        out[np.broadcast_to(kept, out.shape)],
        2 * x.asnumpy()[np.broadcast_to(kept, out.shape)],
        rtol=1e-6,
    )
    seq = nn.Dropout1d(0.5)
    seq.set_train()
    out = seq(Tensor(RNG.uniform(1, 2, (4, 16, 5)).astype(np.float32))).asnumpy()
    assert ((out != 0) == (out[:, :, :1] != 0)).all()
