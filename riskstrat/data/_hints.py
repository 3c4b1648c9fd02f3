"""What an error about a table's shape adds on its likely cause (a separator, a column
left out of the extract)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from riskstrat.data._checks import DUPLICATE_ROW
from riskstrat.data._codes import TABLE_COLUMNS
from riskstrat.data._results import TableReport

logger = logging.getLogger("riskstrat.data._validate")

# Five digits, perhaps with a time as a fraction: how Excel writes a day it holds as a date
# (days since 1899-12-30) once the column loses its date format; 10000 to 99999 are the days
# from 1927 to 2173.
_SERIAL_DAY = r"^\s*[1-9]\d{4}(?:\.\d+)?\s*$"


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


def warn_alike_for_want_of_columns(table: str, df: pd.DataFrame, report: TableReport) -> None:
    """In quarantine, warn that rows set aside as exact duplicates may be distinct events
    when contract columns are absent or empty (strict mode's error says it): without
    ``paid_amount``, two visits on one day at one place are one row written twice."""
    n = report.by_check.get(DUPLICATE_ROW, 0)
    hint = empty_columns_hint(table, df) if n else ""
    if hint:
        logger.warning(
            "%s: %s row(s) set aside as exact duplicates%s",
            table,
            f"{n:,}",
            hint.replace("look alike:", "look alike and all but one is set aside:"),
        )


def serial_days(
    table: str, originals: Mapping[str, pd.Series], unparseable: Mapping[str, pd.Series]
) -> dict[str, pd.Series]:
    """Per date column, the unconverted values that are Excel serial days (``45000``).

    ``originals`` holds, per column, the text as read of the values ``unparseable`` marks.

    Not converted: a workbook may count from 1904 instead, four years later, and a date a
    county cannot check is worse than a refused one.
    """
    dates = {c for c, kind, _req in TABLE_COLUMNS[table] if kind == "date"}
    found = {}
    for column, mask in unparseable.items():
        if column not in dates or column not in originals:
            continue
        serial = originals[column].str.match(_SERIAL_DAY).fillna(False).astype(bool)
        if bool(serial.any()):
            found[column] = serial.reindex(mask.index, fill_value=False).astype(bool)
    return found
