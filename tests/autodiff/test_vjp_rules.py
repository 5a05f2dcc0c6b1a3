"""Every VJP rule against float64 central finite differences, over hypothesis-drawn shapes.

Each case builds `@f(args) = op(args)` with the `ms` builders, adds `ms.grad(@f, get_all,
sens_param)`, expands it, and compares J^T s (from the reference interpreter) with finite
differences of <s, f(x)> at a random point. The `_second_order` cases differentiate that
gradient function again, so the rules' own output is checked to be differentiable.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import Program, above_one, check_body_vjp, f64, inside_unit, off_the_steps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellc.dialects import ms

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

dims = st.integers(1, 3)
shapes = st.lists(dims, min_size=1, max_size=3).map(tuple)
seeds = st.integers(0, 2**31 - 1)


@st.composite
def broadcast_pairs(draw):
    """Two shapes that broadcast against each other (leading dims dropped, dims set to 1)."""
    out = draw(shapes)

    def operand():
        drop = draw(st.integers(0, len(out) - 1))
        return tuple(1 if draw(st.booleans()) else d for d in out[drop:])

    return operand(), operand()


def away_from_zero(rng, shape, low=0.3, high=1.5):
    """Values with |v| in [low, high] and a random sign (no kinks or poles nearby)."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def positive(rng, shape):
    return rng.uniform(0.3, 2.0, shape)


BINARY = {
    "add": ms.add,
    "sub": ms.sub,
    "mul": ms.mul,
    "div": ms.div,
    "maximum": ms.maximum,
    "minimum": ms.minimum,
    "atan2": ms.atan2,
}


@pytest.mark.parametrize("op", sorted(BINARY))
@SETTINGS
@given(shapes=broadcast_pairs(), seed=seeds)
def test_binary_broadcasting(op, shapes, seed):
    rng = np.random.default_rng(seed)
    lhs = away_from_zero(rng, shapes[0])
    rhs = away_from_zero(rng, shapes[1])
    check_body_vjp(BINARY[op], [lhs, rhs], rng)


@SETTINGS
@given(shapes=broadcast_pairs(), seed=seeds)
def test_pow_broadcasting(shapes, seed):
    """x ** y for a positive base (where both partials exist); a negative base with an
    integral exponent takes the base's partial only (MindSpore's rule), tested below."""
    rng = np.random.default_rng(seed)
    check_body_vjp(ms.pow, [positive(rng, shapes[0]), away_from_zero(rng, shapes[1])], rng)


def test_pow_of_a_negative_base_with_an_integral_exponent():
    rng = np.random.default_rng(5)
    base = -positive(rng, (2, 3))
    check_body_vjp(lambda x: ms.pow(x, ms.constant(3.0, ms.spec_of(x).with_shape(()))), [base], rng)


UNARY = {
    "neg": (ms.neg, away_from_zero),
    "relu": (ms.relu, away_from_zero),
    "exp": (ms.exp, away_from_zero),
    "log": (ms.log, positive),
    "tanh": (ms.tanh, away_from_zero),
    "sigmoid": (ms.sigmoid, away_from_zero),
    "sqrt": (ms.sqrt, positive),
    "sin": (ms.sin, away_from_zero),
    "erf": (ms.erf, away_from_zero),
    "cos": (ms.cos, away_from_zero),
    "abs": (ms.abs, away_from_zero),
    "sign": (ms.sign, away_from_zero),
    "tan": (ms.tan, inside_unit),
    "atan": (ms.atan, away_from_zero),
    "asin": (ms.asin, inside_unit),
    "acos": (ms.acos, inside_unit),
    "sinh": (ms.sinh, away_from_zero),
    "cosh": (ms.cosh, away_from_zero),
    "asinh": (ms.asinh, away_from_zero),
    "acosh": (ms.acosh, above_one),
    "atanh": (ms.atanh, inside_unit),
    "log2": (ms.log2, positive),
    "log10": (ms.log10, positive),
    "log1p": (ms.log1p, positive),
    "expm1": (ms.expm1, away_from_zero),
    "erfc": (ms.erfc, away_from_zero),
    "trunc": (ms.trunc, off_the_steps),
    "round": (ms.round, off_the_steps),
}


@pytest.mark.parametrize("op", sorted(UNARY))
@SETTINGS
@given(shape=shapes, seed=seeds)
def test_unary(op, shape, seed):
    rng = np.random.default_rng(seed)
    build, sample = UNARY[op]
    check_body_vjp(build, [sample(rng, shape)], rng)


