"""`mindspore.dataset.vision`: image operations for `Dataset.map` on HWC numpy images."""

from __future__ import annotations

import numpy as np


class Rescale:
    """x * rescale + shift, as float32."""

    def __init__(self, rescale: float, shift: float):
        self.rescale, self.shift = rescale, shift

    def __call__(self, image):
        return (np.asarray(image, np.float32) * self.rescale + self.shift).astype(np.float32)


class Normalize:
    """(x - mean) / std per channel (the last axis, or the first with `is_hwc=False`)."""

    def __init__(self, mean, std, is_hwc: bool = True):
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.is_hwc = is_hwc

    def __call__(self, image):
        image = np.asarray(image, np.float32)
        shape = (-1,) if self.is_hwc else (-1, 1, 1)
        return (image - self.mean.reshape(shape)) / self.std.reshape(shape)


class HWC2CHW:
    """Height-width-channel to channel-height-width (a 2-D image gains one channel)."""

    def __call__(self, image):
        image = np.asarray(image)
        if image.ndim == 2:
            return image[None]
        return np.ascontiguousarray(np.transpose(image, (2, 0, 1)))


class Resize:
    """Bilinear resize of an HW or HWC image to `size` (an int: the shorter side, keeping the
    aspect ratio; or (height, width))."""

    def __init__(self, size):
        self.size = size

    def __call__(self, image):
        image = np.asarray(image)
        height, width = image.shape[:2]
        if isinstance(self.size, int):
            scale = self.size / min(height, width)
            target = (round(height * scale), round(width * scale))
        else:
            target = tuple(self.size)
        rows = _coordinates(height, target[0])
        cols = _coordinates(width, target[1])
        values = image.astype(np.float32)
        top, bottom, dy = rows
        left, right, dx = cols
        dy = dy.reshape((-1, 1) + (1,) * (image.ndim - 2))
        dx = dx.reshape((1, -1) + (1,) * (image.ndim - 2))
        upper = values[top][:, left] * (1 - dx) + values[top][:, right] * dx
        lower = values[bottom][:, left] * (1 - dx) + values[bottom][:, right] * dx
        resized = upper * (1 - dy) + lower * dy
        return resized.astype(image.dtype) if image.dtype.kind == "f" else resized


def _coordinates(size: int, target: int):
    """Source indices and weights of bilinear sampling with half-pixel centers."""
    position = np.clip((np.arange(target) + 0.5) * size / target - 0.5, 0, size - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, size - 1)
    return low, high, (position - low).astype(np.float32)
