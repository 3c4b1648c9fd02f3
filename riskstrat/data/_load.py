"""Read the linked tables from disk through DuckDB, then validate them.

A source is a folder of ``<table>.parquet`` / ``<table>.csv`` files or a DuckDB database
file holding tables by name. DuckDB reads Parquet column-wise and CSV in parallel, and
the same path works later for the feature engine out of core.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import duckdb
import pandas as pd

from riskstrat.data._codes import TABLE_NAMES
from riskstrat.data._conditions import Conditions
from riskstrat.data._validate import LoadResult, validate_tables

SOURCE_NOT_FOUND = "{path}: no such folder or DuckDB database file"
AMBIGUOUS_FILES = "{path}: both {table}.parquet and {table}.csv exist; keep one"


def _read_folder(path: Path, con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    tables = {}
    for table in TABLE_NAMES:
        parquet, csv = path / f"{table}.parquet", path / f"{table}.csv"
        if parquet.is_file() and csv.is_file():
            raise ValueError(AMBIGUOUS_FILES.format(path=path, table=table))
        if parquet.is_file():
            tables[table] = con.read_parquet(str(parquet)).df()
        elif csv.is_file():
            # All text: ids keep leading zeros, and a bad date in one row flags that row
            # (``unparseable``) instead of turning the whole column into text silently.
            tables[table] = con.read_csv(str(csv), header=True, sep=",", all_varchar=True).df()
    return tables


def _read_database(path: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(path), read_only=True) as con:
        present = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        return {t: con.table(t).df() for t in TABLE_NAMES if t in present}


def read_tables(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read the contract tables found at ``path`` (not validated; dtypes as stored).

    Parameters
    ----------
    path : str or Path
        A folder of ``<table>.parquet`` or ``<table>.csv`` files, or a DuckDB database file.

    Returns
    -------
    dict of str to DataFrame
        The tables found, keyed by name (other files and tables are ignored).
    """
    path = Path(path)
    if path.is_dir():
        with duckdb.connect() as con:
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
) -> LoadResult:
    """Read and validate the linked tables at ``path``.

    Parameters
    ----------
    path : str, Path or mapping of str to DataFrame
        A folder of ``<table>.parquet`` / ``<table>.csv`` files, a DuckDB database file,
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
    return validate_tables(
        path if in_memory else read_tables(path),
        mode=mode,
        reference_date=reference_date,
        rejected_dir=rejected_dir,
        required=required,
        extra_instruments=extra_instruments,
        conditions=conditions,
        source="the input" if in_memory else str(path),
    )
