"""Read the linked tables from disk through DuckDB, then validate them.

A source is a folder of ``<table>.parquet`` / ``<table>.csv`` files (or ``<table>/`` Parquet
dataset folders, :mod:`riskstrat.data._files`) or a DuckDB database
file holding tables by name. DuckDB reads Parquet column-wise and CSV in parallel, and
the same path works later for the feature engine out of core.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat._os_errors import refusal_in
from riskstrat._signals import interrupted, stop
from riskstrat.data._codes import TABLE_NAMES
from riskstrat.data._conditions import Conditions
from riskstrat.data._csv_faults import (
    csv_dialect_problem,
    named_twice,
    quoting_problem,
    utf16,
    what_the_bytes_say,
)
from riskstrat.data._files import Kind, dataset_files, read_sources, written_zones
from riskstrat.data._row_places import SOURCE_FILES, SOURCE_ROOT, lines_above_header
from riskstrat.data._validate import DataContractError, LoadResult, validate_tables
from riskstrat.data._whole_tables import PARTITION_COLUMNS, check_rejected_dir

logger = logging.getLogger(__name__)

SOURCE_NOT_FOUND = "{path}: no such folder or DuckDB database file"
DATABASE_UNOPENED = "{path}: the DuckDB database could not be opened read-only: {detail}"
NOT_A_DATABASE = (
    "{path}: is a file DuckDB cannot open as a database ({detail}); expected a folder of "
    "<table>.parquet / <table>.csv files (give the folder, not one table's file), or a "
    "DuckDB database file"
)


def _utc(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    # A timestamp with a time zone that DuckDB reads (a dataset folder, a database file)
    # comes back in its session zone, the machine's by default: pinned, the day it gives
    # does not depend on where the job runs (the feature engine pins UTC too).
    con.execute("SET TimeZone = 'UTC'")
    return con


def read_relation(
    con: duckdb.DuckDBPyConnection, source: tuple[Kind, Path], *, say: bool = True
) -> duckdb.DuckDBPyRelation:
    """One table as the loader reads it: ``source`` is a ``table_sources`` entry; ``say``
    warns of title lines above a CSV's header (once: not again when rows are counted)."""
    kind, file = source
    if kind == "parquet":
        # Never a name=value folder above the file read as a column (DuckDB's default).
        return con.read_parquet(str(file), hive_partitioning=False)
    if kind == "dataset":
        # Parts written at different times may lack a column the others have: it reads
        # as empty there (a required one then fails missing_value, row by row), where
        # DuckDB's default stops at the first part without it, naming no file. Validation
        # names the parts without it (warn_parts_missing_columns).
        files = [str(f) for f in dataset_files(file)]
        return con.read_parquet(files, hive_partitioning=True, union_by_name=True)
    # All text: ids keep leading zeros, and a bad date in one row flags that row
    # (``unparseable``) instead of turning the whole column into text silently.
    relation = con.read_csv(
        str(file), header=True, sep=",", all_varchar=True, hive_partitioning=False
    )
    if say and (above := lines_above_header(file)):
        logger.warning(
            "%s: the %d line(s) above its header were skipped (a title?): the header is line "
            "%d, and the rows below it are read",
            file.name,
            above,
            above + 1,
        )
    if relation.columns == ["column0"] and (said := what_the_bytes_say(file)):
        raise duckdb.InvalidInputException(said)  # blank lines read as one unnamed column
    twice = named_twice(file)
    if twice:
        # DuckDB reads the second as <name>_1, beside a real column of that name.
        raise duckdb.InvalidInputException(
            f"the header names column {twice} more than once; expected each column once"
        )
    if relation.columns and all(len(c) > 1 and c[0] == c[-1] == '"' for c in relation.columns):
        # A quoting fault in the sampled rows made DuckDB read the file as unquoted: every
        # name kept its quotes, and the next message would be a missing column.
        raise duckdb.InvalidInputException(quoting_problem(file))
    return relation


UNREADABLE = "table {table!r}: {file} could not be read: {detail}"


