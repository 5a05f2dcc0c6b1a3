"""MindSpore 2.x's functional autodiff: `grad`, `value_and_grad`, `vjp`, and `jit`.

Each returns a function. Called inside a traced construct it is traced (one `ms.grad` for the
gradients, the forward value inline); called on Tensors outside any trace it compiles (cached,
like calling a Cell) and runs. They nest to any order and mix with `ops.GradOperation`.

Return structures follow MindSpore (GRAPH_MODE where PyNative differs):
- `grad(fn, grad_position=0)`: the gradient of that input, a bare Tensor. A tuple of positions
  gives a tuple (a one-element tuple a bare Tensor); positions of Python-value arguments give
  nothing. `weights` (a Parameter: bare; a list or ParameterTuple: a tuple) with
  `grad_position=None` gives the weights' gradients alone, otherwise `(inputs, weights)`.
- `has_aux=True`: only `fn`'s first output is differentiated; `grad` returns
  `(gradients, (aux, ...))`, `value_and_grad` returns `(fn's outputs, gradients)`.
- `return_ids=True`: each gradient paired with its input position or its Parameter's name.
- `vjp(fn, *inputs)`: `(outputs, vjp_fn)`, `vjp_fn(cotangent)` the tuple of every input's
  gradient (`(inputs, weights)` with `weights`); with `has_aux`, `(first output, vjp_fn, aux)`.
"""

from __future__ import annotations

import functools

from cellc.calling import run_function
from cellc.dialects.ms_ops import GradMode, StopGradientOp
from cellc.frontend import grad as frontend_grad
from cellc.frontend import tracing
from cellc.frontend.tracing import TensorLike, tensor_leaves
from cellc.parameter import Parameter, ParameterTuple
from cellc.tensor import Tensor

__all__ = ["grad", "jit", "value_and_grad", "vjp"]


def grad(fn, grad_position=0, weights=None, has_aux=False, return_ids=False, sens_param=False):
    """MindSpore's `mindspore.grad`: a function returning the gradients of `fn` (see the
    module's docstring for the structures)."""
    return GradFunction(
        "grad", fn, grad_position, weights, has_aux, return_ids, sens_param, with_value=False
    )


def value_and_grad(
    fn, grad_position=0, weights=None, has_aux=False, return_ids=False, sens_param=False
):
    """MindSpore's `mindspore.value_and_grad`: a function returning `(fn's outputs,
    gradients)`, compiled as one program."""
    return GradFunction(
        "value_and_grad",
        fn,
        grad_position,
        weights,
        has_aux,
        return_ids,
        sens_param,
        with_value=True,
    )


def vjp(fn, *inputs, weights=None, has_aux=False):
    """MindSpore's `mindspore.vjp`: `(outputs, vjp_fn)`, or `(first output, vjp_fn, aux)`
    with `has_aux` (aux: the second output, or a tuple of the others when there are more)."""
    _check_bool("vjp", "has_aux", has_aux)
    outputs = fn(*inputs) if tracing.current() is not None else run_function(fn, inputs)
    vjp_fn = _VjpFunction(fn, inputs, weights, has_aux)
    if not has_aux:
        return outputs, vjp_fn
    _check_aux_outputs(outputs)
    aux = outputs[1] if len(outputs) == 2 else tuple(outputs[1:])
    return outputs[0], vjp_fn, aux


def jit(function=None, **options):
    """MindSpore's `mindspore.jit` decorator, on functions and on `construct`: cellc compiles
    ahead of time anyway, so `mode`, `jit_level`, `capture_mode`, `backend` and the other
    options change nothing. A decorated function called on Tensors compiles and runs."""
    function = options.pop("fn", function)  # MindSpore 2.0's spelling: jit(fn=...)
    if function is None:
        return JitFunction
    return JitFunction(function)


