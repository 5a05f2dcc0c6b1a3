"""MindSpore's `context`: scripts set a mode and a device; cellc always compiles ahead of time.

`device_target="GPU"` makes cells compile for `cuda`; anything else compiles for the CPU."""

from __future__ import annotations

import os

import numpy as _numpy

from cellc import errors as _errors
from cellc.communication import engine as _engine

GRAPH_MODE = 0
PYNATIVE_MODE = 1
# MindSpore's `jit_syntax_level` values (set_context(jit_syntax_level=ms.STRICT)): cellc traces
# Python, so every level means the same to it.
STRICT, COMPATIBLE, LAX = 0, 1, 2

# PyNative is MindSpore 2.x's default mode; where the two modes' results differ, cellc follows
# the mode set (GradOperation's get_by_list without weights)
_settings = {"mode": PYNATIVE_MODE, "device_target": "CPU", "device_id": 0}


def set_device(device_target, device_id=None) -> None:
    """MindSpore 2.5's `mindspore.set_device('CPU' | 'GPU', device_id)`: set_context's
    device_target (and device_id)."""
    settings = {"device_target": device_target}
    if device_id is not None:
        settings["device_id"] = device_id
    set_context(**settings)


def set_context(**kwargs) -> None:
    """MindSpore's `set_context(mode=..., device_target=...)`; `runtime_num_threads=N` sets
    the thread count of compiled CPU code (`CELLC_NUM_THREADS`; 0: the cores the process may
    use), for the code that starts its threads afterwards; other settings are kept and change
    nothing (cellc compiles ahead of time in both modes)."""
    mode = kwargs.get("mode", GRAPH_MODE)
    if mode not in (GRAPH_MODE, PYNATIVE_MODE) or isinstance(mode, bool):
        raise ValueError(
            "For 'context.set_context', the argument 'mode' should be context.GRAPH_MODE (0) "
            f"or context.PYNATIVE_MODE (1), but got {mode}."
        )
    if "runtime_num_threads" in kwargs:
        _set_thread_count(kwargs["runtime_num_threads"])
    if "gpu_config" in kwargs:
        _check_gpu_config(kwargs["gpu_config"])
    _settings.update(kwargs)


def _check_gpu_config(config) -> None:
    """MindSpore's `gpu_config={"matmul_allow_tf32": bool, "conv_allow_tf32": bool}`."""
    if not isinstance(config, dict):
        raise TypeError(
            f"For 'context.set_context', the argument 'gpu_config' should be a dict, but got "
            f"{type(config).__name__}."
        )
    for key, value in config.items():
        if key not in ("matmul_allow_tf32", "conv_allow_tf32"):
            raise ValueError(
                f"For 'context.set_context', 'gpu_config' has no key {key!r} (cellc knows "
                "matmul_allow_tf32 and conv_allow_tf32)."
            )
        if not isinstance(value, bool):
            raise TypeError(f"For 'context.set_context', gpu_config[{key!r}] should be a bool.")


def matmul_allow_tf32() -> bool:
    """Whether f32 matmuls compiled for the GPU may run on tensor cores in tf32:
    `set_context(gpu_config={"matmul_allow_tf32": True})` (MindSpore's default: False). A
    convolution's matmul (im2col) counts as a matmul; `conv_allow_tf32` is accepted and has no
    effect of its own."""
    return bool(_settings.get("gpu_config", {}).get("matmul_allow_tf32", False))


def _set_thread_count(threads) -> None:
    """The pools of compiled CPU code read CELLC_NUM_THREADS when they start their threads."""
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 0:
        raise ValueError(
            "For 'context.set_context', the argument 'runtime_num_threads' should be an int "
            f"not less than 0, but got {threads!r}."
        )
    if threads == 0:
        os.environ.pop("CELLC_NUM_THREADS", None)
    else:
        os.environ["CELLC_NUM_THREADS"] = str(threads)


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


# --- the parallel context (MindSpore's `set_auto_parallel_context`) ---------------------------


