"""Every person accounted for: the population is those scored plus those excluded, by reason."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskstrat.scoring._ids import isin

EXCLUDED_REJECTED = "rejected_in_validation"
EXCLUDED_DEAD = "died_before_as_of"
EXCLUDED_NOT_BORN = "born_on_or_after_as_of"
EXCLUDED_NO_CONTACT = "no_contact_in_lookback"
SCORED_NOT_IN_PERSONS = (
    "features: {count} scored person_id value(s) are not in the persons table; "
    "expected the population to come from persons"
)


def reconcile(
    persons: pd.DataFrame,
    scored_ids: pd.Series,
    as_of: pd.Timestamp,
    rejected_persons: int = 0,
) -> dict[str, Any]:
    """Account for every person: population = scored + excluded (with reasons).

    Parameters
    ----------
    persons : DataFrame
        The validated persons table (``person_id``, ``birth_date``, optional ``death_date``).
    scored_ids : Series of str
        person_id of everyone scored (the features population).
    as_of : Timestamp
    rejected_persons : int
        Persons lost in validation: distinct ``person_id`` whose every persons row was
        quarantined (``ValidationReport.persons_rejected``), not rejected rows.

    Returns
    -------
    dict
        ``population``, ``scored``, ``excluded``, ``excluded_by_reason`` and ``reconciles``.
    """
    ids = persons["person_id"].astype("str")
    scored = pd.Series(scored_ids.astype("str").unique())
    outside = int((~isin(scored, ids)).sum())
    if outside:
        raise ValueError(SCORED_NOT_IN_PERSONS.format(count=outside))
    not_scored = persons.loc[~isin(ids, scored)]
    dead = np.zeros(len(not_scored), dtype=bool)
    if "death_date" in not_scored.columns:
        # The features population keeps persons alive on as_of: a death before it excludes
        # (one on as_of is an event of that day, which nothing as of it sees).
        dead = (not_scored["death_date"] < as_of).fillna(False).to_numpy(dtype=bool)
    unborn = (not_scored["birth_date"] >= as_of).fillna(False).to_numpy(dtype=bool) & ~dead
    reasons = {
        EXCLUDED_REJECTED: int(rejected_persons),
        EXCLUDED_DEAD: int(dead.sum()),
        EXCLUDED_NOT_BORN: int(unborn.sum()),
        EXCLUDED_NO_CONTACT: int(len(not_scored) - dead.sum() - unborn.sum()),
    }
    population = int(len(persons) + rejected_persons)
    excluded = int(sum(reasons.values()))
    # "No contact" is what is left, so the sum holds by construction; what can fail is a
    # scored person who should not be (dead before as_of, or not yet born).
    chosen = persons.loc[isin(ids, scored)]
    wrongly = (chosen["birth_date"] >= as_of).fillna(False)
    if "death_date" in chosen.columns:
        wrongly |= (chosen["death_date"] < as_of).fillna(False)
    return {
        "population": population,
        "scored": len(scored),
        "excluded": excluded,
        "excluded_by_reason": reasons,
        "reconciles": population == len(scored) + excluded and not wrongly.any(),
    }
