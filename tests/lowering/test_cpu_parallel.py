"""Large matmuls and transposes through the CPU back end's cache blocks and thread pool
(cpu-tile-and-vectorize-matmuls, cpu-tile-transposes, cpu-outline-parallel-loops,
runtime/src/cellc_parallel.c), against numpy: ragged sizes whose blocks do not divide them,
every transpose combination, f32 and f64; the same bytes for 1, 2 and 3 threads; calls from two
threads at once; a forked child that uses the pool again.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from cpu_harness import Function, compile_functions, nm_listing, spec

from cellc.compiler.lowering.linalg_to_llvm import CACHE_TILED_MACS, PARALLEL_ELEMENTS
from cellc.dialects import ms

# (m, k, n): blocks of 96 x 256 x 256 leave ragged edges on every axis; "one_block_row" has a
# single row of blocks (parallel over columns only).
# "skewed": 512 columns, B's rows 2 KiB apart, get one more register tile (cache aliasing; a
# reduction 8 deep is too shallow to pack B for).
# "panels": 11 x 5 blocks, enough for panels of several blocks per task (_CACHE_PANELS), the
# last panel and its last block ragged.
# "packed": B copied into panels of one register tile's width (packed_matmuls.py), 11 of them
# (22 with AVX2's narrower tiles); 200 rows are one block's (PANEL_ROWS), and each block of
# panels packs its own, the last one ragged. "packed_rows": more rows than that, so B is packed
# once, before the blocks, the last block of rows ragged.
SHAPES = {
    "ragged": (131, 300, 263),
    "one_block_row": (50, 200, 700),
    "skewed": (515, 8, 512),
    "panels": (1000, 70, 1030),
    "packed": (200, 300, 352),
    "packed_rows": (300, 300, 352),
}
TRANSPOSES = list(itertools.product((False, True), repeat=2))
# "images_to_nhwc": C and W fit one block, so the blocks are images (tile_transposes'
# _outer_blocks); "keeps_innermost": a convolution's (C, N, H, W) product into (N, C, H, W),
# cut into parallel blocks like a loop nest (tile_parallel_generics).
PERMUTED = {
    "2d": ((300, 517), (1, 0)),
    "nchw_to_nhwc": ((2, 16, 40, 70), (0, 2, 3, 1)),
    "images_to_nhwc": ((8, 64, 16, 16), (0, 2, 3, 1)),
    "keeps_innermost": ((64, 8, 16, 16), (1, 0, 2, 3)),
}
_SAME_3X3 = dict(strides=(1, 1), dilations=(1, 1), padding=(1, 1, 1, 1), groups=1)
# Loop nests of 2**16 iterations or more, cut into parallel blocks along their first parallel
# axis (cpu-tile-parallel-generics): (input shapes, body, numpy).
GENERICS = {
    "elementwise_chain": (
        [(7, 129, 97), (7, 129, 97)],
        lambda x, y: ms.tanh(ms.add(ms.mul(x, y), x)),
        lambda x, y: np.tanh(x * y + x),
    ),
    "sum_over_n_h_w": (
        [(5, 97, 11, 13)],
        lambda x: ms.reduce_sum(x, axes=(0, 2, 3), keep_dims=True),
        lambda x: x.sum((0, 2, 3), keepdims=True),
    ),
    # a large matmul's elementwise consumers: fused into its blocks (EPILOGUE_SCHEDULE)
    "matmul_bias_relu": (
        [(131, 300), (300, 256), (256,)],
        lambda a, b, c: ms.relu(ms.add(ms.matmul(a, b), c)),
        lambda a, b, c: np.maximum(a @ b + c, 0),
    ),
    "matmul_scaled": (
        [(200, 64), (64, 512), (200, 512)],
        lambda a, b, s: ms.mul(ms.matmul(a, b), s),
        lambda a, b, s: (a @ b) * s,
    ),
    # the same over B packed into panels: operands broadcast along rows and columns, each
    # viewed by the panels as the product is
    "matmul_broadcasts": (
        [(131, 300), (300, 256), (131, 1), (1, 256)],
        lambda a, b, r, c: ms.mul(ms.add(ms.matmul(a, b), r), c),
        lambda a, b, r, c: (a @ b + r) * c,
    ),
    # a convolution whose im2col gather writes B's panels itself (packed_matmuls'
    # _gathered_in_panels): 64 filters by (8 images x 16 x 16) columns, a panel two output rows
    # of 16; and one whose output rows of 8 make a panel four at a time (12 rows: 3 x 4)
    "conv_gathered_in_panels": (
        [(8, 16, 16, 16), (64, 16, 3, 3)],
        lambda x, w: ms.conv2d(x, w, **_SAME_3X3),
        lambda x, w: ms.Conv2DOp.reference(x, w, **_SAME_3X3),
    ),
    "conv_gathered_rows_of_8": (
        [(6, 8, 12, 8), (64, 8, 3, 3)],
        lambda x, w: ms.conv2d(x, w, **_SAME_3X3),
        lambda x, w: ms.Conv2DOp.reference(x, w, **_SAME_3X3),
    ),
    # a transposed B that a broadcast copies (a gather too): broadcast straight into panels
    "matmul_by_broadcast_transposed": (
        [(200, 64), (1, 64)],
        lambda a, b: ms.matmul(a, ms.broadcast_to(b, (256, 64)), transpose_b=True),
        lambda a, b: a @ np.broadcast_to(b, (256, 64)).T,
    ),
    "row_max_shift": (
        [(300, 257)],
        lambda x: ms.exp(ms.sub(x, ms.reduce_max(x, axes=(1,), keep_dims=True))),
        lambda x: np.exp(x - x.max(1, keepdims=True)),
    ),
    # innermost reductions over a multiple of 16 elements, accumulated in 16 lanes
    # (cpu-reduce-in-lanes): a batch norm's sums of squares per channel, a loss summed over a
    # whole tensor, row maxima
    "channel_sums_in_lanes": (
        [(8, 64, 16, 16)],
        lambda x: ms.reduce_sum(ms.mul(x, x), axes=(0, 2, 3), keep_dims=False),
        lambda x: (x * x).sum((0, 2, 3)),
    ),
    "total_in_lanes": (
        [(4, 64, 32, 32)],
        lambda x: ms.reduce_sum(ms.mul(x, x), axes=(0, 1, 2, 3), keep_dims=False),
        lambda x: (x * x).sum(),
    ),
    "row_max_in_lanes": (
        [(40, 2048)],
        lambda x: ms.reduce_max(x, axes=(1,), keep_dims=False),
        lambda x: x.max(1),
    ),
}


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
    for name, (shapes, body, _) in GENERICS.items():
        functions.append(Function(name, [spec(shape) for shape in shapes], body))
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
    symbols = nm_listing(path)
    assert "cellc_parallel_for" in symbols
    # one trampoline per parallel loop: the matmul's blocks; the transpose's blocks
    assert "__cellc_trampoline_mm_ragged_nn_f32_0" in symbols
    for name in PERMUTED:
        assert f"__cellc_trampoline_transpose_{name}_0" in symbols, name
    # a transposed right operand is copied in parallel blocks, then multiplied in parallel
    assert "__cellc_trampoline_mm_ragged_nt_f32_1" in symbols
    # loop nests of 2**16 iterations or more, and matmuls fused with their epilogue
    for name in ("elementwise_chain", "sum_over_n_h_w", "matmul_bias_relu", "matmul_scaled"):
        assert f"__cellc_trampoline_{name}_0" in symbols, name


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


@pytest.mark.parametrize("name", list(GENERICS))
def test_parallel_blocks_of_loop_nests(library, name):
    lib, _ = library
    shapes, _, reference = GENERICS[name]
    rng = np.random.default_rng(4)
    inputs = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    (got,) = lib(name, *inputs)
    want = reference(*(x.astype(np.float64) for x in inputs))
    # float32 sums of up to 715 terms in order (2**18 in 16 lanes), against float64
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-4)


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
    import ctypes, json, os, sys
    import numpy as np
    lib = ctypes.CDLL(sys.argv[1])
    cases = json.loads(sys.argv[2])
    def call(case):
        inputs = [np.load(path) for path in case["inputs"]]
        out = np.empty(case["shape"], np.float32)
        getattr(lib, case["name"])(*(ctypes.c_void_p(x.ctypes.data) for x in [*inputs, out]))
        return out
    results = [call(case) for case in cases]
    if sys.argv[3] == "fork":
        pid = os.fork()
        if pid == 0:
            os._exit(0 if np.array_equal(call(cases[0]), results[0]) else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
    for case, result in zip(cases, results):
        np.save(case["output"], result)
    """
)


