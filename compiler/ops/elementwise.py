"""Elementwise ops: add, sub, mul, div, pow, maximum, minimum (numpy broadcasting), neg, relu,
relu_grad, exp, log, tanh, sigmoid, sqrt, sin, cos, abs, sign, stop_gradient, constant.

Each op's lowering and VJP rule sit side by side. Every lowering is one `linalg.generic` whose
indexing maps do the broadcasting (nothing is materialized) around a scalar body; binary VJPs
sum each operand's cotangent back to its shape (`unbroadcast`); exp, tanh and sigmoid reuse the
forward result `out`.
"""

from __future__ import annotations

import math as pymath

from mlir import ir
from mlir.dialects import arith, math

from cellc.compiler.autodiff.rules import defbilinear, deflinear, defzero, unbroadcast
from cellc.dialects import ms

from . import linalg_builders as lb
from .registry import LOWERINGS, dynamic_batch, lowering, vjp


def _generic(op: ir.Operation, operands: list[ir.Value], scalar_op) -> ir.Value:
    """`op`'s result as a linalg.generic applying `scalar_op` to broadcast `operands`."""
    return lb.elementwise(op.results[0].type, operands, scalar_op)


def _ones_like(value: ir.Value) -> ir.Value:
    return ms.constant(1.0, ms.spec_of(value))


# --------------------------------------------------------------------------------------------
# Binary arithmetic
# --------------------------------------------------------------------------------------------


@lowering(ms.AddOp)
def lower_add(op, lhs, rhs):
    """ms.add(a, b) -> linalg.generic{addf|addi} with broadcasting maps"""
    return _generic(op, [lhs, rhs], lb.add)


@vjp(ms.AddOp)
def vjp_add(ct, lhs, rhs, *, out):
    """d(lhs + rhs) = (ct, ct), each summed back to its operand's shape."""
    return [unbroadcast(ct, lhs), unbroadcast(ct, rhs)]


@lowering(ms.SubOp)
def lower_sub(op, lhs, rhs):
    """ms.sub(a, b) -> linalg.generic{subf|subi} with broadcasting maps"""
    return _generic(op, [lhs, rhs], lb.sub)


@vjp(ms.SubOp)
def vjp_sub(ct, lhs, rhs, *, out):
    """d(lhs - rhs) = (ct, -ct)."""
    return [unbroadcast(ct, lhs), unbroadcast(ms.neg(ct), rhs)]


@lowering(ms.MulOp)
def lower_mul(op, lhs, rhs):
    """ms.mul(a, b) -> linalg.generic{mulf|muli} with broadcasting maps"""
    return _generic(op, [lhs, rhs], lb.mul)


defbilinear(
    ms.MulOp,
    lambda ct, lhs, rhs: unbroadcast(ms.mul(ct, rhs), lhs),
    lambda ct, lhs, rhs: unbroadcast(ms.mul(ct, lhs), rhs),
)


@lowering(ms.DivOp)
def lower_div(op, lhs, rhs):
    """ms.div(a, b) -> linalg.generic{divf|divsi} with broadcasting maps"""
    return _generic(op, [lhs, rhs], lb.div)


@vjp(ms.DivOp)
def vjp_div(ct, lhs, rhs, *, out):
    """d(lhs / rhs) = (ct / rhs, -ct * out / rhs)."""
    return [
        unbroadcast(ms.div(ct, rhs), lhs),
        unbroadcast(ms.neg(ms.div(ms.mul(ct, out), rhs)), rhs),
    ]


def _in_f32(scalar_op):
    """`scalar_op` on f32 or f64 as it is, on f16 through f32 (libm has no f16 functions)."""

    def apply(*operands: ir.Value) -> ir.Value:
        element = operands[0].type
        if ir.FloatType(element).width >= 32:
            return scalar_op(*operands)
        f32 = ir.F32Type.get()
        return arith.truncf(element, scalar_op(*(arith.extf(f32, x) for x in operands)))

    return apply


