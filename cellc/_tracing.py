"""Which tracer is active, if any. Kept free of MLIR so that eager code and the runtime never
import the compiler: `cellc.compiler.trace` pushes itself here while it runs a construct.

The stack is per thread: two threads may compile two cells at the same time."""

from __future__ import annotations

import threading

_LOCAL = threading.local()


def _stack() -> list:
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    return stack


def current():
    """The innermost active tracer of this thread, or None outside any trace."""
    stack = _stack()
    return stack[-1] if stack else None


def push(tracer) -> None:
    _stack().append(tracer)


def pop() -> None:
    _stack().pop()
