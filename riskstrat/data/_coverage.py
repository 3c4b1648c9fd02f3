"""How far the data reaches: the latest day on which each table records something happening.

Only occurrence dates count (an encounter's or a spell's start, a diagnosis, a fill, a justice
event, an assessment). End dates can be planned ones, and death dates often come from a death
index extracted later than the service data; taking either as the end of the data would read
months no source covered as months without events.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from riskstrat.data._codes import TABLE_COLUMNS

logger = logging.getLogger(__name__)

NOT_OCCURRENCES = frozenset({"birth_date", "death_date", "end_date"})
# A source whose latest occurrence is a quarter older than the others has probably stopped
# (a late extract), not gone quiet.
STALE_DAYS = 92
STALE = (
    "%s ends %s, %d days before the other sources (%s ends %s): outcomes and features that "
    "count its events see none after that; set the data end (model.split.data_end, --data-end) "
    "if the sources were extracted on different days"
)


def occurrence_columns(table: str) -> list[str]:
    """The date columns of ``table`` that record an occurrence (see the module docstring)."""
    return [
        name
        for name, kind, _required in TABLE_COLUMNS.get(table, ())
        if kind == "date" and name not in NOT_OCCURRENCES
    ]


def latest_occurrences(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.Timestamp]:
    """The latest occurrence date of each table that has one, normalised to midnight."""
    latest = {}
    for table, frame in tables.items():
        values = [
            pd.to_datetime(frame[column]).max()
            for column in occurrence_columns(table)
            if column in frame.columns
        ]
        values = [pd.Timestamp(v).normalize() for v in values if pd.notna(v)]
        if values:
            latest[table] = max(values)
    return latest


def last_covered_day(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp | None:
    """The latest occurrence in any table, or None when no table has one.

    Logs a warning for each table whose own latest occurrence is more than ``STALE_DAYS``
    earlier: its events stop before the others' and nothing in the data says why.
    """
    latest = latest_occurrences(tables)
    if not latest:
        return None
    last_table = max(latest, key=latest.__getitem__)
    last = latest[last_table]
    for table, day in sorted(latest.items()):
        lag = (last - day).days
        if lag > STALE_DAYS:
            logger.warning(STALE, table, day.date(), lag, last_table, last.date())
    return last
