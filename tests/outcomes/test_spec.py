"""Outcome configuration: the default file loads, mistakes fail by dotted path."""

from __future__ import annotations

import copy
import re

import pytest

from riskstrat._config import ConfigError, read_yaml
from riskstrat.outcomes import load_outcome_spec
from riskstrat.outcomes._spec import UNKNOWN_CODE

EXPECTED = {
    "psych_crisis",
    "jail_booking",
    "homeless_entry",
    "frequent_ed",
    "readmission_30d",
    "death",
    "total_cost",
    "composite_adverse",
}


@pytest.fixture
def raw() -> dict:
    from riskstrat._config import default_config_path

    return copy.deepcopy(read_yaml(default_config_path("outcomes.yaml")))


def test_default_spec_has_every_contract_outcome() -> None:
    spec = load_outcome_spec()
    assert set(spec.outcomes) == EXPECTED
    assert spec.horizon_months == 12
    assert spec.outcomes["total_cost"].kind == "continuous"
    assert spec.outcomes["death"].is_death and not spec.outcomes["jail_booking"].is_death
    assert len(spec.outcomes["composite_adverse"].events) == 3
    assert spec.outcomes["frequent_ed"].event.min_count == 4


def test_unknown_key_by_dotted_path(raw: dict) -> None:
    raw["outcomes"]["frequent_ed"]["event"]["min_cuont"] = 4
    with pytest.raises(ConfigError, match=r"^outcomes\.outcomes\.frequent_ed\.event\.min_cuont"):
        load_outcome_spec(raw)


def test_unknown_column(raw: dict) -> None:
    raw["outcomes"]["psych_crisis"]["event"]["filters"][0]["column"] = "settting"
    with pytest.raises(
        ConfigError,
        match=r"^outcomes\.outcomes\.psych_crisis\.event\.filters\[0\]\.column: unknown column "
        r"'settting' of table 'encounters'",
    ):
        load_outcome_spec(raw)


def test_unknown_code_value(raw: dict) -> None:
    raw["outcomes"]["composite_adverse"]["any_of"][1]["filters"][0]["value"] = "arrest"
    from riskstrat.data._codes import JUSTICE_EVENT_TYPES

    message = UNKNOWN_CODE.format(
        path="outcomes.outcomes.composite_adverse.any_of[1].filters[0].value",
        value="arrest",
        column="event_type",
        expected=list(JUSTICE_EVENT_TYPES),
    )
    with pytest.raises(ConfigError, match="^" + re.escape(message) + "$"):
        load_outcome_spec(raw)


def test_unknown_code_set(raw: dict) -> None:
    raw["outcomes"]["readmission_30d"]["event"]["filters"][0]["codes"] = "HOSPITAL_SETTINGS"
    with pytest.raises(
        ConfigError,
        match=r"^outcomes\.outcomes\.readmission_30d\.event\.filters\[0\]\.codes: unknown code set",
    ):
        load_outcome_spec(raw)


def test_event_and_any_of_are_exclusive(raw: dict) -> None:
    raw["outcomes"]["death"]["any_of"] = [{"table": "persons", "date_column": "death_date"}]
    with pytest.raises(ConfigError, match=r"^outcomes\.outcomes\.death: give exactly one of"):
        load_outcome_spec(raw)


def test_sum_needs_continuous_kind(raw: dict) -> None:
    raw["outcomes"]["total_cost"]["kind"] = "binary"
    with pytest.raises(ConfigError, match=r"total_cost\.event\.measure: measure 'sum' needs kind"):
        load_outcome_spec(raw)


def test_bad_censoring_policy(raw: dict) -> None:
    raw["outcomes"]["death"]["censoring"] = "drop"
    with pytest.raises(ConfigError, match=r"^outcomes\.outcomes\.death\.censoring: 'drop'"):
        load_outcome_spec(raw)
