"""Run MindSpore and LuoJiaNET scripts unchanged: `import mindspore...` and
`import luojianet_ms...` resolve to cellc while `install()` is in effect (`cellc run` does this,
for its own process only)."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

ALIASES = ("mindspore", "luojianet_ms")

# submodules whose cellc home has another name
_RENAMED = {
    "common": "",
    "common.dtype": "dtype",
    "common.tensor": "tensor",
    "common.parameter": "parameter",
    "ops.operations": "ops",
    "ops.functional": "ops.functional",
    "ops.composite": "ops",
    "train.serialization": "serialization",
    "nn.metrics": "train.metrics",
}


def _target(fullname: str) -> str:
    root, _, rest = fullname.partition(".")
    rest = _RENAMED.get(rest, rest)
    return "cellc" + (f".{rest}" if rest else "")


def missing(module: str, name: str) -> AttributeError:
    """The error for a MindSpore name that cellc lacks (`nn.LSTM`): cellc's modules raise it
    from their `__getattr__`."""
    path = f"{module}.{name}" if module else name
    if name.startswith("__"):  # Python's own probes (`__wrapped__`): the usual message
        return AttributeError(f"module 'cellc.{path}' has no attribute '{name}'")
    return AttributeError(f"cellc has no mindspore.{path} yet")


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.partition(".")[0] not in ALIASES:
            return None
        try:
            importlib.import_module(_target(fullname))
        except ImportError:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        importlib.import_module("cellc.ops")  # Tensor's operators (see cellc/__init__.py)
        return importlib.import_module(_target(spec.name))

    def exec_module(self, module):
        pass


_FINDER = _AliasFinder()


def install() -> None:
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [n for n in sys.modules if n.partition(".")[0] in ALIASES]:
        del sys.modules[name]
