"""What stopped a run, for the places that see it only as DuckDB's "Query interrupted".

DuckDB checks for signals while a query runs. When Python's handler raises (Ctrl-C's
KeyboardInterrupt, or the SystemExit of :func:`terminate` for SIGTERM), DuckDB cancels the
query and raises its own error in their place, which says nothing of the signal. Read as
bad data it would exit 1; read as Ctrl-C, a scheduler's SIGTERM would exit 130 and say
"interrupted (Ctrl-C)". :func:`stop` raises what it was.
"""

from __future__ import annotations

import signal
import threading
from typing import NoReturn

import duckdb

# SIGTERM (what `timeout`, systemd and most schedulers send) exits as 128 + 15, as a shell
# reports a process it ended; raised as SystemExit, it unwinds like Ctrl-C does, so the
# run's work folder is removed and no half-written output is left.
EXIT_TERMINATED = 128 + signal.SIGTERM

# Set by the handler before it raises: DuckDB may swallow the raise, never this.
_terminated = threading.Event()
# The outputs this run has begun to put in place (renamed in), and whether all of the
# run's work is done: a SIGTERM then no longer means "nothing written". Done, the run exits
# 0 and says so; while putting outputs in place, 143 says what each may hold.
_committing: list[str] = []
_done = threading.Event()


def terminate(_signum: int, _frame: object) -> NoReturn:
    """The SIGTERM handler a command runs under."""
    _terminated.set()
    raise SystemExit(0 if _done.is_set() else EXIT_TERMINATED)


def reset() -> None:
    """Forget a run's state: a command's start, so no earlier run's is read as its own."""
    _terminated.clear()
    _committing.clear()
    _done.clear()


def install_terminate() -> signal.Handlers | object:
    """Run under :func:`terminate` from now on; returns the handler it replaces."""
    reset()
    return signal.signal(signal.SIGTERM, terminate)


def committing(path: object) -> None:
    """Record that ``path`` is being put in place (by renames, each whole)."""
    if str(path) not in _committing:
        _committing.append(str(path))


def mark_done() -> None:
    """Record that the run's outputs are all in place: a SIGTERM from here exits 0."""
    _done.set()


def stopped_state() -> tuple[bool, list[str]]:
    """For a run a SIGTERM stopped: whether its work was done, and the outputs it had begun
    to put in place; (False, []) when no SIGTERM came."""
    if not _terminated.is_set():
        return False, []
    return _done.is_set(), list(_committing)


def interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is DuckDB's word for a signal inside a query (its own exception, or
    a RuntimeError from a result being fetched): the run was stopped, the data is not bad."""
    return isinstance(exc, duckdb.InterruptException) or (
        isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower()
    )


def stop() -> NoReturn:
    """Raise what stopped the query: SIGTERM's exit if one came in, else Ctrl-C's."""
    if _terminated.is_set():
        raise SystemExit(EXIT_TERMINATED)
    raise KeyboardInterrupt
