"""cellc.compiler.autodiff: the pass `ms-expand-grad` (reverse-mode autodiff on `ms`).

`PASSES` maps pass names to functions `fn(module: ir.Module) -> None` that transform a module in
place; `cellc opt --pass-pipeline='builtin.module(ms-expand-grad)'` looks them up here.
"""

from .cleanup import cse_pass, dce_pass
from .expand_grad import GradExpansionError, expand_grads
from .zeros import Zero

EXPAND_GRAD_PASS = ("ms-expand-grad", expand_grads)

PASSES = {
    "ms-expand-grad": expand_grads,
    "ms-cse": cse_pass,
    "ms-dce": dce_pass,
}

__all__ = ["EXPAND_GRAD_PASS", "PASSES", "GradExpansionError", "Zero", "expand_grads"]
