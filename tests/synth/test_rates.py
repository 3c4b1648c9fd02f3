"""Encounter volumes, heavy tails, paid amounts by setting and reasons consistent with setting."""

from __future__ import annotations

import pandas as pd

from riskstrat.synth._rates import ENCOUNTER_STREAMS, mean_paid


def test_a_few_people_drive_most_ed_visits(county) -> None:
    enc = county.tables["encounters"]
    year = enc[(enc["setting"] == "ed") & (enc["start_date"].dt.year == 2021)]
    per_person = year.groupby("person_id").size().sort_values(ascending=False)
    top = per_person.iloc[: len(county.tables["persons"]) // 20].sum()
    assert top / per_person.sum() > 0.5


def test_paid_amounts_by_setting(county) -> None:
    enc = county.tables["encounters"]
    mean = enc.groupby("setting")["paid_amount"].mean()
    assert 1000 < mean["ed"] < 2000
    for setting in ["outpatient_mh", "outpatient_sud", "primary_care"]:
        assert 80 < mean[setting] < 300, setting
    stays = enc[enc["setting"] == "inpatient_medical"].dropna(subset=["end_date"])
    per_day = stays["paid_amount"] / (stays["end_date"] - stays["start_date"]).dt.days.clip(1)
    assert 1500 < per_day.median() < 5000
    assert mean_paid("inpatient_medical") > 10 * mean_paid("ed") / 2
    assert set(mean.index) == set(ENCOUNTER_STREAMS)


def test_reasons_follow_the_setting(county) -> None:
    enc = county.tables["encounters"]
    reason = enc.groupby("setting")["dx_group"].agg(lambda s: set(s))
    assert reason["inpatient_psych"] == {"mental_health"}
    assert reason["psych_emergency"] == {"mental_health"}
    assert reason["detox"] == {"substance_use"}
    assert reason["sobering_center"] == {"substance_use"}
    assert {"mental_health", "substance_use", "medical", "injury"} <= reason["ed"]
    avoidable = enc[enc["avoidable"]]
    assert set(avoidable["setting"]) == {"ed", "inpatient_medical"}
    assert set(avoidable["dx_group"]) == {"medical"}


def test_homeless_people_cost_more(county) -> None:
    enc = county.tables["encounters"]
    hm = county.tables["homelessness"]
    year = enc[enc["start_date"].dt.year == 2021]
    cost = year.groupby("person_id")["paid_amount"].sum()
    cost = cost.reindex(county.tables["persons"]["person_id"], fill_value=0.0)
    homeless = cost.index.isin(hm["person_id"])
    assert cost[homeless].mean() > 1.5 * cost[~homeless].mean()
    # Heavy tail of cost: the top 10% of homeless people cost several times the median.
    assert cost[homeless].quantile(0.9) > 5 * cost[homeless].median()


def test_psychiatric_admission_runs(county) -> None:
    enc = county.tables["encounters"]
    psych = enc[enc["setting"] == "inpatient_psych"]
    per_year = psych.groupby(["person_id", psych["start_date"].dt.year]).size()
    assert per_year.max() >= 4
    assert pd.Series(per_year).quantile(0.5) == 1
