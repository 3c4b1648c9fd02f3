"""Rows that hold no record: a header repeated where files were joined, a row of empty cells.

Read as data, a repeated header fails as an unparseable date and a spreadsheet's row of
commas as a missing ``person_id``: true, but the fix (cut the second header out, delete the
blank rows) is not what those checks say. Both are found in the table as read, before any
value is converted.
"""

from __future__ import annotations

import pandas as pd

from riskstrat.data._checks import EMPTY_ROW, REPEATED_HEADER
from riskstrat.data._codes import TABLE_COLUMNS


def _as_name(s: pd.Series) -> pd.Series:
    # How a header cell is compared with a column name: text, without case, spaces or quotes.
    return s.astype("str").str.strip().str.strip("\"'").str.strip().str.lower()


def repeated_headers(table: str, raw: pd.DataFrame) -> pd.Series:
    """Rows that are the table's header again: most cells name one of its columns.

    Two joined exports put the second one's header among the rows, with its columns in its
    own order; a real record never holds a column's name in ``person_id`` and another in
    most of its other cells.
    """
    out = pd.Series(False, index=raw.index)
    if "person_id" not in raw.columns or not len(raw):
        return out
    names = {str(c).strip().lower() for c in raw.columns} | {
        c for c, _k, _r in TABLE_COLUMNS[table]
    }
    ids = raw["person_id"]
    # Only rows whose id could be a column's name are compared cell by cell: one lookup on a
    # million rows, not a string operation on each of their columns.
    spellings = {variant for n in names for variant in (n, n.upper(), n.title())}
    if not _text(ids):
        return out
    candidates = ids.isin(spellings)
    if not bool(candidates.any()):
        return out
    rows = raw.loc[candidates]
    named = pd.concat([_as_name(rows[c]).isin(names) for c in rows.columns], axis=1)
    filled = rows.notna().sum(axis=1)
    out.loc[rows.index] = (named.sum(axis=1) >= 2) & (named.sum(axis=1) * 2 > filled)
    return out


def empty_rows(raw: pd.DataFrame, no_id: pd.Series) -> pd.Series:
    """Rows with nothing in any cell: a spreadsheet saved with its blank rows (``,,,,``).

    ``no_id`` marks the rows whose ``person_id`` is missing once read (blank, or a spelling
    of null): only those can be empty, and only they are looked at cell by cell.
    """
    out = pd.Series(False, index=raw.index)
    candidates = no_id.to_numpy(dtype=bool)
    if not candidates.any():
        return out
    rows = raw.iloc[candidates.nonzero()[0]]
    blank = pd.concat([rows[c].isna() | _blank(rows[c]) for c in rows.columns], axis=1)
    out.iloc[candidates.nonzero()[0]] = blank.all(axis=1).to_numpy(dtype=bool)
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
        name: pd.Series(mask.to_numpy(dtype=bool), index=pd.RangeIndex(len(raw)))
        for name, mask in found.items()
        if bool(mask.any())
    }