@pytest.mark.parametrize("op", sorted(UNARY))
@settings(max_examples=4, deadline=None)
@given(shape=shapes, seed=seeds)
def test_unary_second_order(op, shape, seed):
    rng = np.random.default_rng(seed)
    build, sample = UNARY[op]
    check_body_vjp(build, [sample(rng, shape)], rng, order=2)


@pytest.mark.parametrize("op", sorted(BINARY))
@settings(max_examples=4, deadline=None)
@given(shapes=broadcast_pairs(), seed=seeds)
def test_binary_second_order(op, shapes, seed):
    rng = np.random.default_rng(seed)
    check_body_vjp(BINARY[op], [away_from_zero(rng, s) for s in shapes], rng, order=2)


@SETTINGS
@given(shape=shapes, seed=seeds)
def test_stop_gradient(shape, seed):
    """d/dx [x * stop_gradient(x)] = s * x: the stopped factor is a constant (not 2 s x)."""
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, shape)
    sens = rng.uniform(-1, 1, shape)
    program = Program()
    program.function("f", [f64(*shape)], lambda x: ms.mul(x, ms.stop_gradient(x)))
    program.grad("df", "f", ms.GradMode(sens_param=True))
    program.expand()
    (dx,) = program.run("df", x, sens)
    np.testing.assert_allclose(dx, sens * x, rtol=1e-12)


@SETTINGS
@given(shape=shapes, seed=seeds)
def test_relu_grad(shape, seed):
    rng = np.random.default_rng(seed)
    dy = away_from_zero(rng, shape)
    x = away_from_zero(rng, shape)
    check_body_vjp(ms.relu_grad, [dy, x], rng, order=2)


@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
@SETTINGS
@given(m=dims, k=dims, n=dims, seed=seeds)
def test_matmul(transpose_a, transpose_b, m, k, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, (k, m) if transpose_a else (m, k))
    b = rng.uniform(-1, 1, (n, k) if transpose_b else (k, n))

    def body(a, b):
        return ms.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b)

    check_body_vjp(body, [a, b], rng, order=2 if m * k * n <= 8 else 1)


@SETTINGS
@given(shape=shapes, keep_dims=st.booleans(), data=st.data(), seed=seeds)
def test_reduce_sum(shape, keep_dims, data, seed):
    rng = np.random.default_rng(seed)
    axes = data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1).map(sorted))

    def body(x):
        return ms.reduce_sum(x, axes=tuple(axes), keep_dims=keep_dims)

    check_body_vjp(body, [rng.uniform(-1, 1, shape)], rng)


@SETTINGS
@given(shape=shapes, data=st.data(), seed=seeds)
def test_reshape(shape, data, seed):
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    target = data.draw(st.sampled_from([(size,), tuple(reversed(shape)), (1, size), shape]))
    check_body_vjp(lambda x: ms.reshape(x, target), [rng.uniform(-1, 1, shape)], rng)


@SETTINGS
@given(shape=shapes, data=st.data(), seed=seeds)
def test_transpose(shape, data, seed):
    rng = np.random.default_rng(seed)
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    check_body_vjp(lambda x: ms.transpose(x, perm=perm), [rng.uniform(-1, 1, shape)], rng)


@SETTINGS
@given(pair=broadcast_pairs(), seed=seeds)
def test_broadcast_to(pair, seed):
    rng = np.random.default_rng(seed)
    source = pair[0]
    target = np.broadcast_shapes(pair[0], pair[1])
    check_body_vjp(lambda x: ms.broadcast_to(x, target), [rng.uniform(-1, 1, source)], rng)


