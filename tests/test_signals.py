"""A signal that stops a DuckDB query exits as that signal, not as bad data or as Ctrl-C."""

from __future__ import annotations

import os
import signal
import threading

import duckdb
import pytest

from riskstrat._signals import EXIT_TERMINATED, install_terminate, interrupted, stop

# Half a minute of work on one thread, a task per row group of t: DuckDB looks for signals
# between tasks. A scan of range() alone on two threads ran to its end (80 s) in about half
# the runs, the signal seen only after it.
SETUP = ("SET threads = 1", "CREATE TABLE t AS SELECT range AS x FROM range(2_000_000)")
LONG_QUERY = "SELECT count(*) FROM t, range(2_000) r WHERE (t.x + r.range) % 7 = 3"


@pytest.fixture
def terminate_handler():
    previous = install_terminate()
    yield
    signal.signal(signal.SIGTERM, previous)


def _stopped_query() -> None:
    """Run LONG_QUERY, turning DuckDB's error back into the signal as the pipeline does."""
    con = duckdb.connect()
    try:
        for statement in SETUP:
            con.execute(statement)
        con.execute(LONG_QUERY).fetchall()
    except Exception as exc:
        assert interrupted(exc), exc
        stop()
    finally:
        con.close()


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals")
def test_sigterm_inside_a_query_exits_as_sigterm(terminate_handler) -> None:
    # DuckDB swallows the handler's SystemExit and raises "Query interrupted": read as
    # Ctrl-C, a scheduler's SIGTERM exited 130 and logged "interrupted (Ctrl-C)".
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        with pytest.raises(SystemExit) as info:
            _stopped_query()
    finally:
        timer.cancel()
    assert info.value.code == EXIT_TERMINATED == 143
    # Raised from DuckDB's "interrupted", not by the handler once the query had run to its end.
    assert interrupted(info.value.__context__)


def test_an_interrupt_without_sigterm_is_ctrl_c(terminate_handler) -> None:
    with pytest.raises(KeyboardInterrupt):
        stop()


@pytest.mark.parametrize(
    "error",
    [RuntimeError("Query interrupted"), duckdb.InterruptException("INTERRUPT Error: Interrupted!")],
)
def test_duckdbs_words_for_a_stopped_query_are_recognised(error) -> None:
    assert interrupted(error)
    assert not interrupted(RuntimeError("Conversion Error: could not convert"))
