"""Numeric event arrays -> the contract's pandas tables, and deterministic Parquet files.

Strings are built once per table through Arrow dictionary arrays (a small vocabulary indexed
by integer codes), so a million-person county never loops over rows in Python.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat.data._codes import TABLE_COLUMNS
from riskstrat.synth._sampling import NULL_DAY, row_order

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Writer options fixed so that the same county always gives the same bytes.
_PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 1,
    "write_statistics": True,
    "row_group_size": 1 << 20,
    "data_page_version": "1.0",
}


def drop_duplicates(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Sort rows by every column (in dict order) and drop exact duplicates.

    Two same-day events of one kind (two fills of a drug, two identical codes) would be
    exact duplicate rows, which the data contract rejects.
    """
    n = len(next(iter(cols.values())))
    if n < 2:
        return cols
    order = row_order(list(cols.values()))
    cols = {key: values[order] for key, values in cols.items()}
    dup = np.ones(n - 1, dtype=bool)
    for values in cols.values():
        dup &= values[1:] == values[:-1]
    keep = np.concatenate([[True], ~dup])
    return {key: values[keep] for key, values in cols.items()}


def separate_twins(
    cols: dict[str, np.ndarray], key: str, step: float = 0.01
) -> dict[str, np.ndarray]:
    """Make exact twin rows distinguishable by ``step`` in column ``key``, keeping row order.

    Two same-day encounters of one kind at one provider can draw the same rounded paid
    amount; a real claims system would tell them apart by claim number, which the contract
    has no column for, so the contract rejects them as duplicates. Each later twin is
    raised by a cent (``step``), which keeps every event (the oracle counts them) and moves
    the expected cost by less than a cent per twin.
    """
    n = len(cols[key])
    while n > 1:
        order = row_order(list(cols.values()))
        twin = np.ones(n - 1, dtype=bool)
        for values in cols.values():
            twin &= values[order][1:] == values[order][:-1]
        if not twin.any():
            break
        is_twin = np.concatenate([[False], twin])
        idx = np.arange(n)
        run_start = np.maximum.accumulate(np.where(is_twin, 0, idx))
        bump = np.empty(n, dtype=np.float64)
        bump[order] = (idx - run_start) * step
        cols = {**cols, key: np.round(cols[key] + bump, 2)}
    return cols


def person_ids(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` unique pseudonymous ids (12 lower-case hex characters), sorted."""
    ids = np.unique(rng.integers(0, 1 << 48, size=n + n // 100 + 16, dtype=np.int64))
    while len(ids) < n:  # vanishingly rare: top up the collisions
        ids = np.unique(np.concatenate([ids, rng.integers(0, 1 << 48, n, dtype=np.int64)]))
    ids = np.sort(rng.choice(ids, size=n, replace=False))
    digits = (ids[:, None] >> (4 * np.arange(11, -1, -1))) & 0xF
    chars = _HEX[digits].astype(np.uint8).reshape(-1)
    offsets = np.arange(0, 12 * (n + 1), 12, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))


def strings(codes: np.ndarray, vocabulary: list[str] | tuple[str, ...]) -> pd.Series:
    """Codes -> a pandas ``str`` Series through an Arrow dictionary (nulls where code < 0)."""
    mask = codes < 0
    indices = pa.array(np.where(mask, 0, codes).astype(np.int32), mask=mask)
    arr = pa.DictionaryArray.from_arrays(indices, pa.array(list(vocabulary))).cast(pa.string())
    return pd.Series(pd.array(arr, dtype="str"))


def ids(person: np.ndarray, all_ids: pa.Array) -> pd.Series:
    """The ``person_id`` column for person indices."""
    return pd.Series(pd.array(all_ids.take(pa.array(person)), dtype="str"))


def dates(days: np.ndarray) -> pd.Series:
    """Days since 1970-01-01 -> ``datetime64[us]`` at midnight (NaT where ``NULL_DAY``)."""
    out = days.astype("int64").astype("datetime64[D]").astype("datetime64[us]")
    out[days == NULL_DAY] = np.datetime64("NaT")
    return pd.Series(out)


def frame(table: str, columns: dict[str, pd.Series | np.ndarray]) -> pd.DataFrame:
    """A DataFrame with the contract's column order for ``table``."""
    order = [name for name, _kind, _req in TABLE_COLUMNS[table] if name in columns]
    return pd.DataFrame({name: columns[name] for name in order})


def _arrow(df: pd.DataFrame, date_columns: set[str]) -> pa.Table:
    arrays = []
    for name in df.columns:
        arr = pa.array(df[name])  # zero-copy for the Arrow-backed string columns
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if name in date_columns:
            arr = arr.cast(pa.date32())
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=list(df.columns))


def write_parquet(
    df: pd.DataFrame,
    path: Path,
    date_columns: set[str],
    metadata: dict[str, str] | None = None,
) -> None:
    """Write ``df`` with fixed options; date columns as Parquet DATE.

    Parameters
    ----------
    df : DataFrame
        The table to write.
    path : Path
        Parquet file, replaced atomically; its folder is created if missing.
    date_columns : set of str
        Columns written as Parquet DATE.
    metadata : dict of str to str, optional
        Key-value metadata of the file's schema (fixed values keep the bytes stable).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    table = _arrow(df, date_columns)
    if metadata:
        table = table.replace_schema_metadata(metadata)
    # Dictionary pages pay off for codes, ids and dates, not for amounts or probabilities.
    dictionary = [
        f.name
        for f in table.schema
        if pa.types.is_large_string(f.type)
        or pa.types.is_string(f.type)
        or pa.types.is_date(f.type)
    ]
    pq.write_table(table, tmp, use_dictionary=dictionary, **_PARQUET_OPTIONS)
    tmp.replace(path)


def write_json(data: dict, path: Path) -> None:
    """Write JSON with sorted keys and a trailing newline (byte-stable)."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
