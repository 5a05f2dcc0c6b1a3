"""Shape and dtype mistakes are reported at trace time, naming the op, the types and the
user's source line, before any MLIR is built."""

import numpy as np
import pytest

from cellc import Tensor, nn, ops
from cellc import dtype as mstype
from cellc.compiler import trace


class BadMatMul(nn.Cell):
    def __init__(self):
        super().__init__()
        self.matmul = ops.MatMul()

    def construct(self, x, y):
        return self.matmul(x, y)  # the line the error names


def line_of(text: str) -> int:
    source = open(__file__).read().splitlines()
    return next(i + 1 for i, line in enumerate(source) if text in line)


def test_matmul_shape_error_names_op_shapes_and_line():
    x = Tensor(np.ones((2, 3), np.float32))
    y = Tensor(np.ones((4, 3), np.float32))
    with pytest.raises(ValueError) as info:
        trace(BadMatMul(), x, y)
    message = str(info.value)
    assert "MatMul" in message and "ms.matmul" in message
    assert "tensor<2x3xf32>" in message and "tensor<4x3xf32>" in message
    assert f"test_trace_errors.py:{line_of('the line the error names')}" in message


class BadAdd(nn.Cell):
    def construct(self, x, y):
        return x + y  # broadcast mistake


def test_broadcast_error_is_a_value_error_with_the_line():
    with pytest.raises(ValueError, match=r"Add.*tensor<2x3xf32>.*tensor<4xf32>") as info:
        trace(BadAdd(), Tensor(np.ones((2, 3), np.float32)), Tensor(np.ones((4,), np.float32)))
    assert f":{line_of('broadcast mistake')}" in str(info.value)


def test_dtype_mismatch_is_a_type_error():
    with pytest.raises(TypeError, match=r"Add.*f32.*f64"):
        trace(BadAdd(), Tensor(np.ones((2,), np.float32)), Tensor(np.ones((2,), np.float64)))


def test_eager_primitive_error_names_the_line():
    with pytest.raises(ValueError, match="MatMul"):
        ops.MatMul()(Tensor(np.ones((2, 3), np.float32)), Tensor(np.ones((2, 3), np.float32)))


def test_error_comes_before_any_mlir_is_built(monkeypatch):
    import importlib

    trace_module = importlib.import_module("cellc.compiler.trace")

    def no_mlir(*args, **kwargs):
        raise AssertionError("MLIR was built")

    monkeypatch.setattr(trace_module, "emit_module", no_mlir)
    with pytest.raises(ValueError):
        trace_module.trace_program(
            BadMatMul(),
            Tensor(np.ones((2, 3), mstype.float32.numpy)),
            Tensor(np.ones((4, 3), np.float32)),
        )
