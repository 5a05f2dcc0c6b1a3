"""Loss scaling for float16 training: `nn.TrainOneStepWithLossScaleCell`,
`nn.DynamicLossScaleUpdateCell`, `nn.FixedLossScaleUpdateCell` (MindSpore's rules).

The step scales the loss's sensitivity by `scale_sense`, divides the gradients by it, checks
them for overflow (inf or NaN anywhere), lets the manager update the scale, and applies the
optimizer only without overflow: its updates are gated by `ops.state.only_if`, so the step
stays one compiled function without branches.
"""

from __future__ import annotations

import numpy as np

from cellc import context
from cellc import dtype as mstype
from cellc.errors import UnsupportedError
from cellc.ops import functional as F
from cellc.ops.state import assign, depend, only_if
from cellc.parameter import Parameter
from cellc.tensor import Tensor

from .cell import Cell
from .wrap import TrainOneStepCell


class DynamicLossScaleUpdateCell(Cell):
    """On overflow, scale = max(scale / scale_factor, 1); after `scale_window` steps without
    one, scale *= scale_factor (MindSpore's DynamicLossScaleUpdateCell)."""

    def __init__(self, loss_scale_value, scale_factor, scale_window):
        super().__init__()
        self.loss_scale_value = loss_scale_value
        self.scale_factor = float(scale_factor)
        self.scale_window = int(scale_window)
        self.cur_iter = Parameter(Tensor(np.array(1, np.int32)), name="current_iterator_step")
        self.last_overflow_iter = Parameter(
            Tensor(np.array(0, np.int32)), name="last_overflow_iterator_step"
        )

    def get_loss_scale(self):
        return self.loss_scale_value

    def construct(self, loss_scale, overflow):
        on_overflow = F.select(
            overflow, F.maximum(F.div(loss_scale, self.scale_factor), 1.0), loss_scale
        )
        should_increase = F.less_equal(self.scale_window, self.cur_iter - self.last_overflow_iter)
        last = F.select(
            F.logical_or(overflow, should_increase), self.cur_iter, self.last_overflow_iter
        )
        assign(self.last_overflow_iter, last)
        grow = F.logical_and(should_increase, F.logical_not(overflow))
        assign(loss_scale, F.select(grow, F.mul(on_overflow, self.scale_factor), on_overflow))
        assign(self.cur_iter, self.cur_iter + 1)
        return overflow


class FixedLossScaleUpdateCell(Cell):
    """A loss scale that never changes."""

    def __init__(self, loss_scale_value):
        super().__init__()
        self.loss_scale_value = loss_scale_value

    def get_loss_scale(self):
        return self.loss_scale_value

    def construct(self, loss_scale, overflow):
        return overflow


class TrainOneStepWithLossScaleCell(TrainOneStepCell):
    """One training step with loss scaling; returns `(loss, overflow, scale)` as MindSpore
    does. `scale_sense` is a loss-scale manager cell or a Tensor of shape () or (1,)."""

    def __init__(self, network, optimizer, scale_sense):
        if context.data_parallel():  # its gated update has no split around an all-reduce
            raise UnsupportedError(
                "TrainOneStepWithLossScaleCell does not train DATA_PARALLEL yet: its overflow "
                "check and gated update would need the gradients reduced inside one compiled "
                "step; use TrainOneStepCell (float32) for data-parallel training"
            )
        super().__init__(network, optimizer)
        if isinstance(scale_sense, Cell):
            self.loss_scaling_manager = scale_sense
            value = np.array(scale_sense.get_loss_scale(), np.float32)
        elif isinstance(scale_sense, Tensor):
            if scale_sense.shape not in ((), (1,)):
                raise ValueError(
                    "For 'TrainOneStepWithLossScaleCell', the shape of 'scale_sense' must be "
                    f"(1,) or (), but got {scale_sense.shape}."
                )
            self.loss_scaling_manager = None
            value = scale_sense.asnumpy().astype(np.float32)
        else:
            raise TypeError(
                "For 'TrainOneStepWithLossScaleCell', the 'scale_sense' must be Cell or Tensor, "
                f"but got 'scale_sense' type: {type(scale_sense)}."
            )
        self.scale_sense = Parameter(Tensor(value), name="scale_sense")

    def set_sense_scale(self, sens):
        if not isinstance(sens, Tensor):
            raise TypeError(
                "For 'TrainOneStepWithLossScaleCell', the type of 'sens' must be Tensor, but "
                f"got {type(sens)}"
            )
        self.scale_sense.set_data(sens)

    def construct(self, *inputs):
        loss = self.network(*inputs)
        scale = self.scale_sense
        filled = F.mul(F.add(F.mul(loss, 0.0), 1.0), F.cast(F.reshape(scale, ()), loss.dtype))
        grads = self.grad(self.network, self.weights)(*inputs, filled)
        grads = tuple(F.div(g, F.cast(F.reshape(scale, ()), g.dtype)) for g in grads)
        overflow = self.get_overflow_status(grads)
        overflow = self.process_loss_scale(overflow)
        with only_if(F.logical_not(overflow)):
            loss = depend(loss, self.optimizer(grads))
        return loss, overflow, scale

    @staticmethod
    def get_overflow_status(grads):
        """True when a gradient holds inf or NaN (x - x is NaN exactly there)."""
        counts = [
            F.reduce_sum(F.cast(F.not_equal(F.sub(g, g), 0.0), mstype.float32)) for g in grads
        ]
        total = counts[0]
        for count in counts[1:]:
            total = F.add(total, count)
        return F.greater(total, 0.0)

    def process_loss_scale(self, overflow):
        if self.loss_scaling_manager is not None:
            return self.loss_scaling_manager(self.scale_sense, overflow)
        return overflow


__all__ = [
    "DynamicLossScaleUpdateCell",
    "FixedLossScaleUpdateCell",
    "TrainOneStepWithLossScaleCell",
]
