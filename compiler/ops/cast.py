"""Element type conversion (ms.cast): VJP rule and lowering."""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith

from cellc.compiler.autodiff.zeros import Zero
from cellc.dialects import ms

from . import linalg_builders as lb
from .registry import dynamic_batch, lowering, vjp


@lowering(ms.CastOp)
def lower_cast(op, x):
    """ms.cast(x) -> linalg.generic{extf|truncf|fptosi|sitofp|extsi|trunci|cmp ne 0|uitofp|extui},
    or x

    A cast to x's own type is x itself."""
    result_type = lb.ranked(op.results[0].type)
    if result_type == x.type:
        return x
    target = result_type.element_type
    return lb.elementwise(result_type, [x], lambda value: _convert(value, target))


def _convert(value, target):
    """lb.convert, and bool: to bool is `value != 0`, from bool 0 or 1 (unsigned)."""
    bool_type = ir.IntegerType.get_signless(1)
    if target == bool_type:
        if lb.is_float(value.type):
            return arith.cmpf(arith.CmpFPredicate.UNE, value, lb.zero(value.type))
        return arith.cmpi(arith.CmpIPredicate.ne, value, lb.zero(value.type))
    if value.type == bool_type:
        if lb.is_float(target):
            return arith.uitofp(target, value)
        return arith.extui(target, value)
    return lb.convert(value, target)


@vjp(ms.CastOp)
def vjp_cast(ct, x, *, out):
    """ct cast back to x's type, as MindSpore's Cast bprop does: a float -> int cast passes
    the gradient through (truncated to the integer type on the way back). Bool has none."""
    x_spec = ms.spec_of(x)
    if x_spec.element == "i1" or ms.spec_of(out).element == "i1":
        return [Zero(x_spec)]
    return [ms.cast(ct, x_spec.element)]


dynamic_batch(ms.CastOp)
