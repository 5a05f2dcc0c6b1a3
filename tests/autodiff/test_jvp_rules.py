"""Forward mode by transposition, for every op with a VJP rule, against float64 central
finite differences.

cellc derives a JVP from the VJPs (`cellc.autograd`'s forward mode): J v = d/du <J^T u, v>.
Each case builds `@f = op(...)`, `@f_vjp = ms.grad(@f, get_all, sens_param)` (x, u -> J^T u)
and `@f_jvp = ms.grad(@f_vjp, get_all, sens_param)` with v as the sensitivity, whose gradients
in u are J v; it compares them with (f(x + eps v) - f(x - eps v)) / 2 eps. So every VJP rule's
own output must be differentiable in the cotangent. Ops with bool or integer results (the
comparisons, logical ops, argmax) are checked inside a float function that uses them.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import Program, above_one, f64, inside_unit, off_the_steps

from cellc.dialects import TensorSpec, ms


def away_from_zero(rng, shape, low=0.3, high=1.5):
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def positive(rng, shape):
    return rng.uniform(0.3, 2.0, shape)


def distinct(rng, shape):
    """Values at least 0.1 apart (no ties for max, pooling, comparisons)."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * 0.1 + rng.uniform(0.0, 0.02) - size * 0.05).reshape(shape)


def shifted(rng, shape):
    """`distinct` values halfway between those of another `distinct` draw (at least 0.03
    from each), so that comparing the two never ties."""
    return distinct(rng, shape) + 0.05


def indices():
    return ms.constant(np.array([2, 0, 2]), TensorSpec((3,), "i32"))


def greater(x, y):
    return ms.greater(x, y)


POOL = {"kernel_size": (2, 2), "strides": (1, 1)}

