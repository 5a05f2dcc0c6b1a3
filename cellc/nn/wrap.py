"""MindSpore's training cells: `nn.TrainOneStepCell`, `nn.WithEvalCell`,
`nn.ForwardValueAndGrad` (`nn.WithLossCell` is in layers.py).

`TrainOneStepCell(network, optimizer, sens=1.0)` is one training step: the loss, its gradients
with respect to the optimizer's Parameters, and the optimizer's update, traced into ONE compiled
function that updates the weights and the optimizer state as it runs and returns the loss.
"""

from __future__ import annotations

from cellc import ops
from cellc.ops import functional as F
from cellc.ops.state import depend
from cellc.parameter import ParameterTuple

from .cell import Cell


class TrainOneStepCell(Cell):
    """`loss = network(*inputs)`; gradients of `loss * sens` with respect to the optimizer's
    Parameters; `optimizer(gradients)`; returns the loss."""

    def __init__(self, network, optimizer, sens=None, return_grad=False):
        super().__init__(auto_prefix=False)
        self.network = network
        self.network.set_grad()
        self.optimizer = optimizer
        self.weights = ParameterTuple(optimizer.parameters)
        self.sens = 1.0 if sens is None else float(sens)
        self.return_grad = bool(return_grad)
        self.grad = ops.GradOperation(get_by_list=True, sens_param=True)

    def construct(self, *inputs):
        loss = self.network(*inputs)
        sens = F.mul(F.as_tensor(self.sens, like=loss), F.add(F.mul(loss, 0.0), 1.0))
        grads = self.grad(self.network, self.weights)(*inputs, sens)
        loss = depend(loss, self.optimizer(grads))
        if self.return_grad:
            return loss, grads
        return loss


class WithEvalCell(Cell):
    """`(loss, outputs, label)` of a network and a loss function, for evaluation."""

    def __init__(self, network, loss_fn, add_cast_fp32=False):
        super().__init__(auto_prefix=False)
        self._network = network
        self._loss_fn = loss_fn
        self.add_cast_fp32 = add_cast_fp32

    def construct(self, data, label):
        outputs = self._network(data)
        if self.add_cast_fp32:
            outputs = F.cast(outputs, label.dtype)
        return self._loss_fn(outputs, label), outputs, label


class ForwardValueAndGrad(Cell):
    """`(loss, gradients)` of a network: with respect to its inputs (`get_all`), to `weights`
    (`get_by_list`), or both, with a sensitivity argument last when `sens_param`."""

    def __init__(self, network, weights=None, get_all=False, get_by_list=False,
                 sens_param=False):  # fmt: skip
        super().__init__(auto_prefix=False)
        if get_by_list and weights is None:
            raise TypeError(
                "For 'ForwardValueAndGrad', get_by_list=True needs the weights (a ParameterTuple)"
            )
        self.network = network
        self.weights = weights
        self.get_by_list = get_by_list
        self.sens_param = sens_param
        self.grad = ops.GradOperation(get_all=get_all, get_by_list=get_by_list,
                                      sens_param=sens_param)  # fmt: skip

    def construct(self, *inputs):
        arguments = inputs[:-1] if self.sens_param else inputs
        loss = self.network(*arguments)
        if self.get_by_list:
            grads = self.grad(self.network, self.weights)(*inputs)
        else:
            grads = self.grad(self.network)(*inputs)
        return loss, grads


__all__ = ["ForwardValueAndGrad", "TrainOneStepCell", "WithEvalCell"]
