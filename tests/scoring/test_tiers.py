from __future__ import annotations

import numpy as np
import pytest

from riskstrat._config import ConfigError
from riskstrat.scoring import (
    assign_tiers,
    care_manager_fte,
    load_scoring_config,
    risk_percentile,
)
from riskstrat.scoring._tiers import TIERS_NO_FLOOR, TIERS_NOT_DESCENDING


def _levels(*levels):
    return [{"name": n, "min": m, "caseload": c} for n, m, c in levels]


def test_percentile_is_share_strictly_below_and_ties_share_it():
    risk = np.array([0.1, 0.2, 0.2, 0.9, 0.5])
    np.testing.assert_allclose(risk_percentile(risk), [0.0, 20.0, 20.0, 80.0, 60.0])


def test_top_five_percent_of_hundred_distinct_risks_is_exactly_five():
    risk = np.linspace(0.01, 0.99, 100)
    config = load_scoring_config(
        {"tiers": {"basis": "percentile", "levels": _levels(("high", 95, 20), ("low", 0, 40))}}
    )
    tiers = assign_tiers(risk, risk_percentile(risk), config.tiers)
    assert (tiers == "high").sum() == 5
    assert list(tiers[-5:]) == ["high"] * 5


def test_probability_basis_uses_the_risk_cut_offs(scoring_config):
    config = load_scoring_config(
        {
            "tiers": {
                "basis": "probability",
                "levels": _levels(("high", 0.5, 20), ("moderate", 0.2, 30), ("low", 0, 40)),
            }
        }
    )
    risk = np.array([0.0, 0.19, 0.2, 0.49, 0.5, 1.0])
    tiers = assign_tiers(risk, risk_percentile(risk), config.tiers)
    assert list(tiers) == ["low", "low", "moderate", "moderate", "high", "high"]


def test_default_tiers_yaml_loads():
    config = load_scoring_config()
    assert config.tiers.names == ("high", "moderate", "low")
    assert config.tiers.levels[0].caseload == 20
    assert config.tiers.levels[-1].caseload == 40


def test_risk_out_of_range_is_rejected(scoring_config):
    with pytest.raises(ValueError, match="1 are not"):
        assign_tiers(np.array([0.2, 1.5]), np.array([0.0, 50.0]), scoring_config.tiers)


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        (_levels(("high", 50, 20), ("low", 60, 40)), TIERS_NOT_DESCENDING.split("{")[0]),
        (_levels(("high", 50, 20), ("low", 10, 40)), TIERS_NO_FLOOR.split(";")[0]),
    ],
)
def test_bad_levels_name_the_dotted_key(levels, message):
    with pytest.raises(ConfigError, match="tiers.levels") as info:
        load_scoring_config({"tiers": {"basis": "percentile", "levels": levels}})
    assert message in str(info.value)


def test_unknown_key_is_rejected_by_dotted_path():
    with pytest.raises(ConfigError, match=r"explanations\.top_kk"):
        load_scoring_config(
            {
                "tiers": {"basis": "percentile", "levels": _levels(("low", 0, 40))},
                "explanations": {"top_kk": 3},
            }
        )


def test_unknown_programme_in_priority_is_rejected():
    with pytest.raises(ConfigError, match=r"selection\.priority\[1\]"):
        load_scoring_config(
            {
                "tiers": {"basis": "percentile", "levels": _levels(("low", 0, 40))},
                "selection": {"priority": ["isr", "nope"]},
            }
        )


def test_care_manager_fte_divides_by_caseload(scoring_config):
    # 30 high / 20 + 45 moderate / 30 + 50 low / 40 = 1.5 + 1.5 + 1.25 = 4.25 -> 5 whole.
    fte = care_manager_fte({"high": 30, "moderate": 45, "low": 50}, scoring_config.tiers)
    assert fte == {"high": 1.5, "moderate": 1.5, "low": 1.25, "total": 4.25, "total_whole": 5.0}
