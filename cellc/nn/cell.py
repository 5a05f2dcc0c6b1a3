"""nn.Cell (MindSpore) and nn.Module (LuoJiaNET): the unit a user defines and cellc compiles.

Calling a cell outside a trace compiles it (cached) and runs the native code, like MindSpore's
GRAPH_MODE; calling it inside another cell's construct inlines it. The body is `construct`, or,
in LuoJiaNET's spelling, `call` or `forward`.

A cell whose construct calls a collective (`ops.AllReduce`, `nn.DistributedGradReducer`) is
split around it: its construct runs in Python, as in MindSpore's PyNative mode, and each cell
and gradient it calls is compiled on its own, the collective running between them
(`cellc.calling.CollectiveInConstruct`).
"""

from __future__ import annotations

import inspect
from collections import OrderedDict

from cellc import context
from cellc.calling import CollectiveInConstruct, as_tensors, run_function
from cellc.errors import UnsupportedError
from cellc.frontend import grad as frontend_grad
from cellc.frontend import tracing
from cellc.frontend.compiled import compiled_program, structure_changed
from cellc.parameter import Parameter, ParameterTuple
from cellc.tensor import Tensor

_BODY_NAMES = ("construct", "call", "forward")


# What cellc.frontend.compiled keeps in a cell's __dict__ between calls (programs, keys).
_CALL_CACHES = frozenset({"_cellc_compiled", "_cellc_state", "_cellc_last_call"})


