"""The ``riskstrat`` command: one subcommand per front door.

Each subcommand is a thin wrapper: it parses options, calls the public Python API and
prints a summary. Exit codes: 0 success, 1 data or validation failure, 2 usage or
configuration error (``riskstrat score`` adds 3: model verification failure).

The commands live in ``riskstrat._commands``, one module per stage; importing them here
registers them on ``app``, in the order ``riskstrat --help`` lists them.
"""

from __future__ import annotations

# isort: off
# Registration order is the order of the pipeline in ``riskstrat --help``.
from riskstrat._commands import synth  # noqa: F401
from riskstrat._commands import data  # noqa: F401
from riskstrat._commands import rules  # noqa: F401
from riskstrat._commands import train  # noqa: F401
from riskstrat._commands import models  # noqa: F401
from riskstrat._commands import score  # noqa: F401
from riskstrat._commands import cohorts  # noqa: F401

# isort: on
import signal
import sys
import threading

from riskstrat._commands._app import (
    EXIT_DATA,
    EXIT_OK,
    EXIT_USAGE,
    app,
    read_paths_ourselves,
    reflow_help,
)
from riskstrat._os_errors import unusable_path
from riskstrat._signals import (
    EXIT_TERMINATED,
    interrupted,
    progress,
    reset,
    stop,
    terminate,
    terminated,
)

reflow_help(app)
read_paths_ourselves(app)

EXIT_INTERRUPTED = 130
STOPPED = "error: {how}"
# The commands whose outputs are written all or nothing, so a stopped run left none.
ALL_OR_NOTHING = frozenset({"score"})
NOTHING_WRITTEN = "; nothing of this run is written"
EMPTY_ARGUMENT = (
    "error: {what} is empty; expected a value (an unset variable in a job's command line?)"
)
LATE_SIGTERM = "note: a SIGTERM came after {out} was written in full; stopped there (exit 0)"
# Stopped with some outputs in place or going in: said, so no one reruns a quarter whose
# cohort is there, or trusts a model that was never registered.
WHILE_PLACING = "; it was putting {paths} in place"
WHOLE = ": a folder swapped in whole holds this run's output or what it held before, never part"
FILE_BY_FILE = ": files moved in one by one (rejected rows) may be partly there"
PLACED = "; in place in full before it: {paths}; what the run does after them was not done"
DONE = "; after its work was done: {paths} in place in full"


def stop_message(how: str, tail: str) -> str:
    """The last line of a stopped run's log: what it had put in place, or ``tail``."""
    state = progress()
    said = STOPPED.format(how=how)
    if state.done:
        return said + DONE.format(paths=", ".join(state.placed))
    if state.in_progress:
        moves = state.in_progress.values()
        said += WHILE_PLACING.format(paths=", ".join(state.in_progress))
        said += (WHOLE if any(moves) else "") + (FILE_BY_FILE if not all(moves) else "")
    if state.placed:
        return said + PLACED.format(paths=", ".join(state.placed))
    return said if state.in_progress else said + tail


def main() -> None:
    """The ``riskstrat`` command: ``app``, with a line in the log when a signal stops it.

    A scheduler's log otherwise ends at the last progress line, with only the exit code
    (130 for Ctrl-C, 143 for SIGTERM) to say the run was stopped, not crashed.
    """
    reset()  # an earlier run's state in this process is not this one's
    try:
        _main()
    finally:
        reset()  # nor is this one's the next's (a later Ctrl-C read as this SIGTERM)


def _main() -> None:
    if empty := _empty_argument(sys.argv[1:]):
        print(EMPTY_ARGUMENT.format(what=empty), file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    tail = NOTHING_WRITTEN if command in ALL_OR_NOTHING else ""
    try:
        try:
            app()
        except Exception as exc:
            if interrupted(exc):
                stop()  # a query the signal stopped where no step read DuckDB's error back
            refused = unusable_path(exc)
            if refused is None:
                raise
            print(f"error: {refused}", file=sys.stderr)
            raise SystemExit(EXIT_USAGE) from None
    except KeyboardInterrupt:  # typer turns it into exit 130; before it runs, here
        print(stop_message("interrupted (Ctrl-C)", tail), file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except SystemExit as exc:
        how = {EXIT_INTERRUPTED: "interrupted (Ctrl-C)", EXIT_TERMINATED: "terminated (SIGTERM)"}
        if exc.code in how:
            print(stop_message(how[exc.code], tail), file=sys.stderr)
        elif terminated() and (state := progress()).done:
            print(LATE_SIGTERM.format(out=", ".join(state.placed)), file=sys.stderr)
        raise


def run() -> None:
    """The console script: :func:`main`, then SIGTERM ignored while Python shuts down.

    Not in ``main``: a caller running it in-process (a test, a job runner) keeps its own
    SIGTERM handling afterwards.
    """
    # Under the command's handler from the start: the command puts back the handler it
    # found when it closes, and the default one would end the process silently as 143 in
    # the moment before SIGTERM is ignored below.
    signal.signal(signal.SIGTERM, terminate)
    try:
        main()
    finally:
        _ignore_sigterm_from_here()


def _empty_argument(argv: list[str]) -> str | None:
    """Which argument is empty (``--data ""``, ``--out=``), or None. No riskstrat option
    takes an empty text, and what one would do with it (the working folder as ``--out``,
    as ``--data``) is never what was meant."""
    for i, arg in enumerate(argv):
        name, equals, value = arg.partition("=")
        if arg.startswith("--") and equals and not value:
            return f"the value of {name}"
        if arg == "":
            return f"the argument after {argv[i - 1]}" if i else "the first argument"
    return None


def _ignore_sigterm_from_here() -> None:
    """From here the run is over: Python still takes a second or so to shut down, and a
    SIGTERM then, under the default handler the command put back, would end it as 143
    without a word, though the outcome (an output in place, or an error said) is settled.
    It is ignored instead, so the process ends with the run's own code. Ignored, not
    handled: Python's shutdown puts a handler it set back to the default before the end,
    but leaves an ignored signal ignored."""
    if threading.current_thread() is not threading.main_thread():
        return
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


__all__ = ["EXIT_DATA", "EXIT_OK", "EXIT_USAGE", "app", "main"]
