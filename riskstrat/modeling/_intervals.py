"""Closed-form confidence intervals for per-group figures.

The test quarter's headline metrics get bootstrap intervals (:mod:`._metrics`); the
figures per group and per calibration bin use closed forms instead, which are exact or
nearly so at any group size and need no resampling of small groups.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2, norm, poisson


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
