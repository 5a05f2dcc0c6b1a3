"""Central finite differences of a compiled cell, the reference its compiled VJP is held to."""

from __future__ import annotations

import numpy as np

from cellc import Tensor


def numeric_vjp(forward, args, sens, eps=1e-6):
    """<sens, d forward(*args) / d arg> for every arg (float64 numpy arrays), by central
    differences of `forward` (a cell returning one tensor) moved one element at a time."""
    grads = []
    for i, arg in enumerate(args):
        grad = np.zeros_like(arg)
        for index in np.ndindex(arg.shape):
            shifted = []
            for sign in (1, -1):
                moved = [a.copy() for a in args]
                moved[i][index] += sign * eps
                shifted.append(forward(*[Tensor(m) for m in moved]).asnumpy())
            grad[index] = np.sum(sens * (shifted[0] - shifted[1])) / (2 * eps)
        grads.append(grad)
    return grads
