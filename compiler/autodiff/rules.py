"""Helpers for writing VJP rules (used by the op family modules in `compiler/ops/`).

`deflinear`, `defbilinear` and `defzero` register a rule from its transposes, like JAX's
`ad.deflinear2`/`ad.defbilinear`; `unbroadcast` sums a cotangent back to the shape of an operand
that numpy broadcasting stretched.
"""

from __future__ import annotations

from collections.abc import Callable

from mlir import ir

from cellc.compiler.ops.registry import vjp
from cellc.dialects import TensorSpec, ms

from .zeros import Zero


def deflinear(op_class: type, transpose: Callable) -> None:
    """Registers the VJP of an op linear in its single operand x.

    `transpose(ct, x, **attrs)` returns the cotangent of x; x is passed for its type only.
    """

    @vjp(op_class)
    def rule(ct, x, *, out, **attrs):
        return [transpose(ct, x, **attrs)]

    rule.__name__ = _rule_name(op_class)


def defbilinear(op_class: type, lhs_transpose: Callable, rhs_transpose: Callable) -> None:
    """Registers the VJP of an op linear in each of its two operands separately (mul, matmul).

    `lhs_transpose(ct, lhs, rhs, **attrs)` returns the cotangent of lhs, `rhs_transpose` that
    of rhs.
    """

    @vjp(op_class)
    def rule(ct, lhs, rhs, *, out, **attrs):
        return [lhs_transpose(ct, lhs, rhs, **attrs), rhs_transpose(ct, lhs, rhs, **attrs)]

    rule.__name__ = _rule_name(op_class)


def defzero(op_class: type) -> None:
    """Registers a zero VJP: the op's result does not depend differentiably on its operands."""

    @vjp(op_class)
    def rule(ct, *operands, out, **attrs):
        return [Zero(ms.spec_of(x)) for x in operands]

    rule.__name__ = _rule_name(op_class)


def _rule_name(op_class: type) -> str:
    """vjp_ms_add for ms.AddOp, the name a hand-written rule would have."""
    return "vjp_" + op_class.name.replace(".", "_")


def unbroadcast(ct: ir.Value, target: ir.Value | TensorSpec) -> ir.Value:
    """Sums `ct` over the axes that broadcasting added or stretched, to the shape of `target`.

    reduce_sum(keep_dims) over the broadcast axes, then a reshape that drops the leading axes
    broadcasting added; an unchanged shape passes through.
    """
    spec = target if isinstance(target, TensorSpec) else ms.spec_of(target)
    shape = ms.spec_of(ct).shape
    if shape == spec.shape:
        return ct
    lead = len(shape) - len(spec.shape)
    axes = list(range(lead)) + [
        lead + i for i, d in enumerate(spec.shape) if d == 1 and shape[lead + i] != 1
    ]
    if axes:
        ct = ms.reduce_sum(ct, axes=tuple(axes), keep_dims=True)
    if ms.spec_of(ct).shape != spec.shape:
        ct = ms.reshape(ct, spec.shape)
    return ct
