"""MindSpore's `set_context(gpu_config={"matmul_allow_tf32": True})` reaches the CUDA compile as
`CompileOptions.allow_tf32` (and keys the caches apart); the CPU target never sees it."""

from __future__ import annotations

import numpy as np
import pytest

import cellc.frontend.compiled as compiled
from cellc import Tensor, context, nn
from cellc.runtime.cuda import CudaUnavailableError, cuda_available


class Product(nn.Cell):
    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(64, 64, has_bias=False)

    def construct(self, x):
        return self.dense(x)


@pytest.fixture
def recorded(monkeypatch, tmp_path):
    """The allow_tf32 of every compile that runs; a fresh cache; the context restored."""
    monkeypatch.setenv("CELLC_CACHE_DIR", str(tmp_path / "cache"))
    seen = []
    real = compiled.compile_program

    def recording(program, options, parameters, module=None, **kwargs):
        seen.append((options.target.value, options.allow_tf32))
        return real(program, options, parameters, module, **kwargs)

    monkeypatch.setattr(compiled, "compile_program", recording)
    saved = dict(context._settings)
    yield seen
    context._settings.clear()
    context._settings.update(saved)


def call(device: str):
    context.set_context(device_target=device)
    x = Tensor(np.ones((64, 64), np.float32))
    try:
        Product()(x)
    except CudaUnavailableError:
        assert not cuda_available()[0]  # compiled; without a GPU it cannot run


def test_the_context_reaches_the_cuda_compile(recorded):
    call("GPU")
    context.set_context(gpu_config={"matmul_allow_tf32": True})
    call("GPU")
    call("CPU")
    assert recorded == [("cuda", False), ("cuda", True), ("cpu", False)]


@pytest.mark.parametrize(
    "config, error, message",
    [
        ([("matmul_allow_tf32", True)], TypeError, "should be a dict"),
        ({"matmul_allow_fp8": True}, ValueError, "has no key 'matmul_allow_fp8'"),
        ({"matmul_allow_tf32": 1}, TypeError, "should be a bool"),
    ],
)
def test_a_bad_gpu_config_is_refused(recorded, config, error, message):
    with pytest.raises(error, match=message):
        context.set_context(gpu_config=config)
