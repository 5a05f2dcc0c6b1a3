"""Calling compiled code: a cell or a GradOperation function called outside any trace
compiles (cached) and runs, like MindSpore's GRAPH_MODE; the results come back as Tensors."""

from __future__ import annotations

import numpy as np

from cellc import context
from cellc.frontend.compiled import HOOKS, compiled_program
from cellc.tensor import Tensor

HOOKS.save_graphs_dir = context.save_graphs_dir


def run_function(fn, args):
    """Compiles `fn` (a cell or a GradOperation function) for `args` (cached) and runs it,
    like MindSpore's GRAPH_MODE; numpy array arguments are taken as Tensors."""
    args = as_tensors(args)
    program = compiled_program(
        fn, args, target=context.target(), random_generator=context.random_generator
    )
    return _wrap(program(args))


def as_tensors(args) -> tuple:
    return tuple(Tensor(a) if isinstance(a, np.ndarray) else a for a in args)


def _wrap(result):
    """The compiled code's numpy outputs, nested in tuples, as Tensors nested the same way."""
    if isinstance(result, tuple):
        return tuple(_wrap(item) for item in result)
    return Tensor._of_result(result)
