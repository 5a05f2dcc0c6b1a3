"""Tensors with no elements compile and give numpy's results (MLIR's tiling used to abort on
them: each case runs in a subprocess, so an abort fails its test instead of the suite)."""

import os
import subprocess
import sys
import textwrap

import pytest

PRELUDE = textwrap.dedent(
    """
    import numpy as np
    import cellc.nn as nn
    import cellc.ops as ops
    from cellc import Parameter, Tensor

    class Lambda(nn.Cell):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def construct(self, *args):
            return self.fn(*args)

    class GradAll(nn.Cell):
        def __init__(self, net):
            super().__init__()
            self.net = net
            self.grad = ops.GradOperation(get_all=True)

        def construct(self, *args):
            return self.grad(self.net)(*args)

    def ones(*shape):
        return Tensor(np.ones(shape, np.float32))

    matmul = Lambda(lambda a, b: ops.MatMul()(a, b))
    """
)

CASES = {
    "matmul with an empty contraction is zeros": """
        out = matmul(ones(2, 0), ones(0, 3)).asnumpy()
        assert out.shape == (2, 3) and not out.any(), out
    """,
    "its gradients are empty": """
        da, db = GradAll(matmul)(ones(2, 0), ones(0, 3))
        assert da.shape == (2, 0) and db.shape == (0, 3)
    """,
    "an empty result of a matmul": """
        out = matmul(ones(0, 3), ones(3, 2)).asnumpy()
        assert out.shape == (0, 2)
    """,
    "an empty parameter": """
        class Net(nn.Cell):
            def __init__(self):
                super().__init__()
                self.w = Parameter(Tensor(np.ones((0, 2), np.float32)), name="w")

            def construct(self, x):
                return ops.MatMul()(x, self.w) + 1.0

        out = Net()(ones(3, 0)).asnumpy()
        assert out.shape == (3, 2) and (out == 1.0).all(), out
    """,
    "elementwise on an empty tensor": """
        out = Lambda(lambda x: ops.Exp()(x) * 2.0 + x)(ones(2, 0)).asnumpy()
        assert out.shape == (2, 0)
    """,
    "softmax of an empty axis": """
        out = Lambda(lambda x: ops.Softmax()(x))(ones(2, 0)).asnumpy()
        assert out.shape == (2, 0)
    """,
    "the sum over an empty axis is zeros": """
        out = Lambda(lambda x: ops.ReduceSum()(x, 1))(ones(2, 0)).asnumpy()
        assert out.tolist() == [0.0, 0.0], out
    """,
    "the mean of nothing is nan": """
        out = Lambda(lambda x: ops.ReduceMean()(x))(ones(0)).asnumpy()
        assert np.isnan(out), out
    """,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_empty_tensor(name, tmp_path):
    script = PRELUDE + textwrap.dedent(CASES[name])
    env_cache = {"CELLC_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, **env_cache},
        timeout=300,
    )
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stderr[-2000:]}"
