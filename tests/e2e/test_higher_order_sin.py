"""MindSpore's higher-order derivative tutorial: GradOperation of GradOperation of sin."""

import numpy as np

import cellc.nn as nn
import cellc.ops as ops
from cellc import Tensor
from cellc import dtype as mstype


class Net(nn.Cell):
    def __init__(self):
        super().__init__()
        self.sin = ops.Sin()

    def construct(self, x):
        return self.sin(x)


class Grad(nn.Cell):
    def __init__(self, network):
        super().__init__()
        self.grad = ops.GradOperation()
        self.network = network

    def construct(self, x):
        return self.grad(self.network)(x)


def test_second_and_third_derivatives_of_sin():
    x = Tensor([3.1415926], dtype=mstype.float32)
    first = Grad(Net())(x).asnumpy()
    second = Grad(Grad(Net()))(x).asnumpy()
    third = Grad(Grad(Grad(Net())))(x).asnumpy()
    np.testing.assert_allclose(first, np.cos([3.1415926]), rtol=1e-6)
    np.testing.assert_allclose(second, -np.sin([3.1415926]), atol=1e-6)
    np.testing.assert_allclose(third, -np.cos([3.1415926]), rtol=1e-6)
