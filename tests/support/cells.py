"""Small cells the tests share: a function as a cell, gradients of a cell, a one-weight
linear model."""

from __future__ import annotations

import numpy as np

from cellc import Parameter, ParameterTuple, Tensor, nn, ops


class Linear(nn.Cell):
    """x @ w with w = [[1], [2]]: at x = [[1, 1]] the MSE loss against 0 is 9 and its gradient
    [6, 6], so one SGD step with learning rate 0.1 leaves w = [0.4, 1.4]."""

    def __init__(self):
        super().__init__()
        self.w = Parameter(Tensor(np.array([[1.0], [2.0]], np.float32)), name="w")

    def construct(self, x):
        return ops.MatMul()(x, self.w)


class Lambda(nn.Cell):
    """A cell whose construct is `fn`."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def construct(self, *args):
        return self.fn(*args)


class GradAll(nn.Cell):
    """The gradients of `net` with respect to every input, given a sensitivity (the last
    argument): GradOperation(get_all=True, sens_param=True)."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.grad_op = ops.GradOperation(get_all=True, sens_param=True)

    def construct(self, *args):
        return self.grad_op(self.net)(*args)


class Grad(nn.Cell):
    """`grad_op(net)`, or `grad_op(net, weights)` when `weights` are given; `grad_op` is a
    plain GradOperation() unless one is given."""

    def __init__(self, net, grad_op=None, weights=None):
        super().__init__()
        self.net = net
        self.grad_op = ops.GradOperation() if grad_op is None else grad_op
        self.weights = weights

    def construct(self, *args):
        if self.weights is None:
            return self.grad_op(self.net)(*args)
        return self.grad_op(self.net, self.weights)(*args)


class GradInputsAndWeights(nn.Cell):
    """The gradients of `net` with respect to every input and every trainable parameter:
    GradOperation(get_all=True, get_by_list=True)."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.params = ParameterTuple(net.trainable_params())
        self.grad_op = ops.GradOperation(get_all=True, get_by_list=True)

    def construct(self, *args):
        return self.grad_op(self.net, self.params)(*args)
