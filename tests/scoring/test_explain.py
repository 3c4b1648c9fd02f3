from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskstrat.scoring import describe_with_label, top_factors

LABEL = "psychiatric inpatient admissions in the last 12 months"


@pytest.mark.parametrize(
    ("feature", "value", "label", "expected"),
    [
        ("psych_inpatient_admissions_365d", 7.0, LABEL, f"7 {LABEL}"),
        ("homeless_now", True, "homeless now", "homeless now"),
        ("homeless_now", 0.0, "homeless now", "homeless now: no"),
        ("days_since_release", 9999, "days since release", "days since release: never"),
        ("days_since_release", 12, "days since release", "days since release 12"),
        ("mcas_latest", np.nan, "latest MCAS score", "latest MCAS score: unknown"),
        ("age", 47.0, "age", "age 47"),
        ("paid_amount_365d", 1234.5, "paid amount", "paid amount 1,234"),
    ],
)
def test_describe_with_label(feature, value, label, expected):
    assert describe_with_label(feature, value, label) == expected


def test_the_old_name_warns_and_points_to_both() -> None:
    import riskstrat.scoring

    with pytest.warns(FutureWarning, match="riskstrat.features.describe_value"):
        old = riskstrat.scoring.describe_value
    assert old is describe_with_label
    with pytest.raises(AttributeError, match="no attribute 'describe_nothing'"):
        riskstrat.scoring.describe_nothing  # noqa: B018


def test_top_factors_orders_positive_contributions_and_formats_text():
    contributions = pd.DataFrame(
        {
            "psych_inpatient_admissions_365d": [0.14, -0.3],
            "homeless_now": [0.20, 0.05],
            "age": [-0.5, 0.004],
        }
    )
    values = pd.DataFrame(
        {
            "psych_inpatient_admissions_365d": [7.0, 0.0],
            "homeless_now": [1.0, 1.0],
            "age": [40.0, 30.0],
        }
    )
    labels = {"psych_inpatient_admissions_365d": LABEL, "homeless_now": "homeless now"}
    factors = top_factors(contributions, values, labels, top_k=2, min_contribution=0.01)
    assert factors[["row", "factor_rank", "feature"]].to_numpy().tolist() == [
        [0, 1, "homeless_now"],
        [0, 2, "psych_inpatient_admissions_365d"],
        [1, 1, "homeless_now"],  # age's +0.004 is under the minimum, negatives never listed
    ]
    assert factors["text"].tolist() == [
        "homeless now: +0.20",
        f"7 {LABEL}: +0.14",
        "homeless now: +0.05",
    ]


def test_top_factors_rejects_misaligned_inputs():
    with pytest.raises(ValueError, match="does not match values"):
        top_factors(pd.DataFrame({"a": [1.0, 2.0]}), pd.DataFrame({"a": [1.0]}), {})


def test_feature_spec_phrases_keep_one_colon_per_factor():
    from riskstrat.features import describe_value as spec_describe

    contributions = pd.DataFrame(
        {"has_smi": [0.5], "moud_supply_now": [0.3], "ed_visits_all": [0.2], "mcas_latest": [0.1]}
    )
    values = pd.DataFrame(
        {
            "has_smi": [True],
            "moud_supply_now": [False],
            "ed_visits_all": [21],
            "mcas_latest": [40.0],
        }
    )
    factors = top_factors(
        contributions, values, {}, top_k=4, describe=lambda n, v: spec_describe(n, v)
    )
    texts = factors["text"].tolist()
    assert all(t.count(":") == 1 for t in texts)
    assert texts[0].endswith(": +0.50") and not texts[0].startswith("no ")
    assert texts[1].startswith("no ")
    assert " = 21: +0.20" in texts[2]


def test_an_amounts_value_is_kept_in_whole_dollars_as_its_text_says():
    from riskstrat.features import value_describer

    contributions = pd.DataFrame({"paid_amount_365d": [0.4], "ed_visits_365d": [0.3]})
    values = pd.DataFrame({"paid_amount_365d": [40395.42], "ed_visits_365d": [3]})
    for describe in (value_describer(), None):
        factors = top_factors(contributions, values, {}, describe=describe)
        amount = factors.loc[factors["feature"] == "paid_amount_365d"].iloc[0]
        assert amount["value"] == "40395"  # not the cents of one bill
        assert "40,395" in amount["text"] and "40395.42" not in amount["text"], amount["text"]
        assert factors.loc[factors["feature"] == "ed_visits_365d", "value"].item() == "3"
