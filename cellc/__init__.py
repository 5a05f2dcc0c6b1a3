"""cellc: an ahead-of-time compiler for MindSpore-style models.

`import cellc` loads only the user-facing API (Tensor, Parameter, nn, ops, dtype); the compiler
(and MLIR) load on the first compile, and `cellc.runtime` never loads them.
"""

from . import context, dtype, nn, ops
from .parameter import Parameter, ParameterTuple
from .tensor import Tensor

__version__ = "0.1.0"

__all__ = [
    "Parameter",
    "ParameterTuple",
    "Tensor",
    "__version__",
    "context",
    "dtype",
    "export",
    "nn",
    "ops",
]


def export(net, *inputs, file_name: str, file_format: str = "CELLC", target: str = "cpu"):
    """Compiles `net` for `inputs` and writes one artifact (modelled on `mindspore.export`)."""
    from .compiler.driver import export as _export

    return _export(net, *inputs, file_name=file_name, file_format=file_format, target=target)
