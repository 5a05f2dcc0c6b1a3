"""MindSpore's learning-rate lists against their documented formulas, worked by hand for small
cases (the values MindSpore 2.10 returns for the same calls)."""

import math

import pytest

from cellc import nn


def test_piecewise_constant():
    assert nn.piecewise_constant_lr([2, 5], [0.1, 0.05]) == [0.1, 0.1, 0.05, 0.05, 0.05]
    with pytest.raises(ValueError, match="must be greater than milestone"):
        nn.piecewise_constant_lr([3, 2], [0.1, 0.05])


def test_exponential_decay():
    lr = nn.exponential_decay_lr(0.1, 0.9, 6, 2, 1)
    assert lr == pytest.approx([0.1, 0.1, 0.09, 0.09, 0.081, 0.081])
    stair = nn.exponential_decay_lr(0.1, 0.9, 6, 1, 2, is_stair=True)
    assert stair == pytest.approx([0.1, 0.1, 0.09, 0.09, 0.081, 0.081])
    smooth = nn.exponential_decay_lr(0.1, 0.9, 3, 1, 2)
    assert smooth == pytest.approx([0.1, 0.1 * 0.9**0.5, 0.09])


def test_natural_exp_and_inverse_decay():
    assert nn.natural_exp_decay_lr(0.1, 0.5, 3, 1, 2) == pytest.approx(
        [0.1, 0.1 * math.exp(-0.5), 0.1 * math.exp(-1.0)]
    )
    assert nn.natural_exp_decay_lr(0.1, 0.5, 3, 1, 2, True) == pytest.approx(
        [0.1, 0.1, 0.1 * math.exp(-1.0)]
    )
    assert nn.inverse_decay_lr(0.1, 0.5, 3, 1, 1) == pytest.approx([0.1, 0.1 / 1.5, 0.1 / 2])


def test_cosine_decay():
    lr = nn.cosine_decay_lr(0.0, 0.1, 5, 1, 2)
    assert lr == pytest.approx([0.1, 0.05, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="'max_lr' must be greater than the 'min_lr'"):
        nn.cosine_decay_lr(0.2, 0.1, 5, 1, 2)


def test_polynomial_decay_and_warmup():
    lr = nn.polynomial_decay_lr(0.1, 0.01, 4, 1, 2, 2.0)
    assert lr == pytest.approx([0.1, 0.09 * 0.25 + 0.01, 0.01, 0.01])
    grown = nn.polynomial_decay_lr(0.1, 0.01, 4, 1, 2, 1.0, update_decay_epoch=True)
    assert grown == pytest.approx([0.1, 0.055, 0.01, 0.0325])
    assert nn.warmup_lr(0.1, 4, 1, 2) == pytest.approx([0.0, 0.05, 0.1, 0.1])


def test_arguments_are_checked_with_the_function_named():
    with pytest.raises(ValueError, match="'exponential_decay_lr', 'total_step' must be a positive"):
        nn.exponential_decay_lr(0.1, 0.9, 0, 1, 1)
    with pytest.raises(TypeError, match="'warmup_lr', 'learning_rate' must be a non-negative"):
        nn.warmup_lr(1, 4, 1, 2)