def _pow(base: ir.Value, exponent: ir.Value) -> ir.Value:
    """base ** exponent: math.powf, in f32 for f16 (no f16 pow in libm); integers through f64
    (exact below 2**53) and back, truncated as C truncates."""
    element = base.type
    if lb.is_float(element):
        return _in_f32(math.powf)(base, exponent)
    f64 = ir.F64Type.get()
    power = math.powf(arith.sitofp(f64, base), arith.sitofp(f64, exponent))
    return arith.fptosi(element, power)


@lowering(ms.PowOp)
def lower_pow(op, lhs, rhs):
    """ms.pow(x, y) -> linalg.generic{math.powf} with broadcasting maps"""
    return _generic(op, [lhs, rhs], _pow)


@vjp(ms.PowOp)
def vjp_pow(ct, lhs, rhs, *, out):
    """d x**y = (ct * y * x**(y - 1), ct * out * log(x)), the log of a negative x taken at 1 (a
    zero gradient there), as MindSpore's Pow bprop does."""
    one = ms.constant(1.0, ms.spec_of(lhs).with_shape(()))
    zero = ms.constant(0.0, ms.spec_of(lhs).with_shape(()))
    d_base = ms.mul(ms.mul(rhs, ms.pow(lhs, ms.sub(rhs, one))), ct)
    safe = ms.select(ms.less(lhs, zero), one, lhs)
    d_exponent = ms.mul(ms.mul(out, ms.log(safe)), ct)
    return [unbroadcast(d_base, lhs), unbroadcast(d_exponent, rhs)]


# maximum/minimum send ct to the operand that is selected. Since MindSpore 2.2 a tie splits it
# in halves, and where either operand is NaN both receive all of it (checked against
# MindSpore 2.10's MaximumGrad/MinimumGrad): each operand's share is 0 where it loses, 1/2 on a
# tie, else 1 -- NaN compares false, so neither loses nor ties.


def _share(loses: ir.Value, tie: ir.Value, like: ir.Value) -> ir.Value:
    """0 where `loses`, 1/2 where `tie`, else 1, in `like`'s element type."""
    scalar = ms.spec_of(like).with_shape(())
    zero, half, one = (ms.constant(v, scalar) for v in (0.0, 0.5, 1.0))
    return ms.select(loses, zero, ms.select(tie, half, one))


def _selected_vjp(ct, lhs, rhs, lhs_loses, rhs_loses):
    tie = ms.equal(lhs, rhs)
    return [
        unbroadcast(ms.mul(ct, _share(lhs_loses, tie, ct)), lhs),
        unbroadcast(ms.mul(ct, _share(rhs_loses, tie, ct)), rhs),
    ]


@lowering(ms.MaximumOp)
def lower_maximum(op, lhs, rhs):
    """ms.maximum(a, b) -> linalg.generic{maximumf|maxsi} with broadcasting maps"""
    return _generic(op, [lhs, rhs], lb.maximum)


@vjp(ms.MaximumOp)
def vjp_maximum(ct, lhs, rhs, *, out):
    """d max(lhs, rhs): ct to the larger operand, halves on a tie, all to both at a NaN."""
    return _selected_vjp(ct, lhs, rhs, ms.less(lhs, rhs), ms.less(rhs, lhs))


@lowering(ms.MinimumOp)
def lower_minimum(op, lhs, rhs):
    """ms.minimum(a, b) -> linalg.generic{minimumf|minsi} with broadcasting maps"""
    return _generic(op, [lhs, rhs], lb.minimum)


@vjp(ms.MinimumOp)
def vjp_minimum(ct, lhs, rhs, *, out):
    """d min(lhs, rhs): ct to the smaller operand, halves on a tie, all to both at a NaN."""
    return _selected_vjp(ct, lhs, rhs, ms.less(rhs, lhs), ms.less(lhs, rhs))


