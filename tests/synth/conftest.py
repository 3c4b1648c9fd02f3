"""Shared fixtures for the synthetic county: small counties and observed outcomes in plain pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskstrat.data._codes import HOMELESS_PROJECT_TYPES
from riskstrat.synth import BiasConfig, synthesize

START, END = "2019-01-01", "2024-01-01"
AS_OF = pd.Timestamp("2021-01-01")  # full 12 months of follow-up before END


def observed_outcomes(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> pd.DataFrame:
    """Observed 12-month outcomes from ``as_of``, straight from docs/architecture.md."""
    stop = as_of + pd.DateOffset(months=12)
    persons = tables["persons"]
    alive = persons["death_date"].isna() | (persons["death_date"] >= as_of)
    out = pd.DataFrame({"person_id": persons.loc[alive, "person_id"]}).set_index("person_id")
    enc = tables["encounters"]
    win = enc[(enc["start_date"] >= as_of) & (enc["start_date"] < stop)]

    def any_of(frame: pd.DataFrame) -> pd.Series:
        return out.index.isin(frame["person_id"])

    out["psych_crisis"] = any_of(win[win["setting"].isin(["inpatient_psych", "psych_emergency"])])
    jus = tables["justice"]
    book = jus[(jus["event_type"] == "booking") & (jus["event_date"] >= as_of)]
    out["jail_booking"] = any_of(book[book["event_date"] < stop])
    ed_counts = win[win["setting"] == "ed"].groupby("person_id").size()
    out["frequent_ed"] = ed_counts.reindex(out.index, fill_value=0).to_numpy() >= 4
    death = persons.set_index("person_id")["death_date"].reindex(out.index)
    out["death"] = ((death >= as_of) & (death < stop)).to_numpy()
    out["total_cost"] = (
        win.groupby("person_id")["paid_amount"].sum().reindex(out.index, fill_value=0.0)
    )
    out["composite_adverse"] = (
        any_of(win[win["setting"] == "inpatient_psych"])
        | out["jail_booking"].to_numpy()
        | out["frequent_ed"].to_numpy()
    )
    stays = enc[enc["setting"].isin(["inpatient_medical", "inpatient_psych"])]
    stays = stays.sort_values(["person_id", "start_date"])
    nxt = stays.groupby("person_id")["start_date"].shift(-1)
    gap = (nxt - stays["end_date"]).dt.days
    # Counted from the index stay's discharge, which may follow an admission before as_of.
    index_stay = (stays["end_date"] >= as_of) & (stays["end_date"] < stop)
    out["readmission_30d"] = any_of(stays[index_stay & (gap >= 1) & (gap <= 30)])
    hm = tables["homelessness"]
    hm = hm[hm["project_type"].isin(HOMELESS_PROJECT_TYPES)].sort_values(
        ["person_id", "start_date"]
    )
    prev_end = hm.groupby("person_id")["end_date"].shift(1)
    same_person = hm.groupby("person_id").cumcount() > 0
    # HUD: fewer than 7 nights away (end_date is the exit day) continues the episode.
    covered = same_person & (prev_end.isna() | (prev_end > hm["start_date"] - pd.Timedelta(days=7)))
    entry = hm[~covered & (hm["start_date"] >= as_of) & (hm["start_date"] < stop)]
    out["homeless_entry"] = any_of(entry)
    return out.reset_index()


def joined(county, as_of: pd.Timestamp = AS_OF) -> pd.DataFrame:
    """Truth at ``as_of`` joined to the observed outcomes (suffix ``_obs``)."""
    truth = county.truth[county.truth["as_of"] == as_of]
    obs = observed_outcomes(county.tables, as_of)
    return truth.merge(obs, on="person_id", suffixes=("", "_obs"), validate="one_to_one")


@pytest.fixture(scope="session")
def county():
    return synthesize(20_000, START, END, seed=7)


@pytest.fixture(scope="session")
def county_unbiased():
    return synthesize(20_000, START, END, seed=7, bias=BiasConfig(enabled=False))


def auroc(score: np.ndarray, label: np.ndarray) -> float:
    """Rank-based AUROC (ties averaged)."""
    ranks = pd.Series(score).rank().to_numpy()
    pos = label.astype(bool)
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
