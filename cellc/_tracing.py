"""Which tracer is active, if any. Kept free of MLIR so that eager code and the runtime never
import the compiler: `cellc.compiler.trace` pushes itself here while it runs a construct."""

from __future__ import annotations

_STACK: list = []


def current():
    """The innermost active tracer, or None outside any trace."""
    return _STACK[-1] if _STACK else None


def push(tracer) -> None:
    _STACK.append(tracer)


def pop() -> None:
    _STACK.pop()
