"""Rule evaluation on hand-set feature frames: groups, nulls, reason texts, wide helper."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from riskstrat.eligibility import (
    eligibility_wide,
    eligible_counts,
    evaluate_programs,
    load_programs,
    write_eligibility,
)
from riskstrat.eligibility._evaluate import MISSING_FEATURE

FEATURES = ["age", "admissions", "mcas", "homeless", "setting_code", "flag"]

RULES = {
    "care_coordination_priority": ["isr"],
    "screening": [{"code": "medi_cal", "text": "Medi-Cal beneficiary"}],
    "programs": {
        "isr": {
            "name": "ISR",
            "care_coordination": True,
            "screening": [{"code": "dcfs", "text": "in child welfare"}],
            "criteria": {
                "all": [
                    {
                        "code": "adult",
                        "feature": "age",
                        "op": ">=",
                        "value": 18,
                        "text": "age {value} (needs {threshold}+)",
                    },
                    {
                        "any": [
                            {
                                "code": "admissions",
                                "feature": "admissions",
                                "op": ">=",
                                "value": 6,
                                "text": "{value} admissions (needs {threshold}+)",
                            },
                            {
                                "code": "mcas",
                                "feature": "mcas",
                                "op": "<",
                                "value": 40,
                                "text": "MCAS {value} (below {threshold})",
                            },
                        ]
                    },
                    {
                        "none": [
                            {"code": "homeless", "feature": "homeless", "op": "==", "value": True}
                        ]
                    },
                ]
            },
        },
        "fsp": {
            "name": "FSP",
            "criteria": {
                "any": [
                    {
                        "code": "setting",
                        "feature": "setting_code",
                        "op": "in",
                        "value": ["a", "b"],
                        "text": "setting {value} (one of {threshold})",
                    },
                    {"code": "flag", "feature": "flag", "op": "!=", "value": 0},
                ]
            },
        },
    },
}


@pytest.fixture
def programs():
    return load_programs(RULES, feature_spec=FEATURES)


@pytest.fixture
def features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ["p1", "p2", "p3", "p4", "p5"],
            "as_of": pd.Timestamp("2025-01-01"),
            "age": [30, 17, 40, 50, 60],
            "admissions": [6, 9, 5, 2, 7],
            "mcas": pd.array([50.0, np.nan, 37.5, 39.0, None], dtype="Float64"),
            "homeless": [False, False, False, False, True],
            "setting_code": ["a", "c", None, "b", "z"],
            "flag": pd.array([0, 1, None, 0, 0], dtype="Int64"),
        }
    )


def _get(long: pd.DataFrame, program: str, pid: str) -> pd.Series:
    rows = long[(long["program"] == program) & (long["person_id"] == pid)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_groups_and_nulls(programs, features: pd.DataFrame) -> None:
    long = evaluate_programs(features, programs)
    isr = long[long["program"] == "isr"].set_index("person_id")["eligible"].to_dict()
    # p2 is a minor; p4 meets the second branch only; p5 is excluded by the none group.
    assert isr == {"p1": True, "p2": False, "p3": True, "p4": True, "p5": False}
    fsp = long[long["program"] == "fsp"].set_index("person_id")["eligible"].to_dict()
    # A null never meets a leaf, not even with != (p3 has a null flag and setting).
    assert fsp == {"p1": True, "p2": True, "p3": False, "p4": True, "p5": False}
    assert len(long) == 10 and list(long.columns) == [
        "person_id",
        "as_of",
        "program",
        "eligible",
        "criteria_met",
        "reasons",
        "needs_screening",
    ]


def test_codes_and_reason_texts_with_the_persons_values(programs, features) -> None:
    long = evaluate_programs(features, programs)
    p3 = _get(long, "isr", "p3")
    assert p3["criteria_met"] == ["adult", "mcas"]
    assert p3["reasons"] == ["age 40 (needs 18+)", "MCAS 37.5 (below 40)"]
    p4 = _get(long, "isr", "p4")
    # Whole-number floats print without decimals.
    assert p4["reasons"] == ["age 50 (needs 18+)", "MCAS 39 (below 40)"]
    # Met leaves are listed even when a none group makes the person ineligible.
    p5 = _get(long, "isr", "p5")
    assert p5["criteria_met"] == ["adult", "admissions", "homeless"]
    assert not p5["eligible"]
    assert _get(long, "fsp", "p4")["reasons"] == ["setting b (one of a, b)"]
    # A leaf without text gets a generated one.
    assert _get(long, "fsp", "p2")["reasons"] == ["flag = 1 (!= 0)"]


def test_screening_is_listed_but_never_decides(programs, features) -> None:
    long = evaluate_programs(features, programs)
    assert _get(long, "isr", "p2")["needs_screening"] == [
        "Medi-Cal beneficiary",
        "in child welfare",
    ]
    assert _get(long, "fsp", "p1")["needs_screening"] == ["Medi-Cal beneficiary"]
    assert long.loc[long["program"] == "isr", "eligible"].sum() == 3


def test_a_route_in_is_not_a_condition_and_a_programme_may_skip_the_common_items(
    features,
) -> None:
    rules = {**RULES, "programs": dict(RULES["programs"])}
    rules["programs"]["isr"] = {
        **RULES["programs"]["isr"],
        "screening": [
            {"code": "dcfs", "text": "in child welfare"},
            {"code": "disability", "text": "a disability", "route": True},
        ],
    }
    rules["programs"]["fsp"] = {**RULES["programs"]["fsp"], "common_screening": False}
    programs = load_programs(rules, feature_spec=FEATURES)
    assert [s.code for s in programs.screening_for("isr")] == ["medi_cal", "dcfs", "disability"]
    assert [s.code for s in programs.to_confirm("isr")] == ["medi_cal", "dcfs"]
    assert programs.screening_for("fsp") == ()
    long = evaluate_programs(features, programs)
    assert _get(long, "isr", "p2")["needs_screening"] == [
        "Medi-Cal beneficiary",
        "in child welfare",
    ]
    assert _get(long, "fsp", "p1")["needs_screening"] == []
    # Screening never decides: the flags are those of the rules without the new items.
    before = evaluate_programs(features, load_programs(RULES, feature_spec=FEATURES))
    assert long["eligible"].tolist() == before["eligible"].tolist()


def test_missing_feature_column_names_the_rule(programs, features) -> None:
    message = MISSING_FEATURE.format(feature="mcas", path="programs.isr.criteria.all[1].any[1]")
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate_programs(features.drop(columns="mcas"), programs)


def test_wide_and_counts(programs, features) -> None:
    long = evaluate_programs(features, programs)
    wide = eligibility_wide(long)
    assert list(wide.columns) == [
        "person_id",
        "as_of",
        "eligible_isr",
        "eligible_fsp",
        "n_eligible",
    ]
    assert wide["n_eligible"].tolist() == [2, 1, 1, 2, 0]
    counts = eligible_counts(long, programs).set_index("program")
    assert counts["eligible"].to_dict() == {"isr": 3, "fsp": 3}
    assert counts.loc["fsp", "share"] == pytest.approx(0.6)


def test_several_as_of_dates_and_row_order(programs, features) -> None:
    two = pd.concat([features, features.assign(as_of=pd.Timestamp("2025-04-01"))])
    long = evaluate_programs(two, programs)
    assert len(long) == 20
    assert long["program"].tolist() == ["isr"] * 10 + ["fsp"] * 10
    counts = eligible_counts(long, programs)
    assert counts["eligible"].tolist() == [3, 3, 3, 3]


def test_lists_round_trip_through_parquet(programs, features, tmp_path) -> None:
    long = evaluate_programs(features, programs)
    write_eligibility(long, tmp_path / "out" / "e.parquet")
    back = pd.read_parquet(tmp_path / "out" / "e.parquet")
    assert list(back.loc[2, "reasons"]) == ["age 40 (needs 18+)", "MCAS 37.5 (below 40)"]
    assert back["eligible"].tolist() == long["eligible"].tolist()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["e.parquet"]  # no temp left


def test_not_equal_on_a_plain_numpy_column(programs, features) -> None:
    # A non-nullable column hands back a read-only mask; != must not write into it.
    plain = features.assign(flag=[0, 1, 2, 0, 0], setting_code="z")
    long = evaluate_programs(plain, programs)
    fsp = long[long["program"] == "fsp"].set_index("person_id")["eligible"].to_dict()
    assert fsp == {"p1": False, "p2": True, "p3": True, "p4": False, "p5": False}


def test_rules_may_be_given_as_what_load_programs_reads() -> None:
    from pathlib import Path

    from riskstrat._config import default_config_path
    from riskstrat.features import build_features

    folder = Path(__file__).parents[1] / "data" / "fixtures" / "clean"
    features = build_features(folder, "2024-07-01")
    expected = evaluate_programs(features, load_programs())
    pd.testing.assert_frame_equal(evaluate_programs(features), expected)
    path = default_config_path("programs.yaml")
    pd.testing.assert_frame_equal(evaluate_programs(features, str(path)), expected)


def test_arguments_of_the_wrong_kind_are_named(programs, features) -> None:
    with pytest.raises(TypeError, match=r"features: expected the DataFrame build_features"):
        evaluate_programs("data/county", programs)
    with pytest.raises(TypeError, match=r"programs: expected the rules load_programs returns"):
        evaluate_programs(features, 3)
