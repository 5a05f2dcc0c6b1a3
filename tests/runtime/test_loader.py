"""cellc.runtime.load: calls, return structures, argument checks, parameters, threads, cache."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import SEED_X, SEED_Y, SEED_Z, reference

from cellc import runtime
from cellc.compiler.package import write_artifact
from cellc.runtime import cpu
from cellc.runtime.artifact import read_artifact


def assert_nested_close(actual, expected):
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_nested_close(a, e)
    else:
        assert isinstance(actual, np.ndarray) and actual.dtype == expected.dtype
        np.testing.assert_allclose(actual, expected, rtol=1e-6)


@pytest.mark.parametrize("name", ["Net", "GradNetWrtX", "GradNetWrtXY", "GradNetAll"])
def test_entries_match_numpy(make_artifact, name):
    module = runtime.load(make_artifact())
    assert_nested_close(module[name](SEED_X, SEED_Y), reference(name, SEED_X, SEED_Y, SEED_Z))


def test_seed_gradient_values(make_artifact):
    dx = runtime.load(make_artifact()).GradNetWrtX(SEED_X, SEED_Y)
    np.testing.assert_allclose(dx, [[4.51, 2.7, 3.6], [4.51, 2.7, 3.6]], rtol=1e-6)


def test_sensitivity_input(make_artifact):
    module = runtime.load(make_artifact())
    sens = np.arange(6, dtype=np.float32).reshape(2, 3)
    entry = module.GradNetWrtXSens
    assert entry.gradient["sens_param"] and entry.gradient["sensitivity"][0]["shape"] == [2, 3]
    assert_nested_close(
        entry(SEED_X, SEED_Y, sens), reference("GradNetWrtXSens", SEED_X, SEED_Y, SEED_Z, sens)
    )


def test_module_introspection(make_artifact):
    module = runtime.load(make_artifact())
    assert list(module.entries) == [
        "Net",
        "GradNetWrtX",
        "GradNetWrtXSens",
        "GradNetWrtXY",
        "GradNetAll",
    ]
    assert module.manifest["format"] == "cellc-artifact"
    entry = module.entries["GradNetAll"]
    assert [spec.meaning for spec in entry.outputs] == [
        "d/d input 0 (x)",
        "d/d input 1 (y)",
        "d/d Parameter z",
    ]
    assert entry.signature() == (
        "GradNetAll(x: float32[2,3], y: float32[3,3]) -> (float32[2,3], float32[3,3], float32[1])"
    )
    assert "GradNetAll" in module.describe() and "GradNetAll" in dir(module)
    assert module["GradNetWrtX"] is module.GradNetWrtX


def test_missing_entry_names_the_module(make_artifact):
    path = make_artifact()
    module = runtime.load(path)
    with pytest.raises(
        AttributeError,
        match=rf"module '{path}' has no entry 'Forward'; "
        r"entries: Net, GradNetWrtX",
    ):
        _ = module.Forward
    with pytest.raises(KeyError, match="has no entry 'Forward'"):
        module["Forward"]


def test_wrong_dtype_and_shape_are_refused(make_artifact):
    grad = runtime.load(make_artifact()).GradNetWrtX
    with pytest.raises(
        TypeError,
        match=r"input 'x' of 'GradNetWrtX' expects float32\[2,3\], "
        r"got float64\[3,3\]",
    ):
        grad(np.zeros((3, 3)), SEED_Y)
    with pytest.raises(
        ValueError,
        match=r"input 'y' of 'GradNetWrtX' expects float32\[3,3\], "
        r"got float32\[3\]",
    ):
        grad(SEED_X, np.zeros(3, np.float32))
    with pytest.raises(TypeError, match=r"'GradNetWrtX' takes 2 inputs \(x, y\), got 1"):
        grad(SEED_X)
    with pytest.raises(TypeError, match="expects float32"):
        grad([["a", "b", "c"]] * 2, SEED_Y)


def test_lists_scalars_and_tensors_are_converted(make_artifact):
    grad = runtime.load(make_artifact()).GradNetWrtX

    class FakeTensor:  # what cellc.Tensor offers
        def __init__(self, value):
            self.value = value

        def asnumpy(self):
            return self.value

    expected = reference("GradNetWrtX", SEED_X, SEED_Y, SEED_Z)
    assert_nested_close(grad(SEED_X.tolist(), FakeTensor(SEED_Y)), expected)
    with pytest.raises(TypeError, match="got float64"):  # a Tensor's dtype is its own
        grad(SEED_X, FakeTensor(SEED_Y.astype(np.float64)))
    with pytest.raises(TypeError, match="expects float32"):
        runtime.load(make_artifact()).GradNetWrtX(SEED_X, [[True] * 3] * 3 + [[1.5]])


def test_non_contiguous_inputs_are_copied(make_artifact):
    grad = runtime.load(make_artifact()).GradNetWrtX
    y_fortran = np.asfortranarray(SEED_Y)
    x_strided = np.repeat(SEED_X, 2, axis=1)[:, ::2]
    assert not x_strided.flags.c_contiguous
    assert_nested_close(
        grad(x_strided, y_fortran), reference("GradNetWrtX", SEED_X, SEED_Y, SEED_Z)
    )


def test_outputs_are_fresh_arrays(make_artifact):
    grad = runtime.load(make_artifact()).GradNetWrtX
    first, second = grad(SEED_X, SEED_Y), grad(SEED_X, SEED_Y)
    assert first is not second and not np.shares_memory(first, second)
    first[...] = 0
    np.testing.assert_allclose(second[0], [4.51, 2.7, 3.6], rtol=1e-6)


def test_set_parameter(make_artifact):
    module = runtime.load(make_artifact())
    module.set_parameter("z", np.array([2.0], np.float32))
    assert module.parameters["z"].tolist() == [2.0]
    z = np.array([2.0], np.float32)
    for name in module.entries:
        if name != "GradNetWrtXSens":
            assert_nested_close(module[name](SEED_X, SEED_Y), reference(name, SEED_X, SEED_Y, z))
    module.set_parameter("z", [3])  # lists are converted
    assert module.parameters["z"].dtype == np.float32
    with pytest.raises(TypeError, match=r"parameter 'z' .* expects float32\[1\], got float64"):
        module.set_parameter("z", np.array([1.0]))
    with pytest.raises(KeyError, match="has no parameter 'w'; parameters: z"):
        module.set_parameter("w", SEED_Z)
    with pytest.raises(ValueError, match="read-only"):
        module.parameters["z"][0] = 5


def test_concurrent_calls(make_artifact):
    module = runtime.load(make_artifact())
    failures = []

    def work(seed):
        rng = np.random.default_rng(seed)
        for _ in range(300):
            x = rng.standard_normal((2, 3)).astype(np.float32)
            y = rng.standard_normal((3, 3)).astype(np.float32)
            got = module.GradNetWrtXY(x, y)
            want = reference("GradNetWrtXY", x, y, SEED_Z)
            if not all(np.allclose(g, w, rtol=1e-5, atol=1e-6) for g, w in zip(got, want)):
                failures.append(seed)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_code_is_loaded_from_memory_once(make_artifact, tmp_path):
    """The code is dlopened from a sealed memfd holding the checked bytes: nothing is written to
    the cache, and the same code loaded twice is one library."""
    path = make_artifact()
    first, second = runtime.load(path), runtime.load(path)
    assert not (tmp_path / "cache").exists()
    library = first.GradNetWrtX._library
    assert library is second.GradNetWrtX._library
    assert library._name.startswith("/proc/self/fd/")
    code = read_artifact(path).member("code.so")
    assert Path(library._name).read_bytes() == code
    assert first.GradNetWrtX(SEED_X, SEED_Y).shape == (2, 3)


def test_a_file_swapped_after_the_check_is_never_loaded(make_artifact, monkeypatch, tmp_path):
    """Between read_artifact (checksum) and dlopen, the artifact on disk and the old extraction
    path are replaced by other code: the loaded code is still the checked one."""
    path = make_artifact()
    source = (Path(__file__).parent / "seed_model.c").read_text()
    poisoned_source = tmp_path / "poisoned.c"
    poisoned_source.write_text(source.replace("dx[i * 3 + j] = sum * z[0];", "dx[i * 3 + j] = 42;"))
    poisoned = tmp_path / "poisoned.so"
    subprocess.run(
        ["cc", "-shared", "-fPIC", str(poisoned_source), "-o", str(poisoned)], check=True
    )
    code = read_artifact(path).member("code.so")
    real_read = runtime.read_artifact

    def read_then_swap(where, weights=None):
        artifact = real_read(where, weights)
        # a valid artifact with other code replaces the file, and the old extraction path
        # (<cache>/so/<sha256 of the checked code>.so) holds the other code too
        write_artifact(where, artifact.manifest, poisoned.read_bytes(), artifact.parameters)
        old_location = tmp_path / "cache" / "so" / f"{hashlib.sha256(code).hexdigest()}.so"
        old_location.parent.mkdir(parents=True)
        shutil.copy(poisoned, old_location)
        return artifact

    monkeypatch.setattr(cpu, "_LIBRARIES", {})
    monkeypatch.setattr(runtime, "read_artifact", read_then_swap)
    module = runtime.load(path)
    monkeypatch.setattr(runtime, "read_artifact", real_read)
    swapped = runtime.load(path)  # what the file now holds (another module, other code)
    assert swapped.GradNetWrtX(SEED_X, SEED_Y).tolist() == [[42.0] * 3] * 2
    np.testing.assert_allclose(module.GradNetWrtX(SEED_X, SEED_Y), [[4.51, 2.7, 3.6]] * 2, 1e-6)
    assert Path(module.GradNetWrtX._library._name).read_bytes() == code


def test_without_memfd_code_loads_from_a_private_file(make_artifact, monkeypatch):
    """The fallback: a new 0700 directory, the file created there by this process (O_EXCL),
    dlopened, then removed."""
    seen = []
    real_cdll = ctypes.CDLL

    def recording_cdll(name, *args, **kwargs):
        seen.append((name, os.stat(os.path.dirname(name)).st_mode, os.stat(name).st_mode))
        return real_cdll(name, *args, **kwargs)

    monkeypatch.delattr(os, "memfd_create")
    monkeypatch.setattr(cpu, "_LIBRARIES", {})
    monkeypatch.setattr(cpu.ctypes, "CDLL", recording_cdll)
    module = runtime.load(make_artifact())
    [(name, directory_mode, file_mode)] = seen
    assert stat.S_IMODE(directory_mode) == 0o700 and stat.S_IMODE(file_mode) == 0o700
    assert not os.path.exists(os.path.dirname(name))
    np.testing.assert_allclose(module.GradNetWrtX(SEED_X, SEED_Y), [[4.51, 2.7, 3.6]] * 2, 1e-6)


def test_unwritable_temporary_directory_is_reported(make_artifact, monkeypatch, tmp_path):
    path = make_artifact()
    blocker = tmp_path / "not_a_directory"
    blocker.write_text("")
    monkeypatch.delattr(os, "memfd_create")
    monkeypatch.setattr(cpu, "_LIBRARIES", {})
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))
    with pytest.raises(runtime.ArtifactError, match="set TMPDIR"):
        runtime.load(path)


def test_runtime_runs_without_mlir_or_the_compiler(make_artifact, tmp_path):
    """In a fresh interpreter where importing `mlir` or `cellc.compiler` fails, the runtime
    still loads and runs an artifact -- and neither ends up in sys.modules."""
    script = textwrap.dedent(
        """
        import sys

        class Forbid:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "mlir" or name.startswith("cellc.compiler"):
                    raise ImportError(f"the runtime must not import {name}")

        sys.meta_path.insert(0, Forbid())
        import numpy as np
        import cellc.runtime

        module = cellc.runtime.load(sys.argv[1])
        x = np.array([[0.8, 0.6, 0.2], [1.8, 1.3, 1.1]], np.float32)
        y = np.array([[0.11, 3.3, 1.1], [1.1, 0.2, 1.4], [1.1, 2.2, 0.3]], np.float32)
        print(module.GradNetWrtX(x, y).tolist())
        loaded = [
            m for m in sys.modules if m.split(".")[0] == "mlir" or m.startswith("cellc.compiler")
        ]
        assert not loaded, loaded
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(make_artifact())],
        check=False,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(eval(result.stdout), [[4.51, 2.7, 3.6]] * 2, rtol=1e-6)


