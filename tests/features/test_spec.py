"""The feature spec: required names, labels, and config errors that name the dotted path."""

from __future__ import annotations

import pickle
import re

import pytest
import yaml

from riskstrat._config import ConfigError, default_config_path
from riskstrat.data._codes import PROGRAMS
from riskstrat.features import (
    NEVER_DAYS,
    describe_value,
    expand_features,
    feature_labels,
    load_feature_spec,
)
from riskstrat.features._spec import FeatureSpec

# docs/architecture.md, "Required feature names".
REQUIRED = [
    "age",
    "is_adult",
    "has_smi",
    "has_sud",
    "has_oud",
    "has_aud",
    "has_stimulant_ud",
    "has_mental_health_dx",
    "n_chronic_conditions",
    "is_pregnant",
    "overdoses_730d",
    "ed_visits_30d",
    "ed_visits_90d",
    "ed_visits_180d",
    "ed_visits_365d",
    "ed_visits_730d",
    "ed_visits_all",
    "sud_ed_visits_365d",
    "inpatient_admissions_180d",
    "inpatient_admissions_365d",
    "inpatient_medical_admissions_180d",
    "avoidable_admissions_180d",
    "psych_inpatient_admissions_90d",
    "psych_inpatient_admissions_365d",
    "psych_inpatient_admissions_730d",
    "psych_emergency_visits_365d",
    "sobering_center_visits_365d",
    "residential_sud_admissions_365d",
    "detox_admissions_365d",
    "sud_inpatient_admissions_365d",
    "days_since_inpatient_discharge",
    "days_since_medical_discharge",
    "in_institution_now",
    "in_hospital_now",
    "paid_amount_365d",
    "ed_visits_trend",
    "inpatient_admissions_trend",
    "bookings_90d",
    "bookings_365d",
    "bookings_730d",
    "days_incarcerated_365d",
    "days_since_release",
    "incarcerated_now",
    "diversion_referrals_90d",
    "drug_court_referrals_365d",
    "probation_starts_90d",
    "on_probation_now",
    "homeless_now",
    "chronic_homeless",
    "days_homeless_365d",
    "homeless_episodes_1095d",
    "in_supported_housing_now",
    "psychotropic_supply_now",
    "moud_supply_now",
    "antipsychotic_fills_365d",
    "naloxone_fills_365d",
    "mcas_latest",
    "has_mcas",
    "days_since_mcas",
]


@pytest.fixture(scope="module")
def spec() -> FeatureSpec:
    return load_feature_spec()


def test_default_spec_has_every_required_feature(spec: FeatureSpec) -> None:
    names = [f.name for f in expand_features(spec)]
    expected = REQUIRED + [f"enrolled_{p}_now" for p in PROGRAMS]
    assert set(expected) <= set(names)
    assert len(names) == len(set(names))


def test_labels_are_readable(spec: FeatureSpec) -> None:
    labels = feature_labels(spec)
    assert labels["psych_inpatient_admissions_365d"] == (
        "psychiatric inpatient admissions, last 12 months"
    )
    assert labels["ed_visits_all"] == "ED visits, all history"
    assert labels["ed_visits_730d"] == "ED visits, last 2 years"
    assert labels["enrolled_isr_now"] == "enrolled in isr now"
    assert all(labels.values())


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        (
            "psych_inpatient_admissions_365d",
            7,
            "7 psychiatric inpatient admissions in the last 12 months",
        ),
        ("ed_visits_30d", 2.0, "2 ED visits in the last 30 days"),
        ("days_since_release", NEVER_DAYS, "no jail release on record"),
        ("days_since_release", 12, "last jail release 12 days ago"),
        ("homeless_now", True, "homeless now: yes"),
        (
            "mcas_latest",
            float("nan"),
            "latest MCAS score (17-85, higher is more independent): not recorded",
        ),
        ("paid_amount_365d", 1234.56, "$1,235 paid for their care in the last 12 months"),
        ("age", 24, "aged 24"),
        # A count of one reads in the singular.
        ("ed_visits_30d", 1.0, "1 ED visit in the last 30 days"),
        ("homeless_episodes_1095d", 1, "1 homeless episode in the last 3 years"),
        (
            "crisis_residential_days_365d",
            1,
            "1 day in crisis residential care in the last 12 months",
        ),
        ("days_since_release", 1, "last jail release 1 day ago"),
        ("n_chronic_conditions", 2, "2 distinct chronic conditions diagnosed"),
        ("n_chronic_conditions", 1, "1 distinct chronic condition diagnosed"),
    ],
)
def test_describe_value(spec: FeatureSpec, name: str, value: object, text: str) -> None:
    assert describe_value(name, value, spec) == text


def test_a_filtered_or_negative_paid_sum_keeps_its_meaning() -> None:
    ed_paid = {
        "name": "ed_paid",
        "label": "ED paid amount (USD)",
        "source": "encounters",
        "aggregate": "sum",
        "column": "paid_amount",
        "where": {"setting": ["ed"]},
        "windows": [365],
    }
    spec = load_feature_spec(_spec_with(ed_paid))
    # Only the ED's bills: not "paid for their care", which reads as all of it.
    assert (
        describe_value("ed_paid_365d", 1234.4, spec)
        == "ED paid amount (USD), last 12 months: 1,234"
    )
    # A recoupment larger than the bills.
    assert (
        describe_value("paid_amount_365d", -50.0)
        == "-$50 paid for their care in the last 12 months"
    )


