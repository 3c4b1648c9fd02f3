"""Global importance: mean absolute contribution, checked against models whose drivers are known."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from riskstrat.modeling import ModelBundle
from riskstrat.modeling._importance import (
    IMPORTANCE_COLUMNS,
    LOWERS,
    MIXED,
    RAISES,
    UNUSED,
    feature_importance,
)
from riskstrat.modeling._importance_and_group_plots import importance_plot
from riskstrat.modeling._summary import importance_rich_table

FEATURES = ["risk_up", "risk_down", "noise", "constant"]


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "risk_up": rng.normal(0, 1, n),
            "risk_down": rng.normal(0, 1, n),
            "noise": rng.normal(0, 1, n),
            "constant": np.ones(n),
        }
    )
    # risk_up moves the log-odds twice as far as risk_down; noise and constant not at all.
    logit = -1.0 + 2.0 * X["risk_up"] - 1.0 * X["risk_down"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def lgb_bundle() -> tuple[ModelBundle, pd.DataFrame]:
    X, y = _frame(4000, 0)
    model = lgb.LGBMClassifier(n_estimators=60, num_leaves=7, verbose=-1, n_jobs=1).fit(X, y)
    return ModelBundle.from_calibrated(model, "lightgbm", FEATURES, "y"), _frame(3000, 1)[0]


def test_the_known_drivers_rank_first_in_their_direction(lgb_bundle) -> None:
    bundle, rows = lgb_bundle
    table = feature_importance(bundle, rows, {"risk_up": "risk going up"})
    assert list(table.columns) == list(IMPORTANCE_COLUMNS)
    assert list(table["feature"]) == ["risk_up", "risk_down", "noise", "constant"]
    assert list(table["rank"]) == [1, 2, 3, 4]
    by = table.set_index("feature")
    assert by.loc["risk_up", "label"] == "risk going up"
    assert by.loc["risk_down", "label"] == "risk_down"  # no label: the name
    assert by.loc["risk_up", "direction"] == RAISES
    assert by.loc["risk_down", "direction"] == LOWERS
    assert by.loc["constant", "direction"] == UNUSED
    assert by.loc["constant", "mean_abs_contribution"] == 0.0
    # Twice the coefficient, about twice the mean |contribution|.
    ratio = (
        by.loc["risk_up", "mean_abs_contribution"] / by.loc["risk_down", "mean_abs_contribution"]
    )
    assert 1.5 < ratio < 2.7
    assert by.loc["noise", "share"] < 0.1
    assert table["share"].sum() == pytest.approx(1.0)


def test_importance_is_the_mean_absolute_contribution(lgb_bundle) -> None:
    bundle, rows = lgb_bundle
    table = feature_importance(bundle, rows).set_index("feature")
    contributions = bundle.contributions(rows[FEATURES])
    for feature in FEATURES:
        assert table.loc[feature, "mean_abs_contribution"] == pytest.approx(
            float(contributions[feature].abs().mean())
        )
        assert table.loc[feature, "mean_contribution"] == pytest.approx(
            float(contributions[feature].mean())
        )


def test_logistic_importance_is_coefficient_times_mean_absolute_z() -> None:
    X, y = _frame(2000, 2)
    X = X.astype("float32").astype("float64")  # bundles read float32 inputs, as training does
    pipe = Pipeline([("scale", StandardScaler()), ("logistic", LogisticRegression())]).fit(X, y)
    bundle = ModelBundle.from_calibrated(pipe, "logistic", FEATURES, "y")
    table = feature_importance(bundle, X).set_index("feature")
    z = pipe["scale"].transform(X)
    expected = np.abs(pipe["logistic"].coef_[0]) * np.abs(z).mean(axis=0)
    np.testing.assert_allclose(table.loc[FEATURES, "mean_abs_contribution"], expected, rtol=1e-9)


def test_a_sample_is_seeded_and_close_to_the_whole(lgb_bundle) -> None:
    bundle, rows = lgb_bundle
    whole = feature_importance(bundle, rows).set_index("feature")
    sample = feature_importance(bundle, rows, max_rows=1000, seed=3)
    pd.testing.assert_frame_equal(sample, feature_importance(bundle, rows, max_rows=1000, seed=3))
    sample = sample.set_index("feature")
    np.testing.assert_allclose(
        sample["mean_abs_contribution"], whole["mean_abs_contribution"], rtol=0.1, atol=1e-3
    )


def test_importance_plot_is_a_png(lgb_bundle, tmp_path) -> None:
    bundle, rows = lgb_bundle
    path = importance_plot(feature_importance(bundle, rows), tmp_path / "plots", title="y")
    assert path == tmp_path / "plots" / "importance.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class _Fixed:
    """A stand-in bundle whose contributions are given."""

    def __init__(self, contributions: pd.DataFrame) -> None:
        self.features = list(contributions.columns)
        self._c = contributions

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        return self._c.loc[X.index].assign(base_value=0.0)


def test_direction_follows_ranks_not_a_long_tail() -> None:
    rng = np.random.default_rng(4)
    n = 2000
    paid = np.exp(rng.normal(6, 2, n))  # long-tailed amounts
    days = np.where(rng.random(n) < 0.7, 9999, rng.integers(0, 365, n)).astype(float)
    x = rng.normal(0, 1, n)
    z = rng.choice([-1.0, 1.0], n)
    rows = pd.DataFrame(
        {"paid": paid, "days_since": days, "u_shape": x, "unused": x, "interaction": x}
    )
    contributions = pd.DataFrame(
        {
            "paid": np.log(paid) / 10,  # monotone up, but not linear in the amount
            "days_since": np.where(days >= 9999, -0.5, 1 - days / 365),  # recent raises
            "u_shape": x**2 - 1,  # both ends raise the score
            "unused": 0.0,
            "interaction": x * z,  # up for half the rows, down for the others
        },
        index=rows.index,
    )
    # Pearson on the raw values would miss the first two (long tail, "never" sentinel).
    assert np.corrcoef(paid, contributions["paid"])[0, 1] < 0.7
    table = feature_importance(_Fixed(contributions), rows).set_index("feature")
    assert table.loc["paid", "direction"] == RAISES
    assert table.loc["days_since", "direction"] == LOWERS
    # The lowest decile of x**2 - 1 is the one around 0.
    low = table.loc["u_shape", "direction"]
    assert low.startswith("lowest at "), low
    # Each end is one row's value of a continuous x: rounded, not given.
    a, b = low.removeprefix("lowest at ").split(" to ")
    assert a.startswith("about ") and b.startswith("about "), low
    a, b = float(a.removeprefix("about ")), float(b.removeprefix("about "))
    assert -0.6 < a <= b < 0.6, low
    assert table.loc["interaction", "direction"] == MIXED
    assert table.loc["unused", "direction"] == UNUSED


def test_direction_of_a_peak_and_of_a_rare_flag() -> None:
    """The shapes a rank correlation misread on the demo county: age, scored highest for
    young adults and lowest for children, read as "higher lowers risk"; a flag 2% carry,
    always lowering the score, read as "mixed"."""
    rng = np.random.default_rng(5)
    n = 19_000
    age = rng.integers(0, 90, n).astype(float)
    flag = (rng.random(n) < 0.02).astype(float)
    rows = pd.DataFrame({"age": age, "in_custody": flag})
    bands = np.select(
        [age < 18, age < 26, age < 45, age < 65], [-0.70, 0.44, 0.27, 0.11], default=-0.06
    )
    contributions = pd.DataFrame(
        {
            "age": bands + rng.normal(0, 0.05, n),
            "in_custody": np.where(flag == 1, -0.5, 0.01) + rng.normal(0, 0.02, n),
        },
        index=rows.index,
    )
    # Both would fail the old rule: |rank correlation| under 0.3 or of the wrong reading.
    rho = rows.rank().corrwith(contributions.rank())
    assert rho["age"] < 0.3 and abs(rho["in_custody"]) < 0.3
    table = feature_importance(_Fixed(contributions), rows).set_index("feature")
    peak = table.loc["age", "direction"]
    assert peak.startswith("highest at "), peak
    a, b = (float(v) for v in peak.removeprefix("highest at ").split(" to "))
    assert 17 <= a <= 26 and 18 <= b <= 27, peak
    assert table.loc["in_custody", "direction"] == LOWERS


def test_a_span_gives_no_one_persons_value() -> None:
    """The direction is published with the evaluation: a paid amount or a count only one
    person has (the highest of all, most often) must not be read from it."""
    from riskstrat.modeling._direction import _span

    rng = np.random.default_rng(2)
    paid = np.round(rng.lognormal(8, 1, 5_000), 2)  # every amount one person's
    top, low = float(paid.max()), float(np.quantile(paid, 0.6))
    assert _span(paid, low, top, bottom=False, top=True) == (
        f"about {float(f'{low:.2g}'):,.0f} or more"
    )
    assert _span(paid, float(paid.min()), low, bottom=True, top=False).endswith(" or less")
    visits = np.r_[np.repeat(np.arange(12.0), 40), 179.0]  # one person has 179
    assert _span(visits, 11.0, 179.0, bottom=False, top=True) == "11 or more"
    assert _span(visits, 3.0, 7.0, bottom=False, top=False) == "3 to 7"  # 40 people each
    assert _span(visits, 0.0, 11.0, bottom=True, top=False) == "0 to 11"
    # A round amount few rows hold is still not printed as exact.
    assert _span(paid, 100.0, 17_000.0, bottom=False, top=False) == "about 100 to about 17,000"


def test_a_peak_on_one_value_names_it_once() -> None:
    count = pd.Series(np.repeat([0.0, 1, 2, 3, 4, 5, 6], 50))
    contributions = pd.DataFrame({"n": -((count - 4.0) ** 2) / 10})  # highest at exactly 4
    table = feature_importance(_Fixed(contributions), pd.DataFrame({"n": count}))
    assert table.loc[0, "direction"] == "highest at 4"


def test_missing_values_are_left_out_of_the_direction() -> None:
    # Rising with x where x is known; the missing rows' large contributions would make the
    # top look like a peak, or a fall, if they were read as any value.
    x = pd.Series(np.tile([np.nan, 1.0, 2.0, 3.0, np.nan, 4.0], 60))
    contributions = pd.DataFrame({"x": np.tile([9.0, -1.0, -0.5, 0.5, 9.0, 1.0], 60)})
    table = feature_importance(_Fixed(contributions), pd.DataFrame({"x": x}))
    assert table.loc[0, "direction"] == RAISES
    # Too few known rows for a bin to say: no direction is claimed.
    few = feature_importance(_Fixed(contributions.head(60)), pd.DataFrame({"x": x.head(60)}))
    assert few.loc[0, "direction"] == MIXED


def test_labels_with_brackets_print_as_written() -> None:
    table = pd.DataFrame(
        {
            "rank": [1],
            "feature": ["hba1c"],
            "label": ["HbA1c [last value]"],
            "mean_abs_contribution": [0.2],
            "share": [1.0],
            "mean_contribution": [0.1],
            "direction": [RAISES],
        }
    )
    console = Console(record=True, width=200)
    console.print(importance_rich_table(table, caption="[not markup]"))
    text = console.export_text()
    assert "HbA1c [last value]" in text and "[not markup]" in text
    assert "top 1 feature" in text and "top 1 features" not in text


def test_direction_when_one_value_holds_most_rows() -> None:
    """A count most people have none of, and a days-since most never had: a decile cut puts
    nearly everyone in one bin; the common value gets a bin of its own instead."""
    rng = np.random.default_rng(1)
    n = 20_000
    count = np.where(rng.random(n) < 0.93, 0, rng.integers(1, 40, n)).astype(float)
    days = np.where(rng.random(n) < 0.95, 9999, rng.integers(0, 2000, n)).astype(float)
    rows = pd.DataFrame({"count": count, "days": days})
    contributions = pd.DataFrame(
        {
            "count": 0.05 * count + rng.normal(0, 0.01, n),
            "days": np.where(days == 9999, -0.05, 1.0 - days / 2000) + rng.normal(0, 0.02, n),
        },
        index=rows.index,
    )
    assert pd.qcut(count, 10, labels=False, duplicates="drop").max() == 0  # one decile bin
    table = feature_importance(_Fixed(contributions), rows).set_index("feature")
    assert table.loc["count", "direction"] == RAISES
    assert table.loc["days", "direction"] == LOWERS