# op name -> (body on the arguments, [how each argument is drawn and its shape], eps)
CASES = {
    "abs": (ms.abs, [(away_from_zero, (2, 3))]),
    "add": (ms.add, [(away_from_zero, (2, 3)), (away_from_zero, (3,))]),
    "argmax": (
        lambda x: ms.mul(ms.cast(ms.argmax(x, axis=1), "f64"), ms.reduce_sum(x, axes=(1,))),
        [(distinct, (2, 3))],
    ),
    "argmin": (
        lambda x: ms.mul(ms.cast(ms.argmin(x, axis=0), "f64"), ms.reduce_sum(x, axes=(0,))),
        [(distinct, (2, 3))],
    ),
    "avg_pool": (lambda x: ms.avg_pool(x, **POOL), [(away_from_zero, (1, 2, 3, 3))]),
    "batch_matmul": (ms.batch_matmul, [(away_from_zero, (2, 2, 3)), (away_from_zero, (2, 3, 2))]),
    "broadcast_to": (lambda x: ms.broadcast_to(x, (2, 3)), [(away_from_zero, (1, 3))]),
    "cast": (
        lambda x: ms.cast(ms.mul(ms.cast(x, "f32"), ms.cast(x, "f32")), "f64"),
        [(positive, (2, 3))],
        1e-2,
    ),
    "concat": (
        lambda a, b: ms.concat(a, b, axis=1),
        [(away_from_zero, (2, 1)), (away_from_zero, (2, 3))],
    ),
    "constant": (
        lambda x: ms.mul(x, ms.constant(np.array([1.5, -2.0, 0.5]), TensorSpec((3,), "f64"))),
        [(away_from_zero, (2, 3))],
    ),
    "conv2d": (ms.conv2d, [(away_from_zero, (1, 2, 4, 4)), (away_from_zero, (3, 2, 2, 2))]),
    "conv2d_backprop_filter": (
        lambda x, dy: ms.conv2d_backprop_filter(x, dy, kernel_size=(2, 2)),
        [(away_from_zero, (1, 2, 4, 4)), (away_from_zero, (1, 3, 3, 3))],
    ),
    "conv2d_backprop_input": (
        lambda dy, w: ms.conv2d_backprop_input(dy, w, input_size=(4, 4)),
        [(away_from_zero, (1, 3, 3, 3)), (away_from_zero, (3, 2, 2, 2))],
    ),
    "cos": (ms.cos, [(away_from_zero, (2, 3))]),
    "div": (ms.div, [(away_from_zero, (2, 3)), (away_from_zero, (2, 3))]),
    "erf": (ms.erf, [(away_from_zero, (2, 3))]),
    "erfc": (ms.erfc, [(away_from_zero, (2, 3))]),
    "tan": (ms.tan, [(inside_unit, (2, 3))]),
    "atan": (ms.atan, [(away_from_zero, (2, 3))]),
    "asin": (ms.asin, [(inside_unit, (2, 3))]),
    "acos": (ms.acos, [(inside_unit, (2, 3))]),
    "sinh": (ms.sinh, [(away_from_zero, (2, 3))]),
    "cosh": (ms.cosh, [(away_from_zero, (2, 3))]),
    "asinh": (ms.asinh, [(away_from_zero, (2, 3))]),
    "acosh": (ms.acosh, [(above_one, (2, 3))]),
    "atanh": (ms.atanh, [(inside_unit, (2, 3))]),
    "log2": (ms.log2, [(positive, (2, 3))]),
    "log10": (ms.log10, [(positive, (2, 3))]),
    "log1p": (ms.log1p, [(positive, (2, 3))]),
    "expm1": (ms.expm1, [(away_from_zero, (2, 3))]),
    "trunc": (lambda x: ms.add(ms.trunc(x), ms.mul(x, x)), [(off_the_steps, (2, 3))]),
    "round": (lambda x: ms.add(ms.round(x), ms.mul(x, x)), [(off_the_steps, (2, 3))]),
    "atan2": (ms.atan2, [(away_from_zero, (2, 3)), (away_from_zero, (3,))]),
    "exp": (ms.exp, [(away_from_zero, (2, 3))]),
    "floor_div": (
        lambda x, y: ms.add(ms.floor_div(x, y), ms.mul(x, y)),
        [(positive, (2, 3)), (positive, (2, 3))],
    ),
    "floor_mod": (ms.floor_mod, [(positive, (2, 3)), (positive, (2, 3))]),
    "pow": (ms.pow, [(positive, (2, 3)), (away_from_zero, (2, 3))]),
    "gather": (lambda x: ms.gather(x, indices(), axis=1), [(away_from_zero, (2, 3))]),
    "gather_grad": (
        lambda ct: ms.gather_grad(ct, indices(), axis=1, size=4),
        [(away_from_zero, (2, 3))],
    ),
    "log": (ms.log, [(positive, (2, 3))]),
    "matmul": (ms.matmul, [(away_from_zero, (2, 3)), (away_from_zero, (3, 4))]),
    "max_pool": (lambda x: ms.max_pool(x, **POOL), [(distinct, (1, 2, 3, 3))]),
    "max_pool_grad": (
        lambda x, dy: ms.max_pool_grad(x, dy, **POOL),
        [(distinct, (1, 2, 3, 3)), (away_from_zero, (1, 2, 2, 2))],
    ),
    "max_pool_grad_grad": (
        lambda x, g: ms.max_pool_grad_grad(x, g, **POOL),
        [(distinct, (1, 2, 3, 3)), (away_from_zero, (1, 2, 3, 3))],
    ),
    "maximum": (ms.maximum, [(distinct, (2, 3)), (shifted, (2, 3))]),
    "minimum": (ms.minimum, [(distinct, (2, 3)), (shifted, (2, 3))]),
    "mul": (ms.mul, [(away_from_zero, (2, 3)), (away_from_zero, (2, 1))]),
    "neg": (ms.neg, [(away_from_zero, (2, 3))]),
    "pad": (
        lambda x: ms.pad(x, low=(1, 0), high=(0, 2), interior=(1, 0)),
        [(away_from_zero, (2, 3))],
    ),
    "reduce_max": (lambda x: ms.reduce_max(x, axes=(1,)), [(distinct, (2, 3))]),
    "reduce_sum": (
        lambda x: ms.reduce_sum(x, axes=(0,), keep_dims=True),
        [(away_from_zero, (2, 3))],
    ),
    "relu": (ms.relu, [(away_from_zero, (2, 3))]),
    "relu_grad": (ms.relu_grad, [(away_from_zero, (2, 3)), (away_from_zero, (2, 3))]),
    "reshape": (lambda x: ms.reshape(x, (3, 2)), [(away_from_zero, (2, 3))]),
    "select": (
        lambda x, y: ms.select(greater(x, y), ms.mul(x, x), y),
        [(distinct, (2, 3)), (shifted, (2, 3))],
    ),
    "sigmoid": (ms.sigmoid, [(away_from_zero, (2, 3))]),
    "sign": (lambda x: ms.mul(ms.sign(x), ms.mul(x, x)), [(away_from_zero, (2, 3))]),
    "sin": (ms.sin, [(away_from_zero, (2, 3))]),
    "sqrt": (ms.sqrt, [(positive, (2, 3))]),
    "strided_slice": (
        lambda x: ms.strided_slice(x, start=(1, 2), sizes=(1, 2), strides=(1, -2)),
        [(away_from_zero, (2, 3))],
    ),
    "sub": (ms.sub, [(away_from_zero, (2, 3)), (away_from_zero, (3,))]),
    "tanh": (ms.tanh, [(away_from_zero, (2, 3))]),
    "transpose": (lambda x: ms.transpose(x, perm=(1, 0)), [(away_from_zero, (2, 3))]),
}


