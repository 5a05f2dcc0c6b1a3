"""Large matmuls and transposes through the CPU back end's cache blocks and thread pool
(cpu-tile-and-vectorize-matmuls, cpu-tile-transposes, cpu-outline-parallel-loops,
runtime/src/cellc_parallel.c), against numpy: ragged sizes whose blocks do not divide them,
every transpose combination, f32 and f64; the same bytes for 1, 2 and 3 threads; calls from two
threads at once; a forked child that uses the pool again.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from cpu_harness import Function, compile_functions, spec

from cellc.compiler.lowering.linalg_to_llvm import CACHE_TILED_MACS, PARALLEL_ELEMENTS
from cellc.compiler.toolchain import tool
from cellc.dialects import ms

# (m, k, n): blocks of 96 x 256 x 256 leave ragged edges on every axis; "one_block_row" has a
# single row of blocks (parallel over columns only).
SHAPES = {"ragged": (131, 300, 263), "one_block_row": (50, 200, 700)}
TRANSPOSES = list(itertools.product((False, True), repeat=2))
PERMUTED = {"2d": ((300, 517), (1, 0)), "nchw_to_nhwc": ((2, 16, 40, 70), (0, 2, 3, 1))}


def _name(shape, ta, tb, element):
    return f"mm_{shape}_{'t' if ta else 'n'}{'t' if tb else 'n'}_{element}"


def _operand_shapes(m, k, n, ta, tb):
    return ((k, m) if ta else (m, k)), ((n, k) if tb else (k, n))


def _functions():
    functions = []
    for (shape, (m, k, n)), (ta, tb), element in itertools.product(
        SHAPES.items(), TRANSPOSES, ("f32", "f64")
    ):
        assert m * n * k >= CACHE_TILED_MACS
        a_shape, b_shape = _operand_shapes(m, k, n, ta, tb)
        functions.append(
            Function(
                _name(shape, ta, tb, element),
                [spec(a_shape, element), spec(b_shape, element)],
                lambda a, b, ta=ta, tb=tb: ms.matmul(a, b, transpose_a=ta, transpose_b=tb),
            )
        )
    for name, (shape, perm) in PERMUTED.items():
        assert np.prod(shape) >= PARALLEL_ELEMENTS
        functions.append(
            Function(f"transpose_{name}", [spec(shape)], lambda x, p=perm: ms.transpose(x, perm=p))
        )
    return functions


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    directory = tmp_path_factory.mktemp("parallel")
    return compile_functions(_functions(), directory), directory / "lib.so"


def _operands(shape, ta, tb, element):
    m, k, n = SHAPES[shape]
    dtype = np.float32 if element == "f32" else np.float64
    rng = np.random.default_rng(m + k + n)
    a_shape, b_shape = _operand_shapes(m, k, n, ta, tb)
    return rng.standard_normal(a_shape).astype(dtype), rng.standard_normal(b_shape).astype(dtype)


def test_the_library_runs_its_loops_on_the_pool(library):
    _, path = library
    symbols = subprocess.run(
        [tool("llvm-nm"), str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "cellc_parallel_for" in symbols
    # one trampoline per parallel loop: the matmul's blocks; the transpose's blocks
    assert "__cellc_trampoline_mm_ragged_nn_f32_0" in symbols
    assert "__cellc_trampoline_transpose_2d_0" in symbols
    # a transposed right operand is copied in parallel blocks, then multiplied in parallel
    assert "__cellc_trampoline_mm_ragged_nt_f32_1" in symbols


@pytest.mark.parametrize("element", ["f32", "f64"])
@pytest.mark.parametrize("transposes", TRANSPOSES, ids=["nn", "nt", "tn", "tt"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_cache_blocked_matmul(library, shape, transposes, element):
    lib, _ = library
    ta, tb = transposes
    a, b = _operands(shape, ta, tb, element)
    (got,) = lib(_name(shape, ta, tb, element), a, b)
    want = (a.T if ta else a) @ (b.T if tb else b)
    tolerance = 1e-5 if element == "f32" else 1e-12
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * a.shape[0])


@pytest.mark.parametrize("name", list(PERMUTED))
def test_blocked_transpose(library, name):
    lib, _ = library
    shape, perm = PERMUTED[name]
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    (got,) = lib(f"transpose_{name}", x)
    np.testing.assert_array_equal(got, np.transpose(x, perm))


def test_calls_from_two_threads_at_once(library):
    """A second caller while the pool is busy runs its iterations itself: both right."""
    lib, _ = library
    a, b = _operands("ragged", False, False, "f32")
    want = a @ b
    results = [None] * 4

    def call(slot):
        results[slot] = lib(_name("ragged", False, False, "f32"), a, b)[0]

    threads = [threading.Thread(target=call, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for got in results:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)


_CHILD = textwrap.dedent(
    """
    import ctypes, os, sys
    import numpy as np
    lib = ctypes.CDLL(sys.argv[1])
    a = np.load(sys.argv[2]); b = np.load(sys.argv[3])
    def call():
        out = np.empty((a.shape[0], b.shape[1]), np.float32)
        lib.mm_ragged_nn_f32(*(ctypes.c_void_p(x.ctypes.data) for x in (a, b, out)))
        return out
    first = call()
    if sys.argv[5] == "fork":
        pid = os.fork()
        if pid == 0:
            os._exit(0 if np.array_equal(call(), first) else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
    np.save(sys.argv[4], first)
    """
)


def _run_child(path, a, b, tmp_path, threads, mode="plain"):
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    out = tmp_path / f"out{threads}.npy"
    subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(tmp_path / "a.npy"),
         str(tmp_path / "b.npy"), str(out), mode],
        env={"CELLC_NUM_THREADS": str(threads), "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=120,
    )  # fmt: skip
    return np.load(out)


def test_same_bytes_for_every_thread_count(library, tmp_path):
    """CELLC_NUM_THREADS=1 runs the iterations in order on the caller; 2 and 3 threads give
    exactly the same bytes (each block is computed the same way whichever thread runs it)."""
    lib, path = library
    a, b = _operands("ragged", False, False, "f32")
    results = [_run_child(path, a, b, tmp_path, threads) for threads in (1, 2, 3)]
    for got in results[1:]:
        np.testing.assert_array_equal(got, results[0])
    np.testing.assert_array_equal(lib(_name("ragged", False, False, "f32"), a, b)[0], results[0])


def test_a_forked_child_uses_the_pool_again(library, tmp_path):
    """The pool's threads do not survive fork(); the child makes a new pool, not a hang."""
    _, path = library
    a, b = _operands("ragged", False, False, "f32")
    np.testing.assert_allclose(
        _run_child(path, a, b, tmp_path, 2, mode="fork"), a @ b, rtol=1e-5, atol=1e-3
    )