# --------------------------------------------------------------------------------------------
# Unary
# --------------------------------------------------------------------------------------------


@lowering(ms.NegOp)
def lower_neg(op, x):
    """ms.neg(x) -> linalg.generic{negf | subi(0, x)}"""
    return _generic(op, [x], lb.neg)


deflinear(ms.NegOp, lambda ct, x: ms.neg(ct))


def _relu(x: ir.Value) -> ir.Value:
    return lb.maximum(x, lb.zero(x.type))


@lowering(ms.ReluOp)
def lower_relu(op, x):
    """ms.relu(x) -> linalg.generic{maximumf(x, 0)}"""
    return _generic(op, [x], _relu)


@vjp(ms.ReluOp)
def vjp_relu(ct, x, *, out):
    """d relu(x) = relu_grad(ct, x) = ct * (x > 0)."""
    return [ms.relu_grad(ct, x)]


def _relu_grad(dy: ir.Value, x: ir.Value) -> ir.Value:
    """dy * (x > 0), as a select (no multiply, so dy = inf/nan at x <= 0 gives 0)."""
    return arith.select(lb.greater_than_zero(x), dy, lb.zero(dy.type))


@lowering(ms.ReluGradOp)
def lower_relu_grad(op, dy, x):
    """ms.relu_grad(dy, x) -> linalg.generic{select(x > 0, dy, 0)}"""
    return _generic(op, [dy, x], _relu_grad)


@vjp(ms.ReluGradOp)
def vjp_relu_grad(ct, dy, x, *, out):
    """relu_grad(dy, x) is linear in dy (a mask of x) and piecewise constant in x."""
    return [ms.relu_grad(ct, x), None]


@lowering(ms.ExpOp)
def lower_exp(op, x):
    """ms.exp(x) -> linalg.generic{math.exp}"""
    return _generic(op, [x], math.exp)


@vjp(ms.ExpOp)
def vjp_exp(ct, x, *, out):
    """d exp(x) = ct * exp(x)."""
    return [ms.mul(ct, out)]


@lowering(ms.LogOp)
def lower_log(op, x):
    """ms.log(x) -> linalg.generic{math.log}"""
    return _generic(op, [x], math.log)


@vjp(ms.LogOp)
def vjp_log(ct, x, *, out):
    """d log(x) = ct / x."""
    return [ms.div(ct, x)]


@lowering(ms.TanhOp)
def lower_tanh(op, x):
    """ms.tanh(x) -> linalg.generic{math.tanh}"""
    return _generic(op, [x], math.tanh)


@vjp(ms.TanhOp)
def vjp_tanh(ct, x, *, out):
    """d tanh(x) = ct * (1 - tanh(x)^2)."""
    return [ms.mul(ct, ms.sub(_ones_like(out), ms.mul(out, out)))]


def _sigmoid(x: ir.Value) -> ir.Value:
    """1 / (1 + exp(-x)); exp overflows to inf for x << 0, giving exactly 0."""
    one = lb.scalar_constant(x.type, 1.0)
    return arith.divf(one, arith.addf(one, math.exp(arith.negf(x))))


@lowering(ms.SigmoidOp)
def lower_sigmoid(op, x):
    """ms.sigmoid(x) -> linalg.generic{1 / (1 + math.exp(-x))}"""
    return _generic(op, [x], _sigmoid)


@vjp(ms.SigmoidOp)
def vjp_sigmoid(ct, x, *, out):
    """d sigmoid(x) = ct * s * (1 - s), s = sigmoid(x)."""
    return [ms.mul(ct, ms.mul(out, ms.sub(_ones_like(out), out)))]


@lowering(ms.SqrtOp)
def lower_sqrt(op, x):
    """ms.sqrt(x) -> linalg.generic{math.sqrt}"""
    return _generic(op, [x], math.sqrt)


