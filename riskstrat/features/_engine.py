"""Run the compiled feature SQL on DuckDB over in-memory frames or a folder of files.

In-memory frames are registered (zero copy); a folder is read by DuckDB directly
(``<dir>/<table>.parquet`` or ``<dir>/<table>.csv``), out of core, so a large county never
has to fit in pandas. Each as-of date runs as its own query on one connection; results
come back as Arrow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd
import pyarrow as pa

from riskstrat._atomic import scratch_folder
from riskstrat._dates import as_dates
from riskstrat._os_errors import refusal_in
from riskstrat._signals import interrupted, stop
from riskstrat.data import _codes
from riskstrat.data._absent import warn_absent
from riskstrat.data._files import Kind, dataset_files, read_sources, wall_time_sql, written_zones
from riskstrat.data._load import duckdb_detail
from riskstrat.features._compile import compile_sql
from riskstrat.features._settings import check_engine_settings
from riskstrat.features._spec import FeatureSpec, load_feature_spec, tables_read

Tables = Mapping[str, pd.DataFrame] | str | Path

logger = logging.getLogger(__name__)

NO_PERSONS = "tables: table 'persons' is required (give a 'persons' frame or persons.parquet/.csv)"
MISSING_COLUMN = "table {table!r}: required column {column!r} is missing; it has {present}"
NO_DIAGNOSIS_CODE = "table 'diagnoses': needs column 'icd10' or 'condition'; it has {present}"
NOT_A_FOLDER = (
    "tables: {path} is neither a folder of <table>.parquet or <table>.csv files nor a DuckDB "
    "database file"
)
OUT_OF_MEMORY = (
    "features: DuckDB ran out of its %s memory limit; running again in %d batches of persons "
    "(same result, a little slower; raise memory_limit, --memory-limit, to avoid it)"
)
# Each input table is registered under this prefix; its contract name is a view of it,
# all of it or one batch of persons (_select_batch).
SOURCE = "src_"
RETRY_BATCHES = (4, 16)
NOT_A_SPEC = (
    "spec: expected the FeatureSpec load_feature_spec returns (or a path or mapping it "
    "reads), got a {kind}"
)
PAST_THE_DATA = (
    "as_of %s is %d days after the data's last recorded event (%s): features that count "
    "events read those days as none, and look lower than they are; expected an as-of date "
    "at most %d days after the data ends (riskstrat score refuses one later)"
)
BEFORE_THE_DATA = (
    "as_of %s is on or before the data's first recorded event (%s): nobody has a history "
    "yet, so every count reads 0 (and no one is in the contact population); expected an "
    "as-of date after the data begins"
)

DEFAULT_THREADS = 2
DEFAULT_MEMORY_LIMIT = "6GB"
UNREADABLE_TABLES = (
    "tables: DuckDB could not read them (not validated; riskstrat validate names the row): {detail}"
)


STILL_OUT_OF_MEMORY = (
    "memory_limit: building features, DuckDB ran out of its {limit} memory limit even in "
    "{batches} batch(es) of persons; expected a larger limit (--memory-limit of `riskstrat "
    "features`, `eligibility`, `train` and `score`)"
)


def _connect(threads: int, memory_limit: str, temp_dir: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {int(threads)}")
    limit = memory_limit.replace("'", "''")
    con.execute(f"SET memory_limit = '{limit}'")
    # Spill to a private folder (removed afterwards) rather than the working directory.
    con.execute(f"SET temp_directory = '{temp_dir}'")
    con.execute("SET preserve_insertion_order = false")
    # A timestamp with a time zone becomes a date in UTC, wherever the job runs (DuckDB
    # would use the machine's zone; spark_features pins Spark's to UTC the same way).
    con.execute("SET TimeZone = 'UTC'")
    return con


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _register(con: duckdb.DuckDBPyConnection, tables: Tables) -> dict[str, set[str]]:
    """Expose the input tables to ``con`` under their contract names; return their columns."""
    if isinstance(tables, str | Path) and Path(tables).is_file():
        # A DuckDB database file, as the loader reads it: its tables by contract name.
        con.execute(f"ATTACH {_quoted(Path(tables))} AS source (READ_ONLY)")
        stored = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_catalog = 'source' AND table_schema = 'main'"
            ).fetchall()
        }
        for table in _codes.TABLE_NAMES:
            if table in stored:
                con.execute(f"CREATE VIEW {SOURCE}{table} AS SELECT * FROM source.main.{table}")
    elif isinstance(tables, str | Path):
        folder = Path(tables)
        if not folder.is_dir():
            raise FileNotFoundError(NOT_A_FOLDER.format(path=folder))
        for table, (kind, path) in read_sources(folder).items():
            # CSV is read as text and cast by the compiled SQL, so ids stay strings.
            if kind == "dataset":
                files = ", ".join(_quoted(f) for f in dataset_files(path))
                # As the loader reads it: a part without a column reads it as empty.
                reader = f"read_parquet([{files}], hive_partitioning = true, union_by_name = true)"
            elif kind == "parquet":
                # DuckDB would otherwise read a name=value folder above the file (a county
                # kept under dx_group=x/, say) as a column, overwriting the file's own.
                reader = f"read_parquet({_quoted(path)}, hive_partitioning = false)"
            else:
                reader = (
                    f"read_csv({_quoted(path)}, header = true, all_varchar = true, "
                    "hive_partitioning = false)"
                )
            con.execute(
                f"CREATE VIEW {SOURCE}{table} AS SELECT {_wall_times(kind, path)} FROM {reader}"
            )
    else:
        _codes.check_table_names(tables)
        for table, frame in tables.items():
            con.register(f"{SOURCE}{table}", _local_days(frame))
    names = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_catalog <> 'source'"
        ).fetchall()
    }
    present = {
        table: {r[0] for r in con.execute(f"DESCRIBE {SOURCE}{table}").fetchall()}
        for table in _codes.TABLE_NAMES
        if f"{SOURCE}{table}" in names
    }
    _check_columns(present)
    return present


def _wall_times(kind: Kind, path: Path) -> str:
    """The select list of a Parquet table: zoned timestamps at their written zone's wall time.

    As the loader and tables in memory read them: the day an event happened where it
    happened, not UTC's (DuckDB's session zone here).
    """
    zones = written_zones((kind, path))
    if not zones:
        return "*"
    replaced = ", ".join(f"{wall_time_sql(c, z)} AS {_identifier(c)}" for c, z in zones.items())
    return f"* REPLACE ({replaced})"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _local_days(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each zoned timestamp column at its own zone's wall time.

    Registered as they are, DuckDB would take UTC's day (08:00 in Tokyo on 1 July is
    30 June), where validation and :func:`riskstrat.outcomes.build_outcomes` take the
    zone's own: one event would fall on two days, in history and in the label window.
    """
    zoned = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if not zoned:
        return frame
    return frame.assign(**{c: frame[c].dt.tz_localize(None) for c in zoned})


