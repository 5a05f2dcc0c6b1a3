"""MindSpore's initializers: shapes, dtypes, the documented distributions' bounds and moments,
fans of dense and convolution weights, and reproducibility under a seed."""

import math

import numpy as np
import pytest

from cellc import Tensor
from cellc import dtype as mstype
from cellc.initializer import (
    Constant,
    HeNormal,
    HeUniform,
    Normal,
    One,
    TruncatedNormal,
    Uniform,
    XavierUniform,
    Zero,
    fan_in_and_fan_out,
    initializer,
)


def test_fans_of_dense_and_conv_weights():
    assert fan_in_and_fan_out((10, 784)) == (784, 10)
    assert fan_in_and_fan_out((6, 1, 5, 5)) == (25, 150)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        fan_in_and_fan_out((3,))


def test_he_uniform_bound_is_mindspores_dense_default():
    # Dense's default weight_init is HeUniform(math.sqrt(5)): bound = sqrt(6 / ((1 + 5) * fan_in))
    np.random.seed(0)
    w = initializer(HeUniform(math.sqrt(5)), (64, 100)).asnumpy()
    bound = math.sqrt(6.0 / (6 * 100))
    assert w.dtype == np.float32 and w.shape == (64, 100)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


@pytest.mark.parametrize(
    ("init", "mean", "std"),
    [
        (Normal(0.02, 1.0), 1.0, 0.02),
        (Uniform(0.3), 0.0, 0.3 / math.sqrt(3)),
        (HeNormal(mode="fan_out", nonlinearity="relu"), 0.0, math.sqrt(2.0) / math.sqrt(200)),
        (XavierUniform(), 0.0, math.sqrt(6.0 / 300) / math.sqrt(3)),
    ],
)
def test_moments(init, mean, std):
    np.random.seed(1)
    w = init((200, 100))
    assert abs(w.mean() - mean) < 0.05 * max(std, 1e-3) * 10
    assert abs(w.std() - std) / std < 0.02


def test_truncated_normal_stays_inside():
    np.random.seed(2)
    w = TruncatedNormal(sigma=1.0, a=-0.5, b=0.5)((100, 100))
    assert w.min() >= -0.5 and w.max() <= 0.5


def test_names_numbers_and_tensors():
    assert (initializer("zeros", [2, 3]).asnumpy() == 0).all()
    assert (initializer("ones", 4, mstype.float64).asnumpy() == 1).all()
    assert initializer("ones", 4, mstype.float64).dtype == mstype.float64
    assert (initializer(2.5, (2,)).asnumpy() == 2.5).all()
    t = Tensor(np.ones((2, 2), np.float32))
    assert initializer(t, (2, 2)) is t
    with pytest.raises(ValueError, match="'init' shape \\[2, 2\\] and the 'shape' \\[3\\]"):
        initializer(t, (3,))
    with pytest.raises(ValueError, match="'nope' was not found"):
        initializer("nope", (2,))
    assert isinstance(Zero()((1,)), np.ndarray) and One()((1,))[0] == 1
    assert Constant(3)((2,)).tolist() == [3.0, 3.0]


def test_a_seed_makes_two_draws_identical():
    np.random.seed(7)
    first = initializer("he_uniform", (4, 5)).asnumpy()
    np.random.seed(7)
    np.testing.assert_array_equal(first, initializer("he_uniform", (4, 5)).asnumpy())