@vjp(ms.SqrtOp)
def vjp_sqrt(ct, x, *, out):
    """d sqrt(x) = ct / (2 sqrt(x)) = (ct * 0.5) / out."""
    return [ms.div(ms.mul(ct, ms.constant(0.5, ms.spec_of(out).with_shape(()))), out)]


@lowering(ms.SinOp)
def lower_sin(op, x):
    """ms.sin(x) -> linalg.generic{math.sin}"""
    return _generic(op, [x], math.sin)


@vjp(ms.SinOp)
def vjp_sin(ct, x, *, out):
    """d sin(x) = ct * cos(x)."""
    return [ms.mul(ct, ms.cos(x))]


@lowering(ms.ErfOp)
def lower_erf(op, x):
    """ms.erf(x) -> linalg.generic{math.erf}"""
    return _generic(op, [x], math.erf)


@vjp(ms.ErfOp)
def vjp_erf(ct, x, *, out):
    """d erf(x) = ct * 2/sqrt(pi) * exp(-x**2)."""
    scale = ms.constant(2 / pymath.sqrt(pymath.pi), ms.spec_of(x).with_shape(()))
    return [ms.mul(ct, ms.mul(scale, ms.exp(ms.neg(ms.mul(x, x)))))]


def _log1p(x: ir.Value) -> ir.Value:
    """log(1 + x) to about an ulp: log(u) * x / (u - 1) with u = 1 + x (Goldberg's; MLIR's
    math.log1p lowers to log(1 + x), which loses x's digits below u's ulp), x where u is 1 and
    log(u) where u is infinite."""
    one = lb.scalar_constant(x.type, 1.0)
    u = arith.addf(one, x)
    log_u = math.log(u)
    value = arith.mulf(log_u, arith.divf(x, arith.subf(u, one)))
    value = arith.select(arith.cmpf(arith.CmpFPredicate.OEQ, u, one), x, value)
    infinite = arith.cmpf(arith.CmpFPredicate.OEQ, u, lb.scalar_constant(x.type, float("inf")))
    return arith.select(infinite, log_u, value)


def _expm1(x: ir.Value) -> ir.Value:
    """exp(x) - 1 to about an ulp: (u - 1) * (x / log(u)) with u = exp(x) (Kahan's; MLIR's
    math.expm1 lowers to exp(x) - 1), x where u is 1, -1 where u - 1 is, u where u is infinite."""
    one = lb.scalar_constant(x.type, 1.0)
    u = math.exp(x)
    u_minus_one = arith.subf(u, one)
    value = arith.mulf(u_minus_one, arith.divf(x, math.log(u)))
    value = arith.select(arith.cmpf(arith.CmpFPredicate.OEQ, u, one), x, value)
    minus_one = arith.cmpf(arith.CmpFPredicate.OEQ, u_minus_one, arith.negf(one))
    value = arith.select(minus_one, u_minus_one, value)
    infinite = arith.cmpf(arith.CmpFPredicate.OEQ, u, lb.scalar_constant(x.type, float("inf")))
    return arith.select(infinite, u, value)


def _trunc(x: ir.Value) -> ir.Value:
    """Rounded toward zero: floor of a non-negative x, ceil of a negative one (the GPU lowering
    has no math.trunc)."""
    negative = arith.cmpf(arith.CmpFPredicate.OLT, x, lb.scalar_constant(x.type, 0.0))
    return arith.select(negative, math.ceil(x), math.floor(x))


# The math-dialect functions (libm's, vectorized by LLVM where it has them): op -> math op.
_MATH_FUNCTIONS = {
    ms.TanOp: math.tan,
    ms.AtanOp: math.atan,
    ms.AsinOp: math.asin,
    ms.AcosOp: math.acos,
    ms.SinhOp: math.sinh,
    ms.CoshOp: math.cosh,
    ms.AsinhOp: math.asinh,
    ms.AcoshOp: math.acosh,
    ms.AtanhOp: math.atanh,
    ms.Log2Op: math.log2,
    ms.Log10Op: math.log10,
    ms.Log1pOp: _log1p,
    ms.Expm1Op: _expm1,
    ms.ErfcOp: math.erfc,
    ms.TruncOp: _trunc,
    ms.RoundOp: math.roundeven,
    ms.Atan2Op: math.atan2,
}


