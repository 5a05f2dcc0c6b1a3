"""MindSpore 2.x's functional autodiff: `grad`, `value_and_grad`, `vjp`, `jit`, and forward
mode: `jvp`, `jacfwd`, `jacrev`, with `vmap` (see "forward mode" below for how they are built).

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
- `jvp(fn, inputs, v)`: `(outputs, jvp_outputs)` shaped like fn's outputs; with `has_aux`,
  `(first output, its jvp, aux)`.
- `jacfwd`/`jacrev(fn, grad_position)`: each Jacobian has shape output + input; one output
  and one position: bare; one of either: a tuple over the other; else a tuple over outputs of
  tuples over positions; with `has_aux`, `(jacobian, aux)`.
- `vmap(fn, in_axes, out_axes)`: fn's outputs, each stacked along its out axis.
"""

from __future__ import annotations

import functools

import numpy as np

from cellc.calling import run_function
from cellc.dialects.ms_ops import (
    ConcatOp,
    GradMode,
    ReshapeOp,
    StopGradientOp,
    StridedSliceOp,
    TransposeOp,
)
from cellc.dialects.types import TensorSpec
from cellc.frontend import grad as frontend_grad
from cellc.frontend import tracing
from cellc.frontend.tracing import TensorLike, tensor_leaves
from cellc.parameter import Parameter, ParameterTuple
from cellc.tensor import Tensor

__all__ = ["grad", "jacfwd", "jacrev", "jit", "jvp", "value_and_grad", "vjp", "vmap"]


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


def mutable(input_data, dynamic_len=False):
    """MindSpore's `mutable`: marks an input as a variable, not a constant, for its graph
    compiler. cellc traces Tensors as inputs anyway, so the value itself is returned."""
    return input_data


def jit_class(cls):
    """MindSpore's `jit_class` (1.x: `ms_class`): lets a plain class's attributes and methods be
    used in graph mode. cellc traces Python as it runs, so the class is returned as it is."""
    if not isinstance(cls, type):
        raise TypeError(f"jit_class decorates a class, not {type(cls).__name__}")
    return cls


def compile_hint(function=None, **options):
    """MindSpore's `lazy_inline` and `no_inline`: how its graph compiler should inline a cell's
    graph. cellc inlines every call before lowering, so the hint changes nothing; the decorated
    function is returned as it is, with or without options."""
    if function is None:
        return lambda inner: inner
    return function


def is_tensor(obj) -> bool:
    """MindSpore's `is_tensor`: whether `obj` is a Tensor (a Parameter is one)."""
    return isinstance(obj, Tensor)


class JitConfig:
    """MindSpore's `JitConfig(jit_level=..., exc_mode=..., ...)`, given to `jit` or
    `Cell.set_jit_config`: kept, and changes nothing (cellc always compiles ahead of time)."""

    def __init__(self, jit_level="", exc_mode="auto", jit_syntax_level="", debug_level="",
                 infer_boost="off", **kwargs):  # fmt: skip
        self.jit_config_dict = {
            "jit_level": jit_level,
            "exc_mode": exc_mode,
            "jit_syntax_level": jit_syntax_level,
            "debug_level": debug_level,
            "infer_boost": infer_boost,
            **kwargs,
        }


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


# --- forward mode, Jacobians and vmap -------------------------------------------------------
#
# cellc has no JVP rules: a Jacobian-vector product is the transpose of a vector-Jacobian
# product. J^T u is linear in u, so J v = d/du <J^T u, v>: an `ms.grad` (with `sens_param`,
# the sensitivity being v) of the function u -> J^T u, itself an `ms.grad` of `fn` with u as
# its sensitivity. Every VJP rule emits differentiable `ms` ops (the test suite checks a JVP
# for each op against finite differences), so this works for every op with a VJP rule, to any
# order, at twice the cost of a VJP (two backward sweeps, CSE shares the forward). u is zero:
# its value does not matter. Jacobians are one VJP (`jacrev`) or JVP (`jacfwd`) per basis
# vector and `vmap` one trace of `fn` per slice, all unrolled into one compiled program
# (static shapes), so their size grows with the number of elements or slices.


