"""Errors cellc raises for user mistakes. Each names the op, the disagreeing types and the
user's source line; the CLI prints them without a traceback."""


class CellcError(Exception):
    """Base of every error that is the user's to fix."""


class ShapeMismatchError(CellcError, ValueError):
    """Operands whose shapes an op cannot combine (MindSpore raises ValueError)."""


class DTypeMismatchError(CellcError, TypeError):
    """Operands whose dtypes an op cannot combine (MindSpore raises TypeError)."""


class UnsupportedError(CellcError, NotImplementedError):
    """Something cellc does not compile (yet); the message says what."""