class Cell:
    """Base class of every network. Subclasses call `super().__init__()` first, then assign
    Parameters and child cells as attributes; their order is the parameters' order."""

    # Every change of a cell's Parameters, children or mode calls `structure_changed()`, so the
    # call path may reuse what it computed from them (see cellc.frontend.compiled).
    _cellc_tracks_structure = True

    def __init__(self, auto_prefix: bool = True, flags=None):
        object.__setattr__(self, "_params", OrderedDict())
        object.__setattr__(self, "_cells", OrderedDict())
        object.__setattr__(self, "_auto_prefix", auto_prefix)
        object.__setattr__(self, "training", False)

    # --- attributes: Parameters and child cells are registered in assignment order ----------

    def __setattr__(self, name, value):
        if "_params" not in self.__dict__ and isinstance(value, (Parameter, Cell)):
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning '{name}'"
            )
        if isinstance(value, Parameter):
            self.insert_param_to_cell(name, value)
        elif isinstance(value, Cell):
            self._params.pop(name, None)
            self._cells[name] = value
            if self._auto_prefix:
                # the full path: a cell appended to a CellList the parent already holds
                # (cell_list1.0.weight) is named under the list's own prefix
                value.update_parameters_name(self.__dict__.get("_name_prefix", "") + name + ".")
        else:
            self._params.pop(name, None)
            self._cells.pop(name, None)
        object.__setattr__(self, name, value)
        structure_changed()

    def __getstate__(self):
        """A copy (`copy.deepcopy`) or pickle of a cell leaves its compiled programs behind:
        they are bound to this cell's Parameters (and hold native code that does not copy); the
        copy compiles its own on its first call, from the disk cache if it can."""
        return {name: value for name, value in self.__dict__.items() if name not in _CALL_CACHES}

    def __delattr__(self, name):
        self._params.pop(name, None)
        self._cells.pop(name, None)
        object.__delattr__(self, name)
        structure_changed()

    def insert_param_to_cell(self, param_name: str, param: Parameter, check_name=True):
        if not isinstance(param, Parameter):
            raise TypeError(f"insert_param_to_cell expects a Parameter, got {type(param).__name__}")
        if not param._has_explicit_name:
            param.name = param_name
        self._cells.pop(param_name, None)
        self._params[param_name] = param
        object.__setattr__(self, param_name, param)
        structure_changed()

    def update_parameters_name(self, prefix: str = "", recurse: bool = True):
        for name, param in self.parameters_and_names(expand=recurse):
            param.name = prefix + name
        if recurse:  # the prefix each cell below names its later children with
            for path, cell in self.cells_and_names():
                cell.__dict__["_name_prefix"] = prefix + (path + "." if path else "")

    # --- walking parameters and cells (MindSpore's order) ------------------------------------

    def cells_and_names(self, cell_prefix: str = ""):
        """This cell and its descendants, pre-order, in assignment order, each once."""
        seen = set()

        def walk(cell, prefix):
            if id(cell) in seen:
                return
            seen.add(id(cell))
            yield prefix, cell
            for name, child in cell._cells.items():
                yield from walk(child, f"{prefix}.{name}" if prefix else name)

        yield from walk(self, cell_prefix)

    def name_cells(self):
        return OrderedDict(self._cells)

    def cells(self):
        return list(self._cells.values())

    def parameters_and_names(self, name_prefix: str = "", expand: bool = True):
        """(name, Parameter) pairs: each cell's parameters in insertion order, cells pre-order,
        names prefixed with the child cell's attribute path; duplicates once."""
        cells = self.cells_and_names(name_prefix) if expand else [(name_prefix, self)]
        seen = set()
        for cell_name, cell in cells:
            for param_name, param in cell._params.items():
                if id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{cell_name}.{param_name}" if cell_name else param_name), param

    def get_parameters(self, expand: bool = True):
        for _, param in self.parameters_and_names(expand=expand):
            yield param

    def trainable_params(self, recurse: bool = True) -> list[Parameter]:
        return [p for p in self.get_parameters(expand=recurse) if p.requires_grad]

    def untrainable_params(self, recurse: bool = True) -> list[Parameter]:
        return [p for p in self.get_parameters(expand=recurse) if not p.requires_grad]

    def parameters_dict(self, recurse: bool = True) -> OrderedDict:
        return OrderedDict((p.name, p) for p in self.get_parameters(expand=recurse))

    def set_train(self, mode: bool = True):
        """Training mode (`True`) or evaluation mode for this cell and every cell inside it, as
        MindSpore's: BatchNorm normalizes with the batch's statistics and updates its moving
        ones, Dropout drops. The modes are part of what is compiled: switching compiles again
        (once; both programs stay cached)."""
        for _, cell in self.cells_and_names():
            object.__setattr__(cell, "training", bool(mode))
        structure_changed()
        return self

    # MindSpore's switch for building the backward graph: cellc builds it when asked anyway.
    def set_grad(self, requires_grad: bool = True):
        return self

    def set_inputs(self, *inputs):
        """MindSpore's description of the inputs (`Tensor(shape=[None, 784], dtype=...)`, None
        or -1 for a dimension of any size, shape [-2] for any rank). cellc checks each call's
        inputs against it as MindSpore does. The None dimensions are the batch: the cell
        compiles once for every batch size (compiler/dynamic_batch.py), or, where it cannot be
        (a convolution; a warning says which op), once per batch size."""
        self.__dict__["_cellc_input_specs"] = inputs
        return self

    def get_inputs(self):
        """The inputs given to `set_inputs`, or None."""
        specs = self.__dict__.get("_cellc_input_specs")
        return list(specs) if specs is not None else None

    # --- running ---------------------------------------------------------------------------

    def _body(self):
        for name in _BODY_NAMES:
            method = getattr(type(self), name, None)
            if method is not None and method is not getattr(Cell, name, None):
                return getattr(self, name)
        raise UnsupportedError(f"{type(self).__name__} defines none of {', '.join(_BODY_NAMES)}")

    def __call__(self, *args, **kwargs):
        if kwargs:
            args = _positional(type(self).__name__, self._body(), args, kwargs)
        if tracing.current() is not None:
            if callable(getattr(self, "bprop", None)):  # a custom gradient: kept as a call
                return frontend_grad.call_with_bprop(tracing.current(), self, args)
            return self._body()(*args)
        if "_cellc_input_specs" in self.__dict__:
            _check_set_inputs(self.__dict__["_cellc_input_specs"], args)
        if self.__dict__.get("_cellc_split"):
            return self._body()(*as_tensors(args))
        try:
            return run_function(self, args)
        except CollectiveInConstruct:
            # a collective in construct: run it in Python, split around the collective (the
            # cells and gradients it calls compiled); known from now on, so traced only once
            self.__dict__["_cellc_split"] = True
            return self._body()(*as_tensors(args))

    def set_jit_config(self, jit_config):
        """MindSpore's `Cell.set_jit_config(JitConfig(...))`: kept (`jit_config`), and changes
        nothing: cellc compiles ahead of time."""
        self.__dict__["_jit_config"] = jit_config

    def compile(self, *args, target: str = "cpu"):
        """Compiles for these example arguments (MindSpore's `Cell.compile`) and returns the
        compiled program; calling the cell compiles on first use anyway."""
        return compiled_program(
            self, as_tensors(args), target=target, random_generator=context.random_generator
        )

    def extend_repr(self) -> str:
        """What the cell's repr shows between its parentheses (`input_channels=3, ...`)."""
        return ""

    def __repr__(self) -> str:
        """MindSpore 2.x's layout: `Name(extra)`, or the extra lines and the children
        (`(name): repr`) indented by two spaces, one a line."""
        extra = self.extend_repr()
        lines = extra.split("\n") if extra else []
        cells = self.__dict__.get("_cells", {})
        children = [f"({n}): {c!r}".replace("\n", "\n  ") for n, c in cells.items()]
        if len(lines) == 1 and not children:
            return f"{type(self).__name__}({lines[0]})"
        body = "".join(f"\n  {line}" for line in lines + children)
        return f"{type(self).__name__}({body}\n)" if body else f"{type(self).__name__}()"