def jvp(fn, inputs, v, has_aux=False):
    """MindSpore's `mindspore.jvp`: `(outputs, jvp_outputs)` shaped like `fn`'s outputs, or
    `(first output, its jvp, aux)` with `has_aux` (aux: the second output, or a tuple of the
    others). `inputs` and `v` are a Tensor or a tuple of Tensors alike."""
    _check_bool("jvp", "has_aux", has_aux)
    single = isinstance(inputs, TensorLike)
    inputs = (inputs,) if single else tuple(inputs)
    v = (v,) if isinstance(v, TensorLike) else tuple(v)
    if len(v) != len(inputs) or not all(isinstance(t, TensorLike) for t in (*inputs, *v)):
        raise TypeError(
            "For 'jvp', 'inputs' and 'v' must be a Tensor or tuples of as many Tensors, got "
            f"{len(inputs)} input(s) and {len(v)} tangent(s)"
        )
    for x, t in zip(inputs, v):
        if x.shape != t.shape:
            raise ValueError(
                f"For 'jvp', each tangent in 'v' must have its input's shape, got {t.shape} "
                f"for an input of shape {x.shape}"
            )
    return _call(_JvpFunction(fn, has_aux), (*inputs, *v))


def jacfwd(fn, grad_position=0, has_aux=False):
    """MindSpore's `mindspore.jacfwd`: the Jacobian of `fn` by forward mode, one JVP per
    element of each input in `grad_position` (see `_jacobian_structure`)."""
    return _JacobianFunction("jacfwd", fn, grad_position, has_aux)


def jacrev(fn, grad_position=0, has_aux=False):
    """MindSpore's `mindspore.jacrev`: the Jacobian of `fn` by reverse mode, one VJP per
    element of each output (see `_jacobian_structure`)."""
    return _JacobianFunction("jacrev", fn, grad_position, has_aux)


def vmap(fn, in_axes=0, out_axes=0):
    """MindSpore's `mindspore.vmap`: `fn` mapped over an axis of its arguments (`in_axes`: an
    int, None for an argument not mapped, or a tuple of them, one per argument), the results
    stacked along `out_axes` (an int, None, or one per output). Traced once per slice."""
    if not callable(fn):
        raise TypeError(f"For 'vmap', fn must be a Cell or function, got {fn!r}")
    return _VmapFunction(fn, in_axes, out_axes)


def _call(traceable, args):
    """Traces `traceable(*args)` in the current trace, or compiles and runs it."""
    if tracing.current() is not None:
        return traceable(*args)
    return run_function(traceable, args)


class _JvpFunction:
    """`jvp(fn, ...)` as a traced function of (inputs..., tangents...)."""

    def __init__(self, fn, has_aux: bool):
        self.fn = fn
        self.has_aux = has_aux
        self.__name__ = f"jvp_{_name_of(fn)}"

    def __call__(self, *args):
        half = len(args) // 2
        inputs, tangents = args[:half], args[half:]
        outputs = self.fn(*inputs)
        if not self.has_aux:
            return outputs, _tangents(self.fn, inputs, tangents, outputs)
        _check_aux_outputs(outputs)
        aux = outputs[1] if len(outputs) == 2 else tuple(outputs[1:])
        first = _tangents(_FirstOutput(self.fn), inputs, tangents, outputs[0])
        return outputs[0], first, aux

    def cache_owner_and_key(self):
        owner, key = cache_owner_and_key(self.fn)
        return owner, ("mindspore.jvp", key, self.has_aux)


def _tangents(fn, inputs, tangents, outputs):
    """J v for `fn` at `inputs` (v: `tangents`, one per input), shaped like `outputs`."""
    return _tangent_map(fn, len(inputs), outputs)(inputs, tangents)


