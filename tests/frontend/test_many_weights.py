"""A gradient over more inputs and weights than a small model has: ResNet-50 has 161 weights,
and ms.grad's slots (MAX_GRAD_SLOTS) hold all of them. A chain of 40 scaled-and-shifted tanh
layers, differentiated with respect to its input and its 80 weights, against the chain rule in
float64 numpy; the `grad` stage prints the used slots only and `cellc opt` reads that back."""

from __future__ import annotations

import numpy as np

from cellc import Parameter, Tensor, nn, ops
from cellc.compiler.pipeline import CompileOptions, compile_program
from cellc.dialects import ms
from cellc.frontend.tracing import trace_program

LAYERS = 40


class Layer(nn.Cell):
    def __init__(self, index: int, rng):
        super().__init__()
        self.w = Parameter(Tensor(rng.uniform(0.5, 1.5, 3)), name=f"w{index}")
        self.b = Parameter(Tensor(rng.uniform(-0.2, 0.2, 3)), name=f"b{index}")

    def construct(self, x):
        return ops.tanh(x * self.w + self.b)


class Chain(nn.Cell):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.layers = nn.CellList([Layer(i, rng) for i in range(LAYERS)])

    def construct(self, x):
        for layer in self.layers:
            x = layer(x)
        return x.sum()


class GradAll(nn.Cell):
    def __init__(self, net):
        super().__init__()
        self.net = net
        self.weights = net.trainable_params()
        self.grad = ops.GradOperation(get_all=True, get_by_list=True)

    def construct(self, x):
        return self.grad(self.net, self.weights)(x)


def chain_rule(x, weights):
    """d sum(chain(x)) / d (x, w0, b0, w1, b1, ...), float64."""
    activations = [x]
    for w, b in zip(weights[::2], weights[1::2]):
        activations.append(np.tanh(activations[-1] * w + b))
    upstream = np.ones_like(x)
    grads = []
    for layer in reversed(range(LAYERS)):
        w = weights[2 * layer]
        local = upstream * (1 - activations[layer + 1] ** 2)
        grads = [local * activations[layer], local, *grads]
        upstream = local * w
    return upstream, grads


def test_a_gradient_of_81_inputs_and_weights_follows_the_chain_rule():
    net = Chain()
    x = np.array([0.3, -0.7, 1.1])
    (dx,), dweights = GradAll(net)(Tensor(x))
    weights = [p.asnumpy() for p in net.trainable_params()]
    assert len(weights) == 2 * LAYERS
    want_dx, want_weights = chain_rule(x, weights)
    np.testing.assert_allclose(dx.asnumpy(), want_dx, rtol=1e-12, atol=1e-14)
    for got, want in zip(dweights, want_weights, strict=True):
        np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-12, atol=1e-14)


def test_the_grad_stage_prints_the_used_slots_only_and_reads_back():
    traced = trace_program(GradAll(Chain()), Tensor(np.zeros(3)))
    text = compile_program(traced.program, CompileOptions(emit="ms"), None).ir("ms")
    used = ", ".join(["1"] * (1 + 2 * LAYERS))
    assert f"operandSegmentSizes = array<i32: {used}>" in text
    assert f"resultSegmentSizes = array<i32: {used}>" in text
    full = ms.full_grad_segments(text)
    assert full.count(", 0") == 2 * (ms.MAX_GRAD_SLOTS - 1 - 2 * LAYERS)
    assert ms.short_grad_segments(full) == text
