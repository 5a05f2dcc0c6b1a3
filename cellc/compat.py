"""Run MindSpore and LuoJiaNET scripts unchanged: `import mindspore...` and
`import luojianet_ms...` resolve to cellc while `install()` is in effect (`cellc run` does this,
for its own process only).

`mindspore.X.Y` is the cellc module `cellc.X.Y`, or the one `_RENAMED` names. The finder is
the only authority on these names: a MindSpore module cellc lacks is an import error that says
so ("cellc has no mindspore.mindrecord yet"), never a second copy of a cellc file loaded
under a MindSpore name. A name a cellc module lacks raises `missing(...)` from the module's
`__getattr__` ("cellc has no mindspore.nn.Conv3d yet"; `cellc run` and `cellc compile` say the
same for `from mindspore.nn import Conv3d`).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

ALIASES = ("mindspore", "luojianet_ms")

# MindSpore modules whose cellc home has another name: MindSpore path -> cellc path ("" is
# cellc itself). Importing `P.child` sets attribute `child` of P's cellc module to the target,
# so a child of a renamed package maps to the cellc module of that name when there is one
# (`nn.layer.conv` -> `nn.conv`, never `nn`, which would replace `cellc.nn.conv`).
_RENAMED = {
    "common": "",
    "common.api": "autograd",
    "common.dtype": "dtype",
    "common.initializer": "initializer",
    "common.parameter": "parameter",
    "common.tensor": "tensor",
    "dataset.engine": "dataset",
    "dataset.transforms.c_transforms": "dataset.transforms",
    "dataset.transforms.py_transforms": "dataset.transforms",
    "dataset.transforms.transforms": "dataset.transforms",
    "dataset.vision.c_transforms": "dataset.vision",
    "dataset.vision.py_transforms": "dataset.vision",
    "dataset.vision.transforms": "dataset.vision",
    "nn.layer": "nn",
    "nn.layer.activation": "nn.activation",
    "nn.layer.basic": "nn",
    "nn.layer.container": "nn",
    "nn.layer.conv": "nn.conv",
    "nn.layer.dense": "nn",
    "nn.layer.normalization": "nn.normalization",
    "nn.layer.pooling": "nn.pooling",
    "nn.learning_rate_schedule": "nn.optim",
    "nn.loss.loss": "nn",
    "nn.metrics": "train.metrics",
    "nn.optim.ada_grad": "nn.optim",
    "nn.optim.adam": "nn.optim",
    "nn.optim.momentum": "nn.optim",
    "nn.optim.optimizer": "nn.optim",
    "nn.optim.rmsprop": "nn.optim",
    "nn.optim.sgd": "nn.optim",
    "nn.wrap.cell_wrapper": "nn",
    "nn.wrap.grad_reducer": "nn",
    "nn.wrap.loss_scale": "nn",
    "ops.composite": "ops",
    "ops.operations.comm_ops": "ops",
    "ops.operations": "ops",
    "ops.primitive": "ops",
    "train.amp": "amp",
    "train.loss_scale_manager": "amp",
    "train.serialization": "serialization",
}

# For messages: the MindSpore path of a cellc module that has no MindSpore module of its name.
_MINDSPORE_PATH = {
    "autograd": "common.api",
    "initializer": "common.initializer",
    "parameter": "common.parameter",
    "serialization": "train.serialization",
    "tensor": "common.tensor",
}


# attributes given to cellc modules while the aliases are installed: (module, name)
_ADDED: list[tuple] = []


def cellc_name(fullname: str) -> str:
    """The cellc module that MindSpore module `fullname` (`mindspore.common.dtype`) is."""
    _, _, rest = fullname.partition(".")
    rest = _RENAMED.get(rest, rest)
    return "cellc" + (f".{rest}" if rest else "")


def mindspore_path(module: str) -> str:
    """The MindSpore path, without the root, of cellc module `module` (`cellc.nn` -> `nn`)."""
    rest = module.removeprefix("cellc").lstrip(".")
    return _MINDSPORE_PATH.get(rest, rest)


def missing(module: str, name: str) -> AttributeError:
    """The error for a MindSpore name that cellc lacks (`nn.Conv3d`): cellc's modules raise it
    from their `__getattr__`."""
    path = f"{module}.{name}" if module else name
    if name.startswith("__"):  # Python's own probes (`__wrapped__`): the usual message
        return AttributeError(f"module 'cellc.{path}' has no attribute '{name}'")
    return AttributeError(f"cellc has no mindspore.{path} yet")


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.partition(".")[0] not in ALIASES:
            return None
        name = cellc_name(fullname)
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name is None or not (name + ".").startswith(error.name + "."):
                raise  # something cellc itself imports is missing: not the user's name
            raise ModuleNotFoundError(f"cellc has no {fullname} yet", name=fullname) from None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        importlib.import_module("cellc.ops")  # Tensor's operators (see cellc/__init__.py)
        module = importlib.import_module(cellc_name(spec.name))
        _add_renamed_children(module, spec.name.partition(".")[2])
        return module

    def exec_module(self, module):
        pass


def _add_renamed_children(module, path: str) -> None:
    """Gives `module`, the cellc module standing for MindSpore's `path`, its renamed MindSpore
    submodules as attributes (`from mindspore.ops import operations as P`) and, if it is a
    plain module, an empty `__path__`, since Python imports a child
    (`mindspore.dataset.vision.c_transforms`) only from a package. `uninstall` takes them
    back."""
    children = [key.rpartition(".")[2] for key in _RENAMED if key.rpartition(".")[0] == path]
    if children and not hasattr(module, "__path__"):
        module.__path__ = []
        _ADDED.append((module, "__path__"))
    for child in children:
        if child not in vars(module):
            prefix = f"mindspore.{path}" if path else "mindspore"
            setattr(module, child, importlib.import_module(cellc_name(f"{prefix}.{child}")))
            _ADDED.append((module, child))


_FINDER = _AliasFinder()


def install() -> None:
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for name in [n for n in sys.modules if n.partition(".")[0] in ALIASES]:
        del sys.modules[name]
    while _ADDED:
        module, name = _ADDED.pop()
        delattr(module, name)