def duckdb_detail(exc: duckdb.Error) -> str:
    """DuckDB's message without the record it quotes: no row, no value, no settings dump."""
    kept = []
    for line in str(exc).splitlines():
        text = line.strip()
        if text.startswith(("Possible fixes", "file =")):
            break
        if text.startswith("Possible Solution"):
            continue  # settings of DuckDB's reader (encoding=, ignore_errors=): not riskstrat's
        if text.startswith("LINE ") or set(text) <= {"^"}:
            continue  # the feature SQL and a caret under it: not the reader's concern
        if not text.startswith("Original Line"):
            # A value it could not convert ('Could not convert string "10/03/2020"'), too.
            # And a number it could not cast ("Type DOUBLE with value 4.0e+19 can't be cast",
            # "Overflow in multiplication of INT64 (4000123412341234 * 1000000)"): any
            # number of 7 digits or more, or in scientific notation, but a line number.
            text = re.sub(r"(with value )\S+", r"\1<value>", text)
            text = re.sub(r"\b\d+(?:\.\d+)?e[+-]?\d+\b", "<value>", text)
            text = re.sub(r"(?<![Ll]ine: )(?<![Ll]ine )\b\d[\d.]{6,}\b", "<value>", text)
            kept.append(re.sub(r"\"[^\"]*\"|'[^']*'", "<value>", text))
    return "; ".join(kept)


def unreadable(table: str, file: object, exc: duckdb.Error) -> DataContractError:
    """DuckDB's reading error without the row it quotes, and without its settings dump.

    DuckDB prints the offending line whole ("Original Line: <id>,<date>,..."): record
    contents, which no message or log may carry. The line number stays. A Ctrl-C inside
    the read is raised as the signal it was (exit 130, or 143 for SIGTERM), not as bad data.
    """
    if interrupted(exc):
        stop()
    if refusal := refusal_in(str(exc), file if isinstance(file, Path) else None):
        raise refusal from None  # the operator's to fix (exit 2), not bad data (exit 1)
    detail = duckdb_detail(exc)
    if isinstance(file, Path) and file.is_file() and file.stat().st_size == 0:
        detail = "the file is empty, without even a header row"
    elif isinstance(file, Path) and file.is_file() and (said := what_the_bytes_say(file)):
        detail = said
    elif isinstance(file, Path) and file.is_file() and utf16(file):
        detail = (
            "the file is UTF-16 text (as Excel's 'Unicode Text' saves it); expected UTF-8 "
            "(save the file as CSV UTF-8, or convert it with iconv -f UTF-16 -t UTF-8)"
        )
    elif "not utf-8 encoded" in detail:
        detail += "; expected UTF-8 text (save the file as CSV UTF-8, or convert it with iconv)"
    elif isinstance(file, Path) and file.suffix == ".csv" and "sniffing" in detail:
        # DuckDB's sniffer names no line: find the row that breaks the header's shape.
        detail = csv_dialect_problem(file)
    return DataContractError(
        UNREADABLE.format(table=table, file=getattr(file, "name", file), detail=detail),
        table=table,
        column=None,
        check="unreadable",
        count=0,
    )


