"""How far the data reaches: the latest day on which each table records something happening.

Only occurrence dates count (an encounter's or a spell's start, a diagnosis, a fill, a justice
event, an assessment). End dates can be planned ones, and death dates often come from a death
index extracted later than the service data; taking either as the end of the data would read
months no source covered as months without events.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping

import pandas as pd

from riskstrat.data._codes import TABLE_COLUMNS

logger = logging.getLogger(__name__)

NOT_OCCURRENCES = frozenset({"birth_date", "death_date", "end_date"})
# A source whose latest occurrence is a quarter older than the others has probably stopped
# (a late extract), not gone quiet...
STALE_DAYS = 92
# ...unless its events are so sparse that a quarter without one is ordinary: a silence is
# named only when it had under a 1 in 1,000 chance at the source's own rate, counted in
# persons rather than rows (one person's visits come together, not one by one: a county's
# 100 bookings by 29 people are 29 chances of a booking, not 100), and only for a source
# with at least MIN_PERSONS of them (and as many distinct days), too few to say what is
# ordinary otherwise.
SILENCE_ODDS = 1e-3
MIN_PERSONS = 20
# A shorter silence, as improbable, is warned of rather than refused: a source a month or two
# behind (claims run-out, a late nightly load) still undercounts its events near the as-of
# date, which is where the features look first.
LAG_WARN_DAYS = 31
# Where each command takes the data end from, said once for every message that needs it.
SET_DATA_END = (
    "set the data end: `riskstrat outcomes --data-end` or build_outcomes(data_end=) (the last "
    "day covered), `riskstrat train --data-end` or model.split.data_end (the first day after it)"
)
STALE = (
    "%s ends %s, %d days before the other sources (%s ends %s): outcomes and features that "
    "count its events see none after that; if the sources were extracted on different days, "
    + SET_DATA_END
)


def occurrence_columns(table: str) -> list[str]:
    """The date columns of ``table`` that record an occurrence (see the module docstring)."""
    return [
        name
        for name, kind, _required in TABLE_COLUMNS.get(table, ())
        if kind == "date" and name not in NOT_OCCURRENCES
    ]


@dataclasses.dataclass(frozen=True)
class Occurrences:
    """A table's occurrence dates: the first, the last, how many persons have any and on
    how many distinct days."""

    first: pd.Timestamp
    last: pd.Timestamp
    persons: int
    days: int

    def improbable_silence(self, days: int, floor: int = STALE_DAYS) -> bool:
        """Whether ``days`` (more than ``floor``) without an event after :attr:`last` is out
        of character.

        The source's chances of an event are its persons, or its distinct days if fewer
        (a day's burst of enrolments is one), less the one that fixes the last date, spread
        over the days from its first event to its last.
        """
        chances = min(self.persons, self.days) - 1
        if days <= floor or chances + 1 < MIN_PERSONS:
            return False
        rate = chances / max((self.last - self.first).days, 1)
        return -rate * days < math.log(SILENCE_ODDS)


def occurrences(tables: Mapping[str, pd.DataFrame]) -> dict[str, Occurrences]:
    """The occurrence dates of each table that has any, normalised to midnight."""
    found = {}
    for table, frame in tables.items():
        columns = [c for c in occurrence_columns(table) if c in frame.columns]
        dates = [pd.to_datetime(frame[c]) for c in columns]
        if not any(d.notna().any() for d in dates):
            continue
        any_date = pd.concat([d.notna() for d in dates], axis=1).any(axis=1)
        persons = frame.loc[any_date, "person_id"].nunique() if "person_id" in frame else 0
        known = pd.concat([d.dropna() for d in dates]).dt.normalize()
        found[table] = Occurrences(
            first=pd.Timestamp(known.min()),
            last=pd.Timestamp(known.max()),
            persons=int(persons),
            days=int(known.nunique()),
        )
    return found


def latest_occurrences(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.Timestamp]:
    """The latest occurrence date of each table that has one, normalised to midnight."""
    return {table: o.last for table, o in occurrences(tables).items()}


def lagging_sources(
    found: Mapping[str, Occurrences], end: pd.Timestamp, floor: int = STALE_DAYS
) -> list[tuple[str, pd.Timestamp, int]]:
    """Tables silent for more than ``floor`` days before ``end``, improbably so at their
    own rate of events, with their last date and the days since, in table order."""
    lagging = []
    for table, o in sorted(found.items()):
        lag = (end - o.last).days
        if o.improbable_silence(lag, floor):
            lagging.append((table, o.last, lag))
    return lagging


def last_covered_day(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp | None:
    """The latest occurrence in any table, or None when no table has one.

    Logs a warning for each table whose own latest occurrence is more than ``STALE_DAYS``
    earlier, improbably so at its rate of events: its events stop before the others' and
    nothing in the data says why.
    """
    found = occurrences(tables)
    if not found:
        return None
    last_table = max(found, key=lambda t: found[t].last)
    last = found[last_table].last
    for table, day, lag in lagging_sources(found, last):
        logger.warning(STALE, table, day.date(), lag, last_table, last.date())
    return last
