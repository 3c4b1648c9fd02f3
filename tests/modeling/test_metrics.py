"""Metrics against hand computations and scikit-learn; the bootstrap's weights and intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from riskstrat.modeling._metrics import (
    NOT_BINARY,
    NOT_FINITE,
    _resample_weights,
    bootstrap_metrics,
    equal_mass_bins,
    expected_calibration_error,
    point_metrics,
    precision_at_k,
    ranking_key,
)


def test_precision_and_recall_at_k_by_hand() -> None:
    y = np.array([1, 0, 1, 0, 0])
    score = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    assert precision_at_k(y, score, 1) == 1.0
    assert precision_at_k(y, score, 2) == 0.5
    assert precision_at_k(y, score, 3) == pytest.approx(2 / 3)
    m = point_metrics(y, score, ks={"three": 3})
    assert m["recall_at_k_three"] == 1.0
    # k beyond the number of rows: precision over all rows.
    assert precision_at_k(y, score, 50) == pytest.approx(2 / 5)


def test_a_tie_breaker_orders_equal_probabilities_only() -> None:
    y = np.array([1, 0, 1, 0, 0, 1])
    # An isotonic plateau at 0.5 over rows 1-4; the raw score orders it 2, 4, 1, 3.
    prob = np.array([0.9, 0.5, 0.5, 0.5, 0.5, 0.1])
    raw = np.array([3.0, 1.0, 2.5, 0.5, 2.0, -1.0])
    np.testing.assert_array_equal(ranking_key(prob, raw), [6, 3, 5, 2, 4, 1])
    np.testing.assert_array_equal(ranking_key(prob), prob)
    # Equal in both: still a tie.
    np.testing.assert_array_equal(ranking_key(np.ones(3), np.array([1.0, 1, 2])), [1, 1, 2])
    broken = point_metrics(y, prob, ks={"two": 2}, tie_break=raw)
    plain = point_metrics(y, prob, ks={"two": 2})
    # By hand: rows 0 and 2 are the top two, both hits.
    assert broken["precision_at_k_two"] == 1.0
    assert plain["precision_at_k_two"] == pytest.approx((1 + 1 / 4) / 2)
    # The tie-broken ranking is the raw order; the probabilities still decide calibration.
    ranked = np.array([9.0, 2.0, 5.0, 1.0, 4.0, -9.0])
    assert broken["auroc"] == pytest.approx(roc_auc_score(y, ranked))
    assert plain["auroc"] == pytest.approx(roc_auc_score(y, prob))
    assert broken["brier"] == plain["brier"] and broken["ece"] == plain["ece"]
    table = bootstrap_metrics(
        y, {"m": prob, "o": prob}, ks={"two": 2}, n_bootstrap=0, tie_breaks={"m": raw}
    ).set_index(["scorer", "metric"])["estimate"]
    assert table["m", "precision_at_k_two"] == 1.0
    assert table["o", "precision_at_k_two"] == plain["precision_at_k_two"]
    with pytest.raises(ValueError, match=r"tie_breaks: \['x'\] are not scorers"):
        bootstrap_metrics(y, {"m": prob}, tie_breaks={"x": raw})
    with pytest.raises(ValueError, match="tie_break of m: expected 6 scores"):
        bootstrap_metrics(y, {"m": prob}, tie_breaks={"m": raw[:3]})


def test_precision_at_k_counts_ties_at_their_expected_value() -> None:
    y = np.array([1, 1, 0, 0, 1])
    score = np.array([0.9, 0.5, 0.5, 0.5, 0.1])
    # Top row is a hit; one of the three tied rows is a hit, and 1 of the 3 fits in k=2.
    assert precision_at_k(y, score, 2) == pytest.approx((1 + 1 / 3) / 2)
    # The order of rows within a tie does not matter.
    assert precision_at_k(y[[0, 3, 2, 1, 4]], score, 2) == pytest.approx((1 + 1 / 3) / 2)


def test_mean_risk_at_k_is_the_predicted_share_of_the_same_places() -> None:
    y = np.array([1, 0, 1, 0, 0, 1])
    p = np.array([0.9, 0.8, 0.8, 0.3, 0.2, 0.1])
    got = point_metrics(y, p, ks={"two": 2, "three": 3})
    # k=2: the 0.9 row and half of the tied 0.8 pair; k=3: the top three rows whole.
    assert got["mean_risk_at_k_two"] == pytest.approx((0.9 + 0.8) / 2)
    assert got["mean_risk_at_k_three"] == pytest.approx((0.9 + 0.8 + 0.8) / 3)
    # A tie-breaker moves which rows are in, not the probability the places carry.
    broken = point_metrics(y, p, ks={"two": 2}, tie_break=np.array([6, 5, 4, 3, 2, 1.0]))
    assert broken["mean_risk_at_k_two"] == pytest.approx(0.85)
    # Drawn from the probabilities themselves, the observed share at k meets the predicted.
    rng = np.random.default_rng(3)
    prob = rng.beta(1, 6, 40_000)
    outcome = (rng.random(prob.size) < prob).astype(float)
    table = bootstrap_metrics(outcome, {"m": prob}, ks={"top": 500}, n_bootstrap=50)
    rows = table.set_index("metric")
    assert rows.loc["mean_risk_at_k_top", "lower"] <= rows.loc["mean_risk_at_k_top", "estimate"]
    gap = rows.loc["precision_at_k_top", "estimate"] - rows.loc["mean_risk_at_k_top", "estimate"]
    assert abs(gap) < 0.06


def test_ece_of_a_known_case() -> None:
    y = np.array([0, 1, 1, 1])
    p = np.array([0.1, 0.1, 0.9, 0.9])
    # Two equal-mass bins: |0.5 - 0.1| * 1/2 + |1.0 - 0.9| * 1/2 = 0.25.
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.25)
    # Perfect calibration within each bin gives zero.
    constant = point_metrics(np.array([0, 1, 0, 1]), np.full(4, 0.5), n_bins=2)
    assert constant["ece"] == 0.0
    # A constant score has no calibration slope.
    assert np.isnan(constant["calibration_slope"])


def test_ranking_and_brier_match_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(2000)
    y = (rng.random(2000) < p).astype(float)
    score = np.round(p, 1)  # many ties
    m = point_metrics(y, score)
    assert m["auroc"] == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert m["auprc"] == pytest.approx(average_precision_score(y, score), abs=1e-12)
    assert m["brier"] == pytest.approx(brier_score_loss(y, score), abs=1e-12)


def test_calibration_slope_and_intercept_match_an_unpenalised_logistic_fit() -> None:
    rng = np.random.default_rng(5)
    q = rng.uniform(0.02, 0.6, 20_000)
    true = expit(0.3 + 2.0 * logit(q))  # the scores are too flat: slope 2, intercept 0.3
    y = (rng.random(len(q)) < true).astype(float)
    m = point_metrics(y, q)
    ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(logit(q)[:, None], y)
    assert m["calibration_slope"] == pytest.approx(ref.coef_[0, 0], abs=1e-5)
    assert m["calibration_intercept"] == pytest.approx(ref.intercept_[0], abs=1e-5)
    assert m["calibration_slope"] == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize(("shift", "spread"), [(-2.5, 2.0), (-3.0, 2.0), (-1.5, 2.2)])
def test_an_overconfident_scorer_gets_its_slope_in_every_resample(shift, spread) -> None:
    # Scores twice as spread as the truth at a low event rate: slope about one half. Whole
    # Newton steps from (0, 1) overshot here and returned NaN.
    rng = np.random.default_rng(11)
    z = rng.normal(size=3000)
    y = (rng.random(3000) < expit(z + shift)).astype(float)
    p = expit(spread * (z + shift))
    m = point_metrics(y, p)
    ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(logit(p)[:, None], y)
    assert m["calibration_slope"] == pytest.approx(ref.coef_[0, 0], abs=1e-5)
    assert m["calibration_intercept"] == pytest.approx(ref.intercept_[0], abs=1e-5)
    assert m["calibration_slope"] == pytest.approx(1 / spread, abs=0.12)
    from riskstrat.modeling._calibration_measures import logistic_recalibration

    W = _resample_weights(np.random.default_rng(0), len(y), 200)
    a, b = logistic_recalibration(y, p, W)
    assert np.isfinite(a).all() and np.isfinite(b).all()
    for row in (0, 117):
        idx = np.repeat(np.arange(len(y)), W[row].astype(int))
        ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000)
        ref.fit(logit(p[idx])[:, None], y[idx])
        assert b[row] == pytest.approx(ref.coef_[0, 0], abs=1e-5)


def test_intervals_are_the_percentiles_of_the_resamples_at_the_confidence_asked() -> None:
    from riskstrat.modeling._metrics import _all_metrics

    rng = np.random.default_rng(4)
    n = 500
    p = rng.uniform(0.05, 0.6, n)
    y = (rng.random(n) < p).astype(float)
    out = bootstrap_metrics(y, {"m": p}, n_bootstrap=300, seed=9, confidence=0.8)
    W = _resample_weights(np.random.default_rng(9), n, 300)
    auroc = _all_metrics(y, {"m": p}, W, {}, 10)["m"]["auroc"]
    row = out.set_index("metric").loc["auroc"]
    assert (row["lower"], row["upper"]) == pytest.approx(tuple(np.percentile(auroc, [10, 90])))


def test_a_lift_over_a_baseline_with_no_hits_in_some_resamples_keeps_its_bounds() -> None:
    # The baseline finds one event in its top 10: in about a third of the resamples none,
    # and the lift there is infinite. The upper bound is then infinite, not NaN.
    y = np.zeros(300)
    y[:40] = 1
    model = np.linspace(0.9, 0.01, 300)
    base = np.full(300, 0.1)
    base[[0, *range(100, 109)]] = 0.5
    out = bootstrap_metrics(
        y,
        {"model": model, "base": base},
        ks={"k": 10},
        n_bootstrap=400,
        seed=3,
        reference="model",
    )
    lift = out.set_index(["scorer", "metric"]).loc[("model_vs_base", "lift_precision_at_k_k")]
    assert lift["estimate"] == pytest.approx(10.0)
    assert lift["lower"] >= 1.0
    assert lift["upper"] == np.inf
    # A baseline that never finds an event: every resampled lift is infinite, and so are
    # both bounds (not NaN, as if there were no resamples).
    never = bootstrap_metrics(
        y,
        {"model": model, "base": np.where(y == 1, 0.01, 0.5)},
        ks={"k": 10},
        n_bootstrap=50,
        seed=3,
        reference="model",
    ).set_index(["scorer", "metric"])
    assert tuple(never.loc[("model_vs_base", "lift_precision_at_k_k")]) == (np.inf,) * 3


def test_a_capacity_below_one_is_refused() -> None:
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="capacity 'x': expected k of at least 1, got 0"):
        point_metrics(y, np.array([0.1, 0.8, 0.3, 0.6]), ks={"x": 0})
    with pytest.raises(ValueError, match="capacity 'x': expected k of at least 1, got -3"):
        bootstrap_metrics(y, {"m": np.array([0.1, 0.8, 0.3, 0.6])}, ks={"x": -3})


def test_bootstrap_weights_equal_explicit_resampling() -> None:
    rng = np.random.default_rng(11)
    n = 300
    p = rng.random(n)
    y = (rng.random(n) < p).astype(float)
    W = _resample_weights(np.random.default_rng(0), n, 3)
    assert W.shape == (3, n)
    assert (W.sum(axis=1) == n).all()
    from riskstrat.modeling._metrics import _all_metrics

    weighted = _all_metrics(y, {"s": p}, W, {"k": 20}, 10)["s"]
    for b in range(3):
        idx = np.repeat(np.arange(n), W[b].astype(int))
        assert weighted["auroc"][b] == pytest.approx(roc_auc_score(y[idx], p[idx]), abs=1e-12)
        assert weighted["auprc"][b] == pytest.approx(
            average_precision_score(y[idx], p[idx]), abs=1e-12
        )
        assert weighted["brier"][b] == pytest.approx(brier_score_loss(y[idx], p[idx]), abs=1e-12)
        # Precision at k on the resample, duplicates included (distinct scores: no ties).
        top = np.argsort(-p[idx], kind="stable")[:20]
        assert weighted["precision_at_k_k"][b] == pytest.approx(y[idx][top].mean(), abs=1e-12)


def _expected_hits_by_hand(y: np.ndarray, score: np.ndarray, k: int) -> float:
    """Hits in the top k when the rows of a tie are taken in a random order."""
    hits, left = 0.0, k
    for value in sorted(set(score), reverse=True):
        group = y[score == value]
        taken = min(left, len(group))
        hits += taken * group.mean()
        left -= taken
    return hits


def test_precision_at_k_in_weighted_resamples_shares_ties_as_explicit_resamples_do() -> None:
    rng = np.random.default_rng(7)
    n = 400
    score = np.round(rng.random(n), 1)  # eleven levels: every k falls inside a tie
    y = (rng.random(n) < score).astype(float)
    W = _resample_weights(np.random.default_rng(1), n, 5)
    from riskstrat.modeling._metrics import _all_metrics

    ks = {"one": 1, "inside": 37, "edge": int((score == 1.0).sum()), "all": n, "beyond": 2 * n}
    weighted = _all_metrics(y, {"s": score}, W, ks, 10)["s"]
    for b in range(len(W)):
        idx = np.repeat(np.arange(n), W[b].astype(int))
        for name, k in ks.items():
            hits = _expected_hits_by_hand(y[idx], score[idx], k)
            assert weighted[f"precision_at_k_{name}"][b] == pytest.approx(
                hits / min(k, n), abs=1e-12
            )
            assert weighted[f"recall_at_k_{name}"][b] == pytest.approx(
                hits / y[idx].sum(), abs=1e-12
            )


def test_calibration_fit_on_plateaued_scores_matches_a_logistic_fit_per_resample() -> None:
    # A calibrated model's isotonic plateaus: the fit sums the weights of rows sharing a
    # score and an outcome before it iterates; the answer must not change.
    from riskstrat.modeling._calibration_measures import logistic_recalibration

    rng = np.random.default_rng(13)
    z = rng.normal(size=4000)
    y = (rng.random(len(z)) < expit(z - 1.5)).astype(float)
    p = np.round(expit(1.4 * (z - 1.5)), 2).clip(0.005, 0.995)
    W = _resample_weights(np.random.default_rng(2), len(y), 4)
    a, b = logistic_recalibration(y, p, W)
    for row in range(len(W)):
        idx = np.repeat(np.arange(len(y)), W[row].astype(int))
        ref = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000)
        ref.fit(logit(p[idx])[:, None], y[idx])
        assert b[row] == pytest.approx(ref.coef_[0, 0], abs=1e-5)
        assert a[row] == pytest.approx(ref.intercept_[0], abs=1e-5)


def test_ece_shares_a_straddling_plateau_between_its_bins() -> None:
    # A plateau of four rows at 0.5 straddles the cut between two equal-mass bins of three.
    p = np.array([0.1, 0.1, 0.5, 0.5, 0.5, 0.5])
    y = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    order, run_starts, share = equal_mass_bins(p, 2)
    np.testing.assert_array_equal(run_starts, [0, 2])
    # One of the plateau's four rows lies in the first bin, three in the second.
    np.testing.assert_allclose(share, [[1.0, 0.0], [0.25, 0.75]])
    # By hand: bin 1 gets the 0.1 run's gap (-0.2) and a quarter of the plateau's (0): 0.2 / 6.
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.2 / 6)
    # The row order no longer moves the figure.
    rng = np.random.default_rng(0)
    p = np.round(rng.beta(1, 5, 5000), 2)
    y = (rng.random(5000) < p).astype(float)
    values = {
        round(expected_calibration_error(y[o], p[o]), 12)
        for o in (rng.permutation(5000) for _ in range(5))
    }
    assert len(values) == 1


def test_a_dominant_plateau_leaves_the_other_bins_their_own_gaps() -> None:
    # 93 rows at 0.1 (nearly calibrated), then 7 rows above it that all have the event.
    p = np.r_[np.full(93, 0.1), np.linspace(0.5, 0.9, 7)]
    y = np.r_[np.zeros(84), np.ones(16)]
    order, run_starts, share = equal_mass_bins(p, 10)
    assert share.shape == (8, 10) and np.allclose(share.sum(axis=1), 1.0)
    # Ten bins of ten rows each, none empty.
    sizes = np.diff(run_starts.tolist() + [100]) @ share
    np.testing.assert_allclose(sizes, np.full(10, 10.0))
    # By hand: the plateau's gap, 9 - 9.3 = -0.3, goes 90/93 to bins 1-9 and 3/93 to bin 10,
    # which also holds the 7 rows above it: gap 7 - 4.9 = 2.1.
    expected = (0.3 * 90 / 93 + abs(-0.3 * 3 / 93 + 2.1)) / 100
    assert expected_calibration_error(y, p, n_bins=10) == pytest.approx(expected)
    # One merged bin would have read |-0.3 + 2.1| / 100 = 0.018.
    assert expected == pytest.approx(0.0238065, abs=1e-7)
    with pytest.raises(ValueError, match="n_bins: expected at least 1"):
        expected_calibration_error(y, p, n_bins=0)


def test_ece_interval_is_placed_around_the_estimate(monkeypatch) -> None:
    # A calibrated scorer: every resampled ECE exceeds the estimate on average, so a plain
    # percentile interval would sit above it.
    rng = np.random.default_rng(2)
    n = 3000
    p = rng.uniform(0.01, 0.4, n)
    y = (rng.random(n) < p).astype(float)
    rows = bootstrap_metrics(y, {"model": p}, ks={}, n_bootstrap=200, seed=0)
    ece = rows.set_index(["scorer", "metric"]).loc[("model", "ece")]
    assert 0.0 <= ece["lower"] <= ece["estimate"] <= ece["upper"]
    # Unshifted, the same draws give an interval wholly above the estimate.
    monkeypatch.setattr("riskstrat.modeling._metrics.BIAS_SHIFTED", ())
    plain = bootstrap_metrics(y, {"model": p}, ks={}, n_bootstrap=200, seed=0)
    assert plain.set_index(["scorer", "metric"]).loc[("model", "ece"), "lower"] > ece["estimate"]


def test_bootstrap_intervals_are_seeded_and_contain_the_estimate() -> None:
    rng = np.random.default_rng(2)
    n = 3000
    p = rng.uniform(0.01, 0.5, n)
    y = (rng.random(n) < p).astype(float)
    noisy = np.clip(p + rng.normal(0, 0.1, n), 0.001, 0.999)
    scores = {"model": p, "base": noisy}
    a = bootstrap_metrics(y, scores, ks={"isr": 100}, n_bootstrap=60, seed=1, reference="model")
    b = bootstrap_metrics(y, scores, ks={"isr": 100}, n_bootstrap=60, seed=1, reference="model")
    c = bootstrap_metrics(y, scores, ks={"isr": 100}, n_bootstrap=60, seed=2, reference="model")
    assert a.equals(b)
    assert not a["lower"].equals(c["lower"])
    auroc = a.set_index(["scorer", "metric"]).loc[("model", "auroc")]
    assert auroc["lower"] < auroc["estimate"] < auroc["upper"]
    assert auroc["upper"] - auroc["lower"] < 0.06
    rows = a.set_index(["scorer", "metric"])
    lift = rows.loc[("model_vs_base", "lift_precision_at_k_isr"), "estimate"]
    assert lift == pytest.approx(
        rows.loc[("model", "precision_at_k_isr"), "estimate"]
        / rows.loc[("base", "precision_at_k_isr"), "estimate"]
    )
    diff = rows.loc[("model_vs_base", "diff_auroc")]
    assert diff["estimate"] == pytest.approx(
        rows.loc[("model", "auroc"), "estimate"] - rows.loc[("base", "auroc"), "estimate"]
    )
    # The noiseless scorer ranks better, and the paired interval says so.
    assert diff["lower"] > 0


def test_zero_resamples_give_point_estimates_only() -> None:
    y = np.array([0, 1, 0, 1])
    out = bootstrap_metrics(y, {"m": np.array([0.1, 0.8, 0.3, 0.6])}, n_bootstrap=0)
    assert out.loc[out["metric"] == "auroc", "estimate"].item() == 1.0
    assert out["lower"].isna().all()


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError) as info:
        point_metrics(np.zeros(3), np.array([0.1, 0.2, 0.3]))
    assert info.value.args[0] == NOT_BINARY.format(n_other=0, n_classes=1)
    with pytest.raises(ValueError) as info:
        point_metrics(np.array([0.0, 1.0, 250.0]), np.array([0.1, 0.2, 0.3]))
    assert info.value.args[0] == NOT_BINARY.format(n_other=1, n_classes=2)
    assert "250" not in info.value.args[0]
    with pytest.raises(ValueError) as info:
        point_metrics(np.array([0, 1, 1]), np.array([0.1, np.nan, 0.3]))
    assert info.value.args[0] == NOT_FINITE.format(name="score", count=1)


def test_plot_curve_uses_the_same_tie_rule() -> None:
    from riskstrat.modeling._plots import expected_hits

    y = np.array([1, 1, 0, 0, 1], dtype=float)
    score = np.array([0.9, 0.5, 0.5, 0.5, 0.1])
    ks = np.arange(1, 6)
    curve = expected_hits(y, score, ks) / ks
    expected = [precision_at_k(y, score, int(k)) for k in ks]
    np.testing.assert_allclose(curve, expected)


def test_each_programme_is_compared_with_its_own_rule_on_the_places_it_fills() -> None:
    from types import SimpleNamespace

    from riskstrat.modeling import programme_rule_metrics, programme_rule_table
    from riskstrat.modeling._programme_rule_report import programme_rule_rows, ranking_chooses

    n = 200
    rows_ = np.arange(n)
    y = np.zeros(n)
    for first, last in ((0, 17), (30, 44), (100, 114), (130, 132), (160, 187)):
        y[first : last + 1] = 1  # 18 + 15 + 15 + 3 + 28 = 79 events
    rows = pd.DataFrame(
        {
            # 60 eligible: rows 0-29 meet 2 criteria, rows 30-59 one; the rest meet 2 of none.
            "rule_score_isr": np.select([rows_ < 30, rows_ < 60], [1002.0, 1001.0], 2.0),
            "rule_score_sud_ens": np.where((rows_ >= 100) & (rows_ < 130), 1000.0, 0.0),
            "rule_score_toc": np.where(rows_ < 5, 1001.0, 3.0),  # 5 eligible
            "rule_score_rbc": np.full(n, 4.0),  # nobody eligible
            "rule_score_reentry": np.where((rows_ >= 130) & (rows_ < 150), 1000.0, 1.0),
            "rule_score_fsp": np.where((rows_ >= 60) & (rows_ < 75), 1000.0, 0.0),
        }
    )
    model_rank = rows_.astype(float)  # the model ranks row 199 first
    ks = {"isr": 40, "sud_ens": 100, "toc": 15, "rbc": 15, "reentry": 20, "fsp": 12}
    table = programme_rule_metrics(y, model_rank, rows, ks)
    assert table["lower"].isna().all() and table["upper"].isna().all()
    got = programme_rule_table(table, ks)
    assert list(got.index) == list(ks)
    # ISR: 60 eligible, 40 places: rows 0-29, then 10 of the tied rows 30-59 at their
    # expected value, 18 + 10 x 0.5 = 23 events. The partial criteria of rows 60+ never
    # count. The model's top 40 (rows 160-199) hold 28; its top 40 of the eligible (rows
    # 20-59) hold 15.
    isr = got.loc["isr"]
    assert (isr["eligible"], isr["places"]) == (60, 40)
    assert isr["rule_precision"] == pytest.approx(23 / 40)
    assert isr["model_precision"] == pytest.approx(28 / 40)
    assert isr["lift"] == pytest.approx(28 / 23)
    assert isr["model_within_eligible_precision"] == pytest.approx(15 / 40)
    assert isr["rule_recall"] == pytest.approx(23 / 79)
    assert isr["model_recall"] == pytest.approx(28 / 79)
    # SUD-ENS: k = 100 but only 30 eligible, so 30 places, not 100 padded with people the
    # rule turns away; the model on its top 30 (rows 170-199, 18 events).
    sud = got.loc["sud_ens"]
    assert (sud["eligible"], sud["places"]) == (30, 30)
    assert sud["rule_precision"] == pytest.approx(0.5)
    assert sud["model_precision"] == pytest.approx(0.6)
    assert sud["lift"] == pytest.approx(1.2)
    assert sud["model_within_eligible_precision"] == pytest.approx(0.5)  # the same 30 people
    # TOC: 5 eligible, a count of 1 to 10: neither it nor any precision is published.
    assert got.loc["toc", "k"] == 15 and got.loc["toc"].drop(["k", "hidden"]).isna().all()
    # RBC: nobody eligible, no places, nothing to compare.
    assert (got.loc["rbc", "eligible"], got.loc["rbc", "places"]) == (0, 0)
    assert np.isnan(got.loc["rbc", "rule_precision"]) and np.isnan(got.loc["rbc", "lift"])
    # Re-entry: 20 places holding 3 events (the rule's) and 8 (the model's): counts of 1 to
    # 10 people's outcomes, so no precision, recall or lift.
    reentry = got.loc["reentry"]
    assert (reentry["eligible"], reentry["places"]) == (20, 20)
    assert reentry.drop(["k", "eligible", "places", "hidden"]).isna().all()
    # FSP: 15 eligible for 12 places leaves 3 without one: the 15 is not shown. The places
    # hold no event and 12 non-events, which may be shown.
    fsp = got.loc["fsp"]
    assert fsp["eligible"] is pd.NA and fsp["places"] == 12
    # People are whole: the counts are integers, <NA> where hidden (not 60.0 and NaN).
    assert {str(got[c].dtype) for c in ("eligible", "places")} == {"Int64"}
    assert got["k"].dtype == "int64"
    assert fsp["rule_precision"] == 0.0 and fsp["model_precision"] == 0.0
    assert np.isnan(fsp["lift"])  # the rule found no event
    # A NaN that hides a small count is told from one that is not defined.
    every = "rule_precision, rule_recall, model_precision, model_recall, "
    every += "model_within_eligible_precision, model_within_eligible_recall, lift"
    assert got["hidden"].to_dict() == {
        "isr": "",
        "sud_ens": "",
        "toc": f"eligible, places, {every}",
        "rbc": "",  # no places: nothing hidden, nothing defined
        "reentry": every,
        "fsp": "eligible",  # its lift is not defined: the rule found no event
    }
    result = SimpleNamespace(metrics=table, capacities=ks)
    assert programme_rule_rows(result) == [
        ["isr", "40", "60", "40", "0.575", "0.700", "1.22x", "0.375"],
        ["sud_ens", "100", "30", "30", "0.500", "0.600", "1.20x", "0.500"],
        ["toc", "15", "<11", "<11", "-", "-", "-", "-"],
        ["rbc", "15", "0", "0", "-", "-", "-", "-"],
        ["reentry", "20", "20", "20", "-", "-", "-", "-"],
        ["fsp", "12", "-", "12", "0.000", "0.000", "-", "0.000"],
    ]
    # The ranking chooses only where more are eligible than the places: ISR's 60 for 40,
    # FSP's hidden 13 to 22 for 12; everyone eligible fits elsewhere (Re-entry's 20 in 20).
    assert ranking_chooses(result).startswith(
        "**Where the model's ranking chooses:** `riskstrat score` offers a programme's places "
        "to the people eligible for it, highest risk first. At the test quarter, more were "
        "eligible than there were places for isr, fsp: there the ranking picks who is "
        "offered. For sud_ens, toc, rbc, reentry, everyone eligible fits in the places, so "
        "the ranking changes no offer there. Precision at k"
    )
    fits = SimpleNamespace(metrics=table, capacities={"sud_ens": 100, "reentry": 20})
    assert "At the test quarter, no programme shown had more eligible people than places. " in (
        ranking_chooses(fits)
    )
    # Under 11 places, the places are hidden: ISR's 60 eligible still show 5 are too few;
    # TOC's 5 for 5 places show nothing, so neither is claimed.
    small = {"isr": 5, "toc": 5}
    few = SimpleNamespace(
        metrics=programme_rule_metrics(y, model_rank, rows, small), capacities=small
    )
    assert "At the test quarter, more were eligible than there were places for isr: there the " in (
        ranking_chooses(few)
    )
    assert "For toc, the places are too few (under 11) to show whether more were eligible." in (
        ranking_chooses(few)
    )
    bad = rows.assign(rule_score_isr=np.r_[np.nan, rows["rule_score_isr"].to_numpy()[1:]])
    with pytest.raises(ValueError, match=r"rule_score_isr has 1 missing"):
        programme_rule_metrics(y, model_rank, bad, ks)


def test_a_persons_rows_are_resampled_together() -> None:
    # One row per person draws exactly as rows do; each person twice (two as-of dates)
    # must not narrow the interval as if the copies were new people.
    rng = np.random.default_rng(6)
    n = 1500
    p = rng.uniform(0.05, 0.6, n)
    y = (rng.random(n) < p).astype(float)
    person = np.array([f"P{i}" for i in range(n)])
    once = bootstrap_metrics(y, {"m": p}, n_bootstrap=300, seed=1)
    labelled = bootstrap_metrics(y, {"m": p}, n_bootstrap=300, seed=1, clusters=person)
    assert once.equals(labelled)
    twice_y, twice_p = np.r_[y, y], np.r_[p, p]
    rows = bootstrap_metrics(twice_y, {"m": twice_p}, n_bootstrap=300, seed=1)
    people = bootstrap_metrics(
        twice_y, {"m": twice_p}, n_bootstrap=300, seed=1, clusters=np.r_[person, person]
    )

    def width(frame: pd.DataFrame) -> float:
        row = frame.set_index("metric").loc["auroc"]
        return row["upper"] - row["lower"]

    assert width(people) == pytest.approx(width(once), rel=0.15)
    assert width(rows) < 0.8 * width(once)
    with pytest.raises(ValueError, match=r"clusters: expected one label per row \(3000\)"):
        bootstrap_metrics(twice_y, {"m": twice_p}, clusters=person)
