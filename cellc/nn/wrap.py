"""MindSpore's training cells: `nn.TrainOneStepCell`, `nn.WithEvalCell`,
`nn.ForwardValueAndGrad`, `nn.DistributedGradReducer` (`nn.WithLossCell` is in layers.py).

`TrainOneStepCell(network, optimizer, sens=1.0)` is one training step: the loss, its gradients
with respect to the optimizer's Parameters, and the optimizer's update, traced into ONE compiled
function that updates the weights and the optimizer state as it runs and returns the loss.

Data-parallel training (`context.set_auto_parallel_context(parallel_mode=DATA_PARALLEL)` after
`communication.init()`): the step's gradients are all-reduced across the processes by a
`DistributedGradReducer`, as in MindSpore. The step then runs split around that collective: one
compiled program for the loss and the gradients, the all-reduce (MPI), one compiled program for
the optimizer's update. Every process starts from rank 0's weights (broadcast when the step is
built).
"""

from __future__ import annotations

import numpy as np

from cellc import context, ops
from cellc.calling import wrap_results
from cellc.communication import engine
from cellc.communication.management import GlobalComm, check_group, get_group_size
from cellc.ops import functional as F
from cellc.ops.collective import AllReduce, ReduceOp
from cellc.ops.state import depend
from cellc.parameter import ParameterTuple
from cellc.tensor import Tensor

from .cell import Cell


class TrainOneStepCell(Cell):
    """`loss = network(*inputs)`; gradients of `loss * sens` with respect to the optimizer's
    Parameters; in DATA_PARALLEL mode, the gradients all-reduced (`grad_reducer`, averaged
    when `gradients_mean`); `optimizer(gradients)`; returns the loss."""

    def __init__(self, network, optimizer, sens=None, return_grad=False):
        super().__init__(auto_prefix=False)
        self.network = network
        self.network.set_grad()
        self.optimizer = optimizer
        self.weights = ParameterTuple(optimizer.parameters)
        self.sens = 1.0 if sens is None else float(sens)
        self.return_grad = bool(return_grad)
        self.grad = ops.GradOperation(get_by_list=True, sens_param=True)
        self.loss_and_grads = _LossAndGrads(self.network, self.weights, self.grad, self.sens)
        self.reducer_flag = context.data_parallel()
        self.grad_reducer = _identity
        if self.reducer_flag:
            self.mean = context.get_auto_parallel_context("gradients_mean")
            self.degree = context.get_auto_parallel_context("device_num")
            self.grad_reducer = DistributedGradReducer(self.weights, self.mean, self.degree)
            broadcast_parameters(list(network.get_parameters()))

    def construct(self, *inputs):
        loss, grads = self.loss_and_grads(*inputs)
        grads = self.grad_reducer(grads)
        loss = depend(loss, self.optimizer(grads))
        if self.return_grad:
            return loss, grads
        return loss


class _LossAndGrads(Cell):
    """The loss and its gradients with respect to `weights` (of `loss * sens`): inlined in a
    step compiled whole, one compiled program of its own in a step split around the
    all-reduce."""

    def __init__(self, network, weights, grad, sens):
        super().__init__(auto_prefix=False)
        self.network = network
        self.weights = weights
        self.grad = grad
        self.sens = sens

    def construct(self, *inputs):
        loss = self.network(*inputs)
        sens = F.mul(F.as_tensor(self.sens, like=loss), F.add(F.mul(loss, 0.0), 1.0))
        return loss, self.grad(self.network, self.weights)(*inputs, sens)


def _identity(grads):
    return grads


class DistributedGradReducer(Cell):
    """MindSpore's gradient reducer for data-parallel training: `construct(grads)` returns each
    gradient summed over every process of the job and, with `mean`, multiplied by `1 / degree`
    (a float32 factor, as MindSpore's). The sums are one MPI all-reduce per dtype over all the
    gradients at once (MindSpore's fusion). `mean=None` takes the context's `gradients_mean`;
    `degree=None` the job's size. Needs `communication.init()` first."""

    def __init__(self, parameters, mean=None, degree=None, fusion_type=1,
                 group=GlobalComm.WORLD_COMM_GROUP):  # fmt: skip
        super().__init__(auto_prefix=False)
        check_group("DistributedGradReducer", group)
        if degree is None:
            degree = get_group_size(group)
        elif not isinstance(degree, int) or isinstance(degree, bool) or degree <= 0:
            raise ValueError(
                "For 'DistributedGradReducer', parameter 'degree' in DistributedGradReducer "
                f"should large than 0 and be int, degree: {degree}."
            )
        self.degree = degree
        self.mean = context.get_auto_parallel_context("gradients_mean") if mean is None else mean
        if not isinstance(self.mean, bool):
            raise TypeError(
                f"For 'DistributedGradReducer', 'mean' must be a bool, got {self.mean!r}"
            )
        self.count = len(list(parameters))
        self.allreduce = AllReduce(ReduceOp.SUM, group)

    def construct(self, grads):
        grads = tuple(grads)
        if len(grads) != self.count:
            raise ValueError(
                f"For 'DistributedGradReducer', got {len(grads)} gradients for the "
                f"{self.count} parameters it was built with"
            )
        summed = self.allreduce.fused(grads)
        if not self.mean:
            return summed
        scale = np.float32(1.0 / self.degree)
        return tuple(Tensor(g.asnumpy() * scale.astype(g.asnumpy().dtype)) for g in summed)


def broadcast_parameters(parameters) -> None:
    """Gives every Parameter rank 0's value, in every process of a job of several (in place:
    compiled code shares the arrays); alone, nothing to do."""
    if not engine.is_parallel():
        return
    arrays = [param.asnumpy() for param in parameters]
    for array, value in zip(arrays, engine.broadcast(arrays, root=0)):
        np.copyto(array, value)


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


__all__ = [
    "DistributedGradReducer",
    "ForwardValueAndGrad",
    "GraphCell",
    "TrainOneStepCell",
    "WithEvalCell",
]


class GraphCell(Cell):
    """MindSpore's `nn.GraphCell(graph)`: a cell that runs a loaded graph (`cellc.load` of an
    exported artifact) on its inputs. The graph is compiled code already, so the cell runs it
    directly; it cannot be called inside another cell's construct (that is traced)."""

    def __init__(self, graph, params_init=None, obf_random_seed=None):
        super().__init__()
        entries = getattr(graph, "entries", None)
        if entries is None:
            raise TypeError(
                f"GraphCell: graph must be what cellc.load returned, not {type(graph).__name__}"
            )
        if len(entries) != 1:
            raise ValueError(
                f"GraphCell: the graph has {len(entries)} entries ({', '.join(entries)}); "
                "it runs one"
            )
        if params_init:
            for name, value in params_init.items():
                graph.set_parameter(name, value.asnumpy() if isinstance(value, Tensor) else value)
        self.graph = graph
        self._entry = next(iter(entries.values()))

    def __call__(self, *inputs):
        if any(isinstance(x, Tensor) and x._symbol is not None for x in inputs):
            raise TypeError(
                "GraphCell runs compiled code: it cannot be called inside a traced construct"
            )
        outputs = self._entry(*(x.asnumpy() if isinstance(x, Tensor) else x for x in inputs))
        return wrap_results(outputs)
