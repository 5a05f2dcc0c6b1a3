"""MindSpore's optimizers: `nn.SGD`, `nn.Momentum`, `nn.Adam`, `nn.AdamWeightDecay`,
`nn.RMSProp`, `nn.Adagrad`, on the `nn.Optimizer` base.

An optimizer is a Cell whose `construct(gradients)` gives every Parameter (and its own state:
`moments.w`, `beta1_power`, `global_step`, ...) its new value with `ops.assign`. Called inside
a training cell's `construct` (`nn.TrainOneStepCell`), the update is part of the one compiled
step, which updates the weights as it runs; called on its own (`optimizer(grads)`, as MindSpore
2.x's functional training loops do), it is a compiled program of its own.

Each rule is MindSpore's documented one (tests check N steps against a float64 numpy
implementation). Before the rule, the base adds weight decay to the gradient (g + wd * p, for
Parameters whose names contain neither 'beta' nor 'gamma', or per group) and divides it by
`loss_scale`. The learning rate is a number, a list or 1-D Tensor with one value per step, or a
`LearningRateSchedule` cell of `global_step`.
"""

from __future__ import annotations

import numbers

import numpy as np

from cellc import dtype as mstype
from cellc.ops import functional as F
from cellc.ops.state import assign
from cellc.parameter import Parameter, ParameterTuple
from cellc.tensor import Tensor

from .cell import Cell


class LearningRateSchedule(Cell):
    """Base of the learning-rate cells: `construct(global_step)` returns the learning rate."""

    def construct(self, global_step):
        raise NotImplementedError


