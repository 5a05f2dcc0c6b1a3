"""`mindspore.run_check()`: the installation check."""

from __future__ import annotations

import numpy as np

import cellc
from cellc import context, nn, ops
from cellc.tensor import Tensor


class _Multiply(nn.Cell):
    def construct(self, x, y):
        return ops.mul(x, y)


def run_check() -> None:
    """MindSpore's installation check: compiles and runs a multiplication of two tensors on the
    chosen target and compares it with numpy's, printing the version and the outcome."""
    print(f"cellc version: {cellc.__version__}")
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    y = np.array([2.0, 2.0, 2.0, 2.0], np.float32)
    platform = "GPU" if context.target() == "cuda" else "CPU"
    try:
        result = _Multiply()(Tensor(x), Tensor(y)).asnumpy()
    except Exception as error:  # the check reports what failed, as MindSpore's does
        print(f"The installation check failed on platform [{platform}]: {error}")
        return
    if np.array_equal(result, x * y):
        print(
            "The result of multiplication calculation is correct, cellc has been installed "
            f"on platform [{platform}] successfully!"
        )
    else:
        print(f"The result of multiplication calculation is wrong: {result} (expected {x * y})")
