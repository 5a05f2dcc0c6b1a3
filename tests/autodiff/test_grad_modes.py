"""GradOperation's modes on the seed network, tuple outputs, unused weights, stop_gradient.

Each case builds the network as the tracer would (`@Net` private, weights marked with
`ms.weight`), adds `@main` holding one `ms.grad`, runs ms-expand-grad and checks the reference
interpreter's values against closed forms, plus the structure of the generated IR.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from gradcheck import Program, f32
from mlir import ir

from cellc.compiler.autodiff import GradExpansionError
from cellc.compiler.ops import VJPS
from cellc.dialects import ms

X = np.array([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], np.float32)
Y = np.array([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], np.float32)
Z = np.array([1.0], np.float32)
SENS = np.array([[0.1, 0.6, 0.2], [0.8, 1.3, 1.1]], np.float32)


def seed_net(program):
    """f(x, y, z) = matmul(x * z, y), z a Parameter (the seed GradOperation network)."""
    program.function(
        "Net",
        [f32(2, 3), f32(3, 3), f32(1)],
        lambda x, y, z: ms.matmul(ms.mul(x, z), y),
        weights={2: "z"},
        private=True,
    )


def closed_forms(sens):
    dx = sens @ Y.T * Z
    dy = (X * Z).T @ sens
    dz = np.array([np.sum(sens @ Y.T * X)])
    return dx, dy, dz


def expected(get_all, get_by_list, sens):
    dx, dy, dz = closed_forms(sens)
    inputs = [dx, dy] if get_all else ([] if get_by_list else [dx])
    return inputs + ([dz] if get_by_list else [])


MODES = list(itertools.product([False, True], repeat=3))


@pytest.mark.parametrize("get_all, get_by_list, sens_param", MODES)
def test_seed_network_modes(get_all, get_by_list, sens_param):
    program = Program()
    seed_net(program)
    mode = ms.GradMode(get_all, get_by_list, sens_param, weights=(2,) if get_by_list else ())
    program.grad("main", "Net", mode)
    program.expand()
    args = [X, Y, Z] + ([SENS] if sens_param else [])
    got = program.run("main", *args)
    want = expected(get_all, get_by_list, SENS if sens_param else np.ones((2, 3), np.float32))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=1e-5)
    ops = program.ops("main")
    assert "ms.grad" not in ops and "func.call" not in ops
    assert not program.has_function("Net")  # the private callee is no longer referenced


def test_seed_values():
    program = Program()
    seed_net(program)
    program.grad("dx", "Net", ms.GradMode())
    program.grad("dz", "Net", ms.GradMode(get_by_list=True, weights=(2,)))
    program.grad("dx_sens", "Net", ms.GradMode(sens_param=True))
    program.expand()
    (dx,) = program.run("dx", X, Y, Z)
    np.testing.assert_allclose(dx, [[4.51, 2.7, 3.6], [4.51, 2.7, 3.6]], rtol=1e-6)
    (dz,) = program.run("dz", X, Y, Z)
    np.testing.assert_allclose(dz, [21.536], rtol=1e-6)
    (dx,) = program.run("dx_sens", X, Y, Z, SENS)
    np.testing.assert_allclose(dx, [[2.211, 0.51, 1.49], [5.588, 2.68, 4.07]], rtol=1e-5)


def _matmul_flags(program, name):
    body = program.lookup(name).regions[0].blocks[0]
    return [
        ms.MatMulOp.read_attributes(op.operation)
        for op in body.operations
        if op.operation.name == "ms.matmul"
    ]


def test_first_input_gradient_drops_the_forward_product():
    """d/dx matmul(x*z, y) = ones @ y^T * z: neither the product nor x*z is computed."""
    program = Program()
    seed_net(program)
    program.grad("main", "Net", ms.GradMode())
    program.expand()
    flags = _matmul_flags(program, "main")
    assert flags == [{"transpose_a": False, "transpose_b": True}]
    mul_operands = [
        op.operation.operands
        for op in program.lookup("main").regions[0].blocks[0].operations
        if op.operation.name == "ms.mul"
    ]
    assert len(mul_operands) == 1  # only ct * z; the forward x * z is gone


def test_tuple_output_default_and_tuple_sensitivity():
    """f(x, y) = (matmul(x, y), x * x): d/dx = s1 @ y^T + 2 x s2; ones by default (they add)."""
    program = Program()
    program.function(
        "Net",
        [f32(2, 3), f32(3, 3)],
        lambda x, y: [ms.matmul(x, y), ms.mul(x, x)],
        private=True,
    )
    program.grad("default", "Net", ms.GradMode(get_all=True))
    program.grad("sens", "Net", ms.GradMode(get_all=True, sens_param=True))
    program.expand()
    ones = np.ones((2, 3), np.float32)
    dx, dy = program.run("default", X, Y)
    np.testing.assert_allclose(dx, ones @ Y.T + 2 * X, rtol=1e-5)
    np.testing.assert_allclose(dy, X.T @ ones, rtol=1e-5)
    s1, s2 = SENS, SENS[::-1] * 2
    dx, dy = program.run("sens", X, Y, s1, s2)
    np.testing.assert_allclose(dx, s1 @ Y.T + 2 * X * s2, rtol=1e-5)
    np.testing.assert_allclose(dy, X.T @ s1, rtol=1e-5)


def test_unused_weight_gets_zeros():
    program = Program()
    program.function(
        "Net",
        [f32(2, 3), f32(3, 3), f32(1), f32(4, 2)],
        lambda x, y, z, unused: ms.matmul(ms.mul(x, z), y),
        weights={1: "y", 2: "z", 3: "unused"},
        private=True,
    )
    program.grad("main", "Net", ms.GradMode(get_all=True, get_by_list=True, weights=(3, 2)))
    program.expand()
    dx, dunused, dz = program.run("main", X, Y, Z, np.ones((4, 2), np.float32))
    np.testing.assert_allclose(dunused, np.zeros((4, 2)))
    np.testing.assert_allclose(dz, [21.536], rtol=1e-6)
    np.testing.assert_allclose(dx, np.ones((2, 3)) @ Y.T, rtol=1e-6)


@pytest.mark.parametrize("stopped", [True, False])
def test_seed_stop_gradient_network(stopped):
    """out = matmul(x, y) + stop_gradient(matmul(x, y)): dx = ones @ y^T (doubled without it)."""

    def body(x, y):
        rhs = ms.matmul(x, y)
        return ms.add(ms.matmul(x, y), ms.stop_gradient(rhs) if stopped else rhs)

    program = Program()
    program.function("Net", [f32(2, 3), f32(3, 3)], body, private=True)
    program.grad("main", "Net", ms.GradMode())
    program.expand()
    (dx,) = program.run("main", X, Y)
    base = np.array([[4.51, 2.7, 3.6], [4.51, 2.7, 3.6]])
    np.testing.assert_allclose(dx, base if stopped else 2 * base, rtol=1e-6)
    assert "ms.stop_gradient" not in str(program)


def test_stop_gradient_in_the_middle_of_a_chain():
    """f(x) = tanh(stop_gradient(x * x) * x): f' = (1 - f^2) * x^2 (the stopped x^2 is constant)."""

    def body(x):
        return ms.tanh(ms.mul(ms.stop_gradient(ms.mul(x, x)), x))

    program = Program()
    program.function("Net", [f32(2, 3)], body, private=True)
    program.grad("main", "Net", ms.GradMode())
    program.expand()
    (dx,) = program.run("main", X)
    np.testing.assert_allclose(dx, (1 - np.tanh(X**3) ** 2) * X**2, rtol=1e-5, atol=1e-6)
    assert "ms.stop_gradient" not in str(program)


