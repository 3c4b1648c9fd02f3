"""Closed-form intervals: textbook values, and coverage against known probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from riskstrat.modeling._intervals import (
    auroc_interval,
    holm_reject,
    observed_to_expected_interval,
    observed_to_expected_p_value,
    rate_ratio_interval,
    rate_ratio_p_value,
    wilson_interval,
)


def test_wilson_interval_of_known_proportions() -> None:
    low, high = wilson_interval(np.array([0.5, 0.0]), np.array([100.0, 20.0]))
    # 50 of 100: the textbook 95% Wilson interval.
    assert (low[0], high[0]) == (pytest.approx(0.40383, abs=1e-5), pytest.approx(0.59617, abs=1e-5))
    # 0 of 20: starts at zero, never below, and still has width (3.84 / 23.84).
    assert low[1] == pytest.approx(0.0, abs=1e-12) and high[1] == pytest.approx(0.16113, abs=1e-5)


def test_observed_to_expected_interval_of_known_counts() -> None:
    # Exact 95% Poisson limits from the tables: 20 events [12.217, 30.888]; 0 events
    # [0, 3.689]; 1 event [0.0253, 5.572]. Over 10, 5 and 2 expected.
    low, high = observed_to_expected_interval(np.array([20, 0, 1]), np.array([10.0, 5.0, 2.0]))
    assert low == pytest.approx([1.2217, 0.0, 0.02532 / 2], abs=1e-4)
    assert high == pytest.approx([3.0888, 3.6889 / 5, 5.5716 / 2], abs=1e-4)
    # A wider level widens it; nothing expected gives no interval.
    wide = observed_to_expected_interval(np.array([20]), np.array([10.0]), z=2.576)
    assert wide[0][0] < low[0] and wide[1][0] > high[0]
    none = observed_to_expected_interval(np.array([3]), np.array([0.0]))
    assert np.isnan(none).all()


def test_a_calibrated_scorer_is_flagged_no_more_often_than_the_level_says() -> None:
    """Against known probabilities: O/E of the true risk covers 1 at least 95% of the time,
    and a risk a quarter too high for a group of 2,000 is caught nearly always."""
    rng = np.random.default_rng(11)
    p = rng.beta(0.6, 3.5, 2000)  # a common outcome (mean ~0.15), as the composite is
    draws = (rng.random((2000, p.size)) < p).sum(axis=1)
    low, high = observed_to_expected_interval(draws, np.full(draws.size, p.sum()))
    covered = np.mean((low <= 1) & (high >= 1))
    # Poisson limits are wider than binomial ones for a common outcome: at least 95%.
    assert 0.95 <= covered <= 0.995
    low, high = observed_to_expected_interval(draws, np.full(draws.size, 1.25 * p.sum()))
    assert np.mean(high < 1) > 0.95


def test_the_p_value_is_below_five_percent_exactly_when_the_interval_misses_one() -> None:
    observed = np.repeat(np.arange(0, 60), 40).astype(float)
    expected = np.tile(np.linspace(0.5, 60, 40), 60)
    low, high = observed_to_expected_interval(observed, expected)
    p = observed_to_expected_p_value(observed, expected)
    near = np.abs(p - 0.05) < 1e-9  # a bound landing on 1 to rounding error
    assert np.array_equal(((low > 1) | (high < 1))[~near], (p < 0.05)[~near])
    assert observed_to_expected_p_value(np.array([5.0]), np.array([5.0]))[0] == 1.0
    assert np.isnan(observed_to_expected_p_value(np.array([5.0]), np.array([0.0]))[0])


def test_holm_steps_down_until_a_p_value_misses_its_share() -> None:
    # Sorted: 0.005 <= 0.05/4 and 0.01 <= 0.05/3 are rejected; 0.03 > 0.05/2 stops it.
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    assert holm_reject(p).tolist() == [True, False, False, True, False]
    assert not holm_reject(np.array([np.nan, np.nan])).any()
    # Only a step-down rejects all three (Bonferroni, 0.05/3 each, only the first).
    assert holm_reject(np.array([0.04, 0.01, 0.02])).tolist() == [True, True, True]


def test_a_calibrated_model_is_named_in_at_most_one_quarter_in_twenty() -> None:
    """Against known probabilities, eleven groups per quarter: testing each at 5% names
    some group in a sixth of the quarters; Holm keeps it under 5%."""
    rng = np.random.default_rng(3)
    sizes = [9000, 5000, 2000, 1500, 900, 600, 400, 9800, 8600, 900, 700]
    p = [rng.beta(0.6, 3.5, n) for n in sizes]
    expected = np.array([q.sum() for q in p])
    quarters = 1000
    observed = np.column_stack([rng.binomial(1, q, (quarters, q.size)).sum(axis=1) for q in p])
    p_values = observed_to_expected_p_value(observed, np.broadcast_to(expected, observed.shape))
    any_raw = np.mean((p_values < 0.05).any(axis=1))
    any_holm = np.mean([holm_reject(row).any() for row in p_values])
    assert any_raw > 0.1  # 0.175 here
    assert any_holm <= 0.05  # 0.002: Poisson limits are wide for a common outcome


def test_delong_interval_matches_a_hand_computed_example() -> None:
    # Events score 0.9, 0.5, 0.3 against non-events 0.4, 0.2, 0.1: each event's share of
    # non-events below it is 1, 1, 2/3 (AUROC 8/9), each non-event's share of events above
    # it 2/3, 1, 1; both have variance 1/27, so var = 1/27/3 + 1/27/3 = 2/81.
    y = np.array([1, 1, 1, 0, 0, 0])
    score = np.array([0.9, 0.5, 0.3, 0.4, 0.2, 0.1])
    lower, upper = auroc_interval(y, score)
    assert lower == pytest.approx(8 / 9 - 1.96 * np.sqrt(2) / 9)
    assert upper == 1.0  # 1.197, clipped


def test_delong_interval_agrees_with_the_pairwise_definition_and_counts_ties_half() -> None:
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=300) < 0.3).astype(int)
    score = np.round(rng.normal(y * 0.8, 1.0), 1)  # rounded: many ties
    events, others = score[y == 1], score[y == 0]
    pairs = (events[:, None] > others[None, :]) + 0.5 * (events[:, None] == others[None, :])
    v_events, v_others = pairs.mean(axis=1), pairs.mean(axis=0)
    se = np.sqrt(v_events.var(ddof=1) / len(events) + v_others.var(ddof=1) / len(others))
    lower, upper = auroc_interval(y, score)
    assert (lower, upper) == pytest.approx((pairs.mean() - 1.96 * se, pairs.mean() + 1.96 * se))
    assert np.isnan(auroc_interval(np.array([1, 0, 0]), np.array([0.3, 0.2, 0.1]))).all()


def test_delong_interval_covers_the_true_auroc_about_95_times_in_100() -> None:
    # Scores normal with unit variance, events shifted by 1: true AUROC = Phi(1 / sqrt 2).
    rng = np.random.default_rng(8)
    truth = norm.cdf(1 / np.sqrt(2))
    covered = 0
    for _ in range(400):
        y = (rng.uniform(size=200) < 0.3).astype(int)
        lower, upper = auroc_interval(y, rng.normal(y * 1.0, 1.0))
        covered += lower <= truth <= upper
    assert 0.92 <= covered / 400 <= 0.975


def test_katz_interval_of_a_rate_ratio_matches_the_textbook_form() -> None:
    # 20 of 100 against 10 of 100: ratio 2, log standard error sqrt(1/20 - 1/100 + 1/10 - 1/100).
    lower, upper = rate_ratio_interval(np.array([20, 0]), np.array([100, 50]), 10, 100)
    spread = 1.96 * np.sqrt(0.13)
    assert lower[0] == pytest.approx(2 * np.exp(-spread))  # 0.987
    assert upper[0] == pytest.approx(2 * np.exp(spread))  # 4.054
    assert np.isnan([lower[1], upper[1]]).all()  # no hit: the log ratio is undefined


def test_rate_ratio_p_value_agrees_with_katz_interval() -> None:
    # 20 of 100 against 10 of 100: z = log 2 / sqrt(0.13) = 1.9224, two-sided p = 0.0546,
    # and the 95% interval [0.987, 4.054] just reaches 1.
    p = rate_ratio_p_value(np.array([20, 0, 10]), np.array([100, 50, 100]), 10, 100)
    assert p[0] == pytest.approx(0.05455, abs=1e-4)
    assert np.isnan(p[1])  # no hit: as the interval, undefined
    assert p[2] == pytest.approx(1.0)  # the same rate
    rng = np.random.default_rng(5)
    hits = rng.integers(1, 60, size=200)
    n = hits + rng.integers(1, 200, size=200)
    p = rate_ratio_p_value(hits, n, 30, 120)
    lower, upper = rate_ratio_interval(hits, n, 30, 120)
    leaves_out_one = (lower > 1) | (upper < 1)
    assert ((p < 0.05) == leaves_out_one).all()
