"""Cells may be compiled and called from several threads at once."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import cellc.nn as nn
import cellc.ops as ops
from cellc import Tensor, context


class Poly(nn.Cell):
    def __init__(self, power):
        super().__init__()
        self.power = power

    def construct(self, x):
        return ops.ReduceSum()(x**self.power)


def test_concurrent_compiles_and_calls():
    x = np.linspace(-1, 1, 7)

    def work(power):
        grad = ops.GradOperation()(Poly(power))
        return [grad(Tensor(x)).asnumpy() for _ in range(5)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, [1, 2, 3, 4, 5, 6]))
    for power, runs in zip([1, 2, 3, 4, 5, 6], results):
        for run in runs:
            np.testing.assert_allclose(run, power * x ** (power - 1), rtol=1e-12)


_POOL_SCRIPT = """
import os, sys
import numpy as np
from cellc import Tensor, context, nn, ops

class Product(nn.Cell):
    def construct(self, a, b):
        return ops.matmul(a, b)

if sys.argv[1] != "unset":
    context.set_context(runtime_num_threads=int(sys.argv[1]))
a = np.random.default_rng(0).standard_normal((300, 200)).astype(np.float32)
b = np.random.default_rng(1).standard_normal((200, 300)).astype(np.float32)
net = Product()
net.compile(Tensor(a), Tensor(b))
before = len(os.listdir("/proc/self/task"))
out = net(Tensor(a), Tensor(b)).asnumpy()  # the first parallel call starts the pool
assert np.allclose(out, a @ b, rtol=1e-4, atol=1e-3)
print(len(os.listdir("/proc/self/task")) - before)
"""


def _pool_threads(setting: str, tmp_path, env_threads: str | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "CELLC_NUM_THREADS"}
    env["CELLC_CACHE_DIR"] = str(tmp_path / "cache")
    if env_threads is not None:
        env["CELLC_NUM_THREADS"] = env_threads
    result = subprocess.run(
        [sys.executable, "-c", _POOL_SCRIPT, setting],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split()[-1])


def test_the_thread_count_is_the_users(tmp_path):
    """A large matmul runs on a pool of CELLC_NUM_THREADS threads (the caller among them), or
    MindSpore's set_context(runtime_num_threads=N), which wins over the environment."""
    assert _pool_threads("unset", tmp_path, env_threads="3") == 2
    assert _pool_threads("unset", tmp_path, env_threads="1") == 0
    assert _pool_threads("4", tmp_path, env_threads="1") == 3
    assert _pool_threads("1", tmp_path) == 0


def test_a_bad_thread_count_is_refused():
    with pytest.raises(ValueError, match="runtime_num_threads"):
        context.set_context(runtime_num_threads=-2)


@pytest.mark.parametrize("value", ["0", "two", "-1", "5000"])
def test_a_bad_thread_count_in_the_environment_is_refused(monkeypatch, value):
    """The C pool could only ignore it; loading the code says what is wrong instead."""
    monkeypatch.setenv("CELLC_NUM_THREADS", value)
    with pytest.raises(ValueError, match=f"CELLC_NUM_THREADS='{value}'"):
        Poly(2)(Tensor(np.ones(3)))
