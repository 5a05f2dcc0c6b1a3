"""What `cellc run` shows of the cells it compiles: the stages of a slow compile, a line per
compile and disk-cache hit with -v, and every compiled cell's IR and timings under
CELLC_SAVE_GRAPHS (CELLC_DUMP_DIR) or MindSpore's save_graphs."""

from __future__ import annotations

import textwrap

import pytest
from cli_support import invoke

from cellc import context
from cellc.cli import compile as compile_cli

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import mindspore as ms
    import mindspore.nn as nn
    from mindspore import Tensor

    SAVE = None  # replaced by the test

    if SAVE:
        ms.set_context(save_graphs=True, save_graphs_path=SAVE)

    class Twice(nn.Cell):
        def construct(self, x):
            return x * 2.0 + 0.5

    print(Twice()(Tensor(np.ones(3, np.float32))))
    """
)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty disk cache, and context settings the script's set_context cannot leak."""
    monkeypatch.setenv("CELLC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(context, "_settings", dict(context._settings))


def write(tmp_path, save=None):
    path = tmp_path / "twice.py"
    path.write_text(SCRIPT.replace("SAVE = None", f"SAVE = {save!r}"))
    return path


def test_run_shows_the_stages_of_a_slow_compile(tmp_path, fresh_cache, monkeypatch):
    monkeypatch.setattr(compile_cli, "PROGRESS_AFTER_S", 0.0)
    result = invoke("run", write(tmp_path))
    assert result.exit_code == 0, result.output
    assert "[cellc] linalg done (" in result.stderr
    assert "2.5" in result.stdout


def test_run_v_reports_each_compile_then_the_disk_cache_hit(tmp_path, fresh_cache):
    first = invoke("run", "-v", write(tmp_path))
    assert first.exit_code == 0, first.output
    (compiled,) = [line for line in first.stderr.splitlines() if line.startswith("[cellc] ")]
    assert compiled.startswith("[cellc] Twice(f32[3]): compiled (ms ")
    assert ", llvm " in compiled and ", code " in compiled and "cached as " in compiled
    assert "2.5" in first.stdout
    again = invoke("run", "-v", write(tmp_path))  # a new run finds it on disk
    (hit,) = [line for line in again.stderr.splitlines() if line.startswith("[cellc] ")]
    key = compiled.split("cached as ")[1].split(";")[0]
    assert hit.startswith(f"[cellc] Twice(f32[3]): disk-cache hit {key}; ")
    assert "[cellc]" not in invoke("run", write(tmp_path)).stderr  # quiet without -v


@pytest.mark.parametrize("variable", ["CELLC_SAVE_GRAPHS", "CELLC_DUMP_DIR"])
def test_cellc_save_graphs_keeps_each_cells_ir_and_timings(
    tmp_path, fresh_cache, monkeypatch, variable
):
    monkeypatch.setenv(variable, str(tmp_path / "graphs"))
    assert invoke("run", write(tmp_path)).exit_code == 0
    (folder,) = (tmp_path / "graphs").iterdir()
    assert folder.name.startswith("Twice-")
    assert "ms.mul" in (folder / "01-ms.mlir").read_text()
    assert (folder / "reproduce.sh").exists()
    assert "linalg" in (folder / "timings.txt").read_text()


def test_mindspores_save_graphs_keeps_them_too_even_for_a_cached_cell(tmp_path, fresh_cache):
    assert invoke("run", write(tmp_path)).exit_code == 0  # now in the disk cache
    graphs = tmp_path / "ms-graphs"
    assert invoke("run", write(tmp_path, str(graphs))).exit_code == 0
    (folder,) = graphs.iterdir()
    assert sorted(p.name for p in folder.glob("*.mlir"))[0] == "01-ms.mlir"