class Optimizer(Cell):
    """Base of the optimizers. `parameters` is a list of Parameters or of groups
    (`{'params': [...], 'weight_decay': ..., 'lr': ...}`); subclasses implement
    `apply(gradients)` with the rule, reading `self.get_lr()` and state Parameters they
    create with `self.state_like(name, init)`."""

    def __init__(self, learning_rate, parameters, weight_decay=0.0, loss_scale=1.0):
        super().__init__(auto_prefix=False)
        params, self._group_lr, self._decay = self._groups(parameters, learning_rate, weight_decay)
        if not params:
            raise ValueError(f"For '{type(self).__name__}', the argument 'params' is empty")
        if loss_scale <= 0:
            raise ValueError(f"For '{type(self).__name__}', 'loss_scale' must be > 0")
        self.parameters = ParameterTuple(params)
        self._parameters = self.parameters
        self.loss_scale = float(loss_scale)
        self.global_step = Parameter(
            Tensor(np.zeros([1], np.int32)), name="global_step", requires_grad=False
        )
        self._lr = [self._learning_rate(lr) for lr in self._group_lr]

    # --- parameters and groups ----------------------------------------------------------

    def _groups(self, parameters, learning_rate, weight_decay):
        """The Parameters, each one's learning rate and weight decay (MindSpore's groups)."""
        items = list(parameters)
        if items and isinstance(items[0], dict):
            params, lrs, decays = [], [], []
            for group in items:
                group_params = list(group["params"])
                group_lr = group.get("lr", learning_rate)
                group_decay = group.get("weight_decay", weight_decay)
                params += group_params
                lrs += [group_lr] * len(group_params)
                decays += [float(group_decay)] * len(group_params)
            return params, lrs, decays
        for item in items:
            if not isinstance(item, Parameter):
                raise TypeError(
                    f"For '{type(self).__name__}', params must be Parameters or groups (dicts), "
                    f"got {type(item).__name__}"
                )
        decays = [
            float(weight_decay) if "beta" not in p.name and "gamma" not in p.name else 0.0
            for p in items
        ]
        return items, [learning_rate] * len(items), decays

    def _learning_rate(self, learning_rate):
        """A number, a Cell of global_step, or a per-step table (a Parameter, checkpointed)."""
        if isinstance(learning_rate, LearningRateSchedule):
            return learning_rate
        if isinstance(learning_rate, numbers.Number) and not isinstance(learning_rate, bool):
            if learning_rate < 0:
                raise ValueError(f"For '{type(self).__name__}', the learning rate must be >= 0")
            return float(learning_rate)
        if isinstance(learning_rate, (list, tuple, Tensor, np.ndarray)):
            table = np.asarray(
                learning_rate.asnumpy() if isinstance(learning_rate, Tensor) else learning_rate,
                np.float32,
            )
            if table.ndim == 0:
                return float(table)
            if table.ndim != 1 or table.size == 0:
                raise ValueError(
                    f"For '{type(self).__name__}', a learning-rate table must be 1-D and "
                    f"non-empty, got shape {table.shape}"
                )
            return table
        raise TypeError(
            f"For '{type(self).__name__}', the learning rate must be a number, a list, a "
            f"Tensor or a LearningRateSchedule, got {type(learning_rate).__name__}"
        )

    def state_like(self, prefix: str, init: float = 0.0) -> ParameterTuple:
        """One state Parameter per optimized Parameter, named `prefix.name`, filled with
        `init` (MindSpore's `parameters.clone(prefix, init)`)."""
        states = ParameterTuple(
            Parameter(
                Tensor(np.full(p.shape, init, p.asnumpy().dtype)),
                name=f"{prefix}.{p.name}",
                requires_grad=False,
            )
            for p in self.parameters
        )
        for state in states:
            self.insert_param_to_cell(state.name, state)
        return states

    # --- what the rules use -------------------------------------------------------------

    def get_lr(self, index: int = 0):
        """The learning rate of the `index`-th Parameter at the current step: a number or a
        0-d float32 tensor."""
        lr = self._lr[index]
        if isinstance(lr, float):
            return lr
        if isinstance(lr, LearningRateSchedule):
            return F.reshape(F.cast(lr(self.global_step), mstype.float32), ())
        last = Tensor(np.array([lr.size - 1], np.int32))
        step = F.minimum(self.global_step, last)  # the table's last value once it runs out
        return F.reshape(F.gather(Tensor(lr), step, 0), ())

    def prepare(self, gradients) -> list:
        """The gradients with weight decay added and the loss scale divided out."""
        gradients = list(gradients)
        if len(gradients) != len(self.parameters):
            raise ValueError(
                f"For '{type(self).__name__}', got {len(gradients)} gradients for "
                f"{len(self.parameters)} parameters"
            )
        out = []
        for g, p, decay in zip(gradients, self.parameters, self._decay):
            if decay:
                g = g + p * decay
            if self.loss_scale != 1.0:
                g = g * (1.0 / self.loss_scale)
            out.append(g)
        return out

    def construct(self, gradients):
        self.apply(self.prepare(gradients))
        assign(self.global_step, self.global_step + 1)
        return ()

    def apply(self, gradients):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with momentum (PyTorch's rule, as MindSpore documents it):
    v = momentum * v + (1 - dampening) * g (v = g at the first step); p -= lr * (g + momentum *
    v) with Nesterov, else p -= lr * v; without momentum p -= lr * g."""

    def __init__(self, params, learning_rate=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, loss_scale=1.0):  # fmt: skip
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        if momentum < 0 or dampening < 0:
            raise ValueError("For 'SGD', 'momentum' and 'dampening' must be >= 0")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("For 'SGD', nesterov needs momentum > 0 and dampening == 0")
        self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov
        self.accum = self.state_like("accum")
        self.stat = self.state_like("stat", 1.0)  # 1 until the first step has run

    def apply(self, gradients):
        for i, (p, g, accum, stat) in enumerate(
            zip(self.parameters, gradients, self.accum, self.stat)
        ):
            lr = self.get_lr(i)
            if self.momentum <= 0:
                assign(p, p - g * lr)
                continue
            v = stat * g + (1 - stat) * (accum * self.momentum + g * (1 - self.dampening))
            assign(accum, v)
            assign(stat, stat * 0.0)
            assign(p, p - ((g + v * self.momentum) if self.nesterov else v) * lr)


class Momentum(Optimizer):
    """v = momentum * v + g; p -= lr * (g + momentum * v) with `use_nesterov`, else lr * v
    (MindSpore's documented ApplyMomentum)."""

    def __init__(self, params, learning_rate, momentum, weight_decay=0.0, loss_scale=1.0,
                 use_nesterov=False):  # fmt: skip
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        if not isinstance(momentum, numbers.Number) or momentum < 0:
            raise ValueError(f"For 'Momentum', 'momentum' must be a number >= 0, got {momentum!r}")
        self.momentum = float(momentum)
        self.use_nesterov = bool(use_nesterov)
        self.moments = self.state_like("moments")

    def apply(self, gradients):
        for i, (p, g, m) in enumerate(zip(self.parameters, gradients, self.moments)):
            lr = self.get_lr(i)
            v = m * self.momentum + g
            assign(m, v)
            assign(p, p - ((g + v * self.momentum) if self.use_nesterov else v) * lr)


class Adam(Optimizer):
    """m += (g - m) (1 - b1); v += (g^2 - v) (1 - b2); lr_t = lr sqrt(1 - b2^t) / (1 - b1^t);
    p -= lr_t * m / (sqrt(v) + eps), with (b1 m + (1 - b1) g) for m under `use_nesterov`: the
    operations, their order and 1 - b computed in float32, of MindSpore's CPU kernel (nnacl's
    AdamFp32), so that losses match MindSpore's bit for bit. The powers are the state
    `beta1_power`, `beta2_power`."""

    def __init__(self, params, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                 use_locking=False, use_nesterov=False, weight_decay=0.0, loss_scale=1.0,
                 use_amsgrad=False, **kwargs):  # fmt: skip
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        if use_amsgrad:
            raise NotImplementedError("cellc has no mindspore.nn.Adam(use_amsgrad=True) yet")
        _check_betas("Adam", beta1, beta2, eps)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.use_nesterov = bool(use_nesterov)
        self.beta1_power = Parameter(Tensor(np.ones(1, np.float32)), name="beta1_power")
        self.beta2_power = Parameter(Tensor(np.ones(1, np.float32)), name="beta2_power")
        self.moment1 = self.state_like("moment1")
        self.moment2 = self.state_like("moment2")

    def apply(self, gradients):
        beta1_power = assign(self.beta1_power, self.beta1_power * self.beta1)
        beta2_power = assign(self.beta2_power, self.beta2_power * self.beta2)
        keep1, keep2 = _one_minus(self.beta1), _one_minus(self.beta2)
        for i, (p, g, m, v) in enumerate(
            zip(self.parameters, gradients, self.moment1, self.moment2)
        ):
            lr_t = self.get_lr(i) * F.sqrt(1.0 - beta2_power) / (1.0 - beta1_power)
            m_new = assign(m, m + (g - m) * keep1)
            v_new = assign(v, v + (g * g - v) * keep2)
            step = m_new * self.beta1 + g * keep1 if self.use_nesterov else m_new
            assign(p, p - lr_t * step / (F.sqrt(v_new) + self.eps))


def _one_minus(beta: float) -> float:
    """1 - beta as MindSpore's float32 kernels compute it (1 - 0.9 is 0.100000024 there)."""
    return float(np.float32(1.0) - np.float32(beta))


class AdamWeightDecay(Optimizer):
    """Adam without bias correction and with decoupled weight decay: m += (g - m) (1 - b1),
    v += (g^2 - v) (1 - b2), p -= lr * (m / (sqrt(v) + eps) + weight_decay * p), in the order
    of MindSpore's CPU kernel (nnacl's AdamWeightDecayFp32)."""

    def __init__(self, params, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-6,
                 weight_decay=0.0):  # fmt: skip
        super().__init__(learning_rate, params, 0.0, 1.0)
        _check_betas("AdamWeightDecay", beta1, beta2, eps)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        _, _, self._decoupled = self._groups(params, learning_rate, weight_decay)
        self.moments1 = self.state_like("adam_m")
        self.moments2 = self.state_like("adam_v")

    def apply(self, gradients):
        for i, (p, g, m, v, decay) in enumerate(
            zip(self.parameters, gradients, self.moments1, self.moments2, self._decoupled)
        ):
            m_new = assign(m, m + (g - m) * _one_minus(self.beta1))
            v_new = assign(v, v + (g * g - v) * _one_minus(self.beta2))
            update = m_new / (F.sqrt(v_new) + self.eps)
            if decay:
                update = update + p * decay
            assign(p, p - update * self.get_lr(i))


class RMSProp(Optimizer):
    """ms = decay ms + (1 - decay) g^2; mom = momentum mom + lr g / sqrt(ms + eps); p -= mom;
    centered: mg = decay mg + (1 - decay) g and sqrt(ms - mg^2 + eps) (MindSpore's ApplyRMSProp
    and ApplyCenteredRMSProp; `mean_square` starts at ones)."""

    def __init__(self, params, learning_rate=0.1, decay=0.9, momentum=0.0, epsilon=1e-10,
                 use_locking=False, centered=False, loss_scale=1.0, weight_decay=0.0):  # fmt: skip
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        if decay < 0 or momentum < 0 or epsilon <= 0:
            raise ValueError("For 'RMSProp', decay and momentum must be >= 0 and epsilon > 0")
        self.decay, self.momentum, self.epsilon = decay, momentum, epsilon
        self.centered = bool(centered)
        self.mean_square = self.state_like("mean_square", 1.0)
        self.moment = self.state_like("moment")
        self.mean_grad = self.state_like("mean_grad") if self.centered else ()

    def apply(self, gradients):
        for i, (p, g) in enumerate(zip(self.parameters, gradients)):
            ms = assign(
                self.mean_square[i], self.mean_square[i] * self.decay + g * g * (1 - self.decay)
            )
            if self.centered:
                mg = assign(
                    self.mean_grad[i], self.mean_grad[i] * self.decay + g * (1 - self.decay)
                )
                denominator = F.sqrt(ms - mg * mg + self.epsilon)
            else:
                denominator = F.sqrt(ms + self.epsilon)
            mom = assign(
                self.moment[i], self.moment[i] * self.momentum + g * self.get_lr(i) / denominator
            )
            assign(p, p - mom)


class Adagrad(Optimizer):
    """accum += g^2; p -= lr g / sqrt(accum) (MindSpore's ApplyAdagrad; accum starts at
    `accum`)."""

    def __init__(self, params, accum=0.1, learning_rate=0.001, update_slots=True, loss_scale=1.0,
                 weight_decay=0.0):  # fmt: skip
        super().__init__(learning_rate, params, weight_decay, loss_scale)
        if accum < 0:
            raise ValueError(f"For 'Adagrad', 'accum' must be >= 0, got {accum}")
        self.accum = self.state_like("accum", float(accum))

    def apply(self, gradients):
        for i, (p, g, a) in enumerate(zip(self.parameters, gradients, self.accum)):
            total = assign(a, a + g * g)
            assign(p, p - g * self.get_lr(i) / F.sqrt(total))


def _check_betas(name: str, beta1, beta2, eps) -> None:
    if not 0.0 < beta1 < 1.0 or not 0.0 < beta2 < 1.0:
        raise ValueError(f"For '{name}', beta1 and beta2 must be in (0, 1), got {beta1}, {beta2}")
    if eps <= 0:
        raise ValueError(f"For '{name}', eps must be > 0, got {eps}")


# --- learning-rate cells (MindSpore's LearningRateSchedule subclasses) -----------------------


class _DecayLR(LearningRateSchedule):
    """A rate decayed by `decay_rate` over each `decay_steps` steps, smoothly or (is_stair) in
    whole steps of `decay_steps`."""

    def __init__(self, learning_rate, decay_rate, decay_steps, is_stair=False):
        super().__init__()
        self.learning_rate, self.decay_rate = learning_rate, decay_rate
        self.decay_steps, self.is_stair = decay_steps, is_stair

    def epoch_ratio(self, global_step):
        """global_step / decay_steps as float32, floored (toward zero: steps are >= 0) when
        stair."""
        p = F.cast(global_step, mstype.float32) / float(self.decay_steps)
        return F.cast(F.cast(p, mstype.int32), mstype.float32) if self.is_stair else p


class ExponentialDecayLR(_DecayLR):
    """lr * decay_rate ** (step / decay_steps)."""

    def construct(self, global_step):
        p = self.epoch_ratio(global_step)
        return F.exp(p * float(np.log(self.decay_rate))) * self.learning_rate


class NaturalExpDecayLR(_DecayLR):
    """lr * e ** (-decay_rate * step / decay_steps)."""

    def construct(self, global_step):
        p = self.epoch_ratio(global_step)
        return F.exp(p * -self.decay_rate) * self.learning_rate


class InverseDecayLR(_DecayLR):
    """lr / (1 + decay_rate * step / decay_steps)."""

    def construct(self, global_step):
        p = self.epoch_ratio(global_step)
        return self.learning_rate / (p * self.decay_rate + 1.0)


class CosineDecayLR(LearningRateSchedule):
    """min_lr + (max_lr - min_lr) / 2 * (1 + cos(pi * min(step, decay_steps) / decay_steps))."""

    def __init__(self, min_lr, max_lr, decay_steps):
        super().__init__()
        if min_lr >= max_lr:
            raise ValueError("For 'CosineDecayLR', 'max_lr' must be greater than 'min_lr'")
        self.min_lr, self.max_lr, self.decay_steps = min_lr, max_lr, decay_steps

    def construct(self, global_step):
        step = F.minimum(F.cast(global_step, mstype.float32), float(self.decay_steps))
        cosine = F.cos(step * (np.pi / self.decay_steps))
        return (cosine + 1.0) * (0.5 * (self.max_lr - self.min_lr)) + self.min_lr


class PolynomialDecayLR(LearningRateSchedule):
    """(lr - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end."""

    def __init__(
        self, learning_rate, end_learning_rate, decay_steps, power, update_decay_steps=False
    ):
        super().__init__()
        if update_decay_steps:
            raise NotImplementedError(
                "cellc has no mindspore.nn.PolynomialDecayLR(update_decay_steps=True) yet"
            )
        self.learning_rate, self.end_learning_rate = learning_rate, end_learning_rate
        self.decay_steps, self.power = decay_steps, power

    def construct(self, global_step):
        step = F.minimum(F.cast(global_step, mstype.float32), float(self.decay_steps))
        base = 1.0 - step / float(self.decay_steps)
        decayed = F.power(base, self.power) if self.power != 1 else base
        return decayed * (self.learning_rate - self.end_learning_rate) + self.end_learning_rate


class WarmUpLR(LearningRateSchedule):
    """lr * min(step, warmup_steps) / warmup_steps."""

    def __init__(self, learning_rate, warmup_steps):
        super().__init__()
        self.learning_rate, self.warmup_steps = learning_rate, warmup_steps

    def construct(self, global_step):
        step = F.minimum(F.cast(global_step, mstype.float32), float(self.warmup_steps))
        return step * (self.learning_rate / self.warmup_steps)


__all__ = [
    "Adagrad",
    "Adam",
    "AdamWeightDecay",
    "CosineDecayLR",
    "ExponentialDecayLR",
    "InverseDecayLR",
    "LearningRateSchedule",
    "Momentum",
    "NaturalExpDecayLR",
    "Optimizer",
    "PolynomialDecayLR",
    "RMSProp",
    "SGD",
    "WarmUpLR",
]
