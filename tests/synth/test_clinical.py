"""Diagnoses consistent with conditions and treatment; assessments where they belong."""

from __future__ import annotations

import pytest

from riskstrat.data import add_conditions


@pytest.fixture(scope="module")
def dx(county):
    return add_conditions(county.tables["diagnoses"])


def test_codes_arrive_in_every_spelling(county) -> None:
    codes = county.tables["diagnoses"]["icd10"]
    assert codes.str.contains(".", regex=False).any()
    assert codes.str.fullmatch(r"[A-Z][0-9A-Z]{2,6}").any()  # no dot
    assert codes.str.contains(r"^[a-z]", regex=True).any()  # lower case
    assert {"F11.20", "F1120", "f11.20"} & set(codes)


def test_conditions_present_and_smi_share(county, dx) -> None:
    assert {"smi", "sud_opioid", "sud_alcohol", "diabetes", "hiv", "pregnancy"} <= set(
        dx["condition"].dropna()
    )
    n = len(county.tables["persons"])
    assert 0.03 < dx.loc[dx["condition"] == "smi", "person_id"].nunique() / n < 0.09
    # Co-occurring disorders: SUD far more common among people with SMI.
    smi = set(dx.loc[dx["condition"] == "smi", "person_id"])
    sud = set(dx.loc[dx["condition"].fillna("").str.startswith("sud_"), "person_id"])
    assert len(smi & sud) / len(smi) > 2 * len(sud) / n


@pytest.mark.parametrize(
    ("drug", "conditions"),
    [("antipsychotic", {"smi"}), ("moud", {"sud_opioid"}), ("insulin", {"diabetes"})],
)
def test_treatment_matches_diagnosis(county, dx, drug, conditions) -> None:
    rx = county.tables["pharmacy"]
    treated = set(rx.loc[rx["drug_class"] == drug, "person_id"])
    diagnosed = set(dx.loc[dx["condition"].isin(conditions), "person_id"])
    assert len(treated & diagnosed) / len(treated) > 0.85


def test_assessments_where_they_belong(county) -> None:
    asm = county.tables["assessments"]
    enc = county.tables["encounters"]
    mh_care = set(enc.loc[enc["setting"].isin(["outpatient_mh", "inpatient_psych"]), "person_id"])
    mcas = asm[asm["instrument"] == "MCAS"]
    assert set(mcas["person_id"]) <= mh_care
    assert mcas["score"].between(17, 85).all() and mcas["score"].std() > 5
    vi = asm[asm["instrument"] == "VI-SPDAT"]
    assert set(vi["person_id"]) <= set(county.tables["homelessness"]["person_id"])
