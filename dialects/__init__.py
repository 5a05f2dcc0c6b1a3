"""cellc.dialects: the `ms` dialect (IRDL definitions, builders and verifiers)."""

from . import ms
from .types import TensorSpec

__all__ = ["TensorSpec", "ms"]
