"""What `cellc run` shows of the cells it compiles: the stages of a slow compile, and every
compiled cell's IR and timings under CELLC_SAVE_GRAPHS or MindSpore's save_graphs."""

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
