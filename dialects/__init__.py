"""cellc.dialects: the `ms` dialect.

`ms_ops` defines the ops (shape rules, numpy semantics; no MLIR), `ms` is the dialect in MLIR
(IRDL, builders, verifier) and `types` the plain-Python tensor types. Importing this package
loads no MLIR: import `cellc.dialects.ms` on the compile path.
"""

from .types import TensorSpec

__all__ = ["TensorSpec"]
