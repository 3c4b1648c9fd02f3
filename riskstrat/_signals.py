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
# Outputs this run has put in place whole (an all-or-nothing folder renamed in): a SIGTERM
# after that stops a run whose work is done, which exits 0 and says so, not "nothing written".
_written: list[str] = []


def terminate(_signum: int, _frame: object) -> NoReturn:
    """The SIGTERM handler a command runs under."""
    _terminated.set()
    raise SystemExit(0 if _written else EXIT_TERMINATED)


def install_terminate() -> signal.Handlers | object:
    """Run under :func:`terminate` from now on; returns the handler it replaces."""
    _terminated.clear()
    _written.clear()
    return signal.signal(signal.SIGTERM, terminate)


def mark_written(path: object) -> None:
    """Record that ``path``, an all-or-nothing output, is now in place in full."""
    _written.append(str(path))


def written_before_terminated() -> list[str]:
    """The outputs already in place when a SIGTERM stopped the run (none if none came)."""
    return list(_written) if _terminated.is_set() else []


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
