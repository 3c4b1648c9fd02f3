"""Programme configuration: the nine programmes load; mistakes fail by dotted path."""

from __future__ import annotations

import copy
import re

import pytest

from riskstrat._config import ConfigError, default_config_path, read_yaml
from riskstrat.data._codes import PROGRAMS
from riskstrat.eligibility import load_programs
from riskstrat.eligibility._programs import (
    DUPLICATE_CODE,
    GROUP_EMPTY,
    IN_NEEDS_LIST,
    NODE_SHAPE,
    PRIORITY_MISSING,
    PRIORITY_NOT_CC,
    UNKNOWN_FEATURE,
    iter_leaves,
)

CARE_COORDINATION = {"hcss", "reentry", "rbc", "isr", "sud_ens", "toc"}


@pytest.fixture
def raw() -> dict:
    return copy.deepcopy(read_yaml(default_config_path("programs.yaml")))


def _fails(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        load_programs(raw)


def test_all_nine_programmes_with_caps_and_care_coordination() -> None:
    programs = load_programs()
    assert list(programs) == list(PROGRAMS)
    assert {c for c in programs if programs[c].care_coordination} == CARE_COORDINATION
    assert set(programs.care_coordination_priority) == CARE_COORDINATION
    assert programs.care_coordination_priority[0] == "isr"
    assert (programs["reentry"].capacity.count, programs["reentry"].capacity.per) == (
        1250,
        "month",
    )
    assert (programs["rbc"].capacity.count, programs["rbc"].capacity.per) == (900, "year")
    assert programs["toc"].duration_months == 1
    assert programs["hcss"].duration_months is None  # ongoing
    assert [s.code for s in programs.screening] == ["medi_cal", "county_resident"]
    assert [s.code for s in programs.screening_for("hcss")] == [
        "medi_cal",
        "county_resident",
        "disability",
    ]  # everyone the rule lists is homeless now: "at risk" is no question for them
    assert "at_risk_homeless" in [s.code for s in programs.screening_for("fsp")]


def test_every_rule_feature_is_in_the_default_feature_spec() -> None:
    from riskstrat.features import expand_features, load_feature_spec

    names = {f.name for f in expand_features(load_feature_spec())}
    programs = load_programs()
    used = {
        leaf.feature for code in programs for leaf, _ in iter_leaves(programs[code].criteria, code)
    }
    assert used <= names
    assert {"psych_inpatient_admissions_12m", "days_since_release", "mcas_latest"} <= used


def test_unknown_feature_named_by_dotted_path(raw: dict) -> None:
    raw["programs"]["isr"]["criteria"]["all"][3]["feature"] = "psych_adm"
    path = "programs.isr.criteria.all[3].feature"
    _fails(raw, f"{path}: " + UNKNOWN_FEATURE.format(feature="psych_adm"))
    # A slip of a letter or two is matched to the features it may have meant.
    raw["programs"]["isr"]["criteria"]["all"][3]["feature"] = "psych_inpatient_admission_365d"
    with pytest.raises(ConfigError, match=r"did you mean \['psych_inpatient_admissions_365d'"):
        load_programs(raw)


def test_feature_check_against_a_given_spec() -> None:
    raw = {
        "care_coordination_priority": ["isr"],
        "programs": {
            "isr": {
                "name": "ISR",
                "care_coordination": True,
                "criteria": {"all": [{"code": "a", "feature": "x", "op": ">=", "value": 1}]},
            }
        },
    }
    assert load_programs(raw, feature_spec=["x"])["isr"].criteria.all[0].feature == "x"
    with pytest.raises(ConfigError, match=r"^programs\.isr\.criteria\.all\[0\]\.feature"):
        load_programs(raw, feature_spec=["y"])


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        # FSP's has_smi == true: "yes" loaded and then matched nobody.
        ("fsp.all[0]", "yes", "feature 'has_smi' is true/false: expected true or false, got 'yes'"),
        ("fsp.all[0]", 1, "feature 'has_smi' is true/false: expected true or false, got 1"),
        # ISR's 6+ admissions: "6" loaded and failed only at evaluation.
        ("isr.all[3]", "6", "is a number (int): expected a number, got '6'"),
        ("isr.all[3]", True, "is a number (int): expected a number, got True"),
    ],
)
def test_a_value_of_the_wrong_kind_for_its_feature(raw: dict, where, value, message) -> None:
    code, leaf = where.split(".")
    index = int(leaf[4:-1])
    raw["programs"][code]["criteria"]["all"][index]["value"] = value
    with pytest.raises(
        ConfigError, match=re.escape(f"criteria.{leaf}.value: ") + ".*" + re.escape(message)
    ):
        load_programs(raw)


