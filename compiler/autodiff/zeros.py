"""Symbolic zeros: a cotangent known to be zero, carried as a type instead of a tensor.

A `Zero` is never materialized while differentiating: adding it returns the other side, and an
op whose result cotangent is zero is not differentiated at all. `instantiate` turns it into a
real `ms.constant` splat 0 only at the edges (a requested gradient that is zero, e.g. an unused
weight). (JAX's `ad_util.Zero`.)
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from cellc.dialects import TensorSpec, ms


@dataclass(frozen=True)
class Zero:
    """The zero cotangent of a value of type `spec`."""

    spec: TensorSpec


Cotangent = ir.Value | Zero


def is_zero(ct) -> bool:
    return ct is None or isinstance(ct, Zero)


def add_cotangents(lhs: Cotangent, rhs: Cotangent) -> Cotangent:
    """lhs + rhs, where a zero on either side returns the other side unchanged."""
    if isinstance(lhs, Zero):
        return rhs
    if isinstance(rhs, Zero):
        return lhs
    return ms.add(lhs, rhs)


def instantiate(ct: Cotangent) -> ir.Value:
    """A real value for `ct`: a symbolic zero becomes an `ms.constant` splat 0."""
    if isinstance(ct, Zero):
        return ms.constant(0.0, ct.spec)
    return ct
