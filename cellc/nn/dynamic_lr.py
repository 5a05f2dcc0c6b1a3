"""MindSpore's learning-rate lists (`nn.exponential_decay_lr`, `nn.cosine_decay_lr`, ...): one
learning rate per step, to give an optimizer as its `learning_rate`. Each follows MindSpore's
documented formula, with `epoch = floor(step / step_per_epoch)`."""

from __future__ import annotations

import math


def _positive_int(value, name: str, function: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"For '{function}', '{name}' must be a positive int, but got {value!r}")


def _positive_ints(function: str, **values) -> None:
    """Each of `values` (step counts, by name) a positive int, checked in the order given."""
    for name, value in values.items():
        _positive_int(value, name, function)


def _positive_float(value, name: str, function: str, allow_zero: bool = False) -> None:
    if not isinstance(value, float) or value < 0 or (value == 0 and not allow_zero):
        kind = "a non-negative" if allow_zero else "a positive"
        raise TypeError(f"For '{function}', '{name}' must be {kind} float, but got {value!r}")


def _check_decay(function, learning_rate, decay_rate, total_step, step_per_epoch, decay_epoch,
                 is_stair) -> None:  # fmt: skip
    _positive_ints(
        function, total_step=total_step, step_per_epoch=step_per_epoch, decay_epoch=decay_epoch
    )
    _positive_float(learning_rate, "learning_rate", function)
    _positive_float(decay_rate, "decay_rate", function)
    if not isinstance(is_stair, bool):
        raise TypeError(f"For '{function}', 'is_stair' must be a bool, but got {is_stair!r}")


def piecewise_constant_lr(milestone, learning_rates) -> list[float]:
    """learning_rates[i] for the steps before milestone[i] (and after milestone[i - 1])."""
    if len(milestone) != len(learning_rates):
        raise ValueError(
            "For 'piecewise_constant_lr', the size of 'milestone' must be same with the size of "
            f"'learning_rates', but got 'milestone' size: {len(milestone)}, 'learning_rates' "
            f"size: {len(learning_rates)}."
        )
    lr: list[float] = []
    last = 0
    for i, (item, rate) in enumerate(zip(milestone, learning_rates)):
        _positive_int(item, f"milestone[{i}]", "piecewise_constant_lr")
        if item < last:
            raise ValueError(
                f"For 'piecewise_constant_lr', the value of milestone[{i}] must be greater than "
                f"milestone[{i - 1}], but got milestone[{i}]: {item}, milestone[{i - 1}]: {last}."
            )
        lr += [rate] * (item - last)
        last = item
    return lr


def exponential_decay_lr(learning_rate, decay_rate, total_step, step_per_epoch, decay_epoch,
                         is_stair=False) -> list[float]:  # fmt: skip
    """lr * decay_rate ** (epoch / decay_epoch) (floored with `is_stair`)."""
    _check_decay("exponential_decay_lr", learning_rate, decay_rate, total_step, step_per_epoch,
                 decay_epoch, is_stair)  # fmt: skip
    lr = []
    for i in range(total_step):
        p = math.floor(i / step_per_epoch) / decay_epoch
        lr.append(learning_rate * decay_rate ** (math.floor(p) if is_stair else p))
    return lr


def natural_exp_decay_lr(learning_rate, decay_rate, total_step, step_per_epoch, decay_epoch,
                         is_stair=False) -> list[float]:  # fmt: skip
    """lr * e ** (-decay_rate * epoch) (epoch floored to a multiple of decay_epoch with
    `is_stair`)."""
    _check_decay("natural_exp_decay_lr", learning_rate, decay_rate, total_step, step_per_epoch,
                 decay_epoch, is_stair)  # fmt: skip
    lr = []
    for i in range(total_step):
        epoch = math.floor(i / step_per_epoch)
        if is_stair:
            epoch = math.floor(epoch / decay_epoch) * decay_epoch
        lr.append(learning_rate * math.e ** (-decay_rate * epoch))
    return lr


