"""A real model: a two-layer MLP that learns per-pixel band ratios of a synthetic multispectral
tile (the kind of regression LuoJiaNET users fit), trained with plain SGD.

The forward network and its gradient (GradOperation over the ParameterTuple) are compiled once
to native code; each step runs the compiled gradient with the current Parameter values and
updates them in Python.

    .venv/bin/python examples/mlp_regression.py [--steps 300]
"""

import argparse

import numpy as np

import cellc.nn as nn
import cellc.ops as ops
from cellc import ParameterTuple, Tensor


class PixelMLP(nn.Cell):
    def __init__(self, bands: int, hidden: int, outputs: int):
        super().__init__()
        self.fc1 = nn.Dense(bands, hidden, weight_init="normal", activation="tanh")
        self.fc2 = nn.Dense(hidden, outputs, weight_init="normal")

    def construct(self, x):
        return self.fc2(self.fc1(x))


class TrainGrad(nn.Cell):
    """The loss and its gradient with respect to every trainable weight."""

    def __init__(self, network):
        super().__init__()
        self.loss = nn.WithLossCell(network, nn.MSELoss())
        self.weights = ParameterTuple(network.trainable_params())
        self.grad_op = ops.GradOperation(get_by_list=True)

    def construct(self, x, label):
        return self.loss(x, label), self.grad_op(self.loss, self.weights)(x, label)


def synthetic_tile(pixels: int, bands: int, seed: int = 0):
    """Reflectances in [0.05, 0.6] and two normalized-difference indices per pixel."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.05, 0.6, (pixels, bands)).astype(np.float32)
    ndvi = (x[:, 3] - x[:, 2]) / (x[:, 3] + x[:, 2])
    ndwi = (x[:, 1] - x[:, 3]) / (x[:, 1] + x[:, 3])
    return x, np.stack([ndvi, ndwi], axis=1).astype(np.float32)


def train(steps: int = 300, learning_rate: float = 0.5, verbose: bool = True) -> list[float]:
    x, y = synthetic_tile(pixels=256, bands=6)
    network = PixelMLP(bands=6, hidden=32, outputs=2)
    step = TrainGrad(network)
    losses = []
    for i in range(steps):
        loss, grads = step(Tensor(x), Tensor(y))
        for param, grad in zip(step.weights, grads):
            param.set_data(Tensor(param.asnumpy() - learning_rate * grad.asnumpy()))
        losses.append(float(loss.asnumpy()))
        if verbose and (i % 50 == 0 or i == steps - 1):
            print(f"step {i:4d}  loss {losses[-1]:.5f}")
    return losses


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    train(parser.parse_args().steps)
