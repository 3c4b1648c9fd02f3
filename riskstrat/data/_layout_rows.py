"""Rows that hold no record: a header repeated where files were joined, a row of empty cells.

Read as data, a repeated header fails as an unparseable date and a spreadsheet's row of
commas as a missing ``person_id``: true, but the fix (cut the second header out, delete the
blank rows) is not what those checks say. Both are found in the table as read, before any
value is converted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskstrat.data._checks import EMPTY_ROW, REPEATED_HEADER
from riskstrat.data._codes import TABLE_COLUMNS


def _as_name(s: pd.Series) -> pd.Series:
    # How a header cell is compared with a column name: text, without case, spaces or quotes.
    return s.astype("str").str.strip().str.strip("\"'").str.strip().str.lower()


def repeated_headers(table: str, raw: pd.DataFrame) -> np.ndarray:
    """Rows that are the table's header again: most cells name one of its columns.

    Two joined exports put the second one's header among the rows, with its columns in its
    own order and case; a real record never holds a column's name in ``person_id`` and
    another in most of its other cells. Rows are taken by position: a frame given to
    ``validate_tables`` may repeat index labels.
    """
    out = np.zeros(len(raw), dtype=bool)
    if "person_id" not in raw.columns or not len(raw) or not _text(raw["person_id"]):
        return out
    names = {str(c).strip().lower() for c in raw.columns} | {
        c for c, _k, _r in TABLE_COLUMNS[table]
    }
    try:
        ids = pa.array(raw["person_id"], from_pandas=True, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return out  # numbers among the ids: no header was read into this column
    # Only rows whose id is a column's name, in any case, are compared cell by cell: one
    # pass in Arrow over a million ids, not a string operation on each of their columns.
    lowered = pc.utf8_trim_whitespace(pc.utf8_lower(ids))
    candidates = pc.is_in(lowered, value_set=pa.array(sorted(names))).to_numpy(zero_copy_only=False)
    if not candidates.any():
        return out
    at = candidates.nonzero()[0]
    rows = raw.iloc[at]
    named = pd.concat([_as_name(rows[c]).isin(names) for c in rows.columns], axis=1).sum(axis=1)
    filled = rows.notna().sum(axis=1)
    out[at] = ((named >= 2) & (named * 2 > filled)).to_numpy(dtype=bool)
    return out


def empty_rows(raw: pd.DataFrame, no_id: pd.Series) -> np.ndarray:
    """Rows with nothing in any cell: a spreadsheet saved with its blank rows (``,,,,``).

    ``no_id`` marks, row for row, the rows whose ``person_id`` is missing once read (blank,
    or a spelling of null): only those can be empty, and only they are looked at cell by
    cell. Rows are taken by position, as in :func:`repeated_headers`.
    """
    out = np.zeros(len(raw), dtype=bool)
    at = no_id.to_numpy(dtype=bool).nonzero()[0]
    if not len(at):
        return out
    rows = raw.iloc[at]
    blank = pd.concat([rows[c].isna() | _blank(rows[c]) for c in rows.columns], axis=1)
    out[at] = blank.all(axis=1).to_numpy(dtype=bool)
    return out


def _text(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s)


def _blank(s: pd.Series) -> pd.Series:
    if not _text(s):
        return pd.Series(False, index=s.index)
    return s.astype("str").str.strip().eq("") & s.notna()


def layout_rows(table: str, raw: pd.DataFrame, person_ids: pd.Series) -> dict[str, pd.Series]:
    """Per check, the rows of ``raw`` that hold no record, numbered from 0 as normalised.

    ``person_ids`` is the column as normalised, row for row.
    """
    found = {
        REPEATED_HEADER: repeated_headers(table, raw),
        EMPTY_ROW: empty_rows(raw, person_ids.isna()),
    }
    return {
        name: pd.Series(mask, index=pd.RangeIndex(len(raw)))
        for name, mask in found.items()
        if mask.any()
    }
