"""The disk cache as a user meets it: `cellc compile` reads and writes it, `cellc cache
info|list|clear` show and empty it, and it stays under CELLC_CACHE_SIZE (LRU)."""

from __future__ import annotations

import os
import textwrap

import numpy as np
import pytest
from cli_support import invoke

import cellc.compiler.pipeline
import cellc.runtime
from cellc.frontend import disk_cache
from cellc.runtime.artifact import read_artifact

SCRIPT = textwrap.dedent(
    """
    import os
    import numpy as np
    import mindspore.nn as nn
    from mindspore import Tensor, Parameter

    class Scale(nn.Cell):
        def __init__(self):
            super().__init__()
            w = float(os.environ.get("CELLC_TEST_W", "1"))
            self.w = Parameter(Tensor(np.full(3, w, np.float32)), name="w")

        def construct(self, x):
            return x * self.w + 1.0
    """
)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache of the test's own."""
    monkeypatch.setenv("CELLC_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "scale.py"
    path.write_text(SCRIPT)
    return path


def compile_scale(script, output, *flags):
    result = invoke("compile", script, "--input", "f32[3]", "-o", output, "-v", *flags)
    assert result.exit_code == 0, result.output
    return result


def test_compile_reuses_the_cache_with_this_models_weights(cache, script, tmp_path, monkeypatch):
    first = compile_scale(script, tmp_path / "a.cellc")
    assert "from the cache" not in first.stderr
    assert len(disk_cache.entries()) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("the pipeline ran although the cache holds the artifact")

    monkeypatch.setattr(cellc.compiler.pipeline, "compile_program", refuse)
    monkeypatch.setenv("CELLC_TEST_W", "4")
    second = compile_scale(script, tmp_path / "b.cellc")
    assert "from the cache" in second.stderr
    artifact = read_artifact(tmp_path / "b.cellc")
    np.testing.assert_array_equal(artifact.parameters["w"], np.full(3, 4.0, np.float32))
    assert artifact.members["code.so"] == read_artifact(tmp_path / "a.cellc").members["code.so"]


def test_cache_entries_hold_code_not_weights(cache, script, tmp_path, monkeypatch):
    """A cache entry has no params/ members (a big model's weights are not copied into the
    cache); the runtime loads it only with the weights given, and the C loader refuses it with
    the reason. The exported artifact itself is complete."""
    monkeypatch.setenv("CELLC_TEST_W", "3")
    compile_scale(script, tmp_path / "a.cellc")
    (entry,) = disk_cache.entries()
    with pytest.raises(cellc.runtime.ArtifactError, match="stores no weights"):
        read_artifact(entry.path)
    stored = read_artifact(entry.path, weights={"w": np.full(3, 2.0, np.float32)})
    assert stored.manifest["weights_stored"] is False
    assert not [name for name in stored.members if name.startswith("params/")]
    module = cellc.runtime.load(entry.path, weights={"w": np.full(3, 2.0, np.float32)})
    np.testing.assert_array_equal(module.Scale(np.ones(3, np.float32)), np.full(3, 3.0))
    with pytest.raises(cellc.runtime.ArtifactError, match="weight 'w' is float64"):
        cellc.runtime.load(entry.path, weights={"w": np.zeros(3)})
    complete = read_artifact(tmp_path / "a.cellc")
    np.testing.assert_array_equal(complete.parameters["w"], np.full(3, 3.0, np.float32))


def test_calling_a_cell_stores_code_only(cache):
    """Calling a cell fills the cache with code; a second process's call (here: a fresh
    in-memory cache) loads it with the cell's own, current weights."""
    from cellc import Parameter, Tensor, nn

    class Scale(nn.Cell):
        def __init__(self, w):
            super().__init__()
            self.w = Parameter(Tensor(np.full(3, w, np.float32)), name="w")

        def construct(self, x):
            return x * self.w

    x = Tensor(np.ones(3, np.float32))
    np.testing.assert_array_equal(Scale(2.0)(x).asnumpy(), np.full(3, 2.0))
    (entry,) = disk_cache.entries()
    assert (
        read_artifact(entry.path, weights={"w": np.zeros(3, np.float32)}).manifest["weights_stored"]
        is False
    )
    np.testing.assert_array_equal(Scale(5.0)(x).asnumpy(), np.full(3, 5.0))
    assert len(disk_cache.entries()) == 1


def test_emit_and_keep_intermediates_run_the_pipeline(cache, script, tmp_path):
    compile_scale(script, tmp_path / "a.cellc")
    kept = compile_scale(script, tmp_path / "b.cellc", "--keep-intermediates", tmp_path / "ir")
    assert "from the cache" not in kept.stderr
    assert (tmp_path / "ir").is_dir()
    emitted = invoke("compile", script, "--input", "f32[3]", "--emit", "linalg")
    assert emitted.exit_code == 0 and "linalg" in emitted.stdout


def test_cache_info_list_and_clear(cache, script, tmp_path):
    compile_scale(script, tmp_path / "a.cellc")
    info = invoke("cache", "info")
    assert f"directory: {cache}" in info.stdout
    assert "entries:   1" in info.stdout
    assert "limit:     1.0 GiB" in info.stdout
    listing = invoke("cache", "list").stdout.splitlines()
    assert listing[0].split() == ["key", "size", "age", "entry", "target"]
    assert "Scale" in listing[1] and " cpu " in listing[1]
    assert invoke("cache", "clear").stdout.startswith("removed 1 entry from")
    assert disk_cache.entries() == []
    assert "is empty" in invoke("cache", "list").stdout


def test_the_least_recently_used_entries_go_over_the_limit(cache, monkeypatch):
    for age, key in enumerate(("new", "used", "old")):
        path = disk_cache.store(key, b"x" * 100)
        os.utime(path, (1000.0 - age * 100, 1000.0 - age * 100))
    assert disk_cache.lookup("old") is not None  # a hit makes it the most recently used
    monkeypatch.setenv("CELLC_CACHE_MAX_BYTES", "250")
    disk_cache.store("newest", b"x" * 100)
    assert sorted(entry.path.stem for entry in disk_cache.entries()) == ["newest", "old"]


@pytest.mark.parametrize(
    ("name", "text", "limit"),
    [
        ("CELLC_CACHE_SIZE", "250", 250),
        ("CELLC_CACHE_SIZE", "3K", 3 << 10),
        ("CELLC_CACHE_SIZE", "500m", 500 << 20),
        ("CELLC_CACHE_SIZE", "2G", 2 << 30),
        ("CELLC_CACHE_MAX_BYTES", "4096", 4096),
    ],
)
def test_the_size_limit_is_read_in_bytes_or_binary_units(cache, monkeypatch, name, text, limit):
    monkeypatch.setenv(name, text)
    assert disk_cache.max_bytes() == limit


def test_the_issues_spelling_of_the_limit_evicts_too(cache, monkeypatch):
    for age, key in enumerate(("new", "old")):
        path = disk_cache.store(key, b"x" * 100)
        os.utime(path, (1000.0 - age * 100, 1000.0 - age * 100))
    monkeypatch.setenv("CELLC_CACHE_SIZE", "250")
    disk_cache.store("newest", b"x" * 100)
    assert sorted(entry.path.stem for entry in disk_cache.entries()) == ["new", "newest"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "CELLC_CACHE_MAX_BYTES",
            "1G",
            "CELLC_CACHE_MAX_BYTES must be a number of bytes, not '1G'",
        ),
        ("CELLC_CACHE_SIZE", "1T", "CELLC_CACHE_SIZE must be a number of bytes, or with a K, M"),
        ("CELLC_CACHE_SIZE", "-5", "CELLC_CACHE_SIZE must be a number of bytes"),
        ("CELLC_CACHE_SIZE", "G", "CELLC_CACHE_SIZE must be a number of bytes"),
    ],
)
def test_a_bad_size_limit_is_named(cache, monkeypatch, name, text, message):
    monkeypatch.setenv(name, text)
    with pytest.raises(Exception, match=message):
        disk_cache.max_bytes()
