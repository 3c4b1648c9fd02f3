"""What an operating-system error while a run writes says to the operator.

A folder without permission, a read-only mount or a full disk under ``--out`` is the
operator's to fix, a usage error (exit 2) that names the path, not a fault of the data and
not a traceback.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from pathlib import Path

from riskstrat._os_errors import named_path
from riskstrat.scoring._errors import ScoringConfigError

CANNOT_WRITE = (
    "{path}: {reason}; expected the folder of out (--out){rejected} writable, with room for "
    "the run's files (no cohort was written)"
)
NO_PERMISSION = (
    "{path}: {reason}; expected the data (data_dir, --data), the model (--model), the "
    "configs{previous} readable, and the folder of out (--out){rejected} writable, by the "
    "user the job runs as"
)
AND_PREVIOUS = " and previous (--previous)"
# pyarrow's words for a file it could not open ("Failed to open local file 'x'. Detail:
# ..."): the path runs to the quote that ends the name, so a path may hold a quote.
_QUOTED_FILE = re.compile(r"file '(?P<path>.+?)'(?=[.:,;]?(?:\s|$))")
# Named only when given: the option would otherwise look like the cause.
AND_REJECTED = " and rejected_dir (--rejected-dir)"


def output_refused(
    exc: OSError, out: Path, rejected_dir: str | Path | None, previous: object = None
) -> ScoringConfigError | None:
    """The usage error ``exc`` stands for, or None when it is not the run's writing."""
    rejected = AND_REJECTED if rejected_dir is not None else ""
    if isinstance(exc, PermissionError):  # a read-only --out folder, most often
        return ScoringConfigError(
            NO_PERMISSION.format(
                path=_place(exc, out, read=True),
                reason=exc.strerror or exc,
                rejected=rejected,
                previous=AND_PREVIOUS if previous is not None else "",
            )
        )
    # Root gets no PermissionError: a read-only mount or a full disk shows as these.
    if not _written_by_run(exc, out, rejected_dir):
        return None
    # A full disk met inside a library's writer names no file: the run's folder then.
    return ScoringConfigError(
        CANNOT_WRITE.format(path=_place(exc, out), reason=exc.strerror or exc, rejected=rejected)
    )


def _place(exc: OSError, out: Path, *, read: bool = False) -> str | Path:
    # The folder an operator knows, as every other command names it, not a hidden work
    # folder that is gone by the time the message is read. pyarrow's errors carry the file
    # in their text only: --out was blamed for an unreadable input (``read``: a refusal,
    # which may be of an input). A full disk's file in the system's temporary folder is a
    # spill, gone by then too: --out stays the place named.
    if exc.filename:
        return named_path(str(exc.filename))
    quoted = _QUOTED_FILE.search(str(exc))
    if quoted is None or (not read and _in_temp(Path(os.path.abspath(quoted["path"])))):
        return out
    return named_path(quoted["path"])


def _in_temp(path: Path) -> bool:
    temp = Path(os.path.abspath(tempfile.gettempdir()))
    return path == temp or temp in path.parents


def _written_by_run(exc: OSError, out: Path, rejected_dir: str | Path | None) -> bool:
    """Whether ``exc`` came from writing this run's files: any error on ``out``, its work
    folder beside it, or ``rejected_dir``, and a read-only file system or a full disk
    elsewhere (reading never raises those) but in the system's temporary folder, where
    DuckDB spills (no output of the run: TMPDIR moves it). A read error on data stored
    beside ``out`` is not one."""
    if exc.filename and _ours(Path(os.path.abspath(exc.filename)), out, rejected_dir):
        return True
    if exc.errno not in (errno.EROFS, errno.ENOSPC, errno.EDQUOT):
        return False
    if not exc.filename:
        return True
    return not _in_temp(Path(os.path.abspath(exc.filename)))


def _ours(path: Path, out: Path, rejected_dir: str | Path | None) -> bool:
    """Whether ``path`` is ``out``, its folder or work folder, or ``rejected_dir``'s."""
    out = Path(os.path.abspath(out))
    if path in (out, out.parent) or path.name.startswith(f".{out.name}.tmp-"):
        return True
    if any(p.name.startswith(f".{out.name}.tmp-") for p in path.parents):
        return True
    if rejected_dir is None:
        return False
    rejected = Path(os.path.abspath(rejected_dir))
    # Its rows are written in a work folder beside it first (staged_files).
    work = f".{rejected.name}.tmp-"
    return (
        path == rejected
        or rejected in path.parents
        or path.name.startswith(work)
        or any(p.name.startswith(work) for p in path.parents)
    )