def _lower_math(op_class: type, function) -> None:
    @lowering(op_class)
    def lower(op, *operands):
        return _generic(op, list(operands), _in_f32(function))

    lower.__name__ = f"lower_{op_class.name.removeprefix('ms.')}"
    lower.__doc__ = f"{op_class.name}(x) -> linalg.generic{{{function.__name__}}}"


for _op_class, _function in _MATH_FUNCTIONS.items():
    _lower_math(_op_class, _function)


def _scalar(value: float, like: ir.Value) -> ir.Value:
    return ms.constant(value, ms.spec_of(like).with_shape(()))


def _one_minus_square(x: ir.Value) -> ir.Value:
    return ms.sub(_scalar(1.0, x), ms.mul(x, x))


@vjp(ms.TanOp)
def vjp_tan(ct, x, *, out):
    """d tan(x) = ct * (1 + tan(x)^2)."""
    return [ms.mul(ct, ms.add(_scalar(1.0, x), ms.mul(out, out)))]


@vjp(ms.AtanOp)
def vjp_atan(ct, x, *, out):
    """d atan(x) = ct / (1 + x^2)."""
    return [ms.div(ct, ms.add(_scalar(1.0, x), ms.mul(x, x)))]


@vjp(ms.AsinOp)
def vjp_asin(ct, x, *, out):
    """d asin(x) = ct / sqrt(1 - x^2)."""
    return [ms.div(ct, ms.sqrt(_one_minus_square(x)))]


@vjp(ms.AcosOp)
def vjp_acos(ct, x, *, out):
    """d acos(x) = -ct / sqrt(1 - x^2)."""
    return [ms.neg(ms.div(ct, ms.sqrt(_one_minus_square(x))))]


@vjp(ms.SinhOp)
def vjp_sinh(ct, x, *, out):
    """d sinh(x) = ct * cosh(x)."""
    return [ms.mul(ct, ms.cosh(x))]


@vjp(ms.CoshOp)
def vjp_cosh(ct, x, *, out):
    """d cosh(x) = ct * sinh(x)."""
    return [ms.mul(ct, ms.sinh(x))]


@vjp(ms.AsinhOp)
def vjp_asinh(ct, x, *, out):
    """d asinh(x) = ct / sqrt(x^2 + 1)."""
    return [ms.div(ct, ms.sqrt(ms.add(ms.mul(x, x), _scalar(1.0, x))))]


@vjp(ms.AcoshOp)
def vjp_acosh(ct, x, *, out):
    """d acosh(x) = ct / sqrt(x^2 - 1)."""
    return [ms.div(ct, ms.sqrt(ms.sub(ms.mul(x, x), _scalar(1.0, x))))]


@vjp(ms.AtanhOp)
def vjp_atanh(ct, x, *, out):
    """d atanh(x) = ct / (1 - x^2)."""
    return [ms.div(ct, _one_minus_square(x))]


@vjp(ms.Log2Op)
def vjp_log2(ct, x, *, out):
    """d log2(x) = ct / (x ln 2)."""
    return [ms.div(ct, ms.mul(x, _scalar(pymath.log(2.0), x)))]


@vjp(ms.Log10Op)
def vjp_log10(ct, x, *, out):
    """d log10(x) = ct / (x ln 10)."""
    return [ms.div(ct, ms.mul(x, _scalar(pymath.log(10.0), x)))]


@vjp(ms.Log1pOp)
def vjp_log1p(ct, x, *, out):
    """d log1p(x) = ct / (1 + x)."""
    return [ms.div(ct, ms.add(x, _scalar(1.0, x)))]


