"""The Spark dialect of the feature SQL, run on a real Spark session (local mode).

Skipped, with the reason, where pyspark or a Java runtime is missing; ``make test``
installs pyspark. The session (``tests/conftest.py``) runs in Los Angeles time, as a
county's cluster would: dates must not move with the time zone.
"""

from __future__ import annotations

import shutil
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
ZONE = "America/Los_Angeles"


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


def _tables(county: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in county.glob("*.parquet")}


def _same_on_both(spark, folder: Path, dates=DATES[1:]) -> pd.DataFrame:
    engine = build_features(folder, dates)
    pd.testing.assert_frame_equal(
        _collected(spark_features(spark, folder, dates)), engine, check_dtype=False
    )
    return engine


def test_each_timestamp_becomes_the_day_it_was_written_on_both_engines(
    spark, spark_county, tmp_path
) -> None:
    # One county, one Spark build (each takes seconds), a kind of timestamp per table:
    # - encounters in UTC at 02:00, the evening before in Los Angeles (the session's zone):
    #   a date taken in the session's zone would move every event back a day;
    # - diagnoses in Los Angeles time and pharmacy fills at an offset of -08:00, both at
    #   23:00, the next day in UTC: the day is the one each was written in.
    def stamped(frame: pd.DataFrame, column: str, hours: int) -> pd.Series:
        return pd.to_datetime(frame[column]) + pd.Timedelta(hours=hours)

    county = tmp_path / "county"
    county.mkdir()
    for name, frame in _tables(spark_county).items():
        if name == "encounters":
            for column in ("start_date", "end_date"):
                frame[column] = stamped(frame, column, 2).dt.tz_localize("UTC")
        elif name == "diagnoses":
            frame["dx_date"] = stamped(frame, "dx_date", 23).dt.tz_localize(ZONE)
        elif name == "pharmacy":
            local = stamped(frame, "fill_date", 23).dt.tz_localize(ZONE)
            frame["fill_date"] = local.dt.tz_convert("-08:00")
        frame.to_parquet(county / f"{name}.parquet")
    stamped_county = _same_on_both(spark, county)
    pd.testing.assert_frame_equal(stamped_county, build_features(spark_county, DATES[1:]))
    # Each table's day moves a feature: a day off in any of them would show.
    for name, column in (("diagnoses", "dx_date"), ("pharmacy", "fill_date")):
        shifted = tmp_path / "shifted"
        shutil.copytree(spark_county, shifted, dirs_exist_ok=True)
        frame = pd.read_parquet(spark_county / f"{name}.parquet")
        frame[column] = pd.to_datetime(frame[column]) + pd.Timedelta(days=1)
        frame.to_parquet(shifted / f"{name}.parquet")
        moved = build_features(shifted, DATES[1:])
        assert not moved.equals(stamped_county), name


def test_csv_quirks_read_as_duckdb_reads_them(spark, spark_county, tmp_path) -> None:
    tables = _tables(spark_county)
    encounters = tables["encounters"]
    # Free text before the dates, so a field read wrongly shifts the columns after it.
    notes = ["a, b \\", 'say "hi", ok', "two\nlines", "plain"]
    encounters.insert(1, "note", [notes[i % 4] for i in range(len(encounters))])
    # Amounts past four decimals round the same way on both (0.00015 is 0.000149999...).
    encounters.loc[encounters.index[:50], "paid_amount"] = 0.00015
    pharmacy = tables["pharmacy"].astype({"days_supply": "float64"})
    pharmacy.loc[pharmacy.index[:5], "days_supply"] = None  # pandas now writes '30.0'
    for name, frame in {**tables, "encounters": encounters, "pharmacy": pharmacy}.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    assert "30.0" in (tmp_path / "pharmacy.csv").read_text()
    _same_on_both(spark, tmp_path)


def test_a_countys_folders_are_read_whole_on_both(spark, spark_county, tmp_path) -> None:
    # One county, one Spark build, a layout per table, in a folder whose path has a space:
    # justice partitioned by year (year=2022/ ...) beside a README.txt that is not data;
    # encounters as df.write.parquet leaves them, with a job's _temporary/ leftovers.
    folder = tmp_path / "my county data"
    folder.mkdir()
    for name, frame in _tables(spark_county).items():
        if name == "justice":
            frame = frame.assign(year=frame["event_date"].astype("str").str[:4])
            frame.to_parquet(folder / "justice", partition_cols=["year"])
            (folder / "justice" / "README.txt").write_text("not data")
        elif name == "encounters":
            written = folder / "encounters.parquet"
            (written / "_temporary" / "0").mkdir(parents=True)
            frame.to_parquet(written / "part-0.parquet")
            frame.to_parquet(written / "_temporary" / "0" / "part-0.parquet")
        else:
            frame.to_parquet(folder / f"{name}.parquet")
    assert len(list((folder / "justice").glob("year=*"))) > 1
    laid_out = _same_on_both(spark, folder)
    pd.testing.assert_frame_equal(laid_out, build_features(spark_county, DATES[1:]))
    # Either slip would change the features: the leftovers read would count each
    # encounter twice (the copy under another provider), a year's partition left unread would lose its bookings.
    encounters = pd.read_parquet(spark_county / "encounters.parquet")
    justice = pd.read_parquet(spark_county / "justice.parquet")
    slips = {
        "encounters": pd.concat([encounters, encounters.assign(provider_id="elsewhere")]),
        "justice": justice[justice["event_date"].astype("str").str[:4] != "2022"],
    }
    for name, frame in slips.items():
        slipped = tmp_path / "slipped"
        shutil.copytree(spark_county, slipped, dirs_exist_ok=True)
        frame.to_parquet(slipped / f"{name}.parquet")
        assert not build_features(slipped, DATES[1:]).equals(laid_out), name


def test_an_ansi_off_session_still_refuses_a_bad_date(spark, spark_county, tmp_path) -> None:
    for name, frame in _tables(spark_county).items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    text = (tmp_path / "justice.csv").read_text().splitlines()
    person = text[1].split(",")[0]
    (tmp_path / "justice.csv").write_text("\n".join([*text, f"{person},2022-13-45,booking"]))
    spark.conf.set("spark.sql.ansi.enabled", "false")  # Spark 3.5's default
    try:
        with pytest.raises(Exception, match="2022-13-45"):
            spark_features(spark, tmp_path, DATES[1:]).collect()
        assert spark.conf.get("spark.sql.ansi.enabled") == "false"  # given back as found
    finally:
        spark.conf.unset("spark.sql.ansi.enabled")
    # DuckDB reading the files as stored refuses it too, without quoting the value.
    with pytest.raises(ValueError, match="date field value out of range: <value>") as info:
        build_features(tmp_path, DATES[1:], validate=False)
    assert "2022-13-45" not in str(info.value) and "LINE" not in str(info.value)


def test_a_tables_part_left_unread_is_refused_on_spark(spark, spark_county, tmp_path) -> None:
    folder = tmp_path / "county"
    shutil.copytree(spark_county, folder)
    shutil.copy(folder / "encounters.parquet", folder / "encounters_2024.parquet")
    with pytest.raises(ValueError, match="encounters_2024.parquet not read, though named like"):
        spark_features(spark, folder, DATES)


def test_cluster_storage_is_passed_as_dataframes(spark) -> None:
    with pytest.raises(ValueError, match=r"s3://bucket/county is a URI.*spark\.read\.parquet"):
        spark_features(spark, "s3://bucket/county/", DATES)
