"""The example model trains, and its compiled gradients equal a hand-written numpy backprop."""

import runpy
from pathlib import Path

import numpy as np

from cellc import Tensor

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mlp_regression.py"
example = runpy.run_path(str(EXAMPLE))


def test_the_mlp_example_learns():
    losses = example["train"](steps=200, verbose=False)
    assert losses[-1] < 0.2 * losses[0]


def test_the_mlp_gradient_equals_numpy_backprop():
    x, y = example["synthetic_tile"](pixels=16, bands=6, seed=3)
    network = example["PixelMLP"](bands=6, hidden=8, outputs=2)
    step = example["TrainGrad"](network)
    loss, grads = step(Tensor(x), Tensor(y))

    w1, b1 = network.fc1.weight.asnumpy(), network.fc1.bias.asnumpy()
    w2, b2 = network.fc2.weight.asnumpy(), network.fc2.bias.asnumpy()
    h = np.tanh(x @ w1.T + b1)
    out = h @ w2.T + b2
    d_out = 2 * (out - y) / out.size
    d_pre = (d_out @ w2) * (1 - h * h)
    expected = [d_pre.T @ x, d_pre.sum(0), d_out.T @ h, d_out.sum(0)]
    assert [p.name for p in step.weights] == [
        "loss._backbone.fc1.weight",
        "loss._backbone.fc1.bias",
        "loss._backbone.fc2.weight",
        "loss._backbone.fc2.bias",
    ]
    np.testing.assert_allclose(loss.asnumpy(), np.mean((out - y) ** 2), rtol=1e-5)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-4, atol=1e-6)


CLASSIFIER = runpy.run_path(str(EXAMPLE.parent / "classifier.py"))


def test_the_classifier_example_learns():
    _, losses, held_out = CLASSIFIER["train"](steps=60, verbose=False)
    assert losses[-1] < 0.2 * losses[0]
    assert held_out > 0.9


def test_the_classifier_gradient_equals_numpy_backprop():
    x, label = CLASSIFIER["synthetic_pixels"](pixels=16, seed=3)
    network = CLASSIFIER["PixelClassifier"](bands=6, hidden=8, classes=3)
    step = CLASSIFIER["TrainGrad"](network)
    loss, grads = step(Tensor(x), Tensor(label))

    w1, b1 = network.fc1.weight.asnumpy(), network.fc1.bias.asnumpy()
    w2, b2 = network.fc2.weight.asnumpy(), network.fc2.bias.asnumpy()
    pre = x @ w1.T + b1
    h = np.maximum(pre, 0)
    logits = h @ w2.T + b2
    e = np.exp(logits - logits.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    one_hot = np.eye(3)[label]
    d_logits = (p - one_hot) / len(x)
    d_pre = (d_logits @ w2) * (pre > 0)
    expected = [d_pre.T @ x, d_pre.sum(0), d_logits.T @ h, d_logits.sum(0)]
    np.testing.assert_allclose(loss.asnumpy(), -np.mean(np.log(p[np.arange(16), label])), rtol=1e-5)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-4, atol=1e-6)
