"""Elementwise ops: add, sub, mul, div, maximum, minimum (numpy broadcasting), neg, relu,
relu_grad, exp, log, tanh, sigmoid, sqrt, sin, cos, abs, sign, stop_gradient, constant. Each op's
VJP rule and lowering sit side by side."""

from __future__ import annotations

from mlir import ir
from mlir.dialects import arith, math

from cellc.compiler.autodiff.rules import defbilinear, deflinear, defzero, unbroadcast
from cellc.dialects import ms

from . import linalg_builders as lb
from .registry import lowering, vjp


@lowering("ms.constant")
def _lower_constant(op, *, value=None):
    """ms.constant -> arith.constant (a dense tensor; bufferizes to a read-only global)."""
    return arith.constant(op.results[0].type, op.attributes["value"])


def _binary(scalar_op):
    def lower(op, lhs, rhs):
        return lb.elementwise(op.results[0].type, [lhs, rhs], scalar_op)

    lower.__doc__ = f"ms -> linalg.generic with broadcasting maps over `{scalar_op.__name__}`"
    return lower


lowering("ms.add")(_binary(lb.add))
lowering("ms.sub")(_binary(lb.sub))
lowering("ms.mul")(_binary(lb.mul))
lowering("ms.div")(_binary(lb.div))
lowering("ms.maximum")(_binary(lb.maximum))
lowering("ms.minimum")(_binary(lb.minimum))


def _unary(scalar_op):
    def lower(op, x):
        return lb.elementwise(op.results[0].type, [x], scalar_op)

    return lower


def _relu(x: ir.Value) -> ir.Value:
    return lb.maximum(x, lb.zero(x.type))


def _relu_grad(dy: ir.Value, x: ir.Value) -> ir.Value:
    """dy * (x > 0), as a select (no multiply, so dy = inf/nan at x <= 0 gives 0)."""
    return arith.select(lb.greater_than_zero(x), dy, lb.zero(dy.type))


def _sigmoid(x: ir.Value) -> ir.Value:
    """1 / (1 + exp(-x)); exp overflows to inf for x << 0, giving exactly 0."""
    one = lb.scalar_constant(x.type, 1.0)
    return arith.divf(one, arith.addf(one, math.exp(arith.negf(x))))


lowering("ms.neg")(_unary(lb.neg))
lowering("ms.relu")(_unary(_relu))
lowering("ms.exp")(_unary(math.exp))
lowering("ms.log")(_unary(math.log))
lowering("ms.tanh")(_unary(math.tanh))
lowering("ms.sigmoid")(_unary(_sigmoid))
lowering("ms.sqrt")(_unary(math.sqrt))
lowering("ms.sin")(_unary(math.sin))
lowering("ms.cos")(_unary(math.cos))
lowering("ms.sign")(_unary(lb.sign))


def _abs(x: ir.Value) -> ir.Value:
    return math.absf(x) if lb.is_float(x.type) else math.absi(x)


lowering("ms.abs")(_unary(_abs))


@lowering("ms.relu_grad")
def _lower_relu_grad(op, dy, x):
    return lb.elementwise(op.results[0].type, [dy, x], _relu_grad)


@lowering("ms.stop_gradient")
def _lower_stop_gradient(op, x):
    """stop_gradient(x) -> x: it lowers to nothing."""
    return x


# --------------------------------------------------------------------------------------------
# VJP rules. Binary ops broadcast like numpy, so each operand's cotangent is summed back to its
# shape (`unbroadcast`); exp, tanh and sigmoid reuse the forward result `out`.
# --------------------------------------------------------------------------------------------


def _ones_like(value):
    return ms.constant(1.0, ms.spec_of(value))


# ms.constant has no operands; ms.stop_gradient is an identity whose VJP is zero (ms-expand-grad
# then removes it); ms.sign is piecewise constant.
defzero("ms.constant")
defzero("ms.stop_gradient")
defzero("ms.sign")


@vjp("ms.add")
def vjp_add(ct, lhs, rhs, *, out):
    """d(lhs + rhs) = (ct, ct), each summed back to its operand's shape."""
    return [unbroadcast(ct, lhs), unbroadcast(ct, rhs)]


