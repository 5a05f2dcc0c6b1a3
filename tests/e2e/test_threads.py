"""Cells may be compiled and called from several threads at once."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import cellc.nn as nn
import cellc.ops as ops
from cellc import Tensor


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
