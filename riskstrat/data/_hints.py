"""What an error about a table's shape adds on its likely cause (a separator, a column
left out of the extract)."""

from __future__ import annotations

import pandas as pd

from riskstrat.data._codes import TABLE_COLUMNS


def delimiter_hint(columns: pd.Index) -> str:
    """What a header read as one column says: the file's values are separated otherwise."""
    if len(columns) != 1:
        return ""
    header = str(columns[0])
    for name, mark in (("semicolon", ";"), ("tab", "\t"), ("pipe", "|")):
        if header.count(mark) >= 1 and "person_id" in header:
            return (
                f"; the header is one column holding {name}s: the file looks {name}-separated, "
                "expected comma-separated values (save it as CSV with commas)"
            )
    return ""


def empty_columns_hint(table: str, df: pd.DataFrame) -> str:
    """Why rows may look alike: contract columns an extract left out, or left empty."""
    absent = [c for c, _kind, _req in TABLE_COLUMNS.get(table, ()) if c not in df.columns]
    empty = [str(c) for c in df.columns if len(df) and df[c].isna().all()]
    if not absent and not empty:
        return ""
    parts = []
    if absent:
        parts.append(f"columns {absent} are not in the table")
    if empty:
        parts.append(f"columns {empty} are empty in every row")
    return (
        f"; {' and '.join(parts)}, so rows that differ only there (two visits on one day, "
        "say) look alike: was the column left out of the extract?"
    )
