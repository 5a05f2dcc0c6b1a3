"""numpy implementations of MindSpore's documented optimizer update rules, in float64: the
reference the compiled optimizers are tested against (and that were checked against MindSpore
2.10 itself for the same steps).

Each `step(params, grads, state, lr, **hyper)` updates `params` and `state` (lists of arrays,
one per parameter) in place. Weight decay is added to the gradient first (g + wd * p) and the
gradient is divided by `loss_scale`, as MindSpore's Optimizer base does before the rule."""

from __future__ import annotations

import numpy as np


def _prepare(grads, params, weight_decay, loss_scale):
    return [(g + weight_decay * p) / loss_scale for g, p in zip(grads, params)]


def sgd(params, grads, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
        nesterov=False, loss_scale=1.0):  # fmt: skip
    grads = _prepare(grads, params, weight_decay, loss_scale)
    state.setdefault("accum", [np.zeros_like(p) for p in params])
    state.setdefault("stat", [np.ones(1) for _ in params])
    for p, g, accum, stat in zip(params, grads, state["accum"], state["stat"]):
        if momentum > 0:
            if stat[0] > 0:  # the first step: the accumulation is the gradient itself
                accum[...] = g
                stat[0] = 0
            else:
                accum[...] = momentum * accum + (1 - dampening) * g
            p -= lr * (g + momentum * accum) if nesterov else lr * accum
        else:
            p -= lr * g


def momentum(params, grads, state, lr, momentum, weight_decay=0.0, use_nesterov=False,
             loss_scale=1.0):  # fmt: skip
    grads = _prepare(grads, params, weight_decay, loss_scale)
    state.setdefault("moments", [np.zeros_like(p) for p in params])
    for p, g, m in zip(params, grads, state["moments"]):
        m[...] = momentum * m + g
        p -= lr * (g + momentum * m) if use_nesterov else lr * m


def adam(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
         use_nesterov=False, loss_scale=1.0):  # fmt: skip
    grads = _prepare(grads, params, weight_decay, loss_scale)
    state.setdefault("m", [np.zeros_like(p) for p in params])
    state.setdefault("v", [np.zeros_like(p) for p in params])
    state["beta1_power"] = state.get("beta1_power", 1.0) * beta1
    state["beta2_power"] = state.get("beta2_power", 1.0) * beta2
    lr_t = lr * np.sqrt(1 - state["beta2_power"]) / (1 - state["beta1_power"])
    for p, g, m, v in zip(params, grads, state["m"], state["v"]):
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * g * g
        step = (beta1 * m + (1 - beta1) * g) if use_nesterov else m
        p -= lr_t * step / (np.sqrt(v) + eps)


def adam_weight_decay(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-6,
                      weight_decay=0.0):  # fmt: skip
    state.setdefault("m", [np.zeros_like(p) for p in params])
    state.setdefault("v", [np.zeros_like(p) for p in params])
    for p, g, m, v in zip(params, grads, state["m"], state["v"]):
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * g * g
        p -= lr * (m / (np.sqrt(v) + eps) + weight_decay * p)


def rmsprop(params, grads, state, lr, decay=0.9, momentum=0.0, epsilon=1e-10, centered=False,
            weight_decay=0.0, loss_scale=1.0):  # fmt: skip
    grads = _prepare(grads, params, weight_decay, loss_scale)
    state.setdefault("ms", [np.ones_like(p) for p in params])
    state.setdefault("mom", [np.zeros_like(p) for p in params])
    state.setdefault("mg", [np.zeros_like(p) for p in params])
    for p, g, ms, mom, mg in zip(params, grads, state["ms"], state["mom"], state["mg"]):
        ms[...] = decay * ms + (1 - decay) * g * g
        if centered:
            mg[...] = decay * mg + (1 - decay) * g
            denominator = np.sqrt(ms - mg * mg + epsilon)
        else:
            denominator = np.sqrt(ms + epsilon)
        mom[...] = momentum * mom + lr * g / denominator
        p -= mom


def adagrad(params, grads, state, lr, accum=0.1, weight_decay=0.0, loss_scale=1.0):
    grads = _prepare(grads, params, weight_decay, loss_scale)
    state.setdefault("accum", [np.full_like(p, accum) for p in params])
    for p, g, a in zip(params, grads, state["accum"]):
        a += g * g
        p -= lr * g / np.sqrt(a)
