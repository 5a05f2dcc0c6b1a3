"""nn.Dropout: in training mode, zeroes each element with probability `p` (or 1 - `keep_prob`,
MindSpore's older spelling) and scales the rest by 1/(1 - p); the identity in evaluation mode.
Dropout1d/2d/3d zero whole channels instead (ops.Dropout2D/3D).

The mask is a hidden input of the compiled code that the runtime draws afresh for every call
from the generator `cellc.set_seed` seeds (see `cellc.ops.dropout`)."""

from __future__ import annotations

from cellc import ops
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


class _ChannelDropout(Cell):
    """Whole channels of (N, C, ...) zeroed with probability p in training (the others scaled by
    1 / (1 - p)); the identity in inference."""

    primitive = None

    def __init__(self, p=0.5):
        super().__init__()
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1:
            raise ValueError(f"For '{type(self).__name__}', the 'p' must be in [0, 1], got {p!r}")
        self.p = float(p)

    def construct(self, x):
        if not self.training or self.p == 0:
            return x
        return type(self).primitive(1.0 - self.p)(x)[0]


class Dropout1d(_ChannelDropout):
    """Channel dropout of (N, C, L): Dropout2D's mask over a unit height."""

    def construct(self, x):
        if not self.training or self.p == 0:
            return x
        F = ops.functional
        return F.squeeze(ops.Dropout2D(1.0 - self.p)(F.expand_dims(x, 2))[0], 2)


class Dropout2d(_ChannelDropout):
    primitive = ops.Dropout2D


class Dropout3d(_ChannelDropout):
    primitive = ops.Dropout3D


__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d"]