def _select_batch(
    con: duckdb.DuckDBPyConnection, tables: Iterable[str], batch: int, batches: int
) -> None:
    """Point each table's name at its rows of persons in ``batch`` of ``batches``.

    Every feature is computed per person, so persons can be split into batches by a hash
    of their id and the batches run one after another, each needing a fraction of the
    memory. The id is hashed as text, as the feature SQL joins it: tables may store it
    as integers in one file and text in another, and ``hash(5)`` is not ``hash('5')``.
    Rows without an id all hash alike (DuckDB's hash of NULL is a constant), so they stay
    together in one batch, as in a single run.
    """
    for table in tables:
        key = "hash(CAST(person_id AS VARCHAR))"
        where = "" if batches == 1 else f" WHERE {key} % {batches} = {batch}"
        con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM {SOURCE}{table}{where}")


def _check_columns(present: dict[str, set[str]]) -> None:
    if "persons" not in present:
        raise ValueError(NO_PERSONS)
    for table, cols in present.items():
        for name, _kind, required in _codes.TABLE_COLUMNS[table]:
            if required and name not in cols:
                raise ValueError(
                    MISSING_COLUMN.format(table=table, column=name, present=sorted(cols))
                )
    diag = present.get("diagnoses")
    if diag is not None and not ({"icd10", "condition"} & diag):
        raise ValueError(NO_DIAGNOSIS_CODE.format(present=sorted(diag)))