def test_generated_ops_carry_the_forward_location():
    """Backward ops carry the location of the forward op they differentiate."""

    def body(x, y):
        product = ms.matmul(x, y, loc=ir.Location.file("net.py", 7, 1))
        return ms.tanh(product, loc=ir.Location.file("net.py", 8, 1))

    program = Program()
    program.function("Net", [f32(2, 3), f32(3, 3)], body, private=True)
    program.grad("main", "Net", ms.GradMode())
    program.expand()
    lines = {
        op.operation.name: str(op.operation.location)
        for op in program.lookup("main").regions[0].blocks[0].operations
        if op.operation.name in ("ms.matmul", "ms.mul", "ms.sub")
    }
    assert lines == {
        "ms.matmul": 'loc("net.py":7:1)',
        "ms.mul": 'loc("net.py":8:1)',
        "ms.sub": 'loc("net.py":8:1)',
    }


def test_missing_rule_names_the_op(monkeypatch):
    monkeypatch.delitem(VJPS, ms.TanhOp)
    program = Program()
    program.function("Net", [f32(2, 3)], ms.tanh, private=True)
    program.grad("main", "Net", ms.GradMode())
    with pytest.raises(NotImplementedError, match=r"no VJP rule for 'ms.tanh'"):
        program.expand()


def test_rule_returning_the_wrong_count_is_refused(monkeypatch):
    monkeypatch.setitem(VJPS, ms.TanhOp, lambda ct, x, *, out: [])
    program = Program()
    program.function("Net", [f32(2, 3)], ms.tanh, private=True)
    program.grad("main", "Net", ms.GradMode())
    with pytest.raises(GradExpansionError, match=r"'ms.tanh' returned 0 cotangents for 1"):
        program.expand()


def test_forward_shared_with_the_caller_is_computed_once():
    """A train step returning the loss and its gradient computes the forward product once."""
    program = Program()
    seed_net(program)

    def step(x, y, z):
        loss = ms.matmul(ms.mul(x, z), y)
        (dz,) = ms.grad("Net", ms.GradMode(get_by_list=True, weights=(2,)), [x, y, z], [f32(1)])
        return [loss, dz]

    program.function("main", [f32(2, 3), f32(3, 3), f32(1)], step)
    program.expand()
    assert program.ops("main").count("ms.mul") == 2  # x * z (shared), ct-side x * (ones @ y^T)
    loss, dz = program.run("main", X, Y, Z)
    np.testing.assert_allclose(loss, X @ Y, rtol=1e-6)
    np.testing.assert_allclose(dz, [21.536], rtol=1e-6)
