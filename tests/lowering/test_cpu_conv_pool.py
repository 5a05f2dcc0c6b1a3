"""The convolution and pooling ops through the CPU back end (ms -> linalg -> LLVM -> .so),
against their numpy references (which match MindSpore 2.10's Conv2D, its gradients, MaxPool,
AvgPool and MaxPoolGrad on the geometries below), in f32 and f64, one compile per element
type."""

from __future__ import annotations

import numpy as np
import pytest
from cpu_harness import Function, compile_functions, spec

from cellc.dialects import ms

CONV = {
    "plain": dict(strides=(1, 1), dilations=(1, 1), padding=(0, 0, 0, 0), groups=1),
    "strided_padded_grouped": dict(
        strides=(2, 1), dilations=(2, 1), padding=(1, 0, 2, 1), groups=2
    ),
    "depthwise_same": dict(strides=(2, 2), dilations=(1, 1), padding=(0, 1, 0, 1), groups=4),
    "strided_dilated": dict(strides=(3, 2), dilations=(1, 2), padding=(0, 2, 1, 1), groups=1),
    # stride 1: backprop_input is an ordinary convolution of padded dy ...
    "grouped_dilated": dict(strides=(1, 1), dilations=(2, 1), padding=(1, 2, 0, 1), groups=2),
    # ... unless the padding exceeds the kernel's reach (2 > 1 columns): the gather again
    "wide_padding": dict(strides=(1, 1), dilations=(1, 1), padding=(0, 0, 2, 2), groups=1),
    # groups = 1: col2im where dx has fewer channels than dy (4 < 6, the cases above), the
    # convolution of padded dy where it has as many or more (4 > 3, FILTERS)
    "narrowing": dict(strides=(1, 1), dilations=(1, 1), padding=(1, 0, 1, 1), groups=1),
}
X, W = (2, 4, 9, 7), {1: (6, 4, 3, 2), 2: (6, 2, 3, 2), 4: (4, 1, 3, 2)}
FILTERS = {"narrowing": (3, 4, 3, 2)}


def filter_shape(name, attrs):
    return FILTERS.get(name, W[attrs["groups"]])


POOL = {
    "valid": dict(kernel_size=(2, 2), strides=(2, 2), padding=(0, 0, 0, 0)),
    "same_overlapping": dict(kernel_size=(3, 3), strides=(2, 2), padding=(1, 1, 1, 1)),
    "uneven": dict(kernel_size=(2, 3), strides=(1, 2), padding=(0, 1, 1, 1)),
    # windows that tile the input (kernel = strides): the gradient's elementwise form, with
    # padding and rows and columns that no window reads
    "tiling_padded": dict(kernel_size=(2, 4), strides=(2, 4), padding=(1, 0, 0, 1)),
}
P = (2, 3, 7, 6)


def conv_out(name, attrs):
    w = filter_shape(name, attrs)
    return ms.Conv2DOp.reference(np.zeros(X), np.zeros(w), **attrs).shape


def pooled(attrs):
    return ms.MaxPoolOp.reference(np.zeros(P), **attrs).shape


def cases():
    """name -> (argument shapes, ms body, numpy reference)"""
    table = {}
    for name, a in CONV.items():
        w, y = filter_shape(name, a), conv_out(name, a)
        table[f"conv2d_{name}"] = ([X, w], lambda x, k, a=a: ms.conv2d(x, k, **a), None)
        table[f"backprop_input_{name}"] = (
            [y, w],
            lambda d, k, a=a: ms.conv2d_backprop_input(d, k, input_size=X[2:], **a),
            None,
        )
        table[f"backprop_filter_{name}"] = (
            [X, y],
            lambda x, d, a=a, w=w: ms.conv2d_backprop_filter(x, d, kernel_size=w[2:], **a),
            None,
        )
    for name, a in POOL.items():
        table[f"max_pool_{name}"] = ([P], lambda x, a=a: ms.max_pool(x, **a), None)
        table[f"avg_pool_{name}"] = ([P], lambda x, a=a: ms.avg_pool(x, **a), None)
        table[f"max_pool_grad_{name}"] = (
            [P, pooled(a)],
            lambda x, d, a=a: ms.max_pool_grad(x, d, **a),
            None,
        )
        table[f"max_pool_grad_grad_{name}"] = (
            [P, P],
            lambda x, g, a=a: ms.max_pool_grad_grad(x, g, **a),
            None,
        )
    return table


CASES = cases()


def reference(name, *args):
    """The op's numpy reference, read from the ms body's op (built once in numpy terms)."""
    for prefix, op, key in (
        ("conv2d_", ms.Conv2DOp, CONV),
        ("backprop_input_", ms.Conv2DBackpropInputOp, CONV),
        ("backprop_filter_", ms.Conv2DBackpropFilterOp, CONV),
        ("max_pool_grad_grad_", ms.MaxPoolGradGradOp, POOL),
        ("max_pool_grad_", ms.MaxPoolGradOp, POOL),
        ("max_pool_", ms.MaxPoolOp, POOL),
        ("avg_pool_", ms.AvgPoolOp, POOL),
    ):
        if name.startswith(prefix):
            case = name[len(prefix) :]
            attrs = dict(key[case])
            if op is ms.Conv2DBackpropInputOp:
                attrs["input_size"] = X[2:]
            if op is ms.Conv2DBackpropFilterOp:
                attrs["kernel_size"] = filter_shape(case, attrs)[2:]
            return op.reference(*args, **attrs)
    raise KeyError(name)


@pytest.fixture(scope="module", params=["f32", "f64"])
def library(request, tmp_path_factory):
    element = request.param
    functions = [
        Function(name, [spec(s, element) for s in shapes], body)
        for name, (shapes, body, _) in CASES.items()
    ]
    return element, compile_functions(functions, tmp_path_factory.mktemp(element))


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_matches_its_reference(library, name):
    element, lib = library
    dtype = np.float32 if element == "f32" else np.float64
    rng = np.random.default_rng(len(name))
    shapes = CASES[name][0]
    args = [rng.normal(size=s).astype(dtype) for s in shapes]
    if "max_pool" in name:  # small integers: many ties, which go to the first maximum
        args[0] = rng.integers(-2, 3, size=shapes[0]).astype(dtype)
    (got,) = lib(name, *args)
    want = reference(name, *args)
    tolerance = 1e-5 if element == "f32" else 1e-12
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)