class ParallelMode:
    """MindSpore's parallel modes. cellc trains STAND_ALONE or DATA_PARALLEL (every process
    holds the whole network, gradients are all-reduced); the model-parallel modes are refused
    by `set_auto_parallel_context`."""

    STAND_ALONE = "stand_alone"
    DATA_PARALLEL = "data_parallel"
    HYBRID_PARALLEL = "hybrid_parallel"
    SEMI_AUTO_PARALLEL = "semi_auto_parallel"
    AUTO_PARALLEL = "auto_parallel"
    MODE_LIST = [STAND_ALONE, DATA_PARALLEL, HYBRID_PARALLEL, SEMI_AUTO_PARALLEL, AUTO_PARALLEL]


_PARALLEL_DEFAULTS = {
    "parallel_mode": ParallelMode.STAND_ALONE,
    "gradients_mean": False,
    "device_num": None,  # None: the job's size once communication.init() ran, else 1
    "global_rank": None,  # None: this process's rank once communication.init() ran, else 0
    "parameter_broadcast": False,
    "gradient_fp32_sync": True,
}
# settings scripts pass that change nothing for data-parallel training on cellc
_PARALLEL_IGNORED = (
    "loss_repeated_mean",
    "enable_parallel_optimizer",
    "all_reduce_fusion_config",
    "comm_fusion",
    "search_mode",
    "auto_parallel_search_mode",
    "dataset_strategy",
    "full_batch",
    "strategy_ckpt_load_file",
    "strategy_ckpt_save_file",
)
_parallel = dict(_PARALLEL_DEFAULTS)


def set_auto_parallel_context(**kwargs) -> None:
    """MindSpore's `set_auto_parallel_context(parallel_mode=..., gradients_mean=...,
    device_num=..., global_rank=..., parameter_broadcast=...)`. `parallel_mode` is
    `ParallelMode.STAND_ALONE` or `ParallelMode.DATA_PARALLEL` (in any case); the other modes
    split a network across processes, which cellc does not, and raise `UnsupportedError`. An
    unknown setting raises ValueError, as in MindSpore."""
    for key, value in kwargs.items():
        if key == "parallel_mode":
            value = _parallel_mode(value)
        elif key in ("gradients_mean", "parameter_broadcast", "gradient_fp32_sync"):
            if not isinstance(value, bool):
                raise TypeError(
                    f"For 'set_auto_parallel_context', '{key}' must be a bool, "
                    f"but got {type(value).__name__}"
                )
        elif key in ("device_num", "global_rank"):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(
                    f"For 'set_auto_parallel_context', '{key}' must be an int >= 0, "
                    f"but got {value!r}"
                )
        elif key not in _PARALLEL_IGNORED:
            raise ValueError(
                f"For 'set_auto_parallel_context', the argument '{key}' is not recognized; "
                f"cellc knows {', '.join(sorted([*_PARALLEL_DEFAULTS, *_PARALLEL_IGNORED]))}"
            )
        _parallel[key] = value


def _parallel_mode(mode) -> str:
    if not isinstance(mode, str) or mode.lower() not in ParallelMode.MODE_LIST:
        raise ValueError(
            "For 'set_auto_parallel_context', the argument 'parallel_mode' must be one of "
            f"{ParallelMode.MODE_LIST}, but got {mode!r}"
        )
    mode = mode.lower()
    if mode not in (ParallelMode.STAND_ALONE, ParallelMode.DATA_PARALLEL):
        raise _errors.UnsupportedError(
            f"cellc trains stand_alone or data_parallel, not {mode}: it does not split a "
            "network's operators across processes"
        )
    return mode


def get_auto_parallel_context(key: str):
    """One setting of the parallel context (MindSpore's `get_auto_parallel_context`)."""
    if key not in _parallel:
        raise ValueError(
            f"For 'get_auto_parallel_context', the argument {key!r} is not recognized; "
            f"cellc knows {', '.join(sorted(_parallel))}"
        )
    value = _parallel[key]
    if value is not None:
        return value
    # device_num and global_rank, unless set: the job's, as MindSpore's after init()
    if key == "device_num":
        return _engine.size() if _engine.initialized() else 1
    return _engine.rank() if _engine.initialized() else 0


def reset_auto_parallel_context() -> None:
    """Every parallel setting back to its default (stand_alone, gradients summed)."""
    _parallel.clear()
    _parallel.update(_PARALLEL_DEFAULTS)


def data_parallel() -> bool:
    """True when the parallel mode is DATA_PARALLEL (gradients are all-reduced)."""
    return _parallel["parallel_mode"] == ParallelMode.DATA_PARALLEL
