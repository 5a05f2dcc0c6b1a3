"""Matrix products through the CPU back end's register tiling (cpu-tile-and-vectorize-matmuls),
against numpy: every transpose combination, f32 and f64, at shapes whose tiles do not divide
them (peeled edges), smaller than one tile, and exactly a multiple of the tile.
"""

from __future__ import annotations

import ctypes
import itertools
import re

import numpy as np
import pytest
from cpu_harness import (
    CompiledLibrary,
    Function,
    build_module,
    compile_functions,
    nm_listing,
    spec,
)

from cellc.compiler import lowering
from cellc.dialects import ms

# (m, k, n)
SHAPES = {"ragged": (67, 45, 33), "small": (3, 5, 2), "exact": (48, 16, 64), "column": (7, 9, 1)}
TRANSPOSES = list(itertools.product((False, True), repeat=2))


def _name(shape: str, transpose_a: bool, transpose_b: bool) -> str:
    return f"mm_{shape}_{'t' if transpose_a else 'n'}{'t' if transpose_b else 'n'}"


def _operand_shapes(m, k, n, transpose_a, transpose_b):
    return ((k, m) if transpose_a else (m, k)), ((n, k) if transpose_b else (k, n))


@pytest.fixture(scope="module", params=["f32", "f64"])
def library(request, tmp_path_factory):
    element = request.param
    functions = []
    for (shape, (m, k, n)), (ta, tb) in itertools.product(SHAPES.items(), TRANSPOSES):
        a_shape, b_shape = _operand_shapes(m, k, n, ta, tb)
        functions.append(
            Function(
                _name(shape, ta, tb),
                [spec(a_shape, element), spec(b_shape, element)],
                lambda a, b, ta=ta, tb=tb: ms.matmul(a, b, transpose_a=ta, transpose_b=tb),
            )
        )
    directory = tmp_path_factory.mktemp(f"matmul-{element}")
    return element, compile_functions(functions, directory)


@pytest.mark.parametrize("transposes", TRANSPOSES, ids=["nn", "nt", "tn", "tt"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_matmul_transposes(library, shape, transposes):
    element, lib = library
    transpose_a, transpose_b = transposes
    m, k, n = SHAPES[shape]
    dtype = np.float32 if element == "f32" else np.float64
    rng = np.random.default_rng(sum(SHAPES[shape]))
    a_shape, b_shape = _operand_shapes(m, k, n, transpose_a, transpose_b)
    a = rng.standard_normal(a_shape).astype(dtype)
    b = rng.standard_normal(b_shape).astype(dtype)
    (got,) = lib(_name(shape, transpose_a, transpose_b), a, b)
    want = (a.T if transpose_a else a) @ (b.T if transpose_b else b)
    tolerance = 1e-5 if element == "f32" else 1e-12
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * k)


@pytest.mark.parametrize("cpu", ["x86-64", "x86-64-v2"])
def test_portable_cpu_levels(tmp_path, cpu):
    """The micro-kernels also build for SSE-only CPU levels (narrower tiles); a large matmul's
    multiply-adds, fused where the level has FMA instructions, stay a multiply and an add
    there (never a call to libm's software fmaf)."""
    functions = [
        Function(
            "mm", [spec((13, 7)), spec((9, 7))], lambda a, b: ms.matmul(a, b, transpose_b=True)
        ),
        Function("large", [spec((192, 128)), spec((128, 256))], ms.matmul),
    ]
    module, results = build_module(functions)
    lowering.convert_ms_to_linalg(module)
    lowering.lower_linalg_to_llvm(module, cpu=cpu)
    lowering.emit_shared_library(module, tmp_path / "lib.so", cpu=cpu)
    lib = CompiledLibrary(ctypes.CDLL(str(tmp_path / "lib.so")), results)
    lib.lib.mm.restype = lib.lib.large.restype = None
    rng = np.random.default_rng(1)
    a = rng.standard_normal((13, 7)).astype(np.float32)
    b = rng.standard_normal((9, 7)).astype(np.float32)
    np.testing.assert_allclose(lib("mm", a, b)[0], a @ b.T, rtol=1e-5, atol=1e-5)
    a = rng.standard_normal((192, 128)).astype(np.float32)
    b = rng.standard_normal((128, 256)).astype(np.float32)
    np.testing.assert_allclose(lib("large", a, b)[0], a @ b, rtol=1e-4, atol=1e-4)
    assert "fma" not in nm_listing(tmp_path / "lib.so", "--undefined-only")


def test_transcendental_loops_call_vector_math(tmp_path):
    """A loop of exp, log and tanh vectorizes into glibc's libmvec (`_ZGV...expf`), not one
    scalar libm call per element: `opt`'s pipeline maps the library calls before vectorizing
    (pass_pipelines.OPT_PASSES: without `inject-tli-mappings`, a softmax ran 30% slower)."""
    functions = [
        Function("transcendental", [spec((64, 256))], lambda x: ms.tanh(ms.log(ms.exp(x)))),
    ]
    lib = compile_functions(functions, tmp_path)
    x = np.random.default_rng(2).uniform(-3, 3, (64, 256)).astype(np.float32)
    np.testing.assert_allclose(lib("transcendental", x)[0], np.tanh(x), rtol=1e-5, atol=1e-6)
    undefined = nm_listing(tmp_path / "lib.so", "--undefined-only")
    assert re.search(r"_ZGV\w*_expf", undefined), undefined
