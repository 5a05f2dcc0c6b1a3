"""Parameter (a named, trainable Tensor) and ParameterTuple, as in MindSpore."""

from __future__ import annotations

from cellc.frontend import tracing
from cellc.frontend.tracing import WeightLike, check_unique_names

from .tensor import Tensor


class Parameter(Tensor, WeightLike):
    """A weight of a cell. Compiled code takes it as an argument, not a constant, so an artifact
    can be given new values; `requires_grad=False` removes it from `trainable_params()`."""

    def __init__(self, default_input, name: str | None = None, requires_grad: bool = True):
        if isinstance(default_input, Tensor):
            default_input = default_input.asnumpy()
        super().__init__(default_input)
        self._value = self._value.copy()
        self.name = name if name is not None else "Parameter"
        self._has_explicit_name = name is not None
        self.requires_grad = bool(requires_grad)

    @property
    def data(self) -> Parameter:
        return self

    def set_data(self, data, slice_shape=False) -> Parameter:
        """Replaces the value; inside a traced construct, records the new value instead, as
        `ops.assign` does (the compiled code returns it and the runtime writes it back)."""
        tracer = tracing.current()
        if tracer is not None:
            tracer.assign("set_data", self, data)
            return self
        super().set_data(data)
        return self

    def clone(self, init="same") -> Parameter:
        return Parameter(self.asnumpy().copy(), self.name, self.requires_grad)

    def __repr__(self) -> str:
        return (
            f"Parameter (name={self.name}, shape={self.shape}, dtype={self.dtype}, "
            f"requires_grad={self.requires_grad})"
        )

    __str__ = __repr__

    # Parameters hash by object, like MindSpore's (two equal-valued weights differ), and compare
    # elementwise as Tensors do (`self.counter == 3` is a bool Tensor, as MindSpore's amp uses).
    __hash__ = object.__hash__


class ParameterTuple(tuple):
    """An ordered tuple of Parameters: the weights that GradOperation(get_by_list=True)
    differentiates."""

    def __new__(cls, iterable=()):
        items = tuple(iterable)
        for item in items:
            if not isinstance(item, Parameter):
                raise TypeError(f"ParameterTuple holds Parameters, got {type(item).__name__}")
        check_unique_names(items)
        return super().__new__(cls, items)

    def clone(self, prefix: str, init="same") -> ParameterTuple:
        return ParameterTuple(
            Parameter(p.asnumpy().copy(), f"{prefix}.{p.name}", p.requires_grad) for p in self
        )