def inverse_decay_lr(learning_rate, decay_rate, total_step, step_per_epoch, decay_epoch,
                     is_stair=False) -> list[float]:  # fmt: skip
    """lr / (1 + decay_rate * epoch / decay_epoch) (floored with `is_stair`)."""
    _check_decay("inverse_decay_lr", learning_rate, decay_rate, total_step, step_per_epoch,
                 decay_epoch, is_stair)  # fmt: skip
    lr = []
    for i in range(total_step):
        p = math.floor(i / step_per_epoch) / decay_epoch
        lr.append(learning_rate / (1 + decay_rate * (math.floor(p) if is_stair else p)))
    return lr


def cosine_decay_lr(min_lr, max_lr, total_step, step_per_epoch, decay_epoch) -> list[float]:
    """min_lr + (max_lr - min_lr) / 2 * (1 + cos(pi * min(epoch, decay_epoch) / decay_epoch))."""
    _positive_float(min_lr, "min_lr", "cosine_decay_lr", allow_zero=True)
    _positive_float(max_lr, "max_lr", "cosine_decay_lr")
    _positive_ints(
        "cosine_decay_lr",
        total_step=total_step,
        step_per_epoch=step_per_epoch,
        decay_epoch=decay_epoch,
    )
    if min_lr >= max_lr:
        raise ValueError(
            "For 'cosine_decay_lr', the 'max_lr' must be greater than the 'min_lr', but got "
            f"'max_lr' value: {max_lr}, 'min_lr' value: {min_lr}."
        )
    delta = 0.5 * (max_lr - min_lr)
    return [
        min_lr
        + delta
        * (1 + math.cos(math.pi * min(math.floor(i / step_per_epoch), decay_epoch) / decay_epoch))
        for i in range(total_step)
    ]


def polynomial_decay_lr(learning_rate, end_learning_rate, total_step, step_per_epoch,
                        decay_epoch, power, update_decay_epoch=False) -> list[float]:  # fmt: skip
    """(lr - end) * (1 - epoch / decay_epoch) ** power + end, the epoch capped at decay_epoch
    (or, with `update_decay_epoch`, decay_epoch grown to the next multiple past the epoch)."""
    _positive_float(learning_rate, "learning_rate", "polynomial_decay_lr")
    _positive_float(end_learning_rate, "end_learning_rate", "polynomial_decay_lr", allow_zero=True)
    _positive_float(power, "power", "polynomial_decay_lr")
    _positive_ints(
        "polynomial_decay_lr",
        total_step=total_step,
        step_per_epoch=step_per_epoch,
        decay_epoch=decay_epoch,
    )
    lr = []
    delta = learning_rate - end_learning_rate
    for i in range(total_step):
        epoch = math.floor(i / step_per_epoch)
        if update_decay_epoch:
            decay, current = decay_epoch * max(math.ceil(epoch / decay_epoch), 1), epoch
        else:
            decay, current = decay_epoch, min(epoch, decay_epoch)
        lr.append(delta * (1 - current / decay) ** power + end_learning_rate)
    return lr


def warmup_lr(learning_rate, total_step, step_per_epoch, warmup_epoch) -> list[float]:
    """lr * min(epoch, warmup_epoch) / warmup_epoch."""
    _positive_float(learning_rate, "learning_rate", "warmup_lr", allow_zero=True)
    _positive_ints(
        "warmup_lr",
        warmup_epoch=warmup_epoch,
        total_step=total_step,
        step_per_epoch=step_per_epoch,
    )
    return [
        learning_rate * min(math.floor(i / step_per_epoch), warmup_epoch) / warmup_epoch
        for i in range(total_step)
    ]


__all__ = [
    "cosine_decay_lr",
    "exponential_decay_lr",
    "inverse_decay_lr",
    "natural_exp_decay_lr",
    "piecewise_constant_lr",
    "polynomial_decay_lr",
    "warmup_lr",
]