class Module(Cell):
    """LuoJiaNET's name for Cell; its body is `call` or `forward` (or `construct`)."""


class SequentialCell(Cell):
    """Cells applied in order."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], dict):  # an OrderedDict of named cells
            for name, cell in args[0].items():
                setattr(self, name, cell)
            return
        cells = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
        for cell in cells:
            self.append(cell)

    def construct(self, x):
        for cell in self._cells.values():
            x = cell(x)
        return x

    def append(self, cell):
        setattr(self, str(len(self._cells)), cell)

    def __iter__(self):
        return iter(self._cells.values())

    def __len__(self):
        return len(self._cells)

    def __getitem__(self, index):
        return list(self._cells.values())[index]


class CellList(Cell):
    def __init__(self, cells=()):
        super().__init__()
        for index, cell in enumerate(cells):
            setattr(self, str(index), cell)

    def __iter__(self):
        return iter(self._cells.values())

    def __len__(self):
        return len(self._cells)

    def __getitem__(self, index):
        return list(self._cells.values())[index]

    def append(self, cell):
        setattr(self, str(len(self._cells)), cell)

    def extend(self, cells):
        for cell in cells:
            self.append(cell)
        return self


def _positional(name: str, body, args: tuple, kwargs: dict) -> tuple:
    """The arguments of `body(*args, **kwargs)` as positional ones (a compiled cell takes its
    inputs in order): up to the last one given, with the defaults of those skipped."""
    try:
        bound = inspect.signature(body).bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{name}.construct: {error}") from None
    parameters = list(inspect.signature(body).parameters.values())
    if any(p.kind in (p.VAR_KEYWORD, p.KEYWORD_ONLY) for p in parameters if p.name in kwargs):
        raise TypeError(
            f"{name}: keyword-only and **kwargs arguments of construct are not supported; "
            "pass them by position"
        )
    given = [i for i, p in enumerate(parameters) if p.name in bound.arguments]
    positional = []
    for parameter in parameters[: max(given) + 1]:
        if parameter.kind is parameter.VAR_POSITIONAL:
            positional.extend(bound.arguments.get(parameter.name, ()))
        elif parameter.name in bound.arguments:
            positional.append(bound.arguments[parameter.name])
        else:
            positional.append(parameter.default)
    return tuple(positional)


__all__ = ["Cell", "CellList", "Module", "ParameterTuple", "SequentialCell"]


def _check_set_inputs(specs, args) -> None:
    """MindSpore's check of a call against `set_inputs`: as many inputs; each Tensor of the
    same dtype and rank, and of the same size in every dimension not given as -1."""
    if len(specs) != len(args):
        raise ValueError(
            "For 'set_inputs', the length of network input should be equal to set_inputs, but "
            f"got network input length: {len(args)}, set_inputs length: {len(specs)}."
        )
    for index, (spec, arg) in enumerate(zip(specs, args)):
        if not isinstance(spec, Tensor):
            continue
        where = f"For the {index}th input in 'set_inputs'"
        if not isinstance(arg, Tensor):
            raise TypeError(f"{where}, the network input must be a Tensor, but got {type(arg)}.")
        if spec.dtype != arg.dtype:
            raise TypeError(
                f"{where}, the dtype of set_inputs must be the same as network input, but got "
                f"set_inputs: {spec.dtype} and network input: {arg.dtype}."
            )
        if -2 in spec.shape:
            continue
        if len(spec.shape) != len(arg.shape):
            raise ValueError(
                f"{where}, the dims of set_inputs must be the same as network input, but got "
                f"set_inputs: {len(spec.shape)} and network input: {len(arg.shape)}."
            )
        if not all(want in (-1, got) for want, got in zip(spec.shape, arg.shape)):
            raise ValueError(
                f"{where}, the shape of set_inputs must be the same as network input, but got "
                f"set_inputs: {spec.shape} and network input: {arg.shape}."
            )
