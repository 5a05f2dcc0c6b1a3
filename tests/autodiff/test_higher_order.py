"""Nested ms.grad: gradients of functions that contain ms.grad, up to third order.

f is elementwise, so with the default (ones) sensitivity each level's gradient is the next
derivative, elementwise: df = f', d2f = f'', d3f = f'''. Each level is its own private
function holding one ms.grad of the level below, as the tracer emits nested GradOperations.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import Program, check_vjp, f64

from cellc.dialects import ms

X = np.array([0.3, -0.7, 1.2, 0.05])


def tower(body):
    """@f = body, @df = grad f, @d2f = grad df, @d3f = grad d2f (public, so all can be run)."""
    program = Program()
    program.function("f", [f64(4)], body)
    program.grad("df", "f", ms.GradMode())
    program.grad("d2f", "df", ms.GradMode())
    program.grad("d3f", "d2f", ms.GradMode())
    return program.expand()


def cube_sum(x):
    return ms.reduce_sum(ms.mul(ms.mul(x, x), x), axes=(0,), keep_dims=True)


CASES = {
    # f = sum(x^3) -> 3x^2, 6x, 6
    "cube_sum": (cube_sum, lambda x: 3 * x**2, lambda x: 6 * x, lambda x: 6 + 0 * x),
    # f = tanh(x) -> 1 - t^2, -2t(1 - t^2), (1 - t^2)(6t^2 - 2)
    "tanh": (
        ms.tanh,
        lambda x: 1 - np.tanh(x) ** 2,
        lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
        lambda x: (1 - np.tanh(x) ** 2) * (6 * np.tanh(x) ** 2 - 2),
    ),
    # f = x * exp(x) -> (1 + x)e^x, (2 + x)e^x, (3 + x)e^x
    "x_exp": (
        lambda x: ms.mul(x, ms.exp(x)),
        lambda x: (1 + x) * np.exp(x),
        lambda x: (2 + x) * np.exp(x),
        lambda x: (3 + x) * np.exp(x),
    ),
    # f = sigmoid(x) -> s(1-s), s(1-s)(1-2s), s(1-s)(1-6s+6s^2)
    "sigmoid": (
        ms.sigmoid,
        lambda x: _s(x) * (1 - _s(x)),
        lambda x: _s(x) * (1 - _s(x)) * (1 - 2 * _s(x)),
        lambda x: _s(x) * (1 - _s(x)) * (1 - 6 * _s(x) + 6 * _s(x) ** 2),
    ),
}


def _s(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("case", sorted(CASES))
def test_third_order_against_closed_forms(case):
    body, first, second, third = CASES[case]
    program = tower(body)
    for name, closed_form in [("df", first), ("d2f", second), ("d3f", third)]:
        (got,) = program.run(name, X)
        np.testing.assert_allclose(got, closed_form(X), rtol=1e-12, atol=1e-12, err_msg=name)
    text = str(program)
    assert "ms.grad" not in text and "func.call" not in text


def test_grad_of_a_function_mixing_grad_and_forward_code():
    """g(x, y) = y * f'(x) with f = sum(x^3): dg/dx = 6xy, dg/dy = 3x^2."""
    program = Program()
    program.function("f", [f64(4)], cube_sum, private=True)

    def g(x, y):
        (df,) = ms.grad("f", ms.GradMode(), [x], [f64(4)])
        return ms.mul(y, df)

    program.function("g", [f64(4), f64(4)], g, private=True)
    program.grad("main", "g", ms.GradMode(get_all=True))
    program.expand()
    y = np.array([1.0, 2.0, -1.0, 0.5])
    dx, dy = program.run("main", X, y)
    np.testing.assert_allclose(dx, 6 * X * y, rtol=1e-12)
    np.testing.assert_allclose(dy, 3 * X**2, rtol=1e-12)
    assert [name for name in ("f", "g") if program.has_function(name)] == []


def test_third_order_of_a_network_against_finite_differences():
    """A small network with a broadcast weight: VJP of the VJP of the VJP, checked by FD."""
    rng = np.random.default_rng(0)

    def net(x, w, b):
        return ms.tanh(ms.add(ms.matmul(x, w), b))

    program = Program()
    program.function("net", [f64(2, 3), f64(3, 2), f64(2)], net)
    args = [rng.uniform(-1, 1, s) for s in [(2, 3), (3, 2), (2,)]]
    name = "net"
    for _ in range(3):
        outs = program.run(name, *args)
        name = check_vjp(program, name, args, rng, rtol=1e-5, atol=1e-6)
        args = args + [rng.uniform(-1, 1, o.shape) for o in outs]
