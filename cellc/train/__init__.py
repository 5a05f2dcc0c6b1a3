"""`mindspore.train`: `Model`, callbacks and metrics.

`Model` loads on first use, so that `cellc.nn` can export the metrics (`nn.Accuracy`) from
`cellc.train.metrics` while `cellc.train.model` builds on `cellc.nn`."""

import importlib

from cellc import compat

# callback and metrics do not import cellc.nn, so they load here; their __all__ name the API.
from . import callback, metrics

_SUBMODULES = ("callback", "metrics", "model")

# name -> submodule of cellc.train (or a module path) that defines it
_API = {
    "Model": "model",
    **dict.fromkeys(callback.__all__, "callback"),
    **dict.fromkeys(metrics.__all__, "metrics"),
    # mindspore.train also exports the checkpoint functions
    "save_checkpoint": "cellc.serialization",
    "load_checkpoint": "cellc.serialization",
    "load_param_into_net": "cellc.serialization",
    # and the loss-scale managers
    "LossScaleManager": "cellc.amp",
    "FixedLossScaleManager": "cellc.amp",
    "DynamicLossScaleManager": "cellc.amp",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name not in _API:
        raise compat.missing("train", name)
    where = _API[name]
    module = importlib.import_module(where if "." in where else f"{__name__}.{where}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*__all__, *_SUBMODULES])