def _select_on(compare):
    return (
        lambda x, y: ms.select(compare(x, y), ms.mul(x, y), ms.sub(x, y)),
        [(distinct, (2, 3)), (shifted, (2, 3))],
    )


for _name in ("equal", "greater", "greater_equal", "less", "less_equal", "not_equal"):
    CASES[_name] = _select_on(getattr(ms, _name))
CASES["logical_and"] = _select_on(lambda x, y: ms.logical_and(greater(x, ms.neg(y)), greater(y, x)))
CASES["logical_or"] = _select_on(lambda x, y: ms.logical_or(greater(x, ms.neg(y)), greater(y, x)))
# stop_gradient(x) * x: the first factor is a constant to differentiation (finite differences
# would see 2 x v)
CASES["stop_gradient"] = (
    lambda x: ms.mul(ms.stop_gradient(x), x),
    [(away_from_zero, (2, 3))],
    1e-6,
    lambda args, tangents: [args[0] * tangents[0]],
)
CASES["logical_not"] = _select_on(lambda x, y: ms.logical_not(greater(x, y)))


def check_jvp(body, draws, rng, eps=1e-6, expected=None):
    """J v of `body` at drawn arguments against finite differences along v, or against
    `expected(args, tangents)` (a list, one per output) where differences see through."""
    args = [draw(rng, shape) for draw, shape in draws]
    program = Program()
    program.function("f", [f64(*a.shape) for a in args], body)
    program.grad("f_vjp", "f", ms.GradMode(get_all=True, sens_param=True))
    program.grad("f_jvp", "f_vjp", ms.GradMode(get_all=True, sens_param=True))
    program.expand()
    outputs = program.run("f", *args)
    cotangents = [np.zeros_like(out) for out in outputs]
    tangents = [rng.uniform(-1.0, 1.0, a.shape) for a in args]
    got = program.run("f_jvp", *args, *cotangents, *tangents)[len(args) :]
    if expected is None:
        plus = program.run("f", *[a + eps * t for a, t in zip(args, tangents)])
        minus = program.run("f", *[a - eps * t for a, t in zip(args, tangents)])
        want = [(p - m) / (2 * eps) for p, m in zip(plus, minus)]
    else:
        want = expected(args, tangents)
    assert len(got) == len(want) == len(outputs)
    for i, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5, err_msg=f"output {i}")


@pytest.mark.parametrize("op", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1])
def test_jvp(op, seed):
    body, draws, *eps = CASES[op]
    check_jvp(body, draws, np.random.default_rng(seed), *eps)


def test_every_op_with_a_vjp_has_a_jvp_case():
    from cellc.compiler.ops import VJPS

    with_vjp = {name.removeprefix("ms.") for name, op in ms.OPS.items() if op in VJPS}
    assert sorted(with_vjp - set(CASES)) == []