class GradFunction:
    """What `grad` and `value_and_grad` return (see the module's docstring)."""

    def __init__(
        self, api, fn, grad_position, weights, has_aux, return_ids, sens_param, with_value
    ):
        if not callable(fn):
            raise TypeError(f"For '{api}', fn must be a Cell or function, got {fn!r}")
        for flag, value in (
            ("has_aux", has_aux),
            ("return_ids", return_ids),
            ("sens_param", sens_param),
        ):
            _check_bool(api, flag, value)
        self.api = api
        self.fn = fn
        self.grad_position = _check_position(grad_position)
        self.weights = _check_weights(api, weights)
        if self.grad_position is None and self.weights is None:
            raise ValueError("`grad_position` and `weight` can not be None at the same time.")
        self.has_aux = has_aux
        self.return_ids = return_ids
        self.sens_param = sens_param
        self.with_value = with_value
        # what ms.grad differentiates: one object per gradient function, so that each trace
        # traces it once
        self.differentiated = _FirstOutput(fn) if has_aux else fn
        self.__name__ = f"{api}_{_name_of(fn)}"

    @property
    def weight_list(self) -> list[Parameter]:
        if self.weights is None:
            return []
        return [self.weights] if isinstance(self.weights, Parameter) else list(self.weights)

    def __call__(self, *args):
        inputs = args[:-1] if self.sens_param and args else args
        positions = self._positions(inputs)
        if not self.with_value and not self.has_aux and not positions and not self.weight_list:
            return ()  # nothing is differentiated (MindSpore: an empty tuple)
        if tracing.current() is not None:
            result = self.trace(args)
        else:
            result = run_function(_Traced(self), args)
        return self._with_ids(result, positions) if self.return_ids else result

    def trace(self, args):
        """Traces `self(*args)` in the current function: MindSpore's structure, without ids."""
        tracer = tracing.current()
        if self.sens_param and not args:
            raise TypeError(
                f"For '{self.api}', sens_param=True takes the sensitivity as the last argument "
                f"(at {tracing.user_location()})"
            )
        inputs, sens = (args[:-1], args[-1]) if self.sens_param else (args, None)
        positions = self._positions(inputs)
        weights = self.weight_list
        input_grads, weight_grads = [], []
        if positions or weights:
            mode = GradMode(bool(positions), bool(weights), self.sens_param)
            all_inputs, weight_grads = frontend_grad.differentiate(
                tracer, self.differentiated, inputs, mode, weights, sens
            )
            input_grads = [all_inputs[leaf] for _, leaf in positions]
        grads = self._structure(_as_tensors(input_grads), _as_tensors(weight_grads))
        if not (self.with_value or self.has_aux):
            return grads
        outputs = self.fn(*inputs)  # inline: the compiler shares it with the gradient's
        if self.has_aux:
            _check_aux_outputs(outputs)
            outputs = (outputs[0], *[_stop_gradient(tracer, aux) for aux in outputs[1:]])
        if self.with_value:
            return outputs, grads
        return grads, tuple(outputs[1:])

    def _positions(self, inputs) -> list[tuple[int, int]]:
        """(argument position, tensor-input index) of each input differentiated: the Tensor
        arguments among `grad_position` (MindSpore skips Python values)."""
        if self.grad_position is None:
            return []
        requested = (
            self.grad_position if isinstance(self.grad_position, tuple) else (self.grad_position,)
        )
        positions = []
        for position in requested:
            if position >= len(inputs):
                raise IndexError(f"Position index {position} is exceed input size.")
            if isinstance(inputs[position], TensorLike):
                positions.append((position, len(tensor_leaves(inputs[:position]))))
            elif isinstance(inputs[position], (tuple, list)):
                raise NotImplementedError(
                    f"For '{self.api}', cellc differentiates Tensor arguments only; argument "
                    f"{position} is a {type(inputs[position]).__name__}"
                )
        return positions

    def _structure(self, input_grads: list, weight_grads: list):
        inputs_part = _one_or_tuple(input_grads, single=not isinstance(self.grad_position, tuple))
        if self.weights is None:
            return inputs_part
        weights_part = (
            weight_grads[0] if isinstance(self.weights, Parameter) else tuple(weight_grads)
        )
        if self.grad_position is None:
            return weights_part
        return inputs_part, weights_part

    def _with_ids(self, result, positions):
        """`result` with each gradient paired with its position or Parameter name."""
        if self.with_value:
            value, grads = result
            return value, self._with_ids_grads(grads, positions)
        if self.has_aux:
            grads, aux = result
            return self._with_ids_grads(grads, positions), aux
        return self._with_ids_grads(result, positions)

    def _with_ids_grads(self, grads, positions):
        input_ids = [position for position, _ in positions]
        weight_ids = [param.name for param in self.weight_list]
        if self.grad_position is None:
            return _tag(grads, weight_ids, bare=isinstance(self.weights, Parameter))
        if self.weights is None:
            return _tag(grads, input_ids, bare=len(input_ids) == 1)
        inputs_part, weights_part = grads
        return (
            _tag(inputs_part, input_ids, bare=len(input_ids) == 1),
            _tag(weights_part, weight_ids, bare=isinstance(self.weights, Parameter)),
        )

    def cache_owner_and_key(self):
        """Where the compiled program is cached (on the function differentiated, which
        outlives this object) and what it depends on."""
        owner, key = cache_owner_and_key(self.fn)
        flags = (self.api, self.grad_position, self.has_aux, self.sens_param)
        weights = (isinstance(self.weights, Parameter), tuple(id(w) for w in self.weight_list))
        return owner, ("mindspore.grad", key, flags, weights)


