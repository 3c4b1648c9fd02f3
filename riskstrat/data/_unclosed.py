"""Openings in the justice table that nothing closes, long ago: a release left out of an extract.

A booking with no release after it reads as custody still running, and a probation start
with no end as probation still running, whatever their age: one release the extract lost
makes a person "in custody now" years later (TOC's criterion; Re-entry waits for the
release). Validation cannot tell a long sentence from a lost record, so it counts the
persons whose opening is older than a county's longest plausible term and says so.
"""

from __future__ import annotations

import logging

import pandas as pd

logger = logging.getLogger(__name__)

# (opening, closing, years after which an open one is doubtful, what it reads as)
UNCLOSED = (
    ("booking", "release", 3, "in custody now (TOC's criterion; Re-entry waits for a release)"),
    ("probation_start", "probation_end", 5, "on probation now (FSP's criterion)"),
)


def warn_unclosed(
    justice: pd.DataFrame | None, reference: pd.Timestamp, persons: pd.DataFrame | None = None
) -> dict[str, int]:
    """Warn of living persons whose latest opening is older than its term and has no close
    after it (a death ends a term unrecorded: not counted); returns their number per
    opening event type (for tests)."""
    found: dict[str, int] = {}
    if justice is None or justice.empty or not {"event_type", "event_date"} <= set(justice):
        return found
    if persons is not None and "death_date" in persons:
        dead = persons.loc[persons["death_date"].notna(), "person_id"]
        justice = justice.loc[~justice["person_id"].isin(set(dead))]
    for opening, closing, years, reads in UNCLOSED:
        rows = justice.loc[justice["event_type"].isin([opening, closing])]
        if rows.empty:
            continue
        last = rows.groupby(["person_id", "event_type"], observed=True)["event_date"].max()
        last = last.unstack("event_type")
        if opening not in last:
            continue
        opened = pd.to_datetime(last[opening])
        closed = pd.to_datetime(last[closing]) if closing in last else pd.NaT
        # On the day of both, the opening starts the next term (as the features read it).
        running = opened.notna() & ~(closed >= opened)
        stale = int((running & (opened < reference - pd.DateOffset(years=years))).sum())
        if stale:
            found[opening] = stale
            logger.warning(
                "justice: %s person(s) have a %s more than %d years before the reference date "
                "with no %s after it: they read as %s; a %s left out of the extract does this",
                f"{stale:,}",
                opening.replace("_", " "),
                years,
                closing.replace("_", " "),
                reads,
                closing.replace("_", " "),
            )
    return found