def test_a_true_false_feature_takes_no_ordering(raw: dict) -> None:
    raw["programs"]["fsp"]["criteria"]["all"][0]["op"] = ">="
    _fails(
        raw,
        "programs.fsp.criteria.all[0].op: feature 'has_smi' is true/false: expected op ==, != "
        "or in, got '>='",
    )
    raw["programs"]["fsp"]["criteria"]["all"][0].update(op="in", value=[True])
    assert load_programs(raw)["fsp"].criteria.all[0].value == [True]
    raw["programs"]["isr"]["criteria"]["all"][3].update(op="in", value=[6, 7.5])
    assert load_programs(raw)["isr"].criteria.all[3].value == [6, 7.5]


def test_within_months_takes_whole_months_of_a_days_since_feature(raw: dict) -> None:
    raw["programs"]["isr"]["criteria"]["all"][3]["op"] = "within_months"
    _fails(
        raw,
        "programs.isr.criteria.all[3].op: op 'within_months' reads days before the as-of "
        "date: expected a days_since feature, got 'psych_inpatient_admissions_12m' (int)",
    )
    release = raw["programs"]["reentry"]["criteria"]["all"][2]["any"][0]
    assert release["op"] == "within_months"
    for value in (0, 2.5, "3", True):
        release["value"] = value
        _fails(
            raw,
            "programs.reentry.criteria.all[2].any[0].value: op 'within_months' needs a whole "
            f"number of months (1 or more), got {value!r}",
        )


def test_an_offer_is_renewed_by_a_days_since_feature(raw: dict) -> None:
    assert load_programs(raw)["reentry"].renewed_by == "days_since_release"
    assert load_programs(raw)["isr"].renewed_by is None
    raw["programs"]["reentry"]["renewed_by"] = "days_since_relase"
    _fails(
        raw,
        "programs.reentry.renewed_by: unknown feature 'days_since_relase'; did you mean "
        "['days_since_release'",
    )
    raw["programs"]["reentry"]["renewed_by"] = "bookings_365d"
    _fails(
        raw,
        "programs.reentry.renewed_by: an offer is renewed by an event on or after its date: "
        "expected a days_since feature, got 'bookings_365d' (int)",
    )


def test_a_reason_text_may_not_hold_the_reasons_separator(raw: dict) -> None:
    raw["programs"]["isr"]["criteria"]["all"][3]["text"] = "{value} admissions; a lot"
    _fails(
        raw,
        "programs.isr.criteria.all[3].text: '{value} admissions; a lot' contains '; ', which "
        "separates a cohort's reasons and factors",
    )


def test_a_negative_capacity_is_refused_and_none_is_allowed(raw: dict) -> None:
    raw["programs"]["reentry"]["capacity"] = {"count": 0, "per": "month"}  # a closed intake
    assert load_programs(raw)["reentry"].capacity.count == 0
    raw["programs"]["reentry"]["capacity"] = {"count": -5, "per": "month"}
    _fails(raw, "programs.reentry.capacity.count: expected a number of people, 0 or more, got -5")