@vjp("ms.sub")
def vjp_sub(ct, lhs, rhs, *, out):
    """d(lhs - rhs) = (ct, -ct)."""
    return [unbroadcast(ct, lhs), unbroadcast(ms.neg(ct), rhs)]


defbilinear(
    "ms.mul",
    lambda ct, lhs, rhs: unbroadcast(ms.mul(ct, rhs), lhs),
    lambda ct, lhs, rhs: unbroadcast(ms.mul(ct, lhs), rhs),
)


@vjp("ms.div")
def vjp_div(ct, lhs, rhs, *, out):
    """d(lhs / rhs) = (ct / rhs, -ct * out / rhs)."""
    return [
        unbroadcast(ms.div(ct, rhs), lhs),
        unbroadcast(ms.neg(ms.div(ms.mul(ct, out), rhs)), rhs),
    ]


# maximum/minimum send ct to the operand that is selected; on a tie, all of it to lhs, as
# MindSpore's MaximumGrad/MinimumGrad do (JAX would split it in halves). `relu_grad(ct, d)` is
# ct where d > 0, else 0: the part that goes to rhs.


@vjp("ms.maximum")
def vjp_maximum(ct, lhs, rhs, *, out):
    """d max(lhs, rhs) = (ct where lhs >= rhs, ct where rhs > lhs)."""
    to_rhs = ms.relu_grad(ct, ms.sub(rhs, lhs))
    return [unbroadcast(ms.sub(ct, to_rhs), lhs), unbroadcast(to_rhs, rhs)]


@vjp("ms.minimum")
def vjp_minimum(ct, lhs, rhs, *, out):
    """d min(lhs, rhs) = (ct where lhs <= rhs, ct where rhs < lhs)."""
    to_rhs = ms.relu_grad(ct, ms.sub(lhs, rhs))
    return [unbroadcast(ms.sub(ct, to_rhs), lhs), unbroadcast(to_rhs, rhs)]


deflinear("ms.neg", lambda ct, x: ms.neg(ct))


@vjp("ms.relu")
def vjp_relu(ct, x, *, out):
    """d relu(x) = relu_grad(ct, x) = ct * (x > 0)."""
    return [ms.relu_grad(ct, x)]


@vjp("ms.relu_grad")
def vjp_relu_grad(ct, dy, x, *, out):
    """relu_grad(dy, x) is linear in dy (a mask of x) and piecewise constant in x."""
    return [ms.relu_grad(ct, x), None]


@vjp("ms.exp")
def vjp_exp(ct, x, *, out):
    """d exp(x) = ct * exp(x)."""
    return [ms.mul(ct, out)]


@vjp("ms.log")
def vjp_log(ct, x, *, out):
    """d log(x) = ct / x."""
    return [ms.div(ct, x)]


@vjp("ms.tanh")
def vjp_tanh(ct, x, *, out):
    """d tanh(x) = ct * (1 - tanh(x)^2)."""
    return [ms.mul(ct, ms.sub(_ones_like(out), ms.mul(out, out)))]


@vjp("ms.sigmoid")
def vjp_sigmoid(ct, x, *, out):
    """d sigmoid(x) = ct * s * (1 - s), s = sigmoid(x)."""
    return [ms.mul(ct, ms.mul(out, ms.sub(_ones_like(out), out)))]


@vjp("ms.sqrt")
def vjp_sqrt(ct, x, *, out):
    """d sqrt(x) = ct / (2 sqrt(x)) = (ct * 0.5) / out."""
    return [ms.div(ms.mul(ct, ms.constant(0.5, ms.spec_of(out).with_shape(()))), out)]


@vjp("ms.sin")
def vjp_sin(ct, x, *, out):
    """d sin(x) = ct * cos(x)."""
    return [ms.mul(ct, ms.cos(x))]


@vjp("ms.cos")
def vjp_cos(ct, x, *, out):
    """d cos(x) = -ct * sin(x)."""
    return [ms.neg(ms.mul(ct, ms.sin(x)))]


@vjp("ms.abs")
def vjp_abs(ct, x, *, out):
    """d |x| = ct * sign(x) (0 at x = 0, like MindSpore and JAX)."""
    return [ms.mul(ct, ms.sign(x))]
