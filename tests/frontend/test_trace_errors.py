"""Shape and dtype mistakes are reported at trace time, naming the op, the types and the
user's source line, before any MLIR is built."""

import numpy as np
import pytest

from cellc import Tensor, nn, ops
from cellc import dtype as mstype
from cellc.frontend import trace


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


class BadMatMulDTypes(nn.Cell):
    def construct(self, x, y):
        return ops.MatMul()(x, y)


def test_dtype_mismatch_is_a_type_error():
    """Binary arithmetic promotes (tests/frontend/test_dtype_promotion.py); MatMul does not."""
    with pytest.raises(TypeError, match=r"MatMul.*f32.*f64"):
        trace(
            BadMatMulDTypes(),
            Tensor(np.ones((2, 2), np.float32)),
            Tensor(np.ones((2, 2), np.float64)),
        )


def test_eager_primitive_error_names_the_line():
    with pytest.raises(ValueError, match="MatMul"):
        ops.MatMul()(Tensor(np.ones((2, 3), np.float32)), Tensor(np.ones((2, 3), np.float32)))


def test_error_comes_before_any_mlir_is_built(monkeypatch):
    import importlib

    program_module = importlib.import_module("cellc.compiler.program")
    tracing = importlib.import_module("cellc.frontend.tracing")

    def no_mlir(*args, **kwargs):
        raise AssertionError("MLIR was built")

    monkeypatch.setattr(program_module, "emit_module", no_mlir)
    with pytest.raises(ValueError):
        tracing.trace_program(
            BadMatMul(),
            Tensor(np.ones((2, 3), mstype.float32.numpy)),
            Tensor(np.ones((4, 3), np.float32)),
        )


class BoolProduct(nn.Cell):
    def construct(self, x):
        return x * x  # bool arithmetic


def test_bool_arithmetic_is_refused_with_the_op_and_line():
    with pytest.raises(TypeError, match=r"Mul.*bool tensors.*tensor<2xi1>") as info:
        trace(BoolProduct(), Tensor(np.array([True, False])))
    assert f":{line_of('bool arithmetic')}" in str(info.value)


class BoolReshape(nn.Cell):
    def construct(self, x):
        return ops.Reshape()(x, (2, 1))


def test_bool_tensors_pass_through_compiled_code():
    out = BoolReshape()(Tensor(np.array([True, False])))
    np.testing.assert_array_equal(out.asnumpy(), [[True], [False]])
