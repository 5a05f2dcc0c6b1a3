"""MindSpore's `context`: scripts set a mode and a device; cellc always compiles ahead of time.

`device_target="GPU"` makes cells compile for `cuda`; anything else compiles for the CPU."""

from __future__ import annotations

import numpy as _numpy

GRAPH_MODE = 0
PYNATIVE_MODE = 1

# PyNative is MindSpore 2.x's default mode; where the two modes' results differ, cellc follows
# the mode set (GradOperation's get_by_list without weights)
_settings = {"mode": PYNATIVE_MODE, "device_target": "CPU", "device_id": 0}


def set_context(**kwargs) -> None:
    """MindSpore's `set_context(mode=..., device_target=...)`; other settings are kept and
    change nothing (cellc compiles ahead of time in both modes)."""
    mode = kwargs.get("mode", GRAPH_MODE)
    if mode not in (GRAPH_MODE, PYNATIVE_MODE) or isinstance(mode, bool):
        raise ValueError(
            "For 'context.set_context', the argument 'mode' should be context.GRAPH_MODE (0) "
            f"or context.PYNATIVE_MODE (1), but got {mode}."
        )
    _settings.update(kwargs)


def get_context(key: str):
    if key not in _settings:
        raise ValueError(
            f"For 'context.get_context', the argument {key} is not recognized! "
            f"cellc knows {', '.join(sorted(_settings))}"
        )
    return _settings[key]


def save_graphs_dir() -> str | None:
    """Where compiled cells keep their stage IR and timings: MindSpore's
    `set_context(save_graphs=True, save_graphs_path=DIR)` (DIR defaults to "."), else None."""
    if not _settings.get("save_graphs"):
        return None
    return str(_settings.get("save_graphs_path", "."))


def target() -> str:
    return "cuda" if str(_settings.get("device_target", "CPU")).upper() == "GPU" else "cpu"


# --- the random seed (MindSpore's `set_seed`): dropout masks are drawn from this generator ---

_random = {"seed": None, "generator": None}


def set_seed(seed: int) -> None:
    """Seeds the generator that dropout masks are drawn from, in eager code and compiled code
    alike, so that a script draws the same masks on every run (MindSpore's `set_seed`)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"The seed must be a non-negative int, got {seed!r}")
    _random["seed"] = seed
    _random["generator"] = _numpy.random.default_rng(seed)
    _numpy.random.seed(seed)  # initializers and data set shuffling draw from numpy, as MindSpore's


def get_seed() -> int | None:
    return _random["seed"]


def random_generator():
    """The generator of dropout masks (seeded by `set_seed`, else from the OS's entropy)."""
    if _random["generator"] is None:
        _random["generator"] = _numpy.random.default_rng()
    return _random["generator"]
