"""MindSpore's collective primitives: `ops.AllReduce`, `ops.AllGather`, `ops.Broadcast`, with
`ops.ReduceOp`, on the engine of `cellc.communication` (MPI through mpi4py).

A collective is not compiled: its data cross processes. Called on concrete tensors (in a
construct that runs split, see `cellc.nn.cell`, or outside any cell) it is one call of the
engine. Met while a construct is traced it raises `CollectiveInConstruct`, which makes the
calling cell run split around it. Inside a function that GradOperation differentiates there is
no such split (the gradient would have to flow back through the collective), so it is refused,
naming the collective and the line.
"""

from __future__ import annotations

from cellc.calling import CollectiveInConstruct
from cellc.communication import engine
from cellc.communication.management import GlobalComm, check_group
from cellc.errors import UnsupportedError
from cellc.frontend import tracing
from cellc.tensor import Tensor

from .primitives import Primitive


class ReduceOp:
    """The reductions of `AllReduce` (MindSpore's `ops.ReduceOp`)."""

    SUM = "sum"
    MAX = "max"
    MIN = "min"
    PROD = "prod"


class _Collective(Primitive):
    def __init__(self, group=GlobalComm.WORLD_COMM_GROUP):
        if not isinstance(group, str):
            raise TypeError(
                f"For '{self.name}', the argument 'group' must be a str, "
                f"but got {type(group).__name__}"
            )
        self.group = group

    def arrays(self, *tensors) -> list:
        """The tensors' arrays, after MindSpore's checks; while tracing, the signal that splits
        the calling cell (or, under GradOperation, the error)."""
        tracer = tracing.current()
        if tracer is not None:
            where = tracing.user_location()
            if tracer.function is not tracer.functions[0]:
                raise UnsupportedError(
                    f"ops.{self.name}{f' at {where}' if where else ''} is inside a function "
                    "that GradOperation differentiates: cellc has no gradient through a "
                    "collective; reduce the gradients instead (nn.DistributedGradReducer)"
                )
            raise CollectiveInConstruct(f"ops.{self.name}", where)
        check_group(self.name, self.group)
        for tensor in tensors:
            if not isinstance(tensor, Tensor):
                raise TypeError(
                    f"For '{self.name}', the input must be a Tensor, "
                    f"but got {type(tensor).__name__}"
                )
        return [tensor.asnumpy() for tensor in tensors]


class AllReduce(_Collective):
    """`x` reduced elementwise over every process (`op`: ReduceOp.SUM, MAX, MIN, PROD)."""

    name = "AllReduce"

    def __init__(self, op=ReduceOp.SUM, group=GlobalComm.WORLD_COMM_GROUP):
        super().__init__(group)
        if op not in engine.REDUCE_OPS:
            raise TypeError(
                f"For 'AllReduce', the argument 'op' must be one of ReduceOp.SUM, MAX, MIN, "
                f"PROD ({', '.join(engine.REDUCE_OPS)}), but got {op!r}"
            )
        self.op = op

    def __call__(self, x):
        (array,) = self.arrays(x)
        (result,) = engine.all_reduce([array], self.op)
        return Tensor(result)

    def fused(self, tensors) -> tuple:
        """Each tensor reduced, in one engine call per dtype (MindSpore's gradient fusion:
        `nn.DistributedGradReducer`)."""
        arrays = self.arrays(*tensors)
        return tuple(Tensor(a) for a in engine.all_reduce(arrays, self.op))


class AllGather(_Collective):
    """Every process's `x`, concatenated along the first axis in rank order."""

    name = "AllGather"

    def __call__(self, x):
        (array,) = self.arrays(x)
        return Tensor(engine.all_gather(array))


class Broadcast(_Collective):
    """Process `root_rank`'s tensors, in every process: a tuple of tensors in, a tuple out."""

    name = "Broadcast"

    def __init__(self, root_rank, group=GlobalComm.WORLD_COMM_GROUP):
        super().__init__(group)
        if not isinstance(root_rank, int) or isinstance(root_rank, bool) or root_rank < 0:
            raise ValueError(
                f"For 'Broadcast', 'root_rank' must be an int >= 0, but got {root_rank!r}"
            )
        self.root_rank = root_rank

    def __call__(self, input_x):
        if not isinstance(input_x, tuple):
            raise TypeError(
                "For 'Broadcast', the input must be a tuple of Tensors, "
                f"but got {type(input_x).__name__}"
            )
        arrays = self.arrays(*input_x)
        return tuple(Tensor(a) for a in engine.broadcast(arrays, self.root_rank))


__all__ = ["AllGather", "AllReduce", "Broadcast", "ReduceOp"]
