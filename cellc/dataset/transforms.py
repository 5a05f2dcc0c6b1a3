"""`mindspore.dataset.transforms`: per-column operations for `Dataset.map` (numpy in, numpy
out)."""

from __future__ import annotations

import numpy as np


class TypeCast:
    """Casts a column to a MindSpore dtype (`mstype.int32`) or a numpy dtype."""

    def __init__(self, data_type):
        self.dtype = np.dtype(getattr(data_type, "numpy", data_type))

    def __call__(self, value):
        return np.asarray(value).astype(self.dtype)


class OneHot:
    """Integer labels to one-hot rows of `num_classes` (float32 unless `dtype` says otherwise)."""

    def __init__(self, num_classes: int, smoothing_rate: float = 0.0):
        self.num_classes = num_classes
        self.smoothing_rate = smoothing_rate

    def __call__(self, value):
        labels = np.asarray(value)
        rows = (labels[..., None] == np.arange(self.num_classes)).astype(np.float32)
        if self.smoothing_rate:
            rows = rows * (1 - self.smoothing_rate) + self.smoothing_rate / self.num_classes
        return rows


class Compose:
    """Operations applied in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, *values):
        for transform in self.transforms:
            result = transform(*values)
            values = result if isinstance(result, tuple) else (result,)
        return values if len(values) > 1 else values[0]
