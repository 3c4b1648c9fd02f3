"""The feature SQL on local Spark against DuckDB, same county and dates (prints figures).

Run with::

    RISKSTRAT_BENCH_DATA=<county> .venv/bin/pytest benchmarks/test_bench_spark.py -m benchmark -s

Environment:
- ``RISKSTRAT_BENCH_DATA``: a folder of ``<table>.parquet`` files (``riskstrat synth``);
  default: a 20,000-person synthetic county written to a temp dir;
- ``RISKSTRAT_BENCH_AS_OF`` (default ``2023-01-01,2023-04-01``): comma-separated dates;
- ``RISKSTRAT_BENCH_SPARK_MEMORY`` (default ``8g``): the driver's heap, which in local mode
  does all the work.

Spark runs in local mode on every core (``local[*]``), with one shuffle partition per core;
the figure includes the session's start. Both tables are collected to pandas and checked
equal, so the comparison times the same result.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from riskstrat.features import build_features, spark_features
from riskstrat.synth import write_county


@pytest.mark.benchmark
def test_spark_against_duckdb() -> None:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime for Spark")
    data = os.environ.get("RISKSTRAT_BENCH_DATA")
    if data is None:
        data = Path(tempfile.mkdtemp(prefix="bench-spark-")) / "county"
        write_county(data, 20_000, "2020-01-01", "2024-01-01", seed=5)
    dates = os.environ.get("RISKSTRAT_BENCH_AS_OF", "2023-01-01,2023-04-01").split(",")

    began = time.perf_counter()
    engine = build_features(data, dates, validate=False)  # both engines read the files as stored
    duckdb_seconds = time.perf_counter() - began

    began = time.perf_counter()
    cores = os.cpu_count() or 1
    session = (
        pyspark_sql.SparkSession.builder.master("local[*]")
        .config("spark.sql.shuffle.partitions", str(cores))
        # Local mode runs in the driver, whose default heap (1 GB) cannot broadcast the
        # joins of a 200,000-person county.
        .config("spark.driver.memory", os.environ.get("RISKSTRAT_BENCH_SPARK_MEMORY", "8g"))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    started = time.perf_counter() - began
    frame = spark_features(session, data, dates).toPandas()
    spark_seconds = time.perf_counter() - began
    session.stop()

    frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[us]")
    pd.testing.assert_frame_equal(frame, engine, check_dtype=False)
    print(
        f"\n{len(engine):,} rows x {engine.shape[1] - 2} features, {len(dates)} dates, {cores} cores: "
        f"DuckDB {duckdb_seconds:.1f} s; local Spark {spark_seconds:.1f} s "
        f"(session start {started:.1f} s); same table"
    )
