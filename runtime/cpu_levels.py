"""The x86-64 micro-architecture levels: the one table of what each needs.

The compiler targets a level (llc's `-mcpu=x86-64-v4`), the manifest records the level's CPU
features as /proc/cpuinfo flags, and the loader refuses an artifact on a CPU without them. The
levels are psABI's x86-64 levels, with their features spelled as LLVM spells them.
"""

from __future__ import annotations

import os

from .artifact import cpuinfo_flags_from_llvm_features, host_cpu_flags

_X86_64_V2 = ("cx16", "popcnt", "sahf", "sse4.1", "sse4.2", "ssse3")
_X86_64_V3 = (
    *_X86_64_V2,
    *("avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave"),
)
CPU_LEVELS: dict[str, tuple[str, ...]] = {
    "x86-64": (),
    "x86-64-v2": _X86_64_V2,
    "x86-64-v3": _X86_64_V3,
    "x86-64-v4": (*_X86_64_V3, "avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl"),
}

# The SIMD register width each level gives the code generator (bits).
VECTOR_BITS = {"x86-64": 128, "x86-64-v2": 128, "x86-64-v3": 256, "x86-64-v4": 512}


def cpu_features(level: str) -> list[str]:
    """The /proc/cpuinfo flags a CPU needs to run code built for `level` (none if unknown)."""
    return cpuinfo_flags_from_llvm_features(list(CPU_LEVELS.get(level, ())))


def host_cpu_level() -> str:
    """The best level this machine runs, x86-64-v2 at least (any x86-64 CPU since ~2009);
    `CELLC_CPU` overrides it (e.g. `CELLC_CPU=x86-64-v2` for portable artifacts)."""
    chosen = os.environ.get("CELLC_CPU")
    if chosen:
        return chosen
    flags = host_cpu_flags()
    if flags is None:
        return "x86-64-v2"
    for level in ("x86-64-v4", "x86-64-v3"):
        if set(cpu_features(level)) <= flags:
            return level
    return "x86-64-v2"
