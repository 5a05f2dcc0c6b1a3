"""The convolution and pooling VJP rules against float64 central finite differences, over
hypothesis-drawn geometries (strides, dilations, padding, groups, depthwise), first and second
order: ms.conv2d, ms.conv2d_backprop_input, ms.conv2d_backprop_filter, ms.max_pool,
ms.max_pool_grad, ms.max_pool_grad_grad, ms.avg_pool."""

from __future__ import annotations

import numpy as np
from gradcheck import Program, check_body_vjp, f64
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cellc.dialects import ms
from cellc.dialects.ms_ops import window_output_size

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
pairs = st.tuples


@st.composite
def conv_geometries(draw):
    """(x shape, w shape, attrs) of a convolution whose window fits."""
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    group_channels = draw(st.integers(1, 2))
    out_per_group = draw(st.integers(1, 2))
    kernel = draw(pairs(st.integers(1, 3), st.integers(1, 3)))
    attrs = {
        "strides": draw(pairs(st.integers(1, 2), st.integers(1, 3))),
        "dilations": draw(pairs(st.integers(1, 2), st.integers(1, 2))),
        "padding": draw(st.tuples(*[st.integers(0, 2)] * 4)),
        "groups": groups,
    }
    size = draw(pairs(st.integers(2, 6), st.integers(2, 6)))
    for axis in range(2):
        pad = attrs["padding"][2 * axis] + attrs["padding"][2 * axis + 1]
        assume(
            window_output_size(
                size[axis], kernel[axis], attrs["strides"][axis], attrs["dilations"][axis], pad
            )
            > 0
        )
    x = (draw(st.integers(1, 2)), groups * group_channels, *size)
    w = (groups * out_per_group, group_channels, *kernel)
    return x, w, attrs


def conv_output_shape(x, w, attrs):
    return ms.Conv2DOp.reference(np.zeros(x), np.zeros(w), **attrs).shape


@SETTINGS
@given(geometry=conv_geometries(), seed=st.integers(0, 2**31 - 1))
def test_conv2d(geometry, seed):
    x, w, attrs = geometry
    rng = np.random.default_rng(seed)
    check_body_vjp(
        lambda a, b: ms.conv2d(a, b, **attrs), [rng.normal(size=x), rng.normal(size=w)], rng
    )


@settings(max_examples=4, deadline=None)
@given(geometry=conv_geometries(), seed=st.integers(0, 2**31 - 1))
def test_conv2d_second_order(geometry, seed):
    """The rules' own output (backprop_input, backprop_filter) differentiated again."""
    x, w, attrs = geometry
    rng = np.random.default_rng(seed)
    args = [rng.normal(size=x), rng.normal(size=w)]
    check_body_vjp(lambda a, b: ms.conv2d(a, b, **attrs), args, rng, order=2)


@SETTINGS
@given(geometry=conv_geometries(), seed=st.integers(0, 2**31 - 1))
def test_conv2d_backprop_input_and_filter(geometry, seed):
    x, w, attrs = geometry
    rng = np.random.default_rng(seed)
    dy = rng.normal(size=conv_output_shape(x, w, attrs))
    check_body_vjp(
        lambda d, b: ms.conv2d_backprop_input(d, b, input_size=x[2:], **attrs),
        [dy, rng.normal(size=w)],
        rng,
    )
    check_body_vjp(
        lambda a, d: ms.conv2d_backprop_filter(a, d, kernel_size=w[2:], **attrs),
        [rng.normal(size=x), dy],
        rng,
    )


@st.composite
def pool_geometries(draw):
    kernel = draw(pairs(st.integers(1, 3), st.integers(1, 3)))
    attrs = {
        "kernel_size": kernel,
        "strides": draw(pairs(st.integers(1, 3), st.integers(1, 2))),
        "padding": tuple(draw(st.integers(0, k - 1)) for k in (kernel[0],) * 2 + (kernel[1],) * 2),
    }
    size = (draw(st.integers(kernel[0], 5)), draw(st.integers(kernel[1], 5)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *size)
    return shape, attrs


def distinct(rng, shape):
    """Values at least 0.05 apart (no ties within finite-difference reach)."""
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.05 + rng.uniform(0, 0.01)


@SETTINGS
@given(geometry=pool_geometries(), seed=st.integers(0, 2**31 - 1))
def test_max_pool_to_second_order(geometry, seed):
    shape, attrs = geometry
    rng = np.random.default_rng(seed)
    check_body_vjp(lambda a: ms.max_pool(a, **attrs), [distinct(rng, shape)], rng, order=2)


@SETTINGS
@given(geometry=pool_geometries(), seed=st.integers(0, 2**31 - 1))
def test_max_pool_grad_and_grad_grad(geometry, seed):
    shape, attrs = geometry
    rng = np.random.default_rng(seed)
    x = distinct(rng, shape)
    pooled = ms.MaxPoolOp.reference(x, **attrs).shape
    check_body_vjp(lambda a, d: ms.max_pool_grad(a, d, **attrs), [x, rng.normal(size=pooled)], rng)
    check_body_vjp(
        lambda a, g: ms.max_pool_grad_grad(a, g, **attrs), [x, rng.normal(size=shape)], rng
    )


@SETTINGS
@given(geometry=pool_geometries(), seed=st.integers(0, 2**31 - 1))
def test_avg_pool_to_second_order(geometry, seed):
    shape, attrs = geometry
    rng = np.random.default_rng(seed)
    check_body_vjp(lambda a: ms.avg_pool(a, **attrs), [rng.normal(size=shape)], rng, order=2)


def test_max_pool_ties_go_to_the_first_maximum():
    """MindSpore's rule (checked on MindSpore 2.10): each window's gradient goes to its first
    maximum in row-major order."""
    x = np.array([[[[1, 3, 3], [3, 2, 1], [0, 3, 1]]]], np.float64)
    program = Program()
    attrs = {"kernel_size": (2, 2), "strides": (1, 1), "padding": (0, 0, 0, 0)}
    program.function("f", [f64(*x.shape)], lambda a: ms.max_pool(a, **attrs))
    program.grad("df", "f", ms.GradMode())
    program.expand()
    (dx,) = program.run("df", x)
    np.testing.assert_array_equal(dx, [[[[0, 2, 0], [1, 0, 0], [0, 1, 0]]]])
