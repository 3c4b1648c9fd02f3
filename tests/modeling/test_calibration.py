"""Isotonic calibration never says 0 or 1: extreme plateaus get their Jeffreys estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from riskstrat.modeling import ModelBundle
from riskstrat.modeling._calibration import temper_extremes


def _fitted() -> tuple[CalibratedClassifierCV, pd.DataFrame, np.ndarray]:
    # The 30 highest-scoring calibration rows all have the event, the 50 lowest none.
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": np.arange(400, dtype=float), "noise": rng.normal(size=400)})
    X = X.astype("float32").astype("float64")  # as training feeds them (feature_matrix)
    y = (rng.random(400) < 0.5).astype(int)
    y[-30:], y[:50] = 1, 0
    model = Pipeline([("scale", StandardScaler()), ("logistic", LogisticRegression())])
    model.fit(X, (X["x"] > 200).astype(int))
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method="isotonic").fit(X, y)
    return calibrated, X, y


def test_extreme_plateaus_get_their_jeffreys_estimate() -> None:
    calibrated, X, _ = _fitted()
    before = calibrated.predict_proba(X)[:, 1]
    top, bottom = before == 1.0, before == 0.0
    n_top, n_bottom = int(top.sum()), int(bottom.sum())
    assert n_top >= 30 and n_bottom >= 50  # the plateaus the data were built to make

    after = temper_extremes(calibrated, X).predict_proba(X)[:, 1]
    np.testing.assert_allclose(after[top], (n_top + 0.5) / (n_top + 1), rtol=0, atol=1e-15)
    np.testing.assert_allclose(after[bottom], 0.5 / (n_bottom + 1), rtol=0, atol=1e-15)
    middle = ~top & ~bottom
    np.testing.assert_array_equal(after[middle], before[middle])
    order = np.argsort(calibrated.estimator.decision_function(X), kind="stable")
    assert np.all(np.diff(after[order]) >= 0)  # still monotone in the model's score
    assert after.min() > 0 and after.max() < 1


def test_the_bundle_scores_the_tempered_calibrator(tmp_path) -> None:
    calibrated, X, _ = _fitted()
    temper_extremes(calibrated, X)
    bundle = ModelBundle.load(
        ModelBundle.from_calibrated(calibrated, "logistic", ["x", "noise"], "y").save(
            tmp_path / "b"
        )
    )
    np.testing.assert_allclose(
        bundle.predict_proba(X), calibrated.predict_proba(X)[:, 1], rtol=0, atol=1e-12
    )
    assert bundle.predict_proba(X).max() < 1


def test_no_plateau_is_a_rate_of_fewer_than_11_people() -> None:
    # The 7 highest-scoring calibration rows all had the event: fitted as they are, the top
    # plateau's 0.9375 would say that 7 of 7 people did.
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": np.arange(400, dtype=float), "noise": rng.normal(size=400)})
    y = (rng.random(400) < 0.3).astype(int)
    y[-7:], y[-8] = 1, 0
    model = Pipeline([("scale", StandardScaler()), ("logistic", LogisticRegression())])
    model.fit(X, (X["x"] > 200).astype(int))
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method="isotonic").fit(X, y)
    scores = calibrated.estimator.decision_function(X)
    before = calibrated.predict_proba(X)[:, 1]
    assert (pd.Series(before).value_counts() < 11).any()

    after = temper_extremes(calibrated, X, y).predict_proba(X)[:, 1]
    groups = pd.DataFrame({"risk": after, "y": y}).groupby("risk")["y"]
    assert groups.size().min() >= 11
    # Nor a count of 1 to 10 events or non-events within a plateau.
    for count in (groups.sum(), groups.size() - groups.sum()):
        assert not ((count > 0) & (count < 11)).any(), count.tolist()
    # Each plateau is its own people's event rate (a bottom one of no events tempered).
    rates = groups.mean()[groups.mean() > 0]
    np.testing.assert_allclose(rates.index.to_numpy(), rates.to_numpy(), rtol=0, atol=1e-12)
    order = np.argsort(scores, kind="stable")
    assert np.all(np.diff(after[order]) >= 0)  # still monotone in the model's score
    assert after.min() > 0 and after.max() < 1
