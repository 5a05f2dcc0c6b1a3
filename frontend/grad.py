"""Tracing GradOperation: trace the differentiated function on its own, then record one
`ms.grad` whose results the caller receives in MindSpore's return structure."""

from __future__ import annotations

import dataclasses
import inspect

from cellc.dialects.ms_ops import GradMode
from cellc.runtime.errors import ShapeMismatchError, UnsupportedError

from .tracing import (
    TensorLike,
    Tracer,
    flatten,
    signature,
    tensor_leaves,
    unflatten,
    user_location,
)


def record_grad(tracer: Tracer, grad_fn, args):
    """Records `grad_fn(*args)` in the current function.

    `grad_fn` is the user API's GradOperation function: `.grad` holds the flags, `.fn` the
    function differentiated, `.weight_list` the Parameters asked for and
    `.returns_single_weight` whether they were one bare Parameter. Returns the gradients as
    Values, nested in MindSpore's return structure."""
    grad = grad_fn.grad
    if grad.sens_param and not args:
        raise TypeError(
            "For 'GradOperation', sens_param=True takes the sensitivity as the last argument, "
            f"after {_name_of(grad_fn.fn)}'s inputs; got no arguments (at {user_location()})"
        )
    inputs, sens = (args[:-1], args[-1]) if grad.sens_param else (args, None)
    _check_arguments(grad_fn.fn, inputs, grad.sens_param)
    first_is_value = inputs and not isinstance(inputs[0], TensorLike)
    no_inputs = not tensor_leaves(inputs)
    if not grad.get_by_list and (no_inputs or (not grad.get_all and first_is_value)):
        # MindSpore differentiates Tensor inputs only: the first input's gradient, when the
        # first input is a Python value, or the inputs' when there are none, is nothing at all
        return ()
    if grad.get_by_list and not grad.get_all and not grad_fn.weight_list:
        return ()  # no weights asked for (MindSpore's GRAPH_MODE, weights=None)
    input_grads, weight_grads = differentiate(
        tracer,
        grad_fn.fn,
        inputs,
        GradMode(grad.get_all, grad.get_by_list, grad.sens_param),
        grad_fn.weight_list,
        sens,
    )
    return _structure(grad_fn, input_grads, weight_grads)


def differentiate(tracer: Tracer, fn, inputs, mode: GradMode, weights: list, sens=None):
    """Records one `ms.grad` of `fn` at `inputs` in the current function and returns its
    results as (input gradients, weight gradients), lists of Values.

    `fn` is traced as its own function (once per trace and signature). `mode` gives the flags;
    its weight positions are filled in here from `weights` (the WeightLikes asked for, with
    `mode.get_by_list`). `sens`, with `mode.sens_param`, is the sensitivity: a tensor, or a
    tuple of them for a tuple output."""
    callee = tracer.subfunction(
        fn,
        inputs,
        _name_of(fn),
        # the function itself, not its id: the key keeps it alive, so that no temporary
        # gradient function made later in the trace can take its id
        key=(fn, signature(inputs), tuple(id(w) for w in weights)),
    )
    for param in weights:  # an unused weight is still an argument: its gradient is zero
        callee.weight_value(tracer.weight(param))

    num_inputs = len(callee.inputs)
    if num_inputs == 0 and not mode.get_by_list:
        raise UnsupportedError(
            f"For 'GradOperation', {callee.name} has no Tensor input to differentiate "
            f"(at {user_location()})"
        )
    callee_weights = [weight for weight, _ in callee.weights]
    weight_positions = [num_inputs + callee_weights.index(tracer.weight(w)) for w in weights]
    mode = dataclasses.replace(mode, weights=tuple(weight_positions))

    operands = [tracer.value_of(a) for a in tensor_leaves(inputs)]
    operands += [tracer.function.weight_value(weight) for weight in callee_weights]
    if mode.sens_param:
        operands += _sensitivity(tracer, callee, sens)

    arguments = callee.inputs + [v for _, v in callee.weights]
    wrt = mode.wrt(num_inputs)
    results = tracer.record_grad(callee, mode, operands, [arguments[i].spec for i in wrt])
    num_input_grads = len(mode.input_positions(num_inputs))
    return results[:num_input_grads], results[num_input_grads:]


def _structure(grad_fn, input_grads: list, weight_grads: list):
    grad = grad_fn.grad
    weights_part = weight_grads[0] if grad_fn.returns_single_weight else tuple(weight_grads)
    if grad.get_by_list and grad.get_all:
        return tuple(input_grads), weights_part
    if grad.get_by_list:
        return weights_part
    if grad.get_all:
        return tuple(input_grads)
    return input_grads[0]


