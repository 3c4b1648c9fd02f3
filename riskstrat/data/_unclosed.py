"""Openings in the justice table that nothing closes, long ago: a release left out of an extract.

A booking with no release after it reads as custody still running, and a probation start
with no end as probation still running, whatever their age: one release the extract lost
makes a person "in custody now" years later (TOC's criterion; Re-entry waits for the
release). Validation cannot tell a long sentence from a lost record, so it counts the
persons whose opening is older than most terms last and says so.
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
    justice: pd.DataFrame | None,
    reference: pd.Timestamp,
    persons: pd.DataFrame | None = None,
    *,
    as_of: pd.Timestamp | None = None,
) -> dict[str, int]:
    """Warn of living persons whose latest opening is older than its term and has no close
    after it (a death ends a term unrecorded: not counted); returns their number per
    opening event type (for tests).

    With ``as_of``, they are counted as the features read the tables then: from the events
    and deaths before it, and terms older than their years before it.
    """
    found: dict[str, int] = {}
    if justice is None or justice.empty or not {"event_type", "event_date"} <= set(justice):
        return found
    when = "the reference date" if as_of is None else f"the as-of date {as_of.date()}"
    if as_of is not None:
        reference = as_of
        justice = justice.loc[pd.to_datetime(justice["event_date"]) < as_of]
    if persons is not None and "death_date" in persons:
        died = pd.to_datetime(persons["death_date"])
        died = died.notna() if as_of is None else died.lt(as_of)
        justice = justice.loc[~justice["person_id"].isin(set(persons.loc[died, "person_id"]))]
    for opening, closing, years, reads in UNCLOSED:
        running = _running_since(justice, opening, closing)
        stale = int((running < reference - pd.DateOffset(years=years)).sum())
        if stale:
            found[opening] = stale
            logger.warning(
                "justice: %s person(s) have a %s more than %d years before %s with no %s "
                "after it%s: they read as %s; a long term does this, or a %s left out of the "
                "extract",
                f"{stale:,}",
                opening.replace("_", " "),
                years,
                when,
                closing.replace("_", " "),
                "" if as_of is None else " by then",
                reads,
                closing.replace("_", " "),
            )
    return found


def _running_since(justice: pd.DataFrame, opening: str, closing: str) -> pd.Series:
    """Per person, the day the term still running began (none running: not listed), read as
    the features pair them: on a day with both, a closing ends a term already running and
    the opening starts the next; with none running before, the two are a 0-day term. So a
    day with both keeps the state it found, and the state at the end is that of the last
    day with only openings (running) or only closings (over)."""
    kept = justice["event_type"].isin([opening, closing]).to_numpy()
    # Integer keys: grouping millions of rows by id text and day is twice as slow.
    person, ids = pd.factorize(justice["person_id"][kept])
    rows = pd.DataFrame(
        {
            "person": person,
            "day": pd.to_datetime(justice["event_date"][kept]).to_numpy(),
            "opens": justice["event_type"][kept].eq(opening).to_numpy(),
        }
    )
    days = rows.groupby(["person", "day"], sort=True)["opens"].agg(["any", "all"])
    decisive = days.loc[days["all"] | ~days["any"]]
    last = decisive.groupby(level="person", sort=False).tail(1)
    running = last.loc[last["all"]].index.get_level_values("person").to_numpy()
    # Running: each later day with both closed a term and opened the next; the last opened.
    opened = days.loc[days["any"]].reset_index().groupby("person", sort=False)["day"].max()
    opened = opened.loc[opened.index.isin(running)]
    return pd.Series(opened.to_numpy(), index=pd.Index(ids[opened.index], name="person_id"))
