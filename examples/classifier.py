"""A real model: an MLP that classifies pixels of a synthetic multispectral tile into three land
cover classes (water, vegetation, bare soil) from six spectral bands, trained with plain SGD on
SoftmaxCrossEntropyWithLogits.

The loss and its gradient (GradOperation over the ParameterTuple) are compiled once to native
code; each step runs the compiled gradient with the current Parameter values and updates them in
Python. Prediction compiles the network alone.

    .venv/bin/python examples/classifier.py [--steps 200]
"""

import argparse

import numpy as np

import cellc.nn as nn
import cellc.ops as ops
from cellc import ParameterTuple, Tensor

CLASSES = ("water", "vegetation", "bare soil")

# Mean reflectance of each class in bands blue, green, red, near infrared, SWIR1, SWIR2:
# water absorbs the infrared, vegetation reflects the near infrared, soil rises steadily.
SIGNATURES = np.array(
    [
        [0.08, 0.07, 0.05, 0.03, 0.02, 0.01],
        [0.04, 0.08, 0.05, 0.45, 0.25, 0.12],
        [0.12, 0.16, 0.21, 0.27, 0.33, 0.30],
    ],
    np.float32,
)


class PixelClassifier(nn.Cell):
    def __init__(self, bands: int, hidden: int, classes: int):
        super().__init__()
        self.fc1 = nn.Dense(bands, hidden, weight_init="normal", activation="relu")
        self.fc2 = nn.Dense(hidden, classes, weight_init="normal")

    def construct(self, x):
        return self.fc2(self.fc1(x))  # logits


class TrainGrad(nn.Cell):
    """The mean cross-entropy and its gradient with respect to every trainable weight."""

    def __init__(self, network):
        super().__init__()
        loss_fn = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
        self.loss = nn.WithLossCell(network, loss_fn)
        self.weights = ParameterTuple(network.trainable_params())
        self.grad_op = ops.GradOperation(get_by_list=True)

    def construct(self, x, label):
        return self.loss(x, label), self.grad_op(self.loss, self.weights)(x, label)


def synthetic_pixels(pixels: int, seed: int = 0):
    """Per pixel: a class, its signature scaled by illumination (0.7-1.3) plus sensor noise;
    bands are standardized. Returns (bands float32 (pixels, 6), class int32 (pixels,))."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, len(CLASSES), pixels).astype(np.int32)
    illumination = rng.uniform(0.7, 1.3, (pixels, 1))
    x = SIGNATURES[label] * illumination + rng.normal(0, 0.03, (pixels, SIGNATURES.shape[1]))
    x = (x - x.mean(0)) / x.std(0)
    return x.astype(np.float32), label


def accuracy(network, x, label) -> float:
    logits = network(Tensor(x)).asnumpy()
    return float(np.mean(logits.argmax(1) == label))


def train(steps: int = 200, learning_rate: float = 0.5, verbose: bool = True, seed: int = 0):
    """Trains on 512 pixels; returns (network, losses, held-out accuracy on 256 pixels)."""
    x, label = synthetic_pixels(512, seed)
    network = PixelClassifier(bands=6, hidden=16, classes=len(CLASSES))
    step = TrainGrad(network)
    losses = []
    for i in range(steps):
        loss, grads = step(Tensor(x), Tensor(label))
        for param, grad in zip(step.weights, grads):
            param.set_data(Tensor(param.asnumpy() - learning_rate * grad.asnumpy()))
        losses.append(float(loss.asnumpy()))
        if verbose and (i % 50 == 0 or i == steps - 1):
            print(f"step {i:4d}  loss {losses[-1]:.4f}")
    test_x, test_label = synthetic_pixels(256, seed + 1)
    held_out = accuracy(network, test_x, test_label)
    if verbose:
        print(f"held-out accuracy {held_out:.3f}")
    return network, losses, held_out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    train(parser.parse_args().steps)
