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


def test_sigterm_once_the_run_is_done_exits_0_and_while_committing_143(tmp_path) -> None:
    """A scheduler's timeout can land as a run puts its outputs in place, or after: the
    first is still a stop (143), the second a run whose work is done (0)."""
    from riskstrat._atomic import atomic_output_dir
    from riskstrat._signals import mark_done, stopped_state

    previous = install_terminate()
    try:
        with pytest.raises(SystemExit) as before:
            os.kill(os.getpid(), signal.SIGTERM)  # nothing written yet: stopped, 143
        assert before.value.code == EXIT_TERMINATED and stopped_state() == (False, [])
        install_terminate()
        with atomic_output_dir(tmp_path / "cohort") as work:
            (work / "cohort.csv").write_text("person_id\n")
        with pytest.raises(SystemExit) as putting:  # in place, the run not yet done
            os.kill(os.getpid(), signal.SIGTERM)
        assert putting.value.code == EXIT_TERMINATED
        assert stopped_state() == (False, [str(tmp_path / "cohort")])
        mark_done()
        with pytest.raises(SystemExit) as after:
            os.kill(os.getpid(), signal.SIGTERM)
        assert after.value.code == 0 and stopped_state() == (True, [str(tmp_path / "cohort")])
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert (tmp_path / "cohort" / "cohort.csv").is_file()


@pytest.mark.parametrize("done", [True, False])
def test_the_command_line_says_what_a_late_sigterm_left(done, tmp_path, monkeypatch, capsys):
    import riskstrat.cli as cli
    from riskstrat._signals import committing, mark_done

    out = tmp_path / "2025Q3"

    def stopped_late() -> None:  # a command, stopped as it ends
        install_terminate()
        committing(out)
        if done:
            mark_done()
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(cli, "app", stopped_late)
    monkeypatch.setattr("sys.argv", ["riskstrat", "score"])
    try:
        with pytest.raises(SystemExit) as info:
            cli.main()
    finally:
        signal.signal(signal.SIGTERM, previous)
    err = capsys.readouterr().err
    if done:
        assert info.value.code == 0
        assert (
            err == f"note: a SIGTERM came after {out} was written in full; stopped there (exit 0)\n"
        )
    else:
        assert info.value.code == EXIT_TERMINATED
        assert err.startswith(
            f"error: terminated (SIGTERM); it was putting its outputs in place ({out})"
        )
        assert "nothing of this run is written" not in err
    # In-process, the caller keeps its own handler: only the console script ignores SIGTERM.
    assert signal.getsignal(signal.SIGTERM) == previous


@pytest.mark.parametrize(("argv", "code"), [(["synth", "--help"], 0), (["no-such-command"], 2)])
def test_sigterm_while_python_shuts_down_keeps_the_runs_exit_code(argv, code) -> None:
    """Once a command has returned, a SIGTERM in the second Python takes to shut down ends
    the process with the run's own code, not 143 (before, the default handler was back).
    Measured end to end: score's cohort in place, SIGTERM 0 to 1.5 s later, exit 0."""
    import subprocess
    import sys

    script = (
        "import atexit, os, signal, sys, time\n"
        "import riskstrat.cli as cli\n"
        # Sent as Python exits, after the command's own handler is gone.
        "atexit.register(lambda: (os.kill(os.getpid(), signal.SIGTERM), time.sleep(0.3)))\n"
        f"sys.argv = ['riskstrat', *{argv!r}]\n"
        "cli.run()\n"  # the console script
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        timeout=120,
        check=False,
        capture_output=True,
        # Whatever this process's SIGTERM handling, the child starts at the default.
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL),
    )
    assert done.returncode == code, done.stderr