def test_a_programmes_own_caseload_is_checked(raw: dict) -> None:
    programs = load_programs(raw)
    assert programs["reentry"].caseload_per_fte == 30 and programs["hcss"].caseload_per_fte is None
    for typed in ("30", True):  # the loader's own type check
        raw["programs"]["toc"]["caseload_per_fte"] = typed
        _fails(raw, f"programs.toc.caseload_per_fte: expected a number, got {typed!r}")
    for bad in (0, -3, float("inf")):
        raw["programs"]["toc"]["caseload_per_fte"] = bad
        _fails(
            raw,
            "programs.toc.caseload_per_fte: expected clients per care-manager FTE, a number "
            f"above 0, got {bad!r}",
        )
    del raw["programs"]["toc"]["caseload_per_fte"]
    raw["programs"]["fsp"]["caseload_per_fte"] = 12
    _fails(raw, "programs.fsp.caseload_per_fte: only a care-coordination programme's staff")


def test_unknown_key_in_a_leaf(raw: dict) -> None:
    raw["programs"]["toc"]["criteria"]["all"][2]["valeu"] = 3
    with pytest.raises(
        ConfigError, match=r"^programs\.toc\.criteria\.all\[2\]\.valeu: unknown key 'valeu'"
    ):
        load_programs(raw)


def test_unknown_operator(raw: dict) -> None:
    raw["programs"]["isr"]["criteria"]["all"][3]["op"] = "=>"
    with pytest.raises(ConfigError, match=r"^programs\.isr\.criteria\.all\[3\]\.op: '=>'"):
        load_programs(raw)


def test_unknown_programme_code(raw: dict) -> None:
    raw["programs"]["housing_first"] = raw["programs"]["fsp"]
    with pytest.raises(ConfigError, match=r"^programs\.housing_first: unknown programme code"):
        load_programs(raw)


def test_unknown_top_level_key(raw: dict) -> None:
    raw["programmes"] = {}
    with pytest.raises(ConfigError, match=r"^programmes: unknown key 'programmes'"):
        load_programs(raw)


def test_group_and_leaf_shapes(raw: dict) -> None:
    bad = copy.deepcopy(raw)
    bad["programs"]["sud_ens"]["criteria"]["all"][1] = {"any": []}
    _fails(bad, f"programs.sud_ens.criteria.all[1].any: {GROUP_EMPTY}")
    bad = copy.deepcopy(raw)
    bad["programs"]["fsp"]["criteria"]["all"][1]["feature"] = "has_smi"  # group and leaf
    _fails(bad, f"programs.fsp.criteria.all[1]: {NODE_SHAPE}")
    bad = copy.deepcopy(raw)
    del bad["programs"]["isr"]["criteria"]["all"][3]["code"]
    _fails(bad, "programs.isr.criteria.all[3]: a leaf needs 'code'")


def test_in_needs_a_list(raw: dict) -> None:
    leaf = raw["programs"]["isr"]["criteria"]["all"][3]
    leaf["op"] = "in"
    _fails(raw, "programs.isr.criteria.all[3].value: " + IN_NEEDS_LIST.format(value=6))


def test_duplicate_code_for_different_rules(raw: dict) -> None:
    raw["programs"]["isr"]["criteria"]["all"][3]["code"] = "smi"
    message = DUPLICATE_CODE.format(code="smi", program="isr")
    _fails(raw, f"programs.isr.criteria.all[3].code: {message}")


def test_bad_text_template(raw: dict) -> None:
    raw["programs"]["isr"]["criteria"]["all"][3]["text"] = "{count} admissions"
    with pytest.raises(ConfigError, match=r"^programs\.isr\.criteria\.all\[3\]\.text: text"):
        load_programs(raw)


def test_priority_checks(raw: dict) -> None:
    bad = copy.deepcopy(raw)
    bad["care_coordination_priority"].append("fsp")
    _fails(bad, "care_coordination_priority[6]: " + PRIORITY_NOT_CC.format(code="fsp"))
    bad = copy.deepcopy(raw)
    bad["care_coordination_priority"].remove("toc")
    _fails(bad, "care_coordination_priority: " + PRIORITY_MISSING.format(missing=["toc"]))


def test_capacity_period_is_checked(raw: dict) -> None:
    raw["programs"]["toc"]["capacity"]["per"] = "week"
    with pytest.raises(ConfigError, match=r"^programs\.toc\.capacity\.per: 'week'"):
        load_programs(raw)