@SETTINGS
@given(shape=shapes, seed=seeds)
def test_constant(shape, seed):
    """A constant operand contributes nothing; the other operand's gradient is unaffected."""
    rng = np.random.default_rng(seed)
    value = rng.uniform(-1, 1, shape)

    def body(x):
        return ms.mul(x, ms.constant(value, f64(*shape)))

    check_body_vjp(body, [rng.uniform(-1, 1, shape)], rng)


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_minimum_split_ties_and_pass_nan_to_both(op):
    """MindSpore 2.2+'s MaximumGrad/MinimumGrad (checked against MindSpore 2.10): the selected
    operand gets the cotangent, a tie splits it in halves, and where either operand is NaN both
    get all of it."""
    lhs = np.array([[1.0, 2.0, -3.0], [0.5, np.nan, 4.0]])
    rhs = np.array([1.0, 2.0, 3.0])
    sens = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    program = Program()
    program.function("f", [f64(2, 3), f64(3)], BINARY[op])
    program.grad("df", "f", ms.GradMode(get_all=True, sens_param=True))
    program.expand()
    d_lhs, d_rhs = program.run("df", lhs, rhs, sens)
    with np.errstate(invalid="ignore"):
        lhs_loses = lhs < rhs if op == "maximum" else lhs > rhs
        rhs_loses = rhs < lhs if op == "maximum" else rhs > lhs
        tie = lhs == rhs
    share_lhs = np.where(lhs_loses, 0.0, np.where(tie, 0.5, 1.0))
    share_rhs = np.where(rhs_loses, 0.0, np.where(tie, 0.5, 1.0))
    np.testing.assert_allclose(d_lhs, sens * share_lhs, rtol=1e-15)
    np.testing.assert_allclose(d_rhs, (sens * share_rhs).sum(0), rtol=1e-15)
    assert d_lhs[1, 1] == 0.5 and d_rhs[1] == pytest.approx(0.2 / 2 + 0.5)  # a tie, then a NaN


@SETTINGS
@given(shape=shapes, keep_dims=st.booleans(), data=st.data(), seed=seeds)
def test_reduce_max(shape, keep_dims, data, seed):
    rng = np.random.default_rng(seed)
    axes = data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1).map(sorted))

    def body(x):
        return ms.reduce_max(x, axes=tuple(axes), keep_dims=keep_dims)

    check_body_vjp(
        body, [rng.uniform(-1, 1, shape)], rng, order=2 if int(np.prod(shape)) <= 8 else 1
    )


def test_reduce_max_ties_share_the_cotangent():
    """Tied maxima split the cotangent equally (finite differences are undefined there)."""
    x = np.array([[3.0, 1.0, 3.0], [2.0, 2.0, 2.0], [0.0, 5.0, -1.0]])
    sens = np.array([0.6, 0.9, 0.5])
    program = Program()
    program.function("f", [f64(3, 3)], lambda x: ms.reduce_max(x, axes=(1,)))
    program.grad("df", "f", ms.GradMode(sens_param=True))
    program.expand()
    (dx,) = program.run("df", x, sens)
    expected = [[0.3, 0.0, 0.3], [0.3, 0.3, 0.3], [0.0, 0.5, 0.0]]
    np.testing.assert_allclose(dx, expected, rtol=1e-15)


def test_cast_through_an_integer_passes_the_cotangent_through_truncated():
    """MindSpore's Cast bprop casts the cotangent back: through float -> int -> float, a
    cotangent of 3 arrives as 3 and one of 0.5 as 0 (checked against MindSpore 2.10)."""
    x = np.array([1.5, -2.7])
    for scale, expected in ((3.0, 3.0), (0.5, 0.0)):
        program = Program()

        def body(a, scale=scale):
            through_int = ms.cast(ms.cast(a, "i32"), "f64")
            return ms.mul(through_int, ms.constant(scale, ms.spec_of(a).with_shape(())))

        program.function("f", [f64(2)], body)
        program.grad("df", "f", ms.GradMode(get_all=True))
        program.expand()
        (grad,) = program.run("df", x)
        np.testing.assert_array_equal(grad, [expected, expected])


@pytest.mark.parametrize("element", ["f32", "f16"])
def test_cast_between_floats_casts_the_cotangent_back(element):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 3))
    sens = rng.uniform(-1, 1, (2, 3))
    program = Program()
    program.function("f", [f64(2, 3)], lambda x: ms.mul(ms.cast(x, element), ms.cast(x, element)))
    program.grad("df", "f", ms.GradMode(sens_param=True))
    program.expand()
    narrow = np.dtype(ms.TensorSpec((), element).numpy_dtype)
    (dx,) = program.run("df", x, sens.astype(narrow))
    assert dx.dtype == np.float64
    expected = (2 * x.astype(narrow) * sens.astype(narrow)).astype(np.float64)
    np.testing.assert_allclose(dx, expected, rtol=1e-2 if element == "f16" else 1e-6)


def test_every_op_has_a_rule():
    from cellc.compiler.ops import VJPS

    # ms.grad is expanded by them; ms.dim_size is built after them (compiler/dynamic_batch.py)
    without = sorted(name for name, op_class in ms.OPS.items() if op_class not in VJPS)
    assert without == ["ms.dim_size", "ms.grad"]