def _run_batched(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    tables: list[str],
    batches: int | None,
    memory_limit: str,
) -> tuple[pa.Table, int]:
    """One date's result; in person batches when asked, or when DuckDB runs out of memory.

    Some operators of the feature SQL cannot spill, and at a million persons a 2 GB limit
    was enough on some runs and not on others. Rather than fail a quarterly run, the
    query is retried in 4, then 16 batches of persons; the result is the same table.
    Returns the table and the number of batches that gave it.
    """
    plan = [batches] if batches is not None else [1, *RETRY_BATCHES]
    for attempt, n in enumerate(plan):
        try:
            pieces = []
            for batch in range(n):
                _select_batch(con, tables, batch, n)
                pieces.append(con.sql(sql).to_arrow_table())
            table = pa.concat_tables(pieces)
            # Batches split persons by hash: put them back in person order, as one run.
            return (table if n == 1 else table.sort_by([("person_id", "ascending")])), n
        except duckdb.OutOfMemoryException:
            if attempt == len(plan) - 1:
                raise MemoryError(
                    STILL_OUT_OF_MEMORY.format(limit=memory_limit, batches=n)
                ) from None
            logger.warning(OUT_OF_MEMORY, memory_limit, plan[attempt + 1])
        finally:
            _select_batch(con, tables, 0, 1)
    raise AssertionError("unreachable")  # the loop returns or raises


def run_sql(
    tables: Tables,
    as_of: object,
    build_sql: Callable[[dict[str, set[str]]], str],
    threads: int = DEFAULT_THREADS,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    batches: int | None = None,
) -> pd.DataFrame:
    """Register ``tables``, run ``build_sql(columns)`` for each as-of date, return pandas.

    The SQL handles any number of dates, but on DuckDB one date at a time is faster and
    lighter: at 200k persons x 8 quarters a single pass took 49 CPU-seconds against 36 for
    eight passes, its hash tables (person x date) outgrowing the cache, and its memory
    growing with the number of dates. The tables are registered (or opened) only once.
    ``batches`` splits persons as :func:`build_features` describes.
    """
    dates = as_dates(as_of)
    check_engine_settings(threads, memory_limit, batches)
    parts = []
    with scratch_folder("riskstrat-duckdb-") as temp_dir:
        con = _connect(threads, memory_limit, str(temp_dir))
        try:
            columns = _register(con, tables)
            sql = build_sql(columns)
            for date in dates:
                con.register("as_of_dates", pd.DataFrame({"as_of": [pd.Timestamp(date)]}))
                part, used = _run_batched(con, sql, list(columns), batches, memory_limit)
                parts.append(part)
                if used > 1:
                    batches = used  # the next dates need as many; no failed run each
                con.unregister("as_of_dates")
        except duckdb.OutOfMemoryException:
            raise MemoryError(STILL_OUT_OF_MEMORY.format(limit=memory_limit, batches=1)) from None
        except (duckdb.InterruptException, RuntimeError) as exc:
            # Ctrl-C or SIGTERM inside a query comes back as DuckDB's error, which would
            # read as bad data (exit 1); it is the signal (exit 130 or 143), as in loading.
            if interrupted(exc):
                stop()
            raise
        except duckdb.Error as exc:
            # An input it may not read, or a spill folder out of room, is the operator's.
            if refusal := refusal_in(str(exc), spill=str(temp_dir)):
                raise refusal from None
            # DuckDB quotes the line or value it could not read: record contents.
            raise ValueError(UNREADABLE_TABLES.format(detail=duckdb_detail(exc))) from None
        finally:
            con.close()
    # Dates ascend and each part is sorted by person: the result is sorted by both.
    frame = pa.concat_tables(parts).to_pandas()
    frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[us]")
    return frame