class _VjpFunction:
    """The `vjp_fn` of `vjp`: the gradients of every input (and weight) for a cotangent."""

    def __init__(self, fn, inputs, weights, has_aux: bool):
        self.inputs = inputs
        tensor_positions = tuple(i for i, a in enumerate(inputs) if isinstance(a, TensorLike))
        self.grad = GradFunction(
            "vjp",
            _FirstOutput(fn) if has_aux else fn,
            tensor_positions if tensor_positions else None,
            weights if weights is not None else ([] if not tensor_positions else None),
            has_aux=False,
            return_ids=False,
            sens_param=True,
            with_value=False,
        )
        self.__name__ = f"vjp_{_name_of(fn)}"

    def __call__(self, *cotangents):
        # one cotangent per output: a bare tensor, or a tuple for a tuple output
        cotangent = cotangents[0] if len(cotangents) == 1 else cotangents
        result = self.grad(*self.inputs, cotangent)
        inputs_part = result if self.grad.weights is None else result[0]
        if not isinstance(inputs_part, tuple):
            inputs_part = (inputs_part,)  # vjp always gives a tuple of the inputs' gradients
        if self.grad.weights is None:
            return inputs_part
        return inputs_part, tuple(result[1])


class _Traced:
    """A GradFunction as the compiler sees it: traced without the ids of `return_ids`, which
    are Python values added after the call."""

    def __init__(self, grad_fn: GradFunction):
        self.grad_fn = grad_fn
        self.__name__ = grad_fn.__name__

    def __call__(self, *args):
        return self.grad_fn.trace(args)

    def cache_owner_and_key(self):
        return self.grad_fn.cache_owner_and_key()


class _FirstOutput:
    """`fn` restricted to its first output: what `has_aux=True` differentiates."""

    def __init__(self, fn):
        self.fn = fn
        self.__name__ = _name_of(fn)

    def __call__(self, *args):
        outputs = self.fn(*args)
        _check_aux_outputs(outputs)
        return outputs[0]


class JitFunction:
    """A function decorated with `jit`: compiled when called on Tensors outside any trace,
    traced inline inside one. On `construct`, calling the cell compiles it as always."""

    def __init__(self, fn):
        functools.update_wrapper(self, fn)
        self.fn = fn

    def __call__(self, *args):
        if tracing.current() is not None:
            return self.fn(*args)
        return run_function(self.fn, args)

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        return _BoundJit(self.fn.__get__(instance, owner), instance)


class _BoundJit:
    """A jit-decorated method bound to its object; a Cell's runs through the Cell's call."""

    def __init__(self, method, instance):
        functools.update_wrapper(self, method)
        self.method = method
        self.instance = instance

    def __call__(self, *args):
        if tracing.current() is not None:
            return self.method(*args)
        body = getattr(self.instance, "_body", None)
        if body is not None and getattr(body(), "method", None) == self.method:
            return self.instance(*args)  # the Cell's construct: the Cell compiles it
        return run_function(self.method, args)


def cache_owner_and_key(fn):
    """Where the compiled program of `fn` is kept and its key (see frontend/compiled.py)."""
    method = getattr(fn, "cache_owner_and_key", None)
    if callable(method):
        return method()
    return fn, "call"


# --- helpers ------------------------------------------------------------------------------


def _check_bool(api: str, flag: str, value) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"For '{api}', the '{flag}' should be bool, but got {type(value).__name__}")


def _check_position(position):
    if position is None:
        return None
    items = position if isinstance(position, tuple) else (position,)
    if not isinstance(position, (int, tuple)) or isinstance(position, bool):
        raise TypeError("For 'F.grad', the 'grad_position' must be int or tuple.")
    for item in items:
        if not isinstance(item, int) or isinstance(item, bool):
            raise TypeError("For 'F.grad', the 'grad_position' must be int or tuple.")
        if item < 0:
            raise ValueError("grad_position must be >= 0.")
    if isinstance(position, tuple) and not position:
        raise ValueError("grad_position must not be empty when grad_position is tuple.")
    return position


def _check_weights(api: str, weights):
    if weights is None or isinstance(weights, Parameter):
        return weights
    if not isinstance(weights, (list, tuple)):
        raise TypeError(
            f"For '{api}', weights must be a Parameter, a list of them or a ParameterTuple, "
            f"got {type(weights).__name__}"
        )
    return ParameterTuple(weights)  # checks each item and that the names differ


def _check_aux_outputs(outputs) -> None:
    if not isinstance(outputs, tuple) or len(outputs) < 2:
        raise ValueError("When has_aux is True, origin fn requires more than one outputs.")


def _one_or_tuple(grads: list, single: bool):
    """One position's gradient bare; several, a tuple; a one-element tuple of positions is
    bare too (MindSpore's GRAPH_MODE); none, an empty tuple."""
    if len(grads) == 1:
        return grads[0]
    return () if single and not grads else tuple(grads)


def _tag(grads, ids: list, bare: bool):
    if bare:
        return (ids[0], grads) if ids else grads
    return tuple(zip(ids, grads))


def _stop_gradient(tracer, value):
    if isinstance(value, (tuple, list)):
        return type(value)(_stop_gradient(tracer, item) for item in value)
    return Tensor(_symbol=tracer.record("stop_gradient", StopGradientOp, [value], {}))


def _as_tensors(values: list) -> list[Tensor]:
    return [Tensor(_symbol=value) for value in values]


def _name_of(fn) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__
