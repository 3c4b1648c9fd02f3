"""Fixtures shared across stages: one local Spark session for every Spark test."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from riskstrat.synth import synthesize


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch) -> None:
    """Output as a plain log gets it, whatever the shell or CI image running the tests set:
    these make Rich colour its output or wrap it narrower than the tests' text."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES"):
        # Set first, so the test's end takes away what a command set too (a command run
        # in-process sets COLUMNS for its log and leaves it, for the parser's errors).
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _no_stop_carried_over():
    """A test that stops a run in-process (its handler called, its exception caught) leaves
    the run's stop marked, which the next run would raise again (check_stopped)."""
    from riskstrat import _signals

    _signals.reset()
    yield
    _signals.reset()


@pytest.fixture(scope="session")
def spark():
    """A local Spark session in Los Angeles time; skips where pyspark or Java is missing."""
    pyspark_sql = pytest.importorskip("pyspark.sql", reason="pyspark is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime for Spark (java on PATH or JAVA_HOME)")
    # Python workers (mapInPandas) must run this interpreter, not whatever python3 is
    # first on PATH, which need not have pandas.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    # Spark puts its own Ctrl-C handler in, which outlives the session: a SIGINT at the
    # worker's end then raised inside a garbage-collector callback ("Exception ignored").
    ctrl_c = signal.getsignal(signal.SIGINT)
    session = (
        pyspark_sql.SparkSession.builder.master("local[2]")
        .appName("riskstrat-tests")
        .config("spark.sql.session.timeZone", "America/Los_Angeles")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    signal.signal(signal.SIGINT, ctrl_c)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def spark_county(tmp_path_factory) -> Path:
    """A 2,000-person synthetic county written as Parquet, for the Spark tests."""
    folder = tmp_path_factory.mktemp("spark") / "county"
    synthesize(2_000, "2021-01-01", "2024-01-01", seed=3).write(folder)
    return folder


@pytest.fixture
def duckdb_always_out_of_memory(monkeypatch) -> None:
    """Every batch of the feature query runs out of DuckDB's memory, whatever the limit."""
    import duckdb

    from riskstrat.features import _engine

    def always_out(*_args, **_kwargs):
        raise duckdb.OutOfMemoryException("could not allocate block (test)")

    monkeypatch.setattr(_engine, "_select_batch", always_out)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``make test``'s two processes (``--dist loadgroup``), every Spark test runs in
    one of them: each process would otherwise start its own JVM and build spark_county."""
    for item in items:
        if item.get_closest_marker("spark") is not None:
            item.add_marker(pytest.mark.xdist_group("spark"))