def _read_folder(path: Path, con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    tables = {}
    for table, source in read_sources(path).items():
        try:
            tables[table] = in_written_zones(read_relation(con, source).df(), source)
        except (duckdb.Error, RuntimeError) as exc:
            if not isinstance(exc, duckdb.Error) and not interrupted(exc):
                raise
            raise unreadable(table, source[1], exc) from None
    return tables


def _open_database(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the database file ``path``, or a message saying what it is."""
    try:
        return _utc(duckdb.connect(str(path), read_only=True))
    except duckdb.Error as exc:
        with path.open("rb") as handle:
            is_duckdb = handle.read(12)[8:12] == b"DUCK"  # DuckDB's file magic
        # A DuckDB file that cannot be opened now (another process writes it, a newer
        # storage version) says why; a Parquet or CSV file given as the data says what it is.
        if not is_duckdb:
            # The wrong path given, not bad data: a usage error (exit 2) in the commands.
            raise NotADirectoryError(
                NOT_A_DATABASE.format(path=path, detail=type(exc).__name__)
            ) from None
        raise DataContractError(
            DATABASE_UNOPENED.format(path=path, detail=duckdb_detail(exc)),
            table="*",
            column=None,
            check="unreadable",
            count=0,
        ) from None


def _read_database(path: Path) -> dict[str, pd.DataFrame]:
    with _open_database(path) as con:
        present = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        return {t: con.table(t).df() for t in TABLE_NAMES if t in present}


_NULLABLE = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def _arrow_df(table: pa.Table, *, tz: bool) -> pd.DataFrame | None:
    """``relation.df()``'s dtypes for an Arrow table (strings stay Arrow-backed, no copy).

    None when a column type might convert differently from DuckDB's own ``.df()``.
    """
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_date32(kind):
            column = column.cast(pa.timestamp("us"))
        elif pa.types.is_timestamp(kind) and kind.unit != "us":
            # Nanoseconds (pandas' default) read here too, keeping their zone: DuckDB would
            # give UTC's day. Only the day is kept, so truncating below a microsecond is safe.
            kind = pa.timestamp("us", tz=kind.tz)
            column = column.cast(kind, safe=False)
        elif kind in _NULLABLE and column.null_count:
            columns[name] = column.to_pandas(types_mapper=_NULLABLE.get)
            continue
        elif not (
            kind in _NULLABLE
            or pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_floating(kind)
            or (pa.types.is_timestamp(kind) and kind.unit == "us" and (tz or kind.tz is None))
        ):
            return None
        columns[name] = column.to_pandas()
    return pd.DataFrame(columns, copy=False)


def in_written_zones(df: pd.DataFrame, source: tuple[Kind, Path]) -> pd.DataFrame:
    """``df`` read by DuckDB (in UTC) with each zoned timestamp back in the zone written.

    A dataset's 23:00 in Los Angeles is then that day, as in a single file read by
    pyarrow, not the next day in UTC.
    """
    for column, zone in written_zones(source).items():
        if column in df.columns and isinstance(df[column].dtype, pd.DatetimeTZDtype):
            df[column] = df[column].dt.tz_convert(zone)
    return df


def _fast_df(relation: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    df = _arrow_df(relation.to_arrow_table(), tz=True)
    return relation.df() if df is None else df


class _LazyTables(Mapping[str, pd.DataFrame]):
    """The tables at a source, each read when asked for and not kept.

    Validation takes one table at a time, so only one raw table is in memory at once.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        if path.is_dir():
            self._files = read_sources(path)
            self._names = list(self._files)
        else:
            with _open_database(path) as con:
                present = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
            self._names = [t for t in TABLE_NAMES if t in present]

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in self._names:
            raise KeyError(table)
        if not self._path.is_dir():
            with _open_database(self._path) as con:
                return _fast_df(con.table(table))
        try:
            df = self._read_file(table)
        except (duckdb.Error, RuntimeError) as exc:
            if not isinstance(exc, duckdb.Error) and not interrupted(exc):
                raise
            raise unreadable(table, self._files[table][1], exc) from None
        kind, file = self._files[table]
        if kind == "dataset":
            # DuckDB reads the parts in the order given, so rows run file after file.
            parts = [(f, pq.ParquetFile(f).metadata.num_rows) for f in dataset_files(file)]
            # Hive partition keys (year=2024/) become columns: the layout's, not the extract's.
            df.attrs[PARTITION_COLUMNS] = sorted(
                {
                    p.split("=", 1)[0]
                    for f, _n in parts
                    for p in f.relative_to(file).parts
                    if "=" in p
                }
            )
        else:
            parts = [(file, len(df))]
        df.attrs[SOURCE_FILES] = [(f.relative_to(self._path).as_posix(), n) for f, n in parts]
        df.attrs[SOURCE_ROOT] = str(self._path)
        return df

    def _read_file(self, table: str) -> pd.DataFrame:
        kind, file = self._files[table]
        if kind == "parquet":
            # pyarrow reads Parquet into its own pool, which gives memory back between
            # tables; DuckDB still reads the files with types pyarrow maps differently.
            # Timestamps keep their zone (DuckDB would give its session's), so that a date
            # is the one written there.
            try:
                df = _arrow_df(pq.read_table(file), tz=True)
            except pa.ArrowException:
                df = None  # DuckDB reads it, or raises its usual error
            if df is not None:
                return df
        with _utc(duckdb.connect()) as con:
            df = _fast_df(read_relation(con, self._files[table]))
        return in_written_zones(df, self._files[table])

    def __contains__(self, table: object) -> bool:
        return table in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def read_tables(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read the contract tables found at ``path`` (not validated; dtypes as stored).

    Parameters
    ----------
    path : str or Path
        A folder of ``<table>.parquet`` or ``<table>.csv`` files or ``<table>/`` Parquet
        datasets, or a DuckDB database file.

    Returns
    -------
    dict of str to DataFrame
        The tables found, keyed by name (other files and tables are ignored).
    """
    path = Path(path)
    if path.is_dir():
        with _utc(duckdb.connect()) as con:
            return _read_folder(path, con)
    if path.is_file():
        return _read_database(path)
    raise FileNotFoundError(SOURCE_NOT_FOUND.format(path=path))


def load_tables(
    path: str | Path | Mapping[str, pd.DataFrame],
    mode: Literal["strict", "quarantine"] = "strict",
    reference_date: dt.date | str | None = None,
    rejected_dir: str | Path | None = None,
    *,
    required: Sequence[str] = TABLE_NAMES,
    extra_instruments: Mapping[str, tuple[float, float]] | None = None,
    conditions: Conditions | None = None,
    as_of: dt.date | str | None = None,
) -> LoadResult:
    """Read and validate the linked tables at ``path``.

    Parameters
    ----------
    path : str, Path or mapping of str to DataFrame
        A folder of ``<table>.parquet`` / ``<table>.csv`` files or ``<table>/`` Parquet
        datasets, a DuckDB database file,
        or tables already in memory (then this is :func:`validate_tables`).
    mode : {"strict", "quarantine"}
        ``strict`` raises :class:`DataContractError` at the first violation; ``quarantine``
        sets bad rows aside with their reasons and returns the others.
    reference_date : date or str, optional
        Dates after it are rejected as in the future (default: today, UTC).
    rejected_dir : str or Path, optional
        Quarantined rows go to ``<rejected_dir>/<table>.parquet`` (written atomically).
    required : sequence of str
        Tables that must be present (default: all eight).
    extra_instruments : mapping, optional
        Assessment instruments a county adds, with their (min, max) score range.
    conditions : Conditions, optional
        Condition groups used to derive ``diagnoses.condition`` from ``icd10``.
    as_of : date or str, optional
        The date the tables will be read as of, if one: bookings and probation starts that
        nothing closes are warned of as the features read them then.

    Returns
    -------
    LoadResult
        ``tables`` (dtypes normalised, accepted rows only) and ``report``.

    Examples
    --------
    >>> tables, report = load_tables("data/county", mode="quarantine",
    ...                              rejected_dir="data/rejected")  # doctest: +SKIP
    """
    in_memory = isinstance(path, Mapping)
    if not in_memory:
        path = Path(path)
        if not (path.is_dir() or path.is_file()):
            raise FileNotFoundError(SOURCE_NOT_FOUND.format(path=path))
    if rejected_dir is not None and mode != "quarantine":
        from riskstrat._config import config_error

        # Strict mode sets no row aside: the folder would stay empty, unsaid.
        raise config_error("rejected_dir", "needs mode='quarantine'; strict mode sets no row aside")
    # Before anything is read: the rows set aside must never land on the input tables.
    check_rejected_dir(rejected_dir, None if in_memory else path)
    return validate_tables(
        path if in_memory else _LazyTables(path),
        mode=mode,
        reference_date=reference_date,
        rejected_dir=rejected_dir,
        required=required,
        extra_instruments=extra_instruments,
        conditions=conditions,
        source="the input" if in_memory else str(path),
        as_of=as_of,
    )
