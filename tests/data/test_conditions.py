from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskstrat._config import ConfigError
from riskstrat.data import add_conditions, conditions_case_sql, load_conditions
from riskstrat.data._conditions import BAD_ICD_PATTERN, Conditions, load_config

CASES = {
    "F20.9": "smi",
    "f1120": "sud_opioid",
    "O9A.1": "pregnancy",
    "E11.9": "diabetes",
    "Z00.0": None,
    "F32.3": "smi",  # more specific than F32 (depression)
    "F32.9": "depression",
    " f31.81 ": "smi",
    "F10.239": "sud_alcohol",
    "F15.20": "sud_stimulant",
    "F19": "sud_other",
    "T40.1X1A": "overdose",
    "T40.7X1A": None,  # cannabis poisoning is outside T40.0-T40.6
    "T42.4X1A": "overdose",
    "E12": None,
    "E13.9": "diabetes",
    "I13.0": "heart_failure",  # more specific than I10-I13 (hypertension)
    "I13.10": "hypertension",
    "B20": "hiv",
    "O99.89": "pregnancy",
    "P00": None,
    "F2": None,  # too short for the F20-F29 range
    "": None,
    # Kept apart from a broader group (family "other"): not active SUD, not an overdose.
    "F10.21": "sud_in_remission",  # alcohol dependence, in remission
    "f1111": "sud_in_remission",
    "F11.91": "sud_in_remission",
    "F10.20": "sud_alcohol",  # the same, not in remission
    "F17.210": "nicotine",  # no county SUD programme treats it
    "F18.10": "sud_other",
    "T40.2X5A": "drug_adverse_effect",  # adverse effect in proper use
    "T40.2X6A": "drug_adverse_effect",  # underdosing
    "T40.2X4A": "overdose",  # undetermined intent is a poisoning
    "T40.411A": "overdose",  # fentanyl, accidental (the 2023 codes)
    "T40.415A": "drug_adverse_effect",
    "T43.652A": "overdose",  # methamphetamine, intentional self-harm
    "T43.656A": "drug_adverse_effect",
    "T40.2X1D": "overdose_later_encounter",  # subsequent encounter: care for an old overdose
    "t40.411s": "overdose_later_encounter",  # sequela
    "T43.654D": "overdose_later_encounter",
    "T40.2X1": "overdose",  # no 7th character: read as the poisoning itself
    "T40.2X5D": "drug_adverse_effect",
}


def test_known_codes_map_to_their_condition() -> None:
    conditions = load_conditions()
    got = {code: conditions.map_code(code) for code in CASES}
    assert got == CASES


def test_add_conditions_maps_codes_and_keeps_null_for_unmapped() -> None:
    diagnoses = pd.DataFrame({"person_id": ["a"] * 4, "icd10": ["F20.9", "f1120", "Z00.0", None]})
    out = add_conditions(diagnoses)
    assert out["condition"].tolist()[:2] == ["smi", "sud_opioid"]
    assert out["condition"].isna().tolist() == [False, False, True, True]
    assert "condition" not in diagnoses.columns  # input untouched


def test_sql_case_agrees_with_pandas_on_many_codes() -> None:
    # Every letter x two digits x a few suffixes, plus the hand-written cases.
    codes = [
        f"{letter}{n:02d}{suffix}"
        for letter in "BEFGIJKNOTZ"
        for n in range(100)
        for suffix in ("", ".0", ".3", "9", ".6X1A", ".2X1D", ".4X2S")
    ]
    codes += list(CASES) + ["o9a", "O9A.11", "t43.6", "F33.3", "f43.10", None]
    frame = pd.DataFrame({"icd10": codes})
    expected = add_conditions(frame)["condition"]
    sql = f"SELECT {conditions_case_sql('icd10')} AS condition FROM frame"
    got = duckdb.sql(sql).df()["condition"]
    assert len(got) == len(codes) > 5000
    pd.testing.assert_series_equal(
        got.astype("str").fillna("<null>"), expected.fillna("<null>"), check_dtype=False
    )
    assert expected.notna().sum() > 500  # the comparison is not vacuous


def test_families_and_chronic_flags() -> None:
    conditions = load_conditions()
    assert set(conditions.in_family("sud")) == {
        "sud_alcohol",
        "sud_opioid",
        "sud_cannabis",
        "sud_sedative",
        "sud_stimulant",
        "sud_other",
    }
    assert "overdose" not in conditions.chronic()
    assert "pregnancy" not in conditions.chronic()
    assert "diabetes" in conditions.chronic()
    assert conditions.conditions["smi"].label == "Serious mental illness"


def test_overlapping_rules_are_a_config_error() -> None:
    raw = {
        "conditions": {
            "a": {"label": "A", "family": "sud", "chronic": True, "icd10": ["F10-F12"]},
            "b": {"label": "B", "family": "sud", "chronic": True, "icd10": ["F12"]},
        }
    }
    with pytest.raises(ConfigError, match=r"conditions\.conditions\.b\.icd10\[0\]: 'F12' overlaps"):
        load_config(Conditions, raw, root="conditions")


def test_bad_pattern_and_unknown_key_are_config_errors() -> None:
    bad = {
        "conditions": {"a": {"label": "A", "family": "sud", "chronic": True, "icd10": ["F1-F20"]}}
    }
    with pytest.raises(ConfigError) as info:
        load_config(Conditions, bad, root="conditions")
    assert str(info.value) == "conditions.conditions.a.icd10[0]: " + BAD_ICD_PATTERN.format(
        value="F1-F20"
    )
    typo = {"conditions": {"a": {"label": "A", "family": "sud", "chronic": True, "icd": ["F1"]}}}
    with pytest.raises(ConfigError, match=r"conditions\.conditions\.a\.icd: unknown key"):
        load_config(Conditions, typo, root="conditions")


_CONN = duckdb.connect()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.from_regex(r"\A ?[A-Za-z][0-9][0-9A-Za-z](\.?[0-9A-Za-z]{0,4})? ?\Z", fullmatch=True),
        min_size=1,
        max_size=40,
    )
)
def test_sql_and_pandas_agree_on_random_codes(codes: list[str]) -> None:
    sql = conditions_case_sql("icd10")
    frame = pd.DataFrame({"icd10": codes})
    expected = add_conditions(frame)["condition"].fillna("<null>").tolist()
    got = _CONN.execute(f"SELECT {sql} AS c FROM frame").df()["c"].fillna("<null>").tolist()
    assert got == expected


def test_unknown_family_is_a_config_error() -> None:
    raw = {"conditions": {"a": {"label": "A", "family": "sud ", "chronic": True, "icd10": ["F1"]}}}
    with pytest.raises(
        ConfigError, match=r"conditions\.conditions\.a\.family: 'sud ' is not one of"
    ):
        load_config(Conditions, raw, root="conditions")
