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
    the opening starts the next; with none running before, the two are a 0-day term."""
    rows = justice.loc[justice["event_type"].isin([opening, closing]), ["person_id", "event_date"]]
    rows = rows.assign(
        opens=justice["event_type"].eq(opening), day=pd.to_datetime(rows["event_date"])
    )
    rows = rows.sort_values(["person_id", "day", "opens"], kind="stable")  # closings first
    # A closing with nothing running closes nothing; the state after each event is whether
    # the latest opening came after the latest closing that followed a running term.
    last = rows.groupby("person_id", sort=False).tail(1)
    last = last.loc[last["opens"]].set_index("person_id")["day"]
    if last.empty:
        return last
    same_day = rows.loc[~rows["opens"]].merge(last.rename("last").reset_index(), on="person_id")
    paired = same_day.loc[same_day["day"] == same_day["last"], "person_id"].unique()
    if len(paired):
        before = rows.loc[rows["person_id"].isin(paired)].merge(
            last.rename("last").reset_index(), on="person_id"
        )
        before = before.loc[before["day"] < before["last"]].groupby("person_id").tail(1)
        ran = set(before.loc[before["opens"], "person_id"])
        # Nothing running before that day: the closing and opening were one 0-day term.
        last = last.drop([p for p in paired if p not in ran])
    return last
