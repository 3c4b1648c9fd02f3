"""What an operating system's refusal to read or write says to the person who ran a command.

A folder without permission, a read-only mount or a full disk is the operator's to fix,
not a fault of the data: a one-line usage error (exit 2) that names the place, instead of a
traceback. ``riskstrat score`` says more (``scoring._out_errors``); every other command
gets this.
"""

from __future__ import annotations

import errno
from pathlib import Path

# The errors that mean "not allowed, or no room, here": never a fault of the data.
REFUSALS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT})
UNUSABLE_PATH = (
    "error: {path}: {reason}; expected the inputs readable, and the folder of each output "
    "writable with room for it, by the user the command runs as"
)


def _named(filename: str) -> str:
    # Outputs are written to a hidden temporary file beside them first: its folder is the
    # place the operator knows and must fix.
    path = Path(filename)
    hidden_work = path.name.startswith(".") and (".tmp" in path.name)
    return str(path.parent if hidden_work else path)


def unusable_path(exc: BaseException) -> str | None:
    """The message for ``exc`` when it is such a refusal, else None."""
    if not isinstance(exc, OSError) or exc.errno not in REFUSALS:
        return None
    path = _named(str(exc.filename)) if exc.filename else "a file of this run"
    return UNUSABLE_PATH.format(path=path, reason=exc.strerror or exc)
