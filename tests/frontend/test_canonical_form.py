"""The traced program's canonical form, the disk cache's key: deterministic, blind to source
lines and object identities, and different wherever the compiled code would differ."""

from __future__ import annotations

import numpy as np

from cellc import Parameter, Tensor, nn, ops
from cellc.compiler.pipeline import Target
from cellc.compiler.program import canonical_form
from cellc.frontend import disk_cache
from cellc.frontend.tracing import trace_program


class Affine(nn.Cell):
    def __init__(self, scale=2.0, transpose_b=False):
        super().__init__()
        self.w = Parameter(Tensor(np.ones((3, 3), np.float32)), name="w")
        self.scale = scale
        self.matmul = ops.MatMul(transpose_b=transpose_b)

    def construct(self, x):
        return self.matmul(x, self.w) * self.scale


class AffineDefinedElsewhere(nn.Cell):  # the same body at other source lines
    def __init__(self):
        super().__init__()
        self.w = Parameter(Tensor(np.ones((3, 3), np.float32)), name="w")
        self.matmul = ops.MatMul()

    def construct(self, x):

        return self.matmul(x, self.w) * 2.0


X = Tensor(np.ones((2, 3), np.float32))


def form(cell, x=X) -> str:
    return canonical_form(trace_program(cell, x).program)


def test_the_same_program_has_the_same_form_and_key():
    first, second = trace_program(Affine(), X).program, trace_program(Affine(), X).program
    assert canonical_form(first) == canonical_form(second)
    assert disk_cache.program_key(first, Target.CPU) == disk_cache.program_key(second, Target.CPU)
    assert "MatMulOp" in canonical_form(first) and "'w' tensor<3x3xf32>" in canonical_form(first)


def test_source_lines_and_weight_values_do_not_change_it():
    assert form(AffineDefinedElsewhere()).replace("AffineDefinedElsewhere", "Affine") == form(
        Affine()
    )
    other = Affine()
    other.w.set_data(Tensor(np.full((3, 3), 7.0, np.float32)))
    assert form(other) == form(Affine())


def test_constants_attributes_shapes_and_targets_change_it():
    base = form(Affine())
    assert form(Affine(scale=3.0)) != base
    assert form(Affine(transpose_b=True)) != base
    assert form(Affine(), Tensor(np.ones((4, 3), np.float32))) != base
    program = trace_program(Affine(), X).program
    assert disk_cache.program_key(program, Target.CPU) != disk_cache.program_key(
        program, Target.CUDA
    )
