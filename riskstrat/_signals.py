"""What stopped a run, for the places that see it only as DuckDB's "Query interrupted".

DuckDB checks for signals while a query runs. When Python's handler raises (Ctrl-C's
KeyboardInterrupt, or the SystemExit of :func:`terminate` for SIGTERM), DuckDB cancels the
query and raises its own error in their place, which says nothing of the signal. Read as
bad data it would exit 1; read as Ctrl-C, a scheduler's SIGTERM would exit 130 and say
"interrupted (Ctrl-C)". :func:`stop` raises what it was.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
from typing import NoReturn

import duckdb

# SIGTERM (what `timeout`, systemd and most schedulers send) exits as 128 + 15, as a shell
# reports a process it ended; raised as SystemExit, it unwinds like Ctrl-C does, so the
# run's work folder is removed and no half-written output is left.
EXIT_TERMINATED = 128 + signal.SIGTERM

# Set by the handlers before they raise: DuckDB may swallow the raise, never this. So may
# Python: a handler that runs inside a callback (a weakref's, the garbage collector's, one
# in importlib's module locks) has its exception printed as "Exception ignored" and the run
# goes on; check_stopped() raises it again before anything is put in place.
_terminated = threading.Event()
_interrupted = threading.Event()
# What a run has put in place when a signal stops it, so the last line of its log says
# that, not "nothing written": outputs being renamed in (each folder whole; files moved one
# by one, not), outputs in place, and whether all of its work is done. Done, a SIGTERM
# exits 0.
_in_progress: dict[str, bool] = {}  # path -> moved in whole
_placed: list[str] = []
_done = threading.Event()


def terminate(_signum: int, _frame: object) -> NoReturn:
    """The SIGTERM handler a command runs under."""
    _terminated.set()
    raise SystemExit(0 if _done.is_set() else EXIT_TERMINATED)


def interrupt(_signum: int, _frame: object) -> NoReturn:
    """The SIGINT handler a command runs under: Python's own, remembered."""
    _interrupted.set()
    raise KeyboardInterrupt


def check_stopped() -> None:
    """Raise again a stop whose handler's exception a callback swallowed (see above).

    Only while the command's handlers are in place: a command run in-process (a notebook's)
    gives the caller its own back at its end, and a mark it left stops nothing after it.
    """
    ours = signal.getsignal(signal.SIGTERM) is terminate
    if ours and _terminated.is_set() and not _done.is_set():
        raise SystemExit(EXIT_TERMINATED)
    if _interrupted.is_set() and signal.getsignal(signal.SIGINT) is interrupt:
        raise KeyboardInterrupt


def reset() -> None:
    """Forget a run's state: at a command's start and end, so no other run's is read."""
    _terminated.clear()
    _interrupted.clear()
    _in_progress.clear()
    _placed.clear()
    _done.clear()


def install_terminate() -> signal.Handlers | object:
    """Run under :func:`terminate` from now on; returns the handler it replaces."""
    reset()
    return signal.signal(signal.SIGTERM, terminate)


def install_interrupt() -> signal.Handlers | object | None:
    """Run under :func:`interrupt` from now on, unless Ctrl-C is not Python's to hear (a
    background job's SIGINT is ignored; another handler is its caller's); returns the
    handler it replaces, or None if it left it."""
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return None
    return signal.signal(signal.SIGINT, interrupt)


def committing(path: object, whole: bool = True) -> None:
    """Record that ``path`` is being put in place: renamed in ``whole``, or file by file."""
    _in_progress[str(path)] = whole


def placed(path: object) -> None:
    """Record that ``path`` is in place in full."""
    _in_progress.pop(str(path), None)
    if str(path) not in _placed:
        _placed.append(str(path))


def mark_done() -> None:
    """Record that the run's outputs are all in place: a SIGTERM from here exits 0."""
    _done.set()


@dataclasses.dataclass(frozen=True)
class Progress:
    """How far a run had come: all done, outputs being put in place (path -> whole), and
    outputs in place."""

    done: bool
    in_progress: dict[str, bool]
    placed: list[str]


def progress() -> Progress:
    """The run's :class:`Progress` now."""
    return Progress(_done.is_set(), dict(_in_progress), list(_placed))


def terminated() -> bool:
    """Whether a SIGTERM stopped the run."""
    return _terminated.is_set()


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
