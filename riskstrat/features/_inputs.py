"""Which input columns each feature reads, and which of them a county's data leaves empty.

An optional column the data lacks reads as NULL, so a feature over it is 0 (or false, or
never) for everyone: correct for a county that never records it, and silently wrong for a
model trained where it was recorded (its explanations would cite the zeros as reasons).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from riskstrat.data._codes import TABLE_COLUMNS
from riskstrat.features._aggregates import SETTLED_AT_END
from riskstrat.features._checks import DERIVED_FROM
from riskstrat.features._spec import Feature

# Read with a documented default when absent (``default_days_supply``), not as empty.
DEFAULTED = {("pharmacy", "days_supply")}
# The contract's optional columns: a required one is always there and filled, and some
# filter keys (a condition's family) are derived in the SQL rather than read.
OPTIONAL = {
    (table, column)
    for table, columns in TABLE_COLUMNS.items()
    for column, _kind, required in columns
    if not required
}


# Aggregates over intervals: they read each row's end date, and a missing one means the
# interval is still open. For an encounter that reads every stay as years long; an
# enrolment or a homeless spell may truly all be open (a new programme), so only the
# encounters' end date must hold values.
INTERVAL_AGGREGATES = frozenset(
    {"total_days", "overlap_count", "open_now", "hud_chronic", "hud_chronic_last_episode"}
)
ENDED_TABLES = frozenset({"encounters"})


def columns_read(feature: Feature) -> set[tuple[str, str]]:
    """The optional contract columns (table, column) the feature filters on, aggregates, or
    dates its intervals by."""
    table = DERIVED_FROM.get(feature.source, feature.source)
    columns = {key for key, _codes in feature.filters}
    if feature.column:
        columns.add(feature.column)
    if table in ENDED_TABLES and (
        feature.date == "end"
        or feature.aggregate in INTERVAL_AGGREGATES
        or feature.column in SETTLED_AT_END  # a stay's bill counts once it has ended
    ):
        columns.add("end_date")
    return ({(table, column) for column in columns} & OPTIONAL) - DEFAULTED


def empty_inputs(
    tables: Mapping[str, pd.DataFrame], features: Iterable[Feature]
) -> dict[str, list[str]]:
    """``table.column`` -> the features reading it, for columns with no value in the data.

    A column counts as empty when a table with rows lacks it or holds only missing
    values in it; an empty or absent table is not judged (a county may have no events).
    """
    out: dict[str, list[str]] = {}
    for feature in features:
        for table, column in sorted(columns_read(feature)):
            frame = tables.get(table)
            if frame is None or frame.empty:
                continue
            if column not in frame.columns or not frame[column].notna().any():
                out.setdefault(f"{table}.{column}", []).append(feature.name)
    return out


def empty_tables(
    tables: Mapping[str, pd.DataFrame], features: Iterable[Feature]
) -> dict[str, list[str]]:
    """Table -> the features counting its rows, for tables absent or without a row.

    For a model trained where those tables held events, every such feature reads 0 (or
    false, or never) for everyone: an export that failed, not a county without events.
    """
    out: dict[str, list[str]] = {}
    for feature in features:
        table = DERIVED_FROM.get(feature.source, feature.source)
        if table == "persons":
            continue
        frame = tables.get(table)
        if frame is None or frame.empty:
            out.setdefault(table, []).append(feature.name)
    return out


# A claims lag: amounts not yet paid read as $0 in the last months of an extract. Past
# this share of the recent rows empty, and well past the share before, it is said.
RECENT_DAYS = 90
RECENT_EMPTY_SHARE = 0.10


def emptier_lately(
    tables: Mapping[str, pd.DataFrame], features: Iterable[Feature], as_of: object = None
) -> list[tuple[str, float, float | None, list[str]]]:
    """``(table.column, recent share empty, earlier share empty, features)`` for each value
    column the features sum or read that is empty on many more of the rows of the
    ``RECENT_DAYS`` days before ``as_of`` (default: the data's last day) than before them
    (a claims lag), or on most rows throughout (the earlier share None when no row is
    earlier). Rows on or after ``as_of`` are not read."""
    from riskstrat.data._codes import EVENT_DATES

    read: dict[tuple[str, str], list[str]] = {}
    for feature in features:
        table = DERIVED_FROM.get(feature.source, feature.source)
        if feature.column and (table, feature.column) in OPTIONAL - DEFAULTED:
            read.setdefault((table, feature.column), []).append(feature.name)
    found = []
    for (table, column), names in sorted(read.items()):
        frame = tables.get(table)
        date = EVENT_DATES.get(table)
        if frame is None or frame.empty or column not in frame.columns or date not in frame:
            continue
        days = pd.to_datetime(frame[date])
        seen = (days < pd.Timestamp(as_of)).to_numpy() if as_of is not None else days.notna()
        if not seen.any():
            continue
        days = days[seen]
        end = pd.Timestamp(as_of) if as_of is not None else days.max()
        recent = (days >= end - pd.Timedelta(days=RECENT_DAYS)).to_numpy()
        if not recent.any():  # nothing in those days: a stopped source, warned of elsewhere
            continue
        empty = frame[column].isna().to_numpy()[np.asarray(seen)]
        lately = float(empty[recent].mean())
        before = float(empty[~recent].mean()) if (~recent).any() else None
        if before is None:  # no rows before the window: nothing to compare with
            if lately >= 0.5:
                found.append((f"{table}.{column}", lately, None, names))
            continue
        lagging = lately >= RECENT_EMPTY_SHARE and lately >= 2 * before + RECENT_EMPTY_SHARE / 2
        if lagging or min(lately, before) >= 0.5:  # or mostly empty throughout
            found.append((f"{table}.{column}", lately, before, names))
    return found
