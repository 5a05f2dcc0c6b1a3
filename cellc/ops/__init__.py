"""cellc.ops: MindSpore's operator primitives (`ops.MatMul()`), functions (`ops.functional`),
`stop_gradient`, `GradOperation` and MindSpore 2.x's `grad`, `value_and_grad`, `vjp`,
`jvp`, `jacfwd`, `jacrev`, `vmap`.

A primitive class defined in `primitives.py` is exported here without a line of its own."""

from cellc import compat
from cellc.autograd import grad, jacfwd, jacrev, jvp, value_and_grad, vjp, vmap

from . import (  # noqa: F401  (tensor_methods: Tensor's operators)
    collective,
    function,
    functional,
    math_func,
    nn_func,
    primitives,
    random_func,
    tensor_methods,
)
from .collective import *  # noqa: F403  (AllReduce, AllGather, Broadcast, ReduceOp)
from .function import *  # noqa: F403  (MindSpore 2.x's functions: function.__all__)
from .functional import stop_gradient
from .grad_operation import GradOperation
from .math_func import *  # noqa: F403  (MindSpore 2.x's math and array functions)
from .nn_func import *  # noqa: F403  (MindSpore 2.x's activations, losses, pools)
from .primitives import *  # noqa: F403  (every primitive: primitives.__all__)
from .random_func import *  # noqa: F403  (randn, rand, randint, ...: outside compiled code)
from .state import (
    Assign,
    Depend,
    Dropout,
    Dropout2D,
    Dropout3D,
    assign,
    batch_norm,
    depend,
    dropout,
)

__all__ = [
    *collective.__all__,
    *function.__all__,
    *math_func.__all__,
    *nn_func.__all__,
    "Assign",
    "Depend",
    "Dropout",
    "Dropout2D",
    "Dropout3D",
    "GradOperation",
    "assign",
    "batch_norm",
    "depend",
    "dropout",
    "functional",
    "grad",
    "jacfwd",
    "jacrev",
    "jvp",
    "stop_gradient",
    "value_and_grad",
    "vjp",
    "vmap",
    *primitives.__all__,
    *random_func.__all__,
]


def __getattr__(name: str):
    raise compat.missing("ops", name)


def _function_api(module: str):
    """A module `__getattr__` for `ops.functional` and `ops.function`: MindSpore's modules of
    those names hold every 2.x function (`from mindspore.ops.functional import vmap`), so a
    name they do not define is looked up here."""

    def lookup(name: str):
        if name.startswith("__") or name not in __all__:
            raise compat.missing(module, name)
        return globals()[name]

    return lookup


functional.__getattr__ = _function_api("ops.functional")
function.__getattr__ = _function_api("ops.function")