def _tangent_map(fn, count: int, outputs):
    """(inputs, tangents) -> J v for `fn` of `count` inputs whose outputs are shaped like
    `outputs`: the derivative, in u, of the VJP J^T u along v (see the section's comment).
    One map serves many tangents: its two gradient functions are traced once."""
    leaves, structure = tracing.flatten(outputs)
    vjp_of_fn = _sens_grad("jvp", fn, tuple(range(count)))

    def transposed(*args):  # (inputs..., u...) -> J^T u, one gradient per input
        return vjp_of_fn(*args[:count], tracing.unflatten(structure, list(args[count:])))

    positions = tuple(range(count, count + len(leaves)))
    linear = _sens_grad("jvp", transposed, positions)

    def apply(inputs, tangents):
        cotangents = [_zeros_like(leaf) for leaf in leaves]
        sens = tangents[0] if count == 1 else tuple(tangents)
        result = linear(*inputs, *cotangents, sens)
        return tracing.unflatten(structure, [result] if len(positions) == 1 else list(result))

    return apply


def _sens_grad(api: str, fn, positions: tuple) -> GradFunction:
    """The VJP of `fn` in the inputs at `positions`, taking the cotangent as last argument
    (bare for one position, else a tuple)."""
    return GradFunction(api, fn, positions, None, False, False, True, with_value=False)


class _JacobianFunction:
    """What `jacfwd` and `jacrev` return."""

    def __init__(self, api: str, fn, grad_position, has_aux: bool):
        if not callable(fn):
            raise TypeError(f"For '{api}', fn must be a Cell or function, got {fn!r}")
        _check_bool(api, "has_aux", has_aux)
        self.api = api
        self.fn = fn
        self.grad_position = _check_position(grad_position)
        if self.grad_position is None:
            raise TypeError(f"For '{api}', the 'grad_position' must be int or tuple.")
        self.has_aux = has_aux
        self.__name__ = f"{api}_{_name_of(fn)}"

    def __call__(self, *args):
        return _call(self, args) if tracing.current() is None else self.trace(args)

    def trace(self, args):
        positions = self.grad_position
        positions = positions if isinstance(positions, tuple) else (positions,)
        for position in positions:
            if position >= len(args):
                raise IndexError(f"Position index {position} is exceed input size.")
            if not isinstance(args[position], TensorLike):
                raise TypeError(
                    f"For '{self.api}', argument {position} must be a Tensor, got "
                    f"{type(args[position]).__name__}"
                )
        outputs = self.fn(*args)
        fn, primal = self.fn, outputs
        if self.has_aux:
            _check_aux_outputs(outputs)
            fn, primal = _FirstOutput(self.fn), outputs[0]
        leaves, _ = tracing.flatten(primal)
        if self.api == "jacrev":
            jacobian = _jacobian_reverse(fn, args, positions, primal)
        else:
            jacobian = _jacobian_forward(fn, args, positions, primal)
        result = _jacobian_structure(jacobian, len(leaves), len(positions))
        if not self.has_aux:
            return result
        return result, outputs[1] if len(outputs) == 2 else tuple(outputs[1:])

    def cache_owner_and_key(self):
        owner, key = cache_owner_and_key(self.fn)
        return owner, (f"mindspore.{self.api}", key, self.grad_position, self.has_aux)


def _jacobian_reverse(fn, args, positions, primal) -> list[list]:
    """jacobian[o][i]: d output o / d input positions[i], of shape output + input; one VJP
    per element of each output (its one-hot cotangent)."""
    leaves, structure = tracing.flatten(primal)
    vjp_of_fn = _sens_grad("jacrev", fn, positions)
    jacobian = []
    for o, leaf in enumerate(leaves):
        rows: list[list] = [[] for _ in positions]
        for element in range(_size(leaf)):
            sens = [_zeros_like(other) for other in leaves]
            sens[o] = _one_hot(leaf, element)
            grads = vjp_of_fn(*args, tracing.unflatten(structure, sens))
            for row, grad_ in zip(rows, grads if len(positions) > 1 else (grads,)):
                row.append(grad_)
        jacobian.append(
            [
                _reshape(_stack(row, args[p]), (*leaf.shape, *args[p].shape))
                for row, p in zip(rows, positions)
            ]
        )
    return jacobian


