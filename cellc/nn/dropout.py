"""nn.Dropout: in training mode, zeroes each element with probability `p` (or 1 - `keep_prob`,
MindSpore's older spelling) and scales the rest by 1/(1 - p); the identity in evaluation mode.

The mask is a hidden input of the compiled code that the runtime draws afresh for every call
from the generator `cellc.set_seed` seeds (see `cellc.ops.dropout`)."""

from __future__ import annotations

from cellc.ops import state

from .cell import Cell


class Dropout(Cell):
    def __init__(self, keep_prob=None, p=None):
        super().__init__()
        if p is not None:
            if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p < 1:
                raise ValueError(f"For 'Dropout', the 'p' must be a number in [0, 1), got {p!r}")
            self.keep_prob, self._spelling = 1.0 - float(p), f"p={p}"
        else:
            keep_prob = 0.5 if keep_prob is None else keep_prob
            if not isinstance(keep_prob, (int, float)) or not 0 < keep_prob <= 1:
                raise ValueError(
                    f"For 'Dropout', the 'keep_prob' must be a number in (0, 1], got {keep_prob!r}"
                )
            self.keep_prob, self._spelling = float(keep_prob), f"keep_prob={keep_prob}"

    def construct(self, x):
        return state.dropout_keep(x, self.keep_prob, training=bool(self.training))

    def __repr__(self) -> str:
        return f"Dropout({self._spelling})"


__all__ = ["Dropout"]
