"""Every `ms` op through the CPU back end (ms -> linalg -> LLVM -> .so), against numpy.

One module per element type holds every case as its own public function, so each element type
costs one compile.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from cpu_harness import Function, compile_functions, spec

from cellc.dialects import ms


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# name -> (argument shapes, ms body, numpy reference, input range)
CASES = {
    "add_same": ([(2, 3), (2, 3)], ms.add, np.add),
    "add_row": ([(2, 3), (3,)], ms.add, np.add),
    "add_outer": ([(4, 1, 3), (2, 1)], ms.add, np.add),
    "add_scalar": ([(), (2, 3)], ms.add, np.add),
    "add_one": ([(2, 3), (1,)], ms.add, np.add),
    "sub_col": ([(2, 3), (2, 1)], ms.sub, np.subtract),
    "sub_lhs_broadcast": ([(1, 3), (4, 3)], ms.sub, np.subtract),
    "mul_one": ([(2, 3), (1,)], ms.mul, np.multiply),
    "mul_both": ([(3, 1), (1, 4)], ms.mul, np.multiply),
    "div_row": ([(2, 3), (1, 3)], ms.div, np.divide),
    "neg": ([(2, 3)], ms.neg, np.negative),
    "relu": ([(2, 3)], ms.relu, lambda x: np.maximum(x, 0)),
    "relu_grad": ([(2, 3), (2, 3)], ms.relu_grad, lambda dy, x: dy * (x > 0)),
    "exp": ([(2, 3)], ms.exp, np.exp),
    "log": ([(7,)], ms.log, np.log),
    "tanh": ([(2, 3)], ms.tanh, np.tanh),
    "sigmoid": ([(2, 3)], ms.sigmoid, _sigmoid),
    "stop_gradient": ([(2, 3)], ms.stop_gradient, lambda x: x),
    "maximum_row": ([(2, 3), (3,)], ms.maximum, np.maximum),
    "minimum_col": ([(2, 3), (2, 1)], ms.minimum, np.minimum),
    "sqrt": ([(7,)], ms.sqrt, np.sqrt),
    "sin": ([(7,)], ms.sin, np.sin),
    "error_function": ([(7,)], ms.erf, np.vectorize(math.erf)),
    "cos": ([(7,)], ms.cos, np.cos),
    "abs": ([(2, 3)], ms.abs, np.abs),
    "sign": ([(2, 3)], ms.sign, np.sign),
    "reduce_max_rows": ([(2, 3)], lambda x: ms.reduce_max(x, axes=(0,)), lambda x: x.max(0)),
    "reduce_max_outer_keep": (
        [(2, 3, 4)],
        lambda x: ms.reduce_max(x, axes=(0, 2), keep_dims=True),
        lambda x: x.max((0, 2), keepdims=True),
    ),
    "reduce_max_all": ([(2, 3)], lambda x: ms.reduce_max(x, axes=(0, 1)), lambda x: x.max()),
    "reduce_max_negative": (
        [(3, 2)],
        lambda x: ms.reduce_max(ms.sub(x, ms.constant(5.0, ms.spec_of(x))), axes=(1,)),
        lambda x: (x - 5.0).max(1),
    ),
    "reduce_rows": ([(2, 3)], lambda x: ms.reduce_sum(x, axes=(0,)), lambda x: x.sum(0)),
    "reduce_cols_keep": (
        [(2, 3)],
        lambda x: ms.reduce_sum(x, axes=(1,), keep_dims=True),
        lambda x: x.sum(1, keepdims=True),
    ),
    "reduce_all": ([(2, 3)], lambda x: ms.reduce_sum(x, axes=(0, 1)), lambda x: x.sum()),
    "reduce_outer_keep": (
        [(2, 3, 4)],
        lambda x: ms.reduce_sum(x, axes=(0, 2), keep_dims=True),
        lambda x: x.sum((0, 2), keepdims=True),
    ),
    "broadcast_row": ([(3,)], lambda x: ms.broadcast_to(x, (2, 3)), None),
    "broadcast_col": ([(2, 1)], lambda x: ms.broadcast_to(x, (2, 3)), None),
    "broadcast_scalar": ([()], lambda x: ms.broadcast_to(x, (2, 2)), None),
    "reshape_2d": ([(2, 3)], lambda x: ms.reshape(x, (3, 2)), None),
    "reshape_3d": ([(6,)], lambda x: ms.reshape(x, (2, 1, 3)), None),
    "reshape_to_scalar": ([(1,)], lambda x: ms.reshape(x, ()), None),
    "reshape_from_scalar": ([()], lambda x: ms.reshape(x, (1, 1)), None),
    "transpose_2d": ([(2, 3)], lambda x: ms.transpose(x, perm=(1, 0)), lambda x: x.T),
    "transpose_3d": (
        [(2, 3, 4)],
        lambda x: ms.transpose(x, perm=(2, 0, 1)),
        lambda x: x.transpose(2, 0, 1),
    ),
    "matmul": ([(2, 3), (3, 4)], ms.matmul, np.matmul),
    "matmul_ta": (
        [(3, 2), (3, 4)],
        lambda a, b: ms.matmul(a, b, transpose_a=True),
        lambda a, b: a.T @ b,
    ),
    "matmul_tb": (
        [(2, 3), (4, 3)],
        lambda a, b: ms.matmul(a, b, transpose_b=True),
        lambda a, b: a @ b.T,
    ),
    "matmul_tab": (
        [(3, 2), (4, 3)],
        lambda a, b: ms.matmul(a, b, transpose_a=True, transpose_b=True),
        lambda a, b: a.T @ b.T,
    ),
    "matmul_big": ([(33, 70), (70, 65)], ms.matmul, np.matmul),
}

POSITIVE_INPUTS = {"log", "div_row", "sqrt"}


def _reference(name, arrays):
    reference = CASES[name][2]
    if reference is None:  # broadcast_to / reshape: the result shape decides
        return None
    return reference(*arrays)


def _functions(element):
    functions = []
    for name, (shapes, body, _) in CASES.items():
        functions.append(
            Function(name, [spec(s, element) for s in shapes], lambda *a, body=body: body(*a))
        )
    # Results that are an argument, a constant, the same value twice: the caller's outputs must
    # all be written, never aliased.
    functions += [
        Function("identity", [spec((2, 3), element)], lambda x: x),
        Function("twice", [spec((2, 3), element)], lambda x: (ms.exp(x), ms.exp(x), x, x)),
        Function(
            "constants",
            [],
            lambda: (
                ms.constant(1.5, spec((2, 3), element)),
                ms.constant(np.arange(6).reshape(2, 3), spec((2, 3), element)),
                ms.constant(4.0, spec((), element)),
            ),
        ),
        Function("reshape_arg", [spec((2, 3), element)], lambda x: ms.reshape(x, (6,))),
    ]
    return functions


@pytest.fixture(scope="module", params=["f32", "f64"])
def compiled(request, tmp_path_factory):
    element = request.param
    return element, compile_functions(_functions(element), tmp_path_factory.mktemp(element))


def _inputs(name, element, rng):
    shapes = CASES[name][0]
    dtype = spec((), element).numpy_dtype
    if name in POSITIVE_INPUTS:
        return [rng.uniform(0.5, 2.0, s).astype(dtype) for s in shapes]
    return [rng.uniform(-2.0, 2.0, s).astype(dtype) for s in shapes]


@pytest.mark.parametrize("name", list(CASES))
def test_op(compiled, name):
    element, lib = compiled
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # the same points in every run
    arrays = _inputs(name, element, rng)
    (out,) = lib(name, *arrays)
    expected = _reference(name, arrays)
    if expected is None:
        expected = (
            np.broadcast_to(arrays[0], out.shape)
            if "broadcast" in name
            else (arrays[0].reshape(out.shape))
        )
    assert out.dtype == np.dtype(spec((), element).numpy_dtype)
    assert out.shape == np.shape(expected)
    rtol = 1e-5 if element == "f32" else 1e-12
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol)


def test_outputs_never_alias(compiled):
    element, lib = compiled
    x = np.arange(6, dtype=spec((), element).numpy_dtype).reshape(2, 3)
    (same,) = lib("identity", x)
    np.testing.assert_array_equal(same, x)
    e1, e2, x1, x2 = lib("twice", x)
    for out, expected in [(e1, np.exp(x)), (e2, np.exp(x)), (x1, x), (x2, x)]:
        np.testing.assert_allclose(out, expected, rtol=1e-6)
    splat, dense, scalar = lib("constants")
    np.testing.assert_array_equal(splat, np.full((2, 3), 1.5))
    np.testing.assert_array_equal(dense, np.arange(6).reshape(2, 3))
    assert scalar.shape == () and scalar == 4.0
    (flat,) = lib("reshape_arg", x)
    np.testing.assert_array_equal(flat, x.reshape(6))


def test_integer_ops(tmp_path):
    functions = []
    for element in ("i32", "i64"):
        functions += [
            Function(f"add_{element}", [spec((2, 3), element), spec((3,), element)], ms.add),
            Function(f"neg_{element}", [spec((2, 3), element)], ms.neg),
            Function(
                f"matmul_{element}", [spec((2, 3), element), spec((3, 2), element)], ms.matmul
            ),
            Function(
                f"sum_{element}",
                [spec((2, 3), element)],
                lambda x: ms.reduce_sum(x, axes=(1,)),
            ),
        ]
    lib = compile_functions(functions, tmp_path)
    for element in ("i32", "i64"):
        dtype = np.dtype(spec((), element).numpy_dtype)
        a = np.arange(6, dtype=dtype).reshape(2, 3) - 2
        b = np.array([10, -20, 30], dtype=dtype)
        np.testing.assert_array_equal(lib(f"add_{element}", a, b)[0], a + b)
        np.testing.assert_array_equal(lib(f"neg_{element}", a)[0], -a)
        np.testing.assert_array_equal(lib(f"matmul_{element}", a, a.T.copy())[0], a @ a.T)
        np.testing.assert_array_equal(lib(f"sum_{element}", a)[0], a.sum(1))


def test_integer_maximum_abs_sign_reduce_max(tmp_path):
    functions = []
    for element in ("i32", "i64"):
        functions += [
            Function(f"max_{element}", [spec((2, 3), element), spec((3,), element)], ms.maximum),
            Function(f"min_{element}", [spec((2, 3), element), spec((3,), element)], ms.minimum),
            Function(f"abs_{element}", [spec((2, 3), element)], ms.abs),
            Function(f"sign_{element}", [spec((2, 3), element)], ms.sign),
            Function(
                f"rmax_{element}",
                [spec((2, 3), element)],
                lambda x: ms.reduce_max(x, axes=(1,)),
            ),
        ]
    lib = compile_functions(functions, tmp_path)
    for element in ("i32", "i64"):
        dtype = np.dtype(spec((), element).numpy_dtype)
        a = np.array([[-5, 0, 7], [-3, -9, -1]], dtype=dtype)
        b = np.array([-4, 1, 7], dtype=dtype)
        np.testing.assert_array_equal(lib(f"max_{element}", a, b)[0], np.maximum(a, b))
        np.testing.assert_array_equal(lib(f"min_{element}", a, b)[0], np.minimum(a, b))
        np.testing.assert_array_equal(lib(f"abs_{element}", a)[0], np.abs(a))
        np.testing.assert_array_equal(lib(f"sign_{element}", a)[0], np.sign(a))
        np.testing.assert_array_equal(lib(f"rmax_{element}", a)[0], a.max(1))


CASTS = [
    ("f32", "f64"),
    ("f64", "f32"),
    ("f32", "f16"),
    ("f16", "f32"),
    ("f32", "i32"),
    ("f64", "i64"),
    ("i32", "f32"),
    ("i64", "f64"),
    ("i32", "i64"),
    ("i64", "i32"),
    ("f64", "f16"),
]


def test_casts_match_numpy_astype(tmp_path):
    functions = [
        Function(f"cast_{src}_{dst}", [spec((2, 4), src)], lambda x, dst=dst: ms.cast(x, dst))
        for src, dst in CASTS
    ]
    lib = compile_functions(functions, tmp_path)
    values = np.array([[-2.75, -1.5, -0.25, 0.0], [0.5, 1.0, 2.5, 100.75]])
    for src, dst in CASTS:
        source = values.astype(spec((), src).numpy_dtype)
        (out,) = lib(f"cast_{src}_{dst}", source)
        expected = source.astype(spec((), dst).numpy_dtype)
        assert out.dtype == expected.dtype, (src, dst)
        np.testing.assert_array_equal(out, expected, err_msg=f"{src} -> {dst}")


def test_maximum_and_reduce_max_propagate_nan(tmp_path):
    functions = [
        Function("max", [spec((3,)), spec((3,))], ms.maximum),
        Function("rmax", [spec((2, 2))], lambda x: ms.reduce_max(x, axes=(1,))),
    ]
    lib = compile_functions(functions, tmp_path)
    a = np.array([np.nan, 1.0, 2.0], np.float32)
    b = np.array([0.0, np.nan, 1.0], np.float32)
    np.testing.assert_array_equal(lib("max", a, b)[0], np.maximum(a, b))
    x = np.array([[1.0, np.nan], [-np.inf, -1e30]], np.float32)
    np.testing.assert_array_equal(lib("rmax", x)[0], x.max(1))
