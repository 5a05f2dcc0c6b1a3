"""The CPU back end compiles a module in parts at once (llvm_to_object.emit_objects), each loop
nest in a function of its own (cpu-outline-loop-nests): the library built from three parts
computes the same bytes as the one built whole, exports only the public functions and their
signatures, and the nests are functions of their own in it."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from cpu_harness import Function, build_module, nm_listing, spec

from cellc.compiler import lowering
from cellc.compiler.lowering import LoweringError, llvm_to_object
from cellc.dialects import ms

FUNCTIONS = [
    Function("scaled_sum", [spec((33, 17)), spec((33, 17))], lambda x, y: ms.add(ms.mul(x, y), x)),
    Function(
        "row_exp_shift",
        [spec((9, 31))],
        lambda x: ms.exp(ms.sub(x, ms.reduce_max(x, axes=(1,), keep_dims=True))),
    ),
    Function(
        "dense_relu",
        [spec((40, 24)), spec((24, 72)), spec((72,))],
        lambda x, w, b: ms.relu(ms.add(ms.matmul(x, w), b)),
    ),
    Function("column_sums", [spec((50, 6))], lambda x: ms.reduce_sum(x, axes=(0,))),
    Function("transposed", [spec((7, 130))], lambda x: ms.transpose(x, perm=(1, 0))),
]


def _library(directory, parts):
    module, results = build_module(FUNCTIONS)
    lowering.convert_ms_to_linalg(module)
    lowering.lower_linalg_to_llvm(module)
    path = directory / f"parts{parts}.so"
    lowering.emit_shared_library(module, path, parts=parts)
    return path, results


@pytest.fixture(scope="module")
def libraries(tmp_path_factory):
    directory = tmp_path_factory.mktemp("parts")
    return {parts: _library(directory, parts) for parts in (1, 3)}


def _call(path, results, name, inputs):
    lib = ctypes.CDLL(str(path))
    outs = [np.full(s.shape, np.nan, s.numpy_dtype) for s in results[name]]
    getattr(lib, name).restype = None
    getattr(lib, name)(*[ctypes.c_void_p(a.ctypes.data) for a in [*inputs, *outs]])
    return outs


def test_parts_compute_the_same_bytes(libraries):
    rng = np.random.default_rng(0)
    (whole, results), (split, _) = libraries[1], libraries[3]
    for fn in FUNCTIONS:
        inputs = [rng.standard_normal(s.shape).astype(np.float32) for s in fn.args]
        expected = _call(whole, results, fn.name, inputs)
        assert np.isfinite(expected[0]).all(), fn.name
        for got, want in zip(_call(split, results, fn.name, inputs), expected):
            np.testing.assert_array_equal(got, want, err_msg=fn.name)
    x, w, b = (rng.standard_normal(s.shape).astype(np.float32) for s in FUNCTIONS[2].args)
    (got,) = _call(split, results, "dense_relu", [x, w, b])
    np.testing.assert_allclose(got, np.maximum(x @ w + b, 0), rtol=1e-5, atol=1e-5)


def _symbols(path, *flags):
    return {line.split()[-1] for line in nm_listing(path, *flags).splitlines() if line.strip()}


def test_split_library_exports_what_the_whole_one_does(libraries):
    exported = {
        parts: _symbols(path, "--dynamic", "--defined-only")
        for parts, (path, _) in libraries.items()
    }
    assert exported[1] == exported[3]
    public = {fn.name for fn in FUNCTIONS}
    assert public <= exported[3]
    assert not any(name.startswith("__cellc_") for name in exported[3])


def test_each_nest_is_a_function(libraries):
    path, _ = libraries[3]
    nests = {name for name in _symbols(path, "--defined-only") if "__cellc_nest_" in name}
    # every function has at least one nest; the matmul's has its bias-relu epilogue with it
    for fn in FUNCTIONS:
        assert any(name.startswith(f"__cellc_nest_{fn.name}_") for name in nests), fn.name


def test_a_forked_childs_exit_keeps_the_thread_pool_object(tmp_path):
    """The thread pool's C object, built once per process into a temporary folder, is removed
    at exit by the process that built it only: a forked child builds its own (the parent's
    may be half-written when it forks), and its normal exit (atexit handlers) leaves the
    parent's copy, which the parent's next compile links."""
    script = tmp_path / "fork.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys
            from cellc.compiler.lowering import llvm_to_object

            ours = llvm_to_object._thread_pool_object().result()
            child = os.fork()
            if child == 0:
                theirs = llvm_to_object._thread_pool_object().result()
                sys.exit(0 if theirs.exists() and theirs != ours else 3)
            _, status = os.waitpid(child, 0)
            print(os.waitstatus_to_exitcode(status), ours.exists())
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["0", "True"], done.stderr


def test_a_failed_background_build_says_which_tool_and_why(tmp_path):
    """The thread pool's object compiles in the background (`_Build`); a failure there reaches
    the compile as a LoweringError with the command and the tool's own messages."""
    source = tmp_path / "broken.c"
    source.write_text("int f( {\n")
    output = tmp_path / "broken.o"
    build = llvm_to_object._Build(["cc", "-c", str(source), "-o", str(output)], output)
    with pytest.raises(
        LoweringError, match=r"'cc' failed \(exit [1-9]\d*\):\n.*broken\.c.*\n.*error"
    ):
        build.result()