@vjp(ms.Expm1Op)
def vjp_expm1(ct, x, *, out):
    """d expm1(x) = ct * exp(x) = ct * (out + 1)."""
    return [ms.mul(ct, ms.add(out, _scalar(1.0, x)))]


@vjp(ms.ErfcOp)
def vjp_erfc(ct, x, *, out):
    """d erfc(x) = -ct * 2/sqrt(pi) * exp(-x**2)."""
    scale = _scalar(-2 / pymath.sqrt(pymath.pi), x)
    return [ms.mul(ct, ms.mul(scale, ms.exp(ms.neg(ms.mul(x, x)))))]


defzero(ms.TruncOp)  # piecewise constant
defzero(ms.RoundOp)


@vjp(ms.Atan2Op)
def vjp_atan2(ct, lhs, rhs, *, out):
    """d atan2(y, x) = (ct * x / (x^2 + y^2), -ct * y / (x^2 + y^2))."""
    radius = ms.add(ms.mul(lhs, lhs), ms.mul(rhs, rhs))
    return [
        unbroadcast(ms.div(ms.mul(ct, rhs), radius), lhs),
        unbroadcast(ms.neg(ms.div(ms.mul(ct, lhs), radius)), rhs),
    ]


@lowering(ms.CosOp)
def lower_cos(op, x):
    """ms.cos(x) -> linalg.generic{math.cos}"""
    return _generic(op, [x], math.cos)


@vjp(ms.CosOp)
def vjp_cos(ct, x, *, out):
    """d cos(x) = -ct * sin(x)."""
    return [ms.neg(ms.mul(ct, ms.sin(x)))]


def _abs(x: ir.Value) -> ir.Value:
    return math.absf(x) if lb.is_float(x.type) else math.absi(x)


@lowering(ms.AbsOp)
def lower_abs(op, x):
    """ms.abs(x) -> linalg.generic{math.absf|absi}"""
    return _generic(op, [x], _abs)


@vjp(ms.AbsOp)
def vjp_abs(ct, x, *, out):
    """d |x| = ct * sign(x) (0 at x = 0, like MindSpore and JAX)."""
    return [ms.mul(ct, ms.sign(x))]


@lowering(ms.SignOp)
def lower_sign(op, x):
    """ms.sign(x) -> linalg.generic{select(x > 0, 1, select(x < 0, -1, x))}"""
    return _generic(op, [x], lb.sign)


defzero(ms.SignOp)  # piecewise constant


# --------------------------------------------------------------------------------------------
# stop_gradient and constant
# --------------------------------------------------------------------------------------------


@lowering(ms.StopGradientOp)
def lower_stop_gradient(op, x):
    """ms.stop_gradient(x) -> x: it lowers to nothing."""
    return x


# An identity whose VJP is zero; ms-expand-grad then removes it.
defzero(ms.StopGradientOp)


@lowering(ms.ConstantOp)
def lower_constant(op, *, value=None):
    """ms.constant -> arith.constant (a dense tensor; bufferizes to a read-only global)

    A splat of a dynamic-batch type (its value typed at a sample batch size) is a linalg.fill
    of the batch's size instead."""
    result_type = lb.ranked(op.results[0].type)
    if result_type.has_static_shape:
        return arith.constant(result_type, op.attributes["value"])
    dense = ir.DenseElementsAttr(op.attributes["value"])
    if not dense.is_splat:  # dynamic_batch.generalize lets only splats through
        raise ValueError(f"a constant of {result_type} that is not one value repeated")
    return lb.full(result_type, arith.constant(result_type.element_type, dense.get_splat_value()))


defzero(ms.ConstantOp)  # no operands

# Every op above lowers through `lb.elementwise`/`lb.full`, which size a `?` by the batch.
dynamic_batch(*[op for op, rule in LOWERINGS.items() if rule.__module__ == __name__])
