"""cellc.compiler.ops: per-op lowerings and VJP rules, one module per op family.

Importing this package registers every rule in `registry.VJPS` and `registry.LOWERINGS`.
"""

from .registry import LOWERINGS, VJPS, lowering, vjp  # noqa: I001  (before the families)
from . import cast, conv, elementwise, matmul, pooling, reduction, shape  # noqa: F401  (registers the rules)
from . import combine, comparison, indexing  # noqa: F401  (registers the rules)

__all__ = ["LOWERINGS", "VJPS", "lowering", "vjp"]
