"""The compiled feature SQL on Spark SQL, for a population past one machine.

The features are one SQL text (:func:`riskstrat.features.compile_sql`); DuckDB runs it in
process (:func:`riskstrat.features.build_features`), and a Spark session runs the same
text in its Spark dialect, which differs only in the date-difference function and type
names. Here the input tables become temporary views under their contract names, the
as-of dates a view ``as_of_dates``, and the result stays a Spark DataFrame: nothing is
collected to the driver. pyspark is not a dependency of the package; whoever has a
session has it (``pip install 'riskstrat[spark]'`` pins a tested range).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from riskstrat._dates import as_dates
from riskstrat.data import _codes
from riskstrat.data._files import read_sources, written_zones
from riskstrat.features._compile import compile_sql
from riskstrat.features._engine import _check_columns
from riskstrat.features._spec import FeatureSpec, load_feature_spec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

AS_OF_VIEW = "as_of_dates"
SPARK_NOT_A_FOLDER = "tables: {path} is not a folder of <table>.parquet or <table>.csv files"
NOT_LOCAL = (
    "tables: {path} is a URI; spark_features finds tables in a local folder. For cluster "
    "storage pass a mapping of Spark DataFrames, e.g. "
    "{{'encounters': spark.read.parquet('{path}/encounters'), ...}}"
)
# Settings that change what the SQL means, pinned while it is analysed (Spark fixes them in
# the plan then): dates from timestamps in UTC as on DuckDB; a value the SQL cannot cast is
# an error, never a NULL that drops the event (Spark 3.5 defaults ANSI off). Column-name
# case is not among them: Parquet scans resolve names with the session's setting when they
# run, so a table with two columns differing only in case (sex, SEX) fails there.
TIME_ZONE = "spark.sql.session.timeZone"
PINNED = {TIME_ZONE: "UTC", "spark.sql.ansi.enabled": "true"}
UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "GMT", "Etc/GMT", "Z", "Zulu", "Etc/Zulu"}
    | {"Universal", "Etc/Universal", "+00:00", "-00:00", "GMT0", "Etc/GMT0", "Etc/GMT+0"}
)
# RFC 4180 CSV as DuckDB reads it: quotes escaped by doubling, newlines inside quotes, and
# a malformed row an error rather than a row of NULLs.
CSV_OPTIONS = {"header": "true", "escape": '"', "multiLine": "true", "mode": "FAILFAST"}


CONNECT_CONF = (
    "spark_features: on Spark Connect the session's settings apply when the query runs, "
    "not when it is planned, and these change what the SQL means: {wrong}; set them "
    "(spark.conf.set) before calling, and keep them until the result has been used"
)


@contextmanager
def _pinned(session: SparkSession) -> Iterator[None]:
    if type(session).__module__.startswith("pyspark.sql.connect"):
        # Connect plans on the server at the first action, after a pin would be undone.
        current = {k: str(session.conf.get(k)) for k in PINNED}
        wrong = {
            k: v
            for k, v in current.items()
            if not (v in UTC_NAMES if k == TIME_ZONE else v.lower() == PINNED[k])
        }
        if wrong:
            expected = ", ".join(f"{k}={PINNED[k]} (is {v})" for k, v in wrong.items())
            raise ValueError(CONNECT_CONF.format(wrong=expected))
        yield
        return
    saved = {key: session.conf.get(key, None) for key in PINNED}
    for key, value in PINNED.items():
        session.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                session.conf.unset(key)
            else:
                session.conf.set(key, value)


def _local(path: Path) -> str:
    # On the local file system whatever the cluster's default; not percent-encoded
    # (as_uri), which Hadoop would not decode: "my data" would become "my%20data".
    return f"file://{path.resolve()}"


def _read(session: SparkSession, kind: str, path: Path) -> DataFrame:
    if kind == "csv":
        # CSV stays text, as on DuckDB: the compiled SQL casts it, so ids keep their zeros.
        return session.read.options(**CSV_OPTIONS).csv(_local(path))
    if kind == "parquet":
        frame = session.read.parquet(_local(path))
    else:
        # A dataset folder: Parquet files only (Spark would read a README.txt too), with
        # partition folders (year=2024/) discovered as columns, as DuckDB's hive
        # partitioning; Spark leaves out _temporary/ and .staging/ as dataset_files does.
        frame = session.read.option("pathGlobFilter", "*.parquet").parquet(_local(path))
    from pyspark.sql import functions as F

    # Spark reads the instant and drops the zone written beside it; the date is taken in
    # UTC, so 23:00 in Los Angeles would be the next day: shift to the zone's wall time.
    for column, zone in written_zones((kind, path)).items():
        if column in frame.columns:
            frame = frame.withColumn(column, F.from_utc_timestamp(F.col(column), zone))
    return frame


def _views(session: SparkSession, tables: Mapping[str, DataFrame] | str | Path) -> dict:
    """Register the input tables as temporary views; return their columns by table."""
    if isinstance(tables, str | Path):
        if "://" in str(tables):
            raise ValueError(NOT_LOCAL.format(path=str(tables).rstrip("/")))
        folder = Path(tables)
        if not folder.is_dir():
            raise FileNotFoundError(SPARK_NOT_A_FOLDER.format(path=folder))
        frames = {t: _read(session, *found) for t, found in read_sources(folder).items()}
    else:
        _codes.check_table_names(tables)
        frames = dict(tables)
    columns = {name: set(frame.columns) for name, frame in frames.items()}
    _check_columns(columns)
    for name, frame in frames.items():
        frame.createOrReplaceTempView(name)
    return columns


def spark_features(
    session: SparkSession,
    tables: Mapping[str, DataFrame] | str | Path,
    as_of: object,
    spec: FeatureSpec | None = None,
    population: Literal["contact", "all"] = "contact",
) -> DataFrame:
    """Build the feature table on Spark: the same rows and values as :func:`build_features`.

    Parameters
    ----------
    session : pyspark.sql.SparkSession
        The session to run in. Its temporary views named after the input tables
        (``persons``, ``encounters``, ...) and ``as_of_dates`` are replaced. Its time zone
        and ANSI settings do not matter: they are pinned while the query is planned. On
        Spark Connect, which plans when the query runs, they must already be UTC and on,
        or the call is refused, and must stay so until the result has been used. Column names match regardless of case, as in Spark.
    tables : mapping of table name to Spark DataFrame, or str or Path
        The linked tables, or a local folder of ``<table>.parquet`` or ``<table>.csv``
        (with a header) files or ``<table>/`` Parquet datasets, flat or partitioned. For
        cluster storage (``s3://``, ``hdfs://``, ...) pass a mapping of DataFrames the
        session has read. Missing event tables read as empty, missing optional columns as
        NULL.
    as_of : date or sequence of dates
        As-of dates; each person's features see only events before the date.
    spec : FeatureSpec, optional
        Default: :func:`load_feature_spec`.
    population : {"contact", "all"}
        As for :func:`build_features`.

    Returns
    -------
    pyspark.sql.DataFrame
        ``person_id``, ``as_of`` (a date) and one column per feature, ordered by
        (``as_of``, ``person_id``).

    Raises
    ------
    ValueError
        No ``persons`` table, a required column missing, a bad as-of date (the messages
        of :func:`build_features`), a table stored twice, or a URI for ``tables``.
    FileNotFoundError
        ``tables`` names a folder that does not exist.
    """
    dates = as_dates(as_of)
    spec = spec or load_feature_spec()
    with _pinned(session):
        columns = _views(session, tables)
        as_of_frame = session.createDataFrame([(d,) for d in dates], "as_of DATE")
        as_of_frame.createOrReplaceTempView(AS_OF_VIEW)
        return session.sql(compile_sql(spec, columns, population=population, dialect="spark"))
