"""Calling compiled code: a cell or a GradOperation function called outside any trace
compiles (cached) and runs, like MindSpore's GRAPH_MODE; the results come back as Tensors."""

from __future__ import annotations

import numpy as np

from cellc import context
from cellc import dtype as mstype
from cellc.errors import UnsupportedError
from cellc.frontend.compiled import HOOKS, compiled_program
from cellc.tensor import Tensor

HOOKS.save_graphs_dir = context.save_graphs_dir
HOOKS.allow_tf32 = context.matmul_allow_tf32


def run_function(fn, args):
    """Compiles `fn` (a cell or a GradOperation function) for `args` (cached) and runs it,
    like MindSpore's GRAPH_MODE; numpy array arguments are taken as Tensors."""
    args = as_tensors(args)
    program = compiled_program(
        fn, args, target=context.target(), random_generator=context.random_generator
    )
    return wrap_results(program(args))


def as_tensors(args) -> tuple:
    for arg in args:
        if isinstance(arg, np.ndarray):
            return tuple(Tensor(a) if isinstance(a, np.ndarray) else a for a in args)
    return tuple(args)  # the common case, every call's path: a tuple is returned as it is


def wrap_results(result):
    """The compiled code's numpy outputs, nested in tuples, as Tensors nested the same way;
    the constants the model returns as they are (a dtype as MindSpore's)."""
    if isinstance(result, tuple):
        return tuple(wrap_results(item) for item in result)
    if isinstance(result, np.ndarray):
        return Tensor._of_result(result)
    if isinstance(result, np.dtype):
        return mstype.from_numpy(result)
    return result


class CollectiveInConstruct(UnsupportedError):
    """A collective (`ops.AllReduce`, `nn.DistributedGradReducer`, ...) met while a cell's
    `construct` was being traced. Its data cross processes between compiled steps, so the cell
    is not one compiled program: `Cell.__call__` catches this and runs that construct in Python
    instead, where every cell and gradient it calls is compiled on its own and the collective
    runs between them. Anything that needs the cell as ONE program (`cellc.export`,
    `Cell.compile`, `cellc compile`) gets this error, whose message says so."""

    def __init__(self, primitive: str, where):
        place = f" at {where}" if where is not None else ""
        super().__init__(
            f"{primitive}{place} is a collective: data cross processes there, so the cell "
            "calling it runs split around it (its construct in Python, the cells and gradients "
            "it calls compiled) and cannot be compiled or exported as one program"
        )
