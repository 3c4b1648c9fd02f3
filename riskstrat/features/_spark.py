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

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from riskstrat.data import _codes
from riskstrat.features._compile import compile_sql
from riskstrat.features._engine import NOT_A_FOLDER, _as_dates, _check_columns, _file_for
from riskstrat.features._spec import FeatureSpec, load_feature_spec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

AS_OF_VIEW = "as_of_dates"


def _spark_path(path: Path) -> str:
    # DuckDB reads a dataset folder through a glob; Spark reads the folder itself.
    return str(path.parent if path.name == "*.parquet" else path)


def _views(session: SparkSession, tables: Mapping[str, DataFrame] | str | Path) -> dict:
    """Register the input tables as temporary views; return their columns by table."""
    if isinstance(tables, str | Path):
        folder = Path(tables)
        if not folder.is_dir():
            raise FileNotFoundError(NOT_A_FOLDER.format(path=folder))
        frames = {}
        for table in _codes.TABLE_NAMES:
            found = _file_for(folder, table)
            if found is None:
                continue
            kind, path = found
            # CSV stays text, as on DuckDB: the compiled SQL casts it, so ids keep their zeros.
            reader = session.read.option("header", "true") if kind == "csv" else session.read
            frames[table] = getattr(reader, kind)(_spark_path(path))
    else:
        frames = {name: frame for name, frame in tables.items() if name in _codes.TABLE_NAMES}
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
        (``persons``, ``encounters``, ...) and ``as_of_dates`` are replaced.
    tables : mapping of table name to Spark DataFrame, or str or Path
        The linked tables, or a folder (local or any path the session reads) of
        ``<table>.parquet`` files or datasets, or ``<table>.csv`` files with a header.
        Missing event tables read as empty, missing optional columns as NULL.
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
        No ``persons`` table, a required column missing, or a bad as-of date (the messages
        of :func:`build_features`).
    FileNotFoundError
        ``tables`` names a folder that does not exist.
    """
    dates = _as_dates(as_of)
    spec = spec or load_feature_spec()
    columns = _views(session, tables)
    session.createDataFrame([(d,) for d in dates], "as_of DATE").createOrReplaceTempView(AS_OF_VIEW)
    return session.sql(compile_sql(spec, columns, population=population, dialect="spark"))
