"""MindSpore's `context`: scripts set a mode and a device; cellc always compiles ahead of time.

`device_target="GPU"` makes cells compile for `cuda`; anything else compiles for the CPU."""

from __future__ import annotations

GRAPH_MODE = 0
PYNATIVE_MODE = 1

_settings = {"mode": GRAPH_MODE, "device_target": "CPU"}


def set_context(**kwargs) -> None:
    _settings.update(kwargs)


def get_context(key: str):
    return _settings.get(key)


def target() -> str:
    return "cuda" if str(_settings.get("device_target", "CPU")).upper() == "GPU" else "cpu"
