"""cellc.compiler: a traced program -> `ms` dialect -> autodiff -> lowering -> artifact.

The compiler receives a traced `Program` (compiler/program.py) from the frontend and never sees
a Tensor, Parameter or Cell. Its stages are one pipeline (compiler/pipeline.py):

    from cellc.compiler import CompileOptions, compile_program
    result = compile_program(program, CompileOptions(target="cpu", emit="linalg"), parameters)

To compile a cell, use the frontend: `cellc.frontend.compile(net, x, y, options=...)`.
Importing this package loads no MLIR; running the pipeline does.
"""

from .pipeline import CompileOptions, CompileResult, Stage, Target, compile_program

__all__ = ["CompileOptions", "CompileResult", "Stage", "Target", "compile_program"]
