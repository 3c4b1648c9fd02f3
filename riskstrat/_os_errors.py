"""What an operating system's refusal to read or write says to the person who ran a command.

A folder without permission, a read-only mount, a full disk, or a folder where a file was to
be written is the operator's to fix, not a fault of the data: a one-line usage error (exit
2) that names the place, instead of a traceback. ``riskstrat score`` says more
(``scoring._out_errors``); every other command gets this.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path

# The errors that mean "not allowed, no room, or not a file, here": never the data's fault.
REFUSALS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EISDIR}
)
UNUSABLE_PATH = (
    "{path}: {reason}; expected the inputs readable, and the folder of each output "
    "writable with room for it, by the user the command runs as"
)
A_FOLDER = "{path}: {reason}; expected the path of the file to write"
# What DuckDB wrote when it was refused: its spill of a query, in the system's temporary
# folder, which the operator moves with TMPDIR.
SPILL_REFUSED = "%s, spilling the feature queries to disk (TMPDIR sets where)"
# DuckDB opens files itself and says why it could not in words: 'Cannot open file "x":
# Permission denied'. Only that form: a strerror's words inside a quoted value are data.
_FILE_REFUSED = re.compile(r'[Ff]ile "(.+?)": ([^"\n]+)')  # a path may hold a quote


def named_path(filename: str) -> str:
    """The place the operator knows: outputs are written in hidden work files and folders
    beside them first (``.<name>.<pid>-<random>.tmp``, ``.<out>.tmp-<pid>-*/``), which are gone
    by the time the message is read, so the folder holding the first of them is named."""
    path = Path(filename)
    for part in (path, *path.parents):
        if part.name.startswith(".") and ".tmp" in part.name:
            return str(part.parent)
    return str(path)


def unusable_path(exc: BaseException) -> str | None:
    """The message (without ``error:``) for ``exc`` when it is such a refusal, else None."""
    if not isinstance(exc, OSError) or exc.errno not in REFUSALS:
        return None
    path = named_path(str(exc.filename)) if exc.filename else "a file of this run"
    template = A_FOLDER if exc.errno == errno.EISDIR else UNUSABLE_PATH
    return template.format(path=path, reason=exc.strerror or exc)


def refusal_in(message: str, path: object = None, spill: str | None = None) -> OSError | None:
    """The refusal a library that opens files itself (DuckDB) reports only in words, as the
    ``OSError`` Python's own calls raise, so that it meets the same one-line usage error
    (:func:`unusable_path`): an input it may not read is no fault of the data. ``path``,
    else the file the message names, is the place; a file in ``spill``, DuckDB's spill
    folder, is named by the system's temporary folder (the spill's is gone by the time
    the message is read). None when the message is no refusal."""
    for named, said in _FILE_REFUSED.findall(message):
        for code in sorted(REFUSALS):
            if not said.startswith(reason := os.strerror(code)):
                continue
            if spill is not None and named.startswith(spill):
                return OSError(code, SPILL_REFUSED % reason, tempfile.gettempdir())
            return OSError(code, reason, str(path if path is not None else named))
    return None
