"""Helpers for the autodiff tests: build `ms` functions with the builders, expand, interpret.

`Program` holds one module; `program.function(name, specs, body)` adds a `func.func` whose body
is built by `body(*args) -> value or list of values`; `program.grad(...)` adds a function that
is one `ms.grad`. `check_vjp` compares `ms-expand-grad`'s VJP of a function with float64 central
finite differences, evaluating everything with the reference interpreter.
"""

from __future__ import annotations

import numpy as np
from mlir import ir
from mlir.dialects import func
from support.ms_interpreter import run

from cellc.compiler.autodiff import expand_grads
from cellc.dialects import TensorSpec, ms

CONTEXT = ms.make_context()


def inside_unit(rng, shape):
    """|x| in [0.1, 0.8]: inside the domains of asin, acos and atanh, away from their poles."""
    return rng.uniform(0.1, 0.8, shape) * rng.choice([-1.0, 1.0], shape)


def above_one(rng, shape):
    """x in [1.3, 3]: inside acosh's domain, away from its pole."""
    return rng.uniform(1.3, 3.0, shape)


def off_the_steps(rng, shape):
    """An integer plus 0.2 or 0.7: away from where trunc and round jump."""
    return rng.integers(-3, 3, shape) + rng.choice([0.2, 0.7], shape)


def f64(*shape) -> TensorSpec:
    return TensorSpec(shape, "f64")


def f32(*shape) -> TensorSpec:
    return TensorSpec(shape, "f32")


class Program:
    def __init__(self):
        with CONTEXT, ir.Location.unknown():
            self.module = ir.Module.create()

    def function(self, name, arg_specs, body, *, weights=None, private=False):
        """Adds @name(args) = body(*args); `weights` maps argument index -> Parameter name."""
        with CONTEXT, ir.Location.name(name):
            inputs = [ms.tensor_type(s) for s in arg_specs]
            with ir.InsertionPoint(self.module.body):
                fn = func.FuncOp(name, ir.FunctionType.get(inputs, []))
            if private:
                fn.attributes["sym_visibility"] = ir.StringAttr.get("private")
            if weights:
                fn.arg_attrs = ir.ArrayAttr.get(
                    [
                        ir.DictAttr.get(
                            {ms.WEIGHT_ATTR: ir.StringAttr.get(weights[i])} if i in weights else {}
                        )
                        for i in range(len(arg_specs))
                    ]
                )
            block = fn.add_entry_block()
            with ir.InsertionPoint(block):
                results = body(*block.arguments)
                if isinstance(results, ir.Value):
                    results = [results]
                func.ReturnOp(list(results))
            fn.attributes["function_type"] = ir.TypeAttr.get(
                ir.FunctionType.get(inputs, [r.type for r in results])
            )
        return fn

    def grad(self, name, callee, mode: ms.GradMode, *, sens=False):
        """Adds @name(callee args..., [sens...]) = ms.grad @callee with `mode`."""
        callee_op = self.lookup(callee)
        ftype = ir.FunctionType(ir.TypeAttr(callee_op.attributes["function_type"]).value)
        with CONTEXT:
            args = [ms.spec_of(t) for t in ftype.inputs]
            outs = [ms.spec_of(t) for t in ftype.results]
        num_inputs = ms.num_callee_inputs(callee_op)
        wrt = list(range(num_inputs)) if mode.get_all else ([] if mode.get_by_list else [0])
        wrt += list(mode.weights) if mode.get_by_list else []
        specs = args + (outs if mode.sens_param else [])

        def body(*values):
            return ms.grad(callee, mode, list(values), [args[i] for i in wrt])

        return self.function(name, specs, body)

    def lookup(self, name) -> ir.Operation:
        for op in self.module.body.operations:
            if ir.StringAttr(op.attributes["sym_name"]).value == name:
                return op.operation
        raise KeyError(name)

    def has_function(self, name) -> bool:
        try:
            self.lookup(name)
        except KeyError:
            return False
        return True

    def expand(self):
        with CONTEXT:
            ms.verify_module(self.module)
            expand_grads(self.module)
            ms.verify_module(self.module)
        return self

    def run(self, name, *args):
        with CONTEXT:
            return run(self.module, name, *args)

    def ops(self, name) -> list[str]:
        """The op names in @name's body."""
        return [op.operation.name for op in self.lookup(name).regions[0].blocks[0].operations]

    def __str__(self):
        return str(self.module)


def numeric_vjp(program, name, args, sens, eps=1e-6):
    """Central finite differences of <sens, @name(args)> with respect to every argument."""

    def loss(values):
        outs = program.run(name, *values)
        return sum(float(np.sum(s * o)) for s, o in zip(sens, outs))

    grads = []
    for i, arg in enumerate(args):
        g = np.zeros_like(arg)
        for index in np.ndindex(arg.shape):
            plus = [a.copy() for a in args]
            minus = [a.copy() for a in args]
            plus[i][index] += eps
            minus[i][index] -= eps
            g[index] = (loss(plus) - loss(minus)) / (2 * eps)
        grads.append(g)
    return grads


def check_vjp(program, name, args, rng, rtol=1e-5, atol=1e-6):
    """Adds @name_vjp = ms.grad(@name, get_all, sens_param), expands, compares it with FD.

    @name must be public with inputs only (no weights). Returns the VJP function's name, so a
    caller can differentiate it again.
    """
    callee = program.lookup(name)
    ftype = ir.FunctionType(ir.TypeAttr(callee.attributes["function_type"]).value)
    with CONTEXT:
        out_specs = [ms.spec_of(t) for t in ftype.results]
    vjp_name = f"{name}_vjp"
    program.grad(vjp_name, name, ms.GradMode(get_all=True, sens_param=True))
    program.expand()
    sens = [rng.uniform(-1.0, 1.0, s.shape).astype(s.numpy_dtype) for s in out_specs]
    got = program.run(vjp_name, *args, *sens)
    want = numeric_vjp(program, name, args, sens)
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"d/d arg{i}")
    return vjp_name


def check_body_vjp(body, args, rng, order=1):
    """@f = `body` over float64 arguments shaped as `args`; its VJP against finite differences
    (check_vjp), and with order=2 the VJP's own VJP too."""
    program = Program()
    program.function("f", [f64(*a.shape) for a in args], body)
    name = check_vjp(program, "f", args, rng)
    if order == 2:
        second_args = args + [rng.uniform(-1.0, 1.0, a.shape) for a in program.run("f", *args)]
        check_vjp(program, name, second_args, rng)
