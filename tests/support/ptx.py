"""`ptxas`, the CUDA toolkit's assembler, as the judge of the PTX that `--target cuda` emits."""

from __future__ import annotations

import subprocess

import pytest

from cellc.compiler.lowering.gpu_to_nvvm import find_ptxas

PTXAS = find_ptxas()
needs_ptxas = pytest.mark.skipif(PTXAS is None, reason="ptxas (CUDA toolkit) is not installed")


def assert_ptxas_accepts(ptx: str, chip: str, tmp_path) -> None:
    """`ptx` targets `chip` and assembles for it; ptxas's complaint is the failure message."""
    assert f".target {chip}" in ptx, f"the PTX does not target {chip}"
    source = tmp_path / "kernels.ptx"
    source.write_text(ptx)
    run = subprocess.run(
        [PTXAS, f"-arch={chip}", str(source), "-o", str(tmp_path / "kernels.cubin")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
