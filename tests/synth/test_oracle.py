"""Closed forms of the oracle against hand-computed values and a Monte Carlo of the sampler."""

from __future__ import annotations

import math

import numpy as np
import pytest

from riskstrat.synth._oracle import (
    fraction_alive,
    gap_merge_share,
    homeless_entry,
    laplace,
    month_terms,
    nb_pmf,
    passage,
    readmission_month,
)
from riskstrat.synth._sampling import gamma_shock, poisson_cells


def _const(value: float, months: int = 12, n: int = 1) -> np.ndarray:
    return np.full((months, n), value)


def test_laplace_and_pmf_hand_values() -> None:
    assert laplace(np.array(1.0), 0.0) == pytest.approx(math.exp(-1))
    # Gamma shock with variance 1 is exponential: E[exp(-G)] = 1 / 2.
    assert laplace(np.array(1.0), 1.0) == pytest.approx(0.5)
    # Mixed over an exponential shock the count is geometric: 1/2, 1/4, 1/8.
    assert nb_pmf(np.array([1.0]), 1.0, 3)[:, 0] == pytest.approx([0.5, 0.25, 0.125])
    assert nb_pmf(np.array([2.0]), 0.0, 3)[:, 0] == pytest.approx(
        [math.exp(-2), 2 * math.exp(-2), 2 * math.exp(-2)]
    )


def test_fraction_alive() -> None:
    assert fraction_alive(np.array([0.0]))[0] == pytest.approx(1.0)
    assert fraction_alive(np.array([0.5]))[0] == pytest.approx((1 - math.exp(-0.5)) / 0.5)


def test_single_event_without_death_is_exponential() -> None:
    stay, die = month_terms(_const(0.0), [(_const(0.1), 0.0)])
    assert passage(stay, die)[0] == pytest.approx(1 - math.exp(-1.2))


def test_four_or_more_events_is_a_poisson_tail() -> None:
    # 12 months at 0.25 a month: P(Poisson(3) >= 4) = 1 - 13 e^-3.
    stay, die = month_terms(_const(0.0), [], (_const(0.25), 0.0), 4)
    assert passage(stay, die)[0] == pytest.approx(1 - 13 * math.exp(-3))


def test_death_alone_is_never_an_event() -> None:
    stay, die = month_terms(_const(0.05), [(_const(0.0), 0.0)])
    assert passage(stay, die)[0] == pytest.approx(0.0, abs=1e-8)


def test_competing_death_matches_the_exact_exponential_race() -> None:
    # Constant rates: P(event before death within 12 months) = mu/(mu+h) (1 - e^-12(mu+h)).
    mu, h = 0.2, 0.01
    stay, die = month_terms(_const(h), [(_const(mu), 0.0)])
    exact = mu / (mu + h) * (1 - math.exp(-12 * (mu + h)))
    assert passage(stay, die)[0] == pytest.approx(exact, abs=2e-5)


def test_homeless_entry_from_housed_and_from_homeless() -> None:
    p = 0.05
    zeros = _const(0.0, n=2)
    got = homeless_entry(zeros, _const(p, n=2), _const(1.0, n=2), np.array([False, True]))
    # Housed: 1 - (1-p)^12. Homeless the day before: leaves in month 1, then 11 chances.
    assert got == pytest.approx([1 - (1 - p) ** 12, 1 - (1 - p) ** 11])


def test_a_return_within_the_gap_of_an_exit_is_not_counted() -> None:
    """Leaving in month 0 and back in month 1 counts only outside the 7-night gap."""
    merged = np.array([0.0, 0.25, 0.0])
    h = _const(0.0, months=3, n=3)
    p_in = np.array([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    p_out = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    homeless = np.array([True, False, False])
    exited = np.array([False, True, False])
    got = homeless_entry(h, p_in, p_out, homeless, exited, merged)
    # 0: leaves in month 0, back in month 1 (a quarter merged), the merged leave in month 2
    # and never return. 1: left the month before, back in month 0 (no merge in month 0).
    # 2: housed long since, enters in month 1.
    assert got == pytest.approx([0.75, 1.0, 1.0])
    got = homeless_entry(h, p_in, p_out, homeless, exited, np.array([0.5, 0.25, 0.0]))
    assert got[1] == pytest.approx(0.5)  # half merged in month 0, and never left again


def test_gap_merge_share_counts_day_pairs() -> None:
    # January (31) then February (29): 21 of the 899 (exit, entry) day pairs are 1-6 nights.
    assert gap_merge_share(np.array([31, 29]), 7) == pytest.approx([0.0, 21 / 899])
    assert gap_merge_share(np.array([30, 30]), 1)[1] == 0.0
    with pytest.raises(ValueError, match="1 to 29"):
        gap_merge_share(np.array([30, 30]), 30)


def test_shocked_counts_match_the_sampler() -> None:
    """The generator's gamma-Poisson draws reproduce the oracle's 4+ probability."""
    rng = np.random.default_rng(0)
    n, months, lam, theta = 200_000, 12, 0.3, 4.0
    rates = np.full((n, months), lam, dtype=np.float32)
    flat, counts = poisson_cells(rng, rates * gamma_shock(rng, rates.shape, theta))
    per_person = np.bincount(flat // months, weights=counts, minlength=n)
    stay, die = month_terms(_const(0.0), [], (_const(lam), theta), 4)
    expected = passage(stay, die)[0]
    observed = (per_person >= 4).mean()
    assert observed == pytest.approx(expected, abs=4 * math.sqrt(expected / n))
    assert per_person.mean() == pytest.approx(lam * months, rel=0.02)


def test_readmission_month_without_shock_limit() -> None:
    """Tiny rates: P(pair) ~ lam * (1 - exp(-lam * 30 / 30.44)) ~ lam^2 (a rare pair)."""
    lam = np.array([[0.01]])
    got = readmission_month(lam, lam, np.array([[5.0]]), 1e-6)[0, 0]
    assert got == pytest.approx(0.01 * (1 - math.exp(-0.01 * 30 / 30.44)), rel=0.05)
