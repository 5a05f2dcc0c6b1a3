"""cellc.compiler.autodiff: the pass `ms-expand-grad` (reverse-mode autodiff on `ms`).

`PASSES` maps pass names to functions `fn(module: ir.Module) -> None` that transform a module in
place; `cellc opt --pass-pipeline='builtin.module(ms-expand-grad)'` looks them up here.
"""

from .cleanup import cse_pass, dce_pass
from .expand_grad import GradExpansionError, expand_grads
from .zeros import Zero

EXPAND_GRAD = "ms-expand-grad"

PASSES = {
    EXPAND_GRAD: expand_grads,
    "ms-cse": cse_pass,
    "ms-dce": dce_pass,
}

__all__ = ["EXPAND_GRAD", "PASSES", "GradExpansionError", "Zero", "expand_grads"]
