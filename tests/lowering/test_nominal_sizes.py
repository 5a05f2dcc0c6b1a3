"""nominal_sizes.py: a dynamic-batch program's `?` sizes read at a batch size are the sizes the
same program has when traced at that batch. A convolution's im2col product (the batch merged
with the output pixels), a flatten into a Dense and the Dense products of a training step's
gradient, compiled for a dynamic batch to the `linalg` stage, against the same step traced at
batches of 3 and 64: every matmul operand's dims agree."""

from __future__ import annotations

import numpy as np
import pytest
from mlir import ir

from cellc import Tensor, nn
from cellc.compiler.lowering.nominal_sizes import size_at_batch
from cellc.compiler.lowering.parallel_loops import ops_named
from cellc.compiler.pipeline import CompileOptions
from cellc.frontend.compiled import compile as compile_traced


class ConvNet(nn.Cell):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, pad_mode="valid")
        self.pool = nn.MaxPool2d(2, 2)
        self.flatten = nn.Flatten()
        self.fc = nn.Dense(4 * 3 * 3, 5)
        self.relu = nn.ReLU()

    def construct(self, x):
        return self.fc(self.flatten(self.pool(self.relu(self.conv(x)))))


def step_args(batch: int):
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch, 2, 8, 8)).astype(np.float32)
    return Tensor(x), Tensor(rng.integers(0, 5, batch).astype(np.int32))


@pytest.fixture(scope="module")
def step():
    loss = nn.SoftmaxCrossEntropyWithLogits(sparse=True, reduction="mean")
    net = nn.WithLossCell(ConvNet(), loss)
    optimizer = nn.SGD(net.trainable_params(), learning_rate=0.1)
    return nn.TrainOneStepCell(net, optimizer)


def matmul_operands(text: str, context: ir.Context) -> tuple[ir.Module, list[list[ir.Value]]]:
    module = ir.Module.parse(text, context)
    return module, [list(op.operands) for op in ops_named(module, "linalg.matmul")]


@pytest.mark.parametrize("batch", [3, 64])
def test_sizes_at_a_batch_are_the_sizes_traced_at_that_batch(step, batch):
    linalg = CompileOptions(emit="linalg")
    dynamic = compile_traced(step, *step_args(2), options=linalg, batch_axes=((0,), (0,)))
    static = compile_traced(step, *step_args(batch), options=linalg)
    context = ir.Context()
    context.allow_unregistered_dialects = True
    with context:
        # the modules are held while their values are read (a freed module's values crash)
        dynamic_module, found = matmul_operands(dynamic.ir("linalg"), context)
        static_module, expected = matmul_operands(static.ir("linalg"), context)
        assert len(found) == len(expected) >= 5  # conv, its two gradients, Dense, its two
        dynamic_dims = 0
        for operands, static_operands in zip(found, expected):
            for value, static_value in zip(operands, static_operands):
                shape = ir.ShapedType(value.type).shape
                dynamic_dims += sum(ir.ShapedType.is_dynamic_size(d) for d in shape)
                sizes = [size_at_batch(value, axis, batch) for axis in range(len(shape))]
                assert sizes == ir.ShapedType(static_value.type).shape, (value, static_value)
        assert dynamic_dims >= 10


def test_a_size_the_ir_does_not_say_is_none():
    text = """
    func.func @f(%x: tensor<?x4xf32>, %n: index) -> tensor<?x4xf32> {
      %e = tensor.empty(%n) : tensor<?x4xf32>
      %c = linalg.copy ins(%x : tensor<?x4xf32>) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
      return %c : tensor<?x4xf32>
    }"""
    with ir.Context() as context:
        module = ir.Module.parse(text, context)
        (copy,) = ops_named(module, "linalg.copy")
        assert size_at_batch(copy.operands[0], 0, 7) == 7  # an argument's `?` is the batch
        assert size_at_batch(copy.operands[0], 1, 7) == 4
        assert size_at_batch(copy.results[0], 0, 7) is None  # an index argument: unknown
