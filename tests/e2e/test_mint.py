"""`mindspore.mint`: the PyTorch-style names and argument conventions (transpose swaps two dims,
flatten starts at dim 0, add takes alpha, max along a dim gives values and indices, Linear and
Conv2d take `bias` and `padding`), against numpy; a mint.nn layer's weight gradient against its
closed form; `import mindspore.mint` under cellc's aliases."""

from __future__ import annotations

import numpy as np
import pytest
from support.cells import GradInputsAndWeights, Lambda

import cellc.compat
from cellc import Tensor, mint, nn, ops
from cellc.mint.nn import functional as MF

RNG = np.random.default_rng(9)
X = RNG.uniform(-1, 1, (2, 3, 4)).astype(np.float32)
IMG = RNG.uniform(-1, 1, (1, 3, 6, 6)).astype(np.float32)


def _mint_values(x):
    values, indices = mint.max(x, 2, keepdim=True)
    return (
        mint.transpose(x, 0, 2),
        mint.flatten(x),
        mint.add(x, x, alpha=2),
        mint.sub(x, 1.0, alpha=3),
        mint.sum(x, 1, True),
        mint.mean(x, (0, 2)),
        values,
        indices,
        mint.max(x),
        mint.cat((x, x), 1),
        mint.unsqueeze(x, 0),
        MF.softmax(x, dim=1),
        MF.log_softmax(x, dim=-1),
        MF.leaky_relu(x, 0.1),
        MF.layer_norm(x, (4,)),
        MF.linear(x, x[0]),
    )


def _numpy_values(x):
    softmax = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    centered = x - x.mean(-1, keepdims=True)
    return (
        x.transpose(2, 1, 0),
        x.reshape(-1),
        3 * x,
        x - 3.0,
        x.sum(1, keepdims=True),
        x.mean((0, 2)),
        x.max(2, keepdims=True),
        x.argmax(2)[..., None],
        x.max(),
        np.concatenate((x, x), 1),
        x[None],
        softmax,
        x - np.log(np.exp(x).sum(-1, keepdims=True)),
        np.where(x > 0, x, 0.1 * x),
        centered / np.sqrt((centered**2).mean(-1, keepdims=True) + 1e-5),
        x @ x[0].T,
    )


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_mint_functions_follow_pytorch_conventions(compiled):
    got = Lambda(_mint_values)(Tensor(X)) if compiled else _mint_values(Tensor(X))
    for index, (g, w) in enumerate(zip(got, _numpy_values(X), strict=True)):
        assert g.shape == np.shape(w), index
        np.testing.assert_allclose(g.asnumpy(), w, rtol=2e-5, atol=2e-6, err_msg=str(index))


def test_mint_layers_take_pytorch_arguments():
    linear = mint.nn.Linear(4, 5)
    want = X @ linear.weight.asnumpy().T + linear.bias.asnumpy()
    np.testing.assert_allclose(linear(Tensor(X)).asnumpy(), want, rtol=1e-5, atol=1e-6)
    assert [p.name for p in mint.nn.Linear(4, 5, bias=False).trainable_params()] == ["weight"]
    conv = mint.nn.Conv2d(3, 2, 3, padding=1)
    same = ops.conv2d(Tensor(IMG), conv.weight, conv.bias, pad_mode="same")
    np.testing.assert_allclose(conv(Tensor(IMG)).asnumpy(), same.asnumpy(), rtol=1e-5, atol=1e-6)
    functional = MF.conv2d(Tensor(IMG), conv.weight, conv.bias, padding=(1, 1))
    np.testing.assert_allclose(functional.asnumpy(), same.asnumpy(), rtol=1e-5, atol=1e-6)
    norm = mint.nn.LayerNorm(4, elementwise_affine=False)
    assert norm.trainable_params() == []
    batch = mint.nn.BatchNorm2d(3)
    assert batch.momentum == pytest.approx(0.9)  # PyTorch's 0.1 for the new batch
    assert MF.one_hot(Tensor(np.array([0, 2]))).tolist() == [[1, 0, 0], [0, 0, 1]]


def test_a_mint_linear_learns_like_a_dense():
    """d sum(linear(x) * s) / d weight = s^T x, / d bias = sum(s)."""
    linear = mint.nn.Linear(4, 5)
    scores = RNG.uniform(-1, 1, (6, 5)).astype(np.float32)
    x = RNG.uniform(-1, 1, (6, 4)).astype(np.float32)

    class Scored(nn.Cell):
        def __init__(self):
            super().__init__()
            self.linear = linear

        def construct(self, v):
            return (MF.relu(self.linear(v)) * Tensor(scores)).sum()

    _, (d_weight, d_bias) = GradInputsAndWeights(Scored())(Tensor(x))
    active = (x @ linear.weight.asnumpy().T + linear.bias.asnumpy()) > 0
    np.testing.assert_allclose(d_weight.asnumpy(), (scores * active).T @ x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d_bias.asnumpy(), (scores * active).sum(0), rtol=1e-5, atol=1e-6)


def test_mindspore_mint_imports_under_the_aliases():
    cellc.compat.install()
    try:
        import mindspore.mint.nn.functional as aliased  # noqa: PLC0415 (the alias is the point)

        assert aliased.relu is MF.relu
        with pytest.raises(AttributeError, match="cellc has no mindspore.mint.baddbmm yet"):
            mint.baddbmm  # noqa: B018
    finally:
        cellc.compat.uninstall()