def _check_arguments(fn, inputs, sens_param: bool) -> None:
    """A TypeError naming GradOperation when `fn` cannot take `inputs` (with sens_param, the
    last argument is the sensitivity, not an input: forgetting it shifts the inputs)."""
    body = fn._body() if hasattr(fn, "_body") else fn
    try:
        signature = inspect.signature(body)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(*inputs)
    except TypeError as error:
        note = (
            "; with sens_param=True the last argument is the sensitivity, so "
            f"{_name_of(fn)} received {len(inputs)} input(s)"
            if sens_param
            else ""
        )
        raise TypeError(
            f"For 'GradOperation', {_name_of(fn)}{signature} cannot take the arguments given: "
            f"{error}{note} (at {user_location()})"
        ) from None


def _sensitivity(tracer: Tracer, callee, sens) -> list:
    if not isinstance(sens, (TensorLike, tuple, list)):
        raise TypeError(
            "For 'GradOperation', sens_param=True takes the sensitivity as the last argument: "
            f"a Tensor shaped like {callee.name}'s output (a tuple of them for a tuple output), "
            f"got {type(sens).__name__} (at {user_location()})"
        )
    leaves, structure = flatten(sens)
    expected = [v.spec for v in callee.outputs]
    got = [t.spec for t in leaves]
    # a bare tensor is accepted for a one-tensor output, even a one-element tuple
    same_structure = structure == callee.output_structure or len(leaves) == len(expected) == 1
    if not same_structure or got != expected:
        raise ShapeMismatchError(
            f"GradOperation (sens_param=True): the sensitivity must match {callee.name}'s "
            f"output ({', '.join(map(str, expected))}), got ({', '.join(map(str, got))})"
            f"\n  at {user_location()}"
        )
    return [tracer.value_of(t) for t in leaves]


def _name_of(fn) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


# --- cells with a custom gradient ---------------------------------------------------------


def call_with_bprop(tracer: Tracer, cell, args):
    """Records `cell(*args)`, a Cell that defines `bprop(*inputs, out, dout)`, as a call (see
    `CallOp`): its body and its bprop each traced as a function of their own (once per trace
    and signature), so that `ms-expand-grad` differentiates the call with the bprop. Returns
    the cell's outputs in its structure."""
    name = _name_of(cell)
    for arg in args:
        if isinstance(arg, (tuple, list)) and tensor_leaves(arg):
            raise UnsupportedError(
                f"{name} defines bprop: cellc takes its Tensor inputs as separate arguments, "
                f"not in a {type(arg).__name__} (at {user_location()})"
            )
    key = ("bprop", cell, signature(args))
    if key not in tracer._subfunctions:
        tracer._subfunctions[key] = _trace_with_bprop(tracer, cell, args, name)
    callee, bprop, templates = tracer._subfunctions[key]
    operands = [tracer.value_of(a) for a in tensor_leaves(args)]
    operands += [tracer.function.read(weight) for weight, _ in callee.weights]
    results = tracer.record_call(callee, bprop, operands)
    leaves = [template._traced(value) for template, value in zip(templates, results)]
    return unflatten(callee.output_structure, leaves)


def _trace_with_bprop(tracer: Tracer, cell, args, name: str):
    callee, out = tracer.trace_function(cell._body(), args, name)
    if callee.updates:
        raise UnsupportedError(
            f"{name} defines bprop and assigns to a Parameter; cellc does not support both "
            f"(at {user_location()})"
        )
    templates, _ = flatten(out)
    tensor_positions = [i for i, a in enumerate(args) if isinstance(a, TensorLike)]

    def bprop_of_inputs(*bprop_args):
        grads = cell.bprop(*bprop_args)
        if isinstance(grads, TensorLike) and len(args) == 1:
            grads = (grads,)  # a bare gradient for the one input
        if not isinstance(grads, (tuple, list)) or len(grads) != len(args):
            raise TypeError(
                f"{name}.bprop must return a tuple of {len(args)} gradient(s), one per input "
                f"of {name}, got {_describe(grads)} (at {user_location()})"
            )
        for i in tensor_positions:
            if not isinstance(grads[i], TensorLike) or grads[i].spec != args[i].spec:
                raise ShapeMismatchError(
                    f"{name}.bprop: the gradient of input {i} must be a Tensor of its type "
                    f"({args[i].spec}), got {_describe(grads[i])}\n  at {user_location()}"
                )
        return tuple(grads[i] for i in tensor_positions)

    bprop, _ = tracer.trace_function(bprop_of_inputs, (*args, out, out), f"{name}_bprop")
    for weight, _ in bprop.weights:  # the call passes the bprop's weights through the callee
        callee.weight_value(weight)
    return callee, bprop, templates


def _describe(value) -> str:
    spec = getattr(value, "spec", None)
    return str(spec) if spec is not None else type(value).__name__
