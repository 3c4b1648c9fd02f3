"""The Spark dialect of the feature SQL, run on a real Spark session (local mode).

Skipped, with the reason, where pyspark or a Java runtime is missing; ``make test``
installs pyspark. The session (``tests/conftest.py``) runs in Los Angeles time, as a
county's cluster would: dates must not move with the time zone.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from riskstrat.features import build_features, spark_features
from riskstrat.features._engine import NO_PERSONS

pytestmark = [
    pytest.mark.spark,
    # pyspark 4.0's toPandas passes a keyword pandas 3 deprecates; the tests compare every
    # value, so a conversion it got wrong would show.
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

DATES = ["2022-10-01", "2023-01-01", "2023-07-01"]


def _collected(frame) -> pd.DataFrame:
    out = frame.toPandas()
    out["as_of"] = pd.to_datetime(out["as_of"]).astype("datetime64[us]")
    return out


def test_spark_builds_the_engines_table_from_parquet(spark, spark_county: Path) -> None:
    engine = build_features(spark_county, DATES)
    on_spark = _collected(spark_features(spark, spark_county, DATES))
    assert len(engine) > 3_000 and engine["as_of"].nunique() == 3
    # Same rows, order and values: diagnoses carry ICD-10 codes here, so the condition
    # mapping (a CASE over code ranges) runs on Spark too.
    pd.testing.assert_frame_equal(on_spark, engine, check_dtype=False)


def test_spark_reads_csv_as_text_and_leaves_absent_tables_empty(
    spark, spark_county: Path, tmp_path: Path
) -> None:
    for name in ("persons", "encounters", "diagnoses", "justice"):
        pd.read_parquet(spark_county / f"{name}.parquet").to_csv(
            tmp_path / f"{name}.csv", index=False
        )
    engine = build_features(tmp_path, DATES[1:], population="all")
    on_spark = _collected(spark_features(spark, tmp_path, DATES[1:], population="all"))
    assert engine["days_homeless_365d"].eq(0).all()  # no homelessness table: none recorded
    pd.testing.assert_frame_equal(on_spark, engine, check_dtype=False)


def test_spark_refuses_what_the_engine_refuses(spark, spark_county: Path) -> None:
    encounters = spark.read.parquet(str(spark_county / "encounters.parquet"))
    with pytest.raises(ValueError, match="table 'persons' is required") as caught:
        spark_features(spark, {"encounters": encounters}, DATES)
    assert str(caught.value) == NO_PERSONS
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        spark_features(spark, spark_county / "missing", DATES)