def test_describe_value_unknown_feature(spec: FeatureSpec) -> None:
    with pytest.raises(KeyError, match="unknown feature 'nope'") as info:
        describe_value("nope", 1, spec)
    assert str(info.value).startswith("unknown feature 'nope' (the spec's 114 names:")
    with pytest.raises(KeyError) as info:
        describe_value("psych_inpatient_admission_365d", 7, spec)
    assert str(info.value).startswith(
        "unknown feature 'psych_inpatient_admission_365d'; did you mean "
        "'psych_inpatient_admissions_365d', "
    )
    # It crosses to a worker process whole.
    assert str(pickle.loads(pickle.dumps(info.value))) == str(info.value)


def _spec_with(definition: dict, **top: object) -> dict:
    data = yaml.safe_load(default_config_path("features.yaml").read_text())
    data["definitions"] = [*data["definitions"][:2], definition]
    data.update(top)
    return data


GOOD = {"name": "x", "label": "x", "source": "encounters", "aggregate": "count"}


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"windo": [30]}, "features.definitions[2].windo", "unknown key 'windo'"),
        ({"where": {"settings": ["ed"]}}, "features.definitions[2].where.settings", "unknown key"),
        (
            {"where": {"setting": ["er"]}},
            "features.definitions[2].where.setting[0]",
            "unknown code 'er'",
        ),
        (
            {"where": {"setting": "ER_SETTINGS"}},
            "features.definitions[2].where.setting",
            "unknown code set",
        ),
        (
            {"where": {"drug_class": ["moud"]}},
            "features.definitions[2].where.drug_class",
            "no filter 'drug_class'",
        ),
        (
            {"where": {"family": ["smi"]}, "source": "diagnoses", "name": "y"},
            "features.definitions[2]",
            "",
        ),
        (
            {"where": {"condition": ["smy"]}, "source": "diagnoses"},
            "features.definitions[2].where.condition[0]",
            "unknown code 'smy'",
        ),
        ({"windows": [30, -5]}, "features.definitions[2].windows[1]", "positive number of days"),
        ({"windows": ["ever"]}, "features.definitions[2].windows[0]", "positive number of days"),
        ({"windows": ["0m"]}, "features.definitions[2].windows[0]", "calendar months such as"),
        ({"windows": [90, "12m"]}, "features.definitions[2]", ""),  # days and months: loads
        (
            {"source": "homeless_episodes", "aggregate": "total_days", "windows": ["12m"]},
            "features.definitions[2].windows",
            "built per as-of date; give its window in days, not months",
        ),
        (
            {"aggregate": "total_days", "source": "justice"},
            "features.definitions[2].aggregate",
            "needs intervals",
        ),
        ({"aggregate": "sum"}, "features.definitions[2]", "needs 'column'"),
        (
            {"aggregate": "sum", "column": "paid"},
            "features.definitions[2].column",
            "no value column 'paid'",
        ),
        (
            {"aggregate": "max", "column": "start_date"},
            "features.definitions[2].column",
            "no value column 'start_date'",
        ),
        ({"aggregate": "trend"}, "features.definitions[2].window", "needs one 'window'"),
        (
            {"aggregate": "days_since", "windows": [30]},
            "features.definitions[2].windows",
            "takes no window",
        ),
        ({"name": "Bad-Name"}, "features.definitions[2].name", "lower_snake_case"),
        ({"name": "age"}, "features.definitions[2].name", "defined twice"),
        ({"aggregate": "median"}, "features.definitions[2].aggregate", "is not one of"),
        ({"date": "end", "source": "justice"}, "features.definitions[2].date", "needs an interval"),
        (
            {"source": "persons", "aggregate": "any", "where": {"sex": ["F"]}, "name": "y"},
            "features.definitions[2]",
            "",
        ),
        (
            {"source": "persons", "aggregate": "count", "where": {"sex": ["F"]}},
            "features.definitions[2].aggregate",
            "source 'persons' takes aggregate",
        ),
        (
            {"source": "persons", "aggregate": "any", "where": {"race_ethnicity": ["black"]}},
            "features.definitions[2].where.race_ethnicity[0]",
            "unknown code 'black'",
        ),
        (
            {"source": "persons", "aggregate": "any", "where": {"sex": ["F"]}, "windows": [365]},
            "features.definitions[2].windows",
            "takes no window",
        ),
        (
            {"where": {"sex": ["F"]}},
            "features.definitions[2].where.sex",
            "no filter 'sex'",
        ),
        (
            {"label": "score (17-85; higher is better)"},
            "features.definitions[2].label",
            "contains '; ', which separates a cohort's reasons and factors",
        ),
    ],
)
def test_config_errors_name_the_dotted_path(change: dict, path: str, message: str) -> None:
    definition = {**GOOD, **change}
    if not message:  # a valid variant: loads
        load_feature_spec(_spec_with(definition))
        return
    with pytest.raises(ConfigError, match=re.escape(path) + ": .*" + re.escape(message)):
        load_feature_spec(_spec_with(definition))


def test_unknown_top_level_key() -> None:
    with pytest.raises(ConfigError, match=r"features\.chronic_homeless\.min_episode: unknown key"):
        load_feature_spec(_spec_with(GOOD, chronic_homeless={"min_episode": 4}))


@pytest.mark.parametrize("value", [True, -3, 2.5])
def test_a_count_is_described_only_for_a_whole_number_of_at_least_0(value) -> None:
    from riskstrat.features import describe_value

    # describe_value("ed_visits_365d", True) read "True ED visit in the last 12 months".
    with pytest.raises(ValueError, match=r"^ed_visits_365d: counts days or events; expected"):
        describe_value("ed_visits_365d", value)
    assert describe_value("ed_visits_365d", 3.0) == "3 ED visits in the last 12 months"
