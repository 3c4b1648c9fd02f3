"""Global importance: mean absolute contribution, checked against models whose drivers are known."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from riskstrat.modeling import ModelBundle
from riskstrat.modeling._importance import (
    IMPORTANCE_COLUMNS,
    LOWERS,
    MIXED,
    RAISES,
    feature_importance,
)
from riskstrat.modeling._plots import importance_plot

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
    assert by.loc["constant", "direction"] == MIXED
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
