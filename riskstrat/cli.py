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
from riskstrat._signals import EXIT_TERMINATED, interrupted, stop, written_before_terminated

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


def main() -> None:
    """The ``riskstrat`` command: ``app``, with a line in the log when a signal stops it.

    A scheduler's log otherwise ends at the last progress line, with only the exit code
    (130 for Ctrl-C, 143 for SIGTERM) to say the run was stopped, not crashed.
    """
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
        if exc.code in how:
            print(STOPPED.format(how=how[exc.code]) + tail, file=sys.stderr)
        elif done := written_before_terminated():
            print(LATE_SIGTERM.format(out=", ".join(done)), file=sys.stderr)
        _ignore_sigterm_from_here()
        raise


def _empty_argument(argv: list[str]) -> str | None:
    """The option given an empty value (``--data ""``, ``--out=``), or "an argument"; None
    when none is. No riskstrat option takes an empty text, and what one would do with it
    (the working folder as ``--out``, as ``--data``) is never what was meant."""
    for i, arg in enumerate(argv):
        if arg.startswith("--") and arg.endswith("="):
            return arg[:-1]
        if arg == "":
            before = argv[i - 1] if i else ""
            return before if before.startswith("-") else "an argument"
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