def build_features(
    tables: Tables,
    as_of: object,
    spec: FeatureSpec | str | Path | Mapping | None = None,
    population: Literal["contact", "all"] = "contact",
    threads: int = DEFAULT_THREADS,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    batches: int | None = None,
    *,
    validate: bool = True,
) -> pd.DataFrame:
    """Build the feature table for one or several as-of dates (point in time).

    Parameters
    ----------
    tables : dict of DataFrame, or str or Path
        The linked tables keyed by name, or a folder of ``<table>.parquet`` /
        ``<table>.csv`` files (or a DuckDB database). Missing event tables read as
        empty; ``persons`` is required.
    as_of : date-like or sequence of date-like
        Features see only events strictly before each date.
    spec : FeatureSpec, path or mapping, optional
        The spec, or what :func:`load_feature_spec` reads; default ``configs/features.yaml``.
    population : {"contact", "all"}
        ``contact``: persons with any event in the lookback (default 1095 days) before
        as_of; ``all``: everyone in ``persons``. Both keep only persons born before and
        alive on as_of.
    threads, memory_limit : int, str
        DuckDB settings; DuckDB spills to a temporary folder past the limit.
    batches : int, optional
        Run the persons in this many batches (by a hash of ``person_id``), each with a
        fraction of the memory. Default: all at once, and in 4, then 16 batches if DuckDB
        runs out of memory (logged). The result is the same table either way.
    validate : bool
        Hold the tables to the data contract, bad rows set aside and counted (default): a
        folder is read as :func:`riskstrat.data.load_checked` reads it; tables in memory
        that did not come from :func:`riskstrat.data.load_tables` (or were changed since:
        a new frame) are validated here. False reads a folder's files as stored, by
        DuckDB out of core, for data too large for memory that ``riskstrat validate`` has
        already passed, and takes tables in memory as given: a stray date or an
        upper-case code there is counted as it is.

    Returns
    -------
    DataFrame
        ``person_id``, ``as_of`` (datetime64), one column per feature; sorted by
        (``as_of``, ``person_id``). Counts are 0, days-since features ``NEVER_DAYS`` and
        flags False when nothing happened; latest values (``mcas_latest``) are null.
    """
    if spec is None or isinstance(spec, str | Path | Mapping):
        spec = load_feature_spec(spec)
    elif not isinstance(spec, FeatureSpec):
        raise TypeError(NOT_A_SPEC.format(kind=type(spec).__name__))
    # A bad date or setting is the caller's slip: said before the data is read.
    dates = as_dates(as_of)
    check_engine_settings(threads, memory_limit, batches)
    if validate:
        from riskstrat.data._checked import checked_tables

        tables = checked_tables(tables, required=("persons",), as_of=dates[-1])[0]
    if isinstance(tables, Mapping):
        _warn_past_the_data(tables, dates)

    def sql(columns: dict[str, set[str]]) -> str:
        warn_absent(columns, tables_read(spec), "features")
        return compile_sql(spec, columns, population=population)

    return run_sql(tables, as_of, sql, threads=threads, memory_limit=memory_limit, batches=batches)


def _warn_past_the_data(tables: Mapping[str, pd.DataFrame], dates: list) -> None:
    """Log each as-of date more than a quarter after the latest event of any table."""
    from riskstrat.data._coverage import STALE_DAYS, occurrence_columns

    latest, earliest = [], []
    for table, frame in tables.items():
        for column in occurrence_columns(table):
            if isinstance(frame, pd.DataFrame) and column in frame.columns:
                days = pd.to_datetime(frame[column], errors="coerce", utc=False)
                for found, day in ((latest, days.max()), (earliest, days.min())):
                    if pd.notna(day):
                        # A zoned column's day on its own clock; naive and zoned then compare.
                        found.append(pd.Timestamp(day).tz_localize(None) if day.tzinfo else day)
    if not latest:
        return
    first, last = pd.Timestamp(min(earliest)).normalize(), pd.Timestamp(max(latest)).normalize()
    for date in dates:
        days = (pd.Timestamp(date) - last).days
        if days > STALE_DAYS:
            logger.warning(PAST_THE_DATA, date, days, last.date(), STALE_DAYS)
        elif pd.Timestamp(date) <= first:
            logger.warning(BEFORE_THE_DATA, date, first.date())


def population(
    tables: Tables,
    as_of: object,
    lookback_days: int = 1095,
    threads: int = DEFAULT_THREADS,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> pd.DataFrame:
    """Persons with any contact in ``[as_of - lookback_days, as_of)``, alive on as_of.

    Contact is any event of any table dated in the window, or an interval (stay, spell,
    supply, enrolment) still running in it; an encounter in a visit setting is an event of
    the day it started. A person must be born before as_of; a death before as_of
    excludes (one on as_of is an event of that day, unseen).

    Parameters
    ----------
    tables : dict of DataFrame, or str or Path
    as_of : date-like or sequence of date-like
    lookback_days : int

    Returns
    -------
    DataFrame
        ``person_id``, ``as_of`` sorted by (``as_of``, ``person_id``).
    """
    spec = FeatureSpec(definitions=(), population_lookback_days=int(lookback_days))

    def sql(columns: dict[str, set[str]]) -> str:
        return compile_sql(spec, columns, population="contact")

    return run_sql(tables, as_of, sql, threads=threads, memory_limit=memory_limit)
