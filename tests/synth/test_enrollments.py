"""Programme enrolments: caps on duration, the right people; every programme has candidates."""

from __future__ import annotations

import pandas as pd
import pytest

from riskstrat.data import add_conditions
from riskstrat.data._codes import HOMELESS_PROJECT_TYPES
from riskstrat.synth import synthesize

from .conftest import END, START

CAPS = {"recuperative_care": 90, "reentry": 90, "rbc": 60, "isr": 90, "sud_ens": 60, "toc": 30}


def test_durations_respect_programme_caps(county) -> None:
    enr = county.tables["enrollments"].dropna(subset=["end_date"])
    days = (enr["end_date"] - enr["start_date"]).dt.days
    for program, cap in CAPS.items():
        assert days[enr["program"] == program].max() <= cap, program
    assert (days >= 0).all()


def test_fsp_clients_have_serious_mental_illness(county) -> None:
    dx = add_conditions(county.tables["diagnoses"])
    smi = set(dx.loc[dx["condition"] == "smi", "person_id"])
    enr = county.tables["enrollments"]
    fsp = set(enr.loc[enr["program"] == "fsp", "person_id"])
    assert len(fsp & smi) / len(fsp) > 0.9


def _rolling_count(events: pd.DataFrame, days: int) -> pd.Series:
    """Per event: events of the same person in the ``days`` up to and including it."""
    events = events.sort_values(["person_id", "start_date"])
    counts = (
        events.set_index("start_date").groupby("person_id")["setting"].rolling(f"{days}D").count()
    )
    return counts.reset_index(drop=True)


def _people_meeting(tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    enc, jus, hm = tables["encounters"], tables["justice"], tables["homelessness"]
    dx = add_conditions(tables["diagnoses"])
    smi = set(dx.loc[dx["condition"] == "smi", "person_id"])
    sud = set(dx.loc[dx["condition"].fillna("").str.startswith("sud_"), "person_id"])
    homeless = set(hm.loc[hm["project_type"].isin(HOMELESS_PROJECT_TYPES), "person_id"])
    housed = set(hm.loc[hm["project_type"].isin(["permanent_supportive_housing"]), "person_id"])
    released = set(jus.loc[jus["event_type"] == "release", "person_id"])
    drug_court = set(jus.loc[jus["event_type"] == "drug_court_referral", "person_id"])

    def runs(settings: list[str], days: int, n: int) -> set:
        ev = enc[enc["setting"].isin(settings)].sort_values(["person_id", "start_date"])
        counts = _rolling_count(ev, days).to_numpy()
        return set(ev["person_id"].to_numpy()[counts >= n])

    psych6 = runs(["inpatient_psych"], 365, 6)
    inpatient3 = runs(["inpatient_medical", "inpatient_psych"], 180, 3)
    sobering3 = runs(["sobering_center"], 365, 3)
    ed2 = runs(["ed"], 365, 2)
    institution = set(enc.loc[enc["setting"].isin(["inpatient_psych", "imd"]), "person_id"])
    asm = tables["assessments"]
    mcas_ok = set(asm.loc[(asm["instrument"] == "MCAS") & (asm["score"] >= 48), "person_id"])
    discharged = set(enc.loc[enc["setting"] == "inpatient_medical", "person_id"])
    return {
        "isr": len(psych6 & smi & sud),
        "toc": len(inpatient3 & (sud | smi | homeless)),
        "rbc": len(institution & mcas_ok),
        "recuperative_care": len(homeless & discharged),
        "tenancy_support": len(homeless & housed),
        "reentry": len(released & (smi | sud)),
        "sud_ens": len(sud & (sobering3 | homeless | drug_court)),
        "hcss": len(homeless & ed2),
        "fsp": len(smi & (homeless | released | ed2)),
    }


def test_programme_candidates_small_county(county) -> None:
    counts = _people_meeting(county.tables)
    assert all(v > 0 for k, v in counts.items() if k != "isr"), counts


@pytest.mark.slow
def test_every_programme_has_candidates_at_100k() -> None:
    county = synthesize(100_000, START, END, seed=5)
    counts = _people_meeting(county.tables)
    assert all(v > 0 for v in counts.values()), counts
