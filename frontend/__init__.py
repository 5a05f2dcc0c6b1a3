"""cellc.frontend: from the user's cells to the compiler's traced programs.

    from cellc.frontend import CompileOptions, compile, trace
    print(trace(GradNet(Net()), x, y))           # the `ms` module, ms.grad unexpanded
    result = compile(GradNet(Net()), x, y, options=CompileOptions(emit="linalg"))

Tracing (`tracing.py`: run `construct` on symbolic tensors, check every op, record a Program),
GradOperation tracing (`grad.py`), eager evaluation of a single primitive (`eager.py`) and the
call-time caches (`compiled.py`). The frontend knows user tensors only through `TensorLike` and
`WeightLike`; it imports the compiler, never the user API.
"""

from cellc.compiler.pipeline import CompileOptions, CompileResult, Stage, Target

from .compiled import compile, export, trace

__all__ = ["CompileOptions", "CompileResult", "Stage", "Target", "compile", "export", "trace"]