def test_big_endian_inputs_are_converted(make_artifact):
    module = runtime.load(make_artifact())
    big_x, big_y = SEED_X.astype(">f4"), SEED_Y.astype(">f4")
    np.testing.assert_array_equal(module.Net(big_x, big_y), module.Net(SEED_X, SEED_Y))


def test_a_shared_parameter_is_read_at_every_call(make_artifact):
    module = runtime.load(make_artifact())
    z = np.array([1.0], np.float32)
    module.share_parameter("z", z)
    before = module.Net(SEED_X, SEED_Y)
    z[0] = 2.0
    np.testing.assert_allclose(module.Net(SEED_X, SEED_Y), 2 * before, rtol=1e-6)
    with pytest.raises(TypeError, match=r"expects float32\[1\], got float64\[1\]"):
        module.share_parameter("z", np.array([1.0], np.float64))
    with pytest.raises(ValueError, match="share_parameter needs a C-contiguous"):
        module.share_parameter("z", [1.0])  # a list would be converted: a copy, not shared


@pytest.mark.parametrize(("setting", "expected"), [("1", "True"), ("0", "False")])
def test_malloc_keeps_large_blocks_unless_told_not_to(make_artifact, setting, expected):
    # compiled code allocates its temporaries on every call: glibc's malloc must keep them
    script = (
        "import sys\n"
        "from cellc import runtime\n"
        "from cellc.runtime import cpu\n"
        f"runtime.load({str(make_artifact())!r})\n"
        "print(cpu.tune_malloc())\n"
    )
    env = dict(os.environ, CELLC_MALLOC_TUNING=setting)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