def _jacobian_forward(fn, args, positions, primal) -> list[list]:
    """jacobian[o][i] as in `_jacobian_reverse`; one JVP per element of each input in
    `positions` (its one-hot tangent, zero tangents for the other inputs)."""
    for position, arg in enumerate(args):
        if not isinstance(arg, TensorLike):
            raise TypeError(
                f"For 'jacfwd', every argument must be a Tensor, got a "
                f"{type(arg).__name__} at position {position}"
            )
    leaves, _ = tracing.flatten(primal)
    columns = {p: [[] for _ in leaves] for p in positions}  # per input: per output
    tangent_map = _tangent_map(fn, len(args), primal)
    for p in positions:
        for element in range(_size(args[p])):
            tangents = [_zeros_like(arg) for arg in args]
            tangents[p] = _one_hot(args[p], element)
            jv, _ = tracing.flatten(tangent_map(args, tangents))
            for column, tangent in zip(columns[p], jv):
                column.append(tangent)
    jacobian = []
    for o, leaf in enumerate(leaves):
        row = []
        for p in positions:
            stacked = _stack(columns[p][o], leaf)  # (input elements, *output shape)
            rank = len(leaf.shape)
            moved = _transpose(stacked, (*range(1, rank + 1), 0))
            row.append(_reshape(moved, (*leaf.shape, *args[p].shape)))
        jacobian.append(row)
    return jacobian


def _jacobian_structure(jacobian: list[list], num_outputs: int, num_positions: int):
    """MindSpore's structure: one output and one position, bare; one of either, a flat tuple
    over the other; else a tuple over outputs of tuples over positions."""
    if num_outputs == 1 and num_positions == 1:
        return jacobian[0][0]
    if num_positions == 1:
        return tuple(row[0] for row in jacobian)
    if num_outputs == 1:
        return tuple(jacobian[0])
    return tuple(tuple(row) for row in jacobian)


class _VmapFunction:
    """What `vmap` returns."""

    def __init__(self, fn, in_axes, out_axes):
        self.fn = fn
        self.in_axes = in_axes
        self.out_axes = out_axes
        self.__name__ = f"vmap_{_name_of(fn)}"

    def __call__(self, *args):
        return _call(self, args) if tracing.current() is None else self.trace(args)

    def trace(self, args):
        in_axes = self.in_axes
        if not isinstance(in_axes, (tuple, list)):
            in_axes = (in_axes,) * len(args)
        if len(in_axes) != len(args):
            raise ValueError(
                f"For 'vmap', in_axes has {len(in_axes)} entries for {len(args)} arguments"
            )
        axes = [_check_axis("in_axes", axis) for axis in in_axes]
        batch = self._batch_size(args, axes)
        results = []
        for index in range(batch):
            sliced = [_slice_argument(arg, axis, index) for arg, axis in zip(args, axes)]
            results.append(self.fn(*sliced))
        first, structure = tracing.flatten(results[0])
        out_axes = self.out_axes
        if not isinstance(out_axes, (tuple, list)):
            out_axes = (out_axes,) * len(first)
        if len(out_axes) != len(first):
            raise ValueError(
                f"For 'vmap', out_axes has {len(out_axes)} entries for {len(first)} outputs"
            )
        per_slice = [tracing.flatten(result)[0] for result in results]
        stacked = []
        for k, axis in enumerate(_check_axis("out_axes", a) for a in out_axes):
            if axis is None:
                stacked.append(first[k])
                continue
            items = [leaves[k] for leaves in per_slice]
            rank = len(first[k].shape) + 1
            if not -rank <= axis < rank:
                raise ValueError(f"For 'vmap', out_axes {axis} is out of range for rank {rank}")
            stacked.append(_stack(items, first[k], axis % rank))
        return tracing.unflatten(structure, stacked)

    @staticmethod
    def _batch_size(args, axes) -> int:
        sizes = set()
        for arg, axis in zip(args, axes):
            if axis is None:
                continue
            for leaf in tensor_leaves([arg]):
                rank = len(leaf.shape)
                if not -rank <= axis < rank:
                    raise ValueError(
                        f"For 'vmap', in_axes {axis} is out of range for an argument of "
                        f"shape {leaf.shape}"
                    )
                sizes.add(leaf.shape[axis])
            if not tensor_leaves([arg]):
                raise ValueError(
                    f"For 'vmap', an argument that is not a Tensor ({type(arg).__name__}) "
                    "must have in_axes None"
                )
        if len(sizes) != 1:
            raise ValueError(
                "For 'vmap', the mapped axes must all have one size and at least one argument "
                f"must be mapped, got sizes {sorted(sizes)}"
            )
        return sizes.pop()

    def cache_owner_and_key(self):
        owner, key = cache_owner_and_key(self.fn)
        return owner, ("mindspore.vmap", key, repr(self.in_axes), repr(self.out_axes))


