"""GradOperation: MindSpore's gradient transform. Traced, it becomes one `ms.grad` op that the
compiler's autodiff pass expands; the return structure follows MindSpore exactly."""

from __future__ import annotations

from cellc import context
from cellc.autograd import cache_owner_and_key
from cellc.calling import run_function
from cellc.frontend import grad as frontend_grad
from cellc.frontend import tracing
from cellc.parameter import Parameter, ParameterTuple, check_unique_names
from cellc.tensor import Tensor

from .functional import check_bool_flag


class GradOperation:
    """`GradOperation(get_all=False, get_by_list=False, sens_param=False)(fn, weights)(*args)`.

    - `get_all=False`: the first input's gradient, a bare Tensor; `True`: a tuple of every
      input's gradient.
    - `get_by_list=True`: the gradients of `weights` (a ParameterTuple, in its order; a single
      Parameter gives a bare Tensor). With `get_all` too: `(inputs_part, weights_part)`.
    - `sens_param=True`: the last argument is the sensitivity, shaped like the output (a tuple
      for a tuple output); otherwise it is ones for every output.
    """

    def __init__(self, get_all: bool = False, get_by_list: bool = False, sens_param: bool = False):
        for flag, value in (
            ("get_all", get_all),
            ("get_by_list", get_by_list),
            ("sens_param", sens_param),
        ):
            check_bool_flag("GradOperation", flag, value)
        self.get_all = get_all
        self.get_by_list = get_by_list
        self.sens_param = sens_param

    def __call__(self, fn, weights=None) -> GradFunction:
        if not callable(fn):
            raise TypeError(f"For 'GradOperation', fn must be a Cell or function, got {fn!r}")
        if self.get_by_list and weights is None:
            weights = _default_weights(fn)
        if self.get_by_list:
            if not isinstance(weights, (Parameter, ParameterTuple, list, tuple)):
                raise TypeError(
                    "For 'GradOperation', weights must be a Parameter or a ParameterTuple, "
                    f"got {type(weights).__name__}"
                )
            if isinstance(weights, (list, tuple)):
                for index, item in enumerate(weights):
                    if not isinstance(item, Parameter):
                        raise TypeError(
                            "For 'GradOperation', weights must hold Parameters only; item "
                            f"{index} is a {type(item).__name__}"
                        )
                check_unique_names(weights)
        return GradFunction(self, fn, weights)

    def __repr__(self) -> str:
        return (
            f"GradOperation(get_all={self.get_all}, get_by_list={self.get_by_list}, "
            f"sens_param={self.sens_param})"
        )


class GradFunction:
    """The gradient function of `fn`. Called inside a trace it records `ms.grad`; called
    directly it compiles a small cell around itself and runs it."""

    def __init__(self, grad: GradOperation, fn, weights):
        self.grad = grad
        self.fn = fn
        self.weights = weights
        self.__name__ = f"grad_{getattr(fn, '__name__', type(fn).__name__)}"

    @property
    def weight_list(self) -> list[Parameter]:
        if self.weights is None or not self.grad.get_by_list:
            return []
        if isinstance(self.weights, Parameter):
            return [self.weights]
        return list(self.weights)

    def __call__(self, *args):
        tracer = tracing.current()
        if tracer is None:
            return run_function(self, args)
        return _as_tensors(frontend_grad.record_grad(tracer, self, args))

    @property
    def returns_single_weight(self) -> bool:
        return isinstance(self.weights, Parameter)

    def cache_owner_and_key(self):
        """Where the compiled program is cached (on the function differentiated: this object
        is made afresh per call) and what it depends on."""
        owner, key = cache_owner_and_key(self.fn)
        flags = (
            self.grad.get_all,
            self.grad.get_by_list,
            self.grad.sens_param,
            self.returns_single_weight,
        )
        # the weights are the cell's own Parameters, alive as long as the cache is
        return owner, ("GradOperation", key, flags, tuple(id(w) for w in self.weight_list))


def _default_weights(fn) -> tuple:
    """get_by_list=True without weights: MindSpore's PyNative mode (2.x's default) takes the
    cell's trainable Parameters; its GRAPH_MODE takes none."""
    trainable_params = getattr(fn, "trainable_params", None)
    if context.get_context("mode") == context.PYNATIVE_MODE and callable(trainable_params):
        return ParameterTuple(trainable_params())
    return ()


def _as_tensors(values):
    """Traced values, nested in tuples, as symbolic Tensors nested the same way."""
    if isinstance(values, tuple):
        return tuple(_as_tensors(v) for v in values)
    return Tensor(_symbol=values)
