"""Fixtures of the CLI tests (helpers: cli_support.py)."""

from __future__ import annotations

import numpy as np
import pytest
from cli_support import SEED_X, SEED_Y


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Compiled cells go to a cache of this test session, never the user's ~/.cache/cellc;
    subprocesses inherit it through the environment."""
    monkeypatch.setenv("CELLC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cellc-cache"))


@pytest.fixture
def seed_npy(tmp_path):
    """x.npy and y.npy of the seed tutorial."""
    x, y = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x, SEED_X)
    np.save(y, SEED_Y)
    return x, y