def _check_axis(name: str, axis):
    if axis is not None and (not isinstance(axis, int) or isinstance(axis, bool)):
        raise TypeError(f"For 'vmap', each of {name} must be an int or None, got {axis!r}")
    return axis


def _slice_argument(arg, axis, index: int):
    """`arg` at `index` along `axis` (Tensors inside tuples too); unmapped arguments as they
    are."""
    if axis is None:
        return arg
    if isinstance(arg, (tuple, list)):
        return type(arg)(_slice_argument(item, axis, index) for item in arg)
    axis %= len(arg.shape)
    start = [0] * len(arg.shape)
    start[axis] = index
    sizes = list(arg.shape)
    sizes[axis] = 1
    piece = _record(
        "vmap", StridedSliceOp, [arg], start=start, sizes=sizes, strides=[1] * len(sizes)
    )
    return _reshape(piece, arg.shape[:axis] + arg.shape[axis + 1 :])


# --- ops on traced tensors (these functions only run inside a trace) -----------------------


def _record(primitive: str, op, operands: list, **attrs) -> Tensor:
    return Tensor(_symbol=tracing.current().record(primitive, op, operands, attrs))


def _reshape(x, shape) -> Tensor:
    shape = tuple(int(d) for d in shape)
    if tuple(x.shape) == shape:
        return x
    return _record("Reshape", ReshapeOp, [x], result=TensorSpec(shape, x.spec.element))


def _transpose(x, perm) -> Tensor:
    if tuple(perm) == tuple(range(len(perm))):
        return x
    return _record("Transpose", TransposeOp, [x], perm=tuple(perm))


def _stack(items: list, like, axis: int = 0) -> Tensor:
    """`items` (each of `like`'s type) stacked along a new axis `axis`, by pairwise concats;
    no items: an empty tensor."""
    shape = tuple(like.shape)
    if not items:
        empty = np.zeros(shape[:axis] + (0,) + shape[axis:], like.spec.numpy_dtype)
        return Tensor(empty)
    parts = [_reshape(item, shape[:axis] + (1,) + shape[axis:]) for item in items]
    while len(parts) > 1:
        pairs = [parts[i : i + 2] for i in range(0, len(parts), 2)]
        parts = [
            _record("Concat", ConcatOp, pair, axis=axis) if len(pair) == 2 else pair[0]
            for pair in pairs
        ]
    return parts[0]


def _size(x) -> int:
    return int(np.prod(x.shape, dtype=np.int64))


def _zeros_like(x) -> Tensor:
    return Tensor(np.zeros(x.shape, x.spec.numpy_dtype))


def _one_hot(x, element: int) -> Tensor:
    """A tensor of `x`'s type: 1 at flat index `element`, 0 elsewhere (a basis vector)."""
    basis = np.zeros(_size(x), x.spec.numpy_dtype)
    basis[element] = 1
    return Tensor(basis.reshape(x.shape))


class _PynativeExecutor:
    """What MindSpore's own tests use of its `common.api._pynative_executor`: `sync()`, which
    waits for queued device work. cellc's calls return when their work is done, so there is
    nothing to wait for."""

    def sync(self) -> None:
        """Nothing is queued: every call has finished when it returns."""


_pynative_executor = _PynativeExecutor()
