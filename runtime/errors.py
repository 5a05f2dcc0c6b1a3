"""The errors cellc raises for user mistakes: one hierarchy, shared by every layer.

Each error is the user's to fix, and its message says what is wrong and where: the op, the
shapes or dtypes that disagree and the user's source line, or the artifact and the reason. The
command line prints a `CellcError` as one message, without a traceback. The hierarchy lives in
the runtime because the runtime is the lowest layer: every other layer may import it.
"""

from __future__ import annotations


class CellcError(Exception):
    """Base of every error that is the user's to fix."""


class ShapeMismatchError(CellcError, ValueError):
    """Operands whose shapes an op cannot combine (MindSpore raises ValueError)."""


class DTypeMismatchError(CellcError, TypeError):
    """Operands whose dtypes an op cannot combine (MindSpore raises TypeError)."""


class UnsupportedError(CellcError, NotImplementedError):
    """Something cellc does not compile (yet); the message says what."""


class ArtifactError(CellcError):
    """An artifact cannot be used: not an artifact, corrupt, too new, or not for this machine.

    The message names the file and the reason.
    """


class DistributedError(CellcError, RuntimeError):
    """A distributed job cannot go on: communication not initialized, no collective engine
    installed, or a group cellc does not have (MindSpore raises RuntimeError)."""
