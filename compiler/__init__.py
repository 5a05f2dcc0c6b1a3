"""cellc.compiler: trace -> ms dialect -> autodiff -> lowering -> artifact.

from cellc.compiler import trace, compile, CompileOptions
module = trace(net, x, y)                       # the `ms` module
result = compile(net, x, y, options=CompileOptions(target="cpu", emit="linalg"))
"""

from .driver import CompileOptions, CompileResult, Stage, Target, compile, export
from .trace import trace

__all__ = ["CompileOptions", "CompileResult", "Stage", "Target", "compile", "export", "trace"]
