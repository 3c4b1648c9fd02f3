"""Closed-form confidence intervals for per-group figures.

The test quarter's headline metrics get bootstrap intervals (:mod:`._metrics`); the
figures per group and per calibration bin use closed forms instead, which are exact or
nearly so at any group size and need no resampling of small groups.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2, norm, poisson, rankdata


def wilson_interval(
    rate: np.ndarray, n: np.ndarray, z: float = 1.96
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion (stays inside [0, 1] near 0 and 1)."""
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def observed_to_expected_interval(
    observed: np.ndarray, expected: np.ndarray, z: float = 1.96
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) Poisson interval of an observed-to-expected ratio.

    The interval an SMR or a CMS standardized infection ratio carries: the observed count
    is taken as Poisson and the expected count (the sum of predicted probabilities) as
    fixed, so ``[chi2(a/2, 2 O) / 2, chi2(1 - a/2, 2 O + 2) / 2] / E`` with ``a`` the
    two-sided level of ``z``. For a common outcome the Poisson variance (``E``) exceeds the
    binomial one (``sum p (1 - p)``), so the interval errs on the wide side: when it
    excludes 1, chance alone is an unlikely reading of the group's O/E.

    Parameters
    ----------
    observed : array
        Observed events per group (whole numbers, 0 allowed).
    expected : array
        Expected events per group (sum of the predicted probabilities, positive).
    z : float
        Normal quantile of the two-sided level (1.96: 95%).

    Returns
    -------
    (lower, upper) : arrays of float
        NaN where ``expected`` is not positive.
    """
    observed = np.asarray(observed, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    alpha = 2 * norm.sf(z)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(observed > 0, chi2.ppf(alpha / 2, 2 * observed) / 2, 0.0) / expected
        upper = chi2.ppf(1 - alpha / 2, 2 * observed + 2) / 2 / expected
    bad = ~(expected > 0)
    lower[bad] = np.nan
    upper[bad] = np.nan
    return lower, upper


def observed_to_expected_p_value(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Two-sided exact Poisson p-value of O/E = 1: twice the smaller tail, at most 1.

    The test the Garwood interval inverts: the interval at level ``1 - a`` excludes 1
    exactly when this p-value is under ``a``. NaN where ``expected`` is not positive.
    """
    observed = np.asarray(observed, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        below = poisson.cdf(observed, expected)
        above = poisson.sf(observed - 1, expected)
    p = np.minimum(1.0, 2 * np.minimum(below, above))
    return np.where(expected > 0, p, np.nan)


def rate_ratio_p_value(
    hits: np.ndarray, n: np.ndarray, reference_hits: float, reference_n: float
) -> np.ndarray:
    """Two-sided p-value of a ratio of two independent proportions being 1, from the same
    log-scale normal approximation as :func:`rate_ratio_interval` (so p < 0.05 exactly where
    its 95% interval leaves out 1); NaN where that interval is."""
    hits = np.asarray(hits, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    usable = (hits > 0) & (n > 0) & (reference_hits > 0) & (reference_n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(hits / n) - np.log(reference_hits / reference_n)
        spread = np.sqrt(1 / hits - 1 / n + 1 / reference_hits - 1 / reference_n)
        # A spread of 0 (both rates 1) is a ratio of exactly 1: nothing to test.
        p = np.where(spread > 0, 2 * norm.sf(np.abs(log_ratio) / spread), 1.0)
    return np.where(usable, p, np.nan)


def holm_reject(p_values: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Holm's step-down test over a family of p-values (NaN: not in the family).

    Keeps the chance of flagging any true null at most ``alpha`` however many groups are
    tested, and rejects at least what Bonferroni would.
    """
    p = np.asarray(p_values, dtype=np.float64)
    reject = np.zeros(p.shape, dtype=bool)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    for rank, index in enumerate(order):
        if p[index] > alpha / (len(order) - rank):
            break
        reject[index] = True
    return reject


def auroc_interval(y: np.ndarray, score: np.ndarray, z: float = 1.96) -> tuple[float, float]:
    """DeLong's interval of an AUROC, clipped to [0, 1] (NaN with under two events or
    under two non-events).

    The variance is DeLong, DeLong and Clarke-Pearson's (1988) from the placement values,
    computed with midranks as Sun and Xu (2014) do, so tied scores count one half, as the
    AUROC itself does; the interval is the estimate plus or minus ``z`` standard errors
    (the normal interval pROC gives by default).
    """
    y = np.asarray(y, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    events, others = score[y == 1], score[y == 0]
    m, n = len(events), len(others)
    if m < 2 or n < 2:
        return np.nan, np.nan
    together = rankdata(np.concatenate([events, others]))
    # Each event's share of non-events ranked below it, and each non-event's share of
    # events ranked above it (ties: one half).
    event_places = (together[:m] - rankdata(events)) / n
    other_places = 1.0 - (together[m:] - rankdata(others)) / m
    auroc = float(event_places.mean())
    variance = event_places.var(ddof=1) / m + other_places.var(ddof=1) / n
    half = z * float(np.sqrt(variance))
    return max(0.0, auroc - half), min(1.0, auroc + half)


def rate_ratio_interval(
    hits: np.ndarray, n: np.ndarray, reference_hits: float, reference_n: float, z: float = 1.96
) -> tuple[np.ndarray, np.ndarray]:
    """Katz's log interval of the ratio of two independent proportions,
    ``(hits / n) / (reference_hits / reference_n)``.

    ``exp(log ratio -/+ z sqrt(1/hits - 1/n + 1/ref_hits - 1/ref_n))``, the interval a
    relative risk carries; NaN where either proportion has no hit (the log is undefined).
    """
    hits = np.asarray(hits, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    usable = (hits > 0) & (n > 0) & (reference_hits > 0) & (reference_n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(hits / n) - np.log(reference_hits / reference_n)
        spread = z * np.sqrt(1 / hits - 1 / n + 1 / reference_hits - 1 / reference_n)
        lower, upper = np.exp(log_ratio - spread), np.exp(log_ratio + spread)
    return np.where(usable, lower, np.nan), np.where(usable, upper, np.nan)
