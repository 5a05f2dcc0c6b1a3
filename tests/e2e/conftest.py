"""Fixtures of the end-to-end tests.

CELLC_TEST_TARGET=cuda runs them with `context.set_context(device_target="GPU")`: every cell
they call compiles for the CUDA target and runs through cellc.runtime's CUDA loader (a GPU is
needed; scripts/gpu-check.sh re-runs the gradient tests so). The default is the CPU.
"""

import os

import pytest

from cellc import context

TARGETS = {"cpu": "CPU", "cuda": "GPU"}
TARGET = os.environ.get("CELLC_TEST_TARGET", "cpu")
if TARGET not in TARGETS:
    raise pytest.UsageError(
        f"CELLC_TEST_TARGET={TARGET!r}: expected one of {', '.join(sorted(TARGETS))}"
    )


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Each test module compiles into its own disk cache."""
    monkeypatch.setenv("CELLC_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cellc-cache"))


@pytest.fixture(autouse=True)
def device_target():
    """Cells called in the test compile for CELLC_TEST_TARGET (the context is restored)."""
    previous = context.get_context("device_target")
    context.set_context(device_target=TARGETS[TARGET])
    yield TARGET
    context.set_context(device_target=previous)