def _parallel_cases(tmp_path):
    """Every f32 function of the library, with inputs saved for a child process."""
    rng = np.random.default_rng(5)
    cases = {}
    for shape in SHAPES:
        cases[_name(shape, False, False, "f32")] = list(_operands(shape, False, False, "f32"))
        cases[_name(shape, False, True, "f32")] = list(_operands(shape, False, True, "f32"))
    for name, (shape, _) in PERMUTED.items():
        cases[f"transpose_{name}"] = [rng.standard_normal(shape).astype(np.float32)]
    for name, (shapes, _, _) in GENERICS.items():
        cases[name] = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    return cases


def _run_child(library, cases, tmp_path, threads, mode="plain"):
    lib, path = library
    requests = []
    for name, inputs in cases.items():
        paths = []
        for position, value in enumerate(inputs):
            paths.append(str(tmp_path / f"{name}_{position}.npy"))
            np.save(paths[-1], value)
        (shape,) = [spec.shape for spec in lib.results[name]]
        output = str(tmp_path / f"{name}_out{threads}.npy")
        requests.append({"name": name, "inputs": paths, "shape": shape, "output": output})
    subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), json.dumps(requests), mode],
        env={"CELLC_NUM_THREADS": str(threads), "PATH": "/usr/bin:/bin"},
        check=True,
        timeout=120,
    )
    return {request["name"]: np.load(request["output"]) for request in requests}


def test_same_bytes_for_every_thread_count(library, tmp_path):
    """CELLC_NUM_THREADS=1 runs the iterations in order on the caller; 2 and 3 threads give
    exactly the same bytes (each block is computed the same way whichever thread runs it)."""
    lib, _ = library
    cases = _parallel_cases(tmp_path)
    results = [_run_child(library, cases, tmp_path, threads) for threads in (1, 2, 3)]
    for name, inputs in cases.items():
        for other in results[1:]:
            np.testing.assert_array_equal(other[name], results[0][name], err_msg=name)
        np.testing.assert_array_equal(lib(name, *inputs)[0], results[0][name], err_msg=name)


def test_a_forked_child_uses_the_pool_again(library, tmp_path):
    """The pool's threads do not survive fork(); the child makes a new pool, not a hang."""
    a, b = _operands("ragged", False, False, "f32")
    cases = {_name("ragged", False, False, "f32"): [a, b]}
    (got,) = _run_child(library, cases, tmp_path, 2, mode="fork").values()
    np.testing.assert_allclose(got, a @ b, rtol=1e-5, atol=1e-3)
