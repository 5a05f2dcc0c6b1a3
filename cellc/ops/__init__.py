"""cellc.ops: MindSpore's operator primitives (`ops.MatMul()`), functions (`ops.functional`),
`stop_gradient` and `GradOperation`.

A primitive class defined in `primitives.py` is exported here without a line of its own."""

from . import functional, primitives, tensor_methods  # noqa: F401  (tensor_methods: Tensor's operators)
from .functional import stop_gradient
from .grad import GradOperation
from .primitives import *  # noqa: F403  (every primitive: primitives.__all__)
from .state import Assign, Depend, assign, depend, dropout

__all__ = [
    "Assign",
    "Depend",
    "GradOperation",
    "assign",
    "depend",
    "dropout",
    "functional",
    "stop_gradient",
    *primitives.__all__,
]
