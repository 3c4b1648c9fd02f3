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

# isort: on
import signal
import sys
import threading

from riskstrat._commands._app import (
    EXIT_DATA,
    EXIT_OK,
    EXIT_USAGE,
    app,
    reflow_help,
)
from riskstrat._os_errors import unusable_path
from riskstrat._signals import EXIT_TERMINATED, interrupted, reset, stop, stopped_state

reflow_help(app)

EXIT_INTERRUPTED = 130
STOPPED = "error: {how}"
# The commands whose outputs are written all or nothing, so a stopped run left none.
ALL_OR_NOTHING = frozenset({"score"})
NOTHING_WRITTEN = "; nothing of this run is written"
EMPTY_ARGUMENT = (
    "error: {what} is empty; expected a value (an unset variable in a job's command line?)"
)
LATE_SIGTERM = "note: a SIGTERM came after {out} was written in full; stopped there (exit 0)"
# Stopped between renames: a folder swapped in whole is one run's or the other's.
WHILE_COMMITTING = (
    "; it was putting its outputs in place ({paths}): a folder written whole holds this "
    "run's output in full or what it held before, never part of one; rows moved into "
    "--rejected-dir one file at a time may be partly there"
)


def main() -> None:
    """The ``riskstrat`` command: ``app``, with a line in the log when a signal stops it.

    A scheduler's log otherwise ends at the last progress line, with only the exit code
    (130 for Ctrl-C, 143 for SIGTERM) to say the run was stopped, not crashed.
    """
    reset()  # an earlier run's state in this process is not this one's
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
        print(STOPPED.format(how="interrupted (Ctrl-C)") + tail, file=sys.stderr)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except SystemExit as exc:
        how = {EXIT_INTERRUPTED: "interrupted (Ctrl-C)", EXIT_TERMINATED: "terminated (SIGTERM)"}
        done, paths = stopped_state()
        if exc.code == EXIT_TERMINATED and paths:
            print(
                STOPPED.format(how=how[exc.code]) + WHILE_COMMITTING.format(paths=", ".join(paths)),
                file=sys.stderr,
            )
        elif exc.code in how:
            print(STOPPED.format(how=how[exc.code]) + tail, file=sys.stderr)
        elif done:
            print(LATE_SIGTERM.format(out=", ".join(paths)), file=sys.stderr)
        raise


def run() -> None:
    """The console script: :func:`main`, then SIGTERM ignored while Python shuts down.

    Not in ``main``: a caller running it in-process (a test, a job runner) keeps its own
    SIGTERM handling afterwards.
    """
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
