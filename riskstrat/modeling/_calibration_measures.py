"""How calibration is measured: the ECE's equal-mass bins and the recalibration fit.

The fit is ``logit P(y) = a + b logit(p)`` (slope and intercept), weighted, one fit per
row of a case-weight matrix (the point estimate and every bootstrap resample at once).
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit

BAD_BINS = "n_bins: expected at least 1 calibration bin, got {n_bins!r}"
# Probabilities are clipped this far from 0 and 1 before their logit is taken.
_EPS = 1e-6


def _log_likelihood(sign: np.ndarray, x: np.ndarray, W: np.ndarray, a, b) -> np.ndarray:
    # With y in {0, 1} and sign = 2y - 1, y log(mu) + (1 - y) log(1 - mu) is
    # log_expit(sign * eta): one transcendental per cell instead of two.
    eta = a[:, None] + b[:, None] * x
    return (W * log_expit(sign * eta)).sum(axis=1)


def _distinct_cells(
    x: np.ndarray, y: np.ndarray, W: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fit's data with the weights of rows sharing (x, y) summed, when that shrinks it.

    The fit sees a row only through its x, y and weight. A calibrated model takes a few
    dozen isotonic plateaus and a rule score a few dozen levels, so most of the
    per-iteration work over the n columns of ``W`` is repeated; a continuous score
    (the oracle) is left as it is.
    """
    order = np.lexsort((y, x))
    xs, ys = x[order], y[order]
    starts = np.flatnonzero(np.r_[True, (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1])])
    if len(starts) > len(x) // 2:
        return x, y, W
    return xs[starts], ys[starts], np.add.reduceat(W[:, order], starts, axis=1)


def logistic_recalibration(
    y: np.ndarray,
    prob: np.ndarray,
    W: np.ndarray,
    n_iter: int = 100,
    start: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted fit of ``logit P(y) = a + b logit(p)`` per row of ``W`` (``y`` is 0 or 1).

    Newton's method from the no-information fit (``a`` the logit of the event rate,
    ``b = 0``), each step halved until the log-likelihood does not fall. Started at
    ``b = 1`` and taken whole, the steps overshot for an overconfident scorer (slope near
    0.5 at a low event rate) and the fit ran to NaN, in just the case the slope is there
    to show.

    ``start`` is another starting point ``(a, b)``, used where it is finite: bootstrap
    resamples start from the full sample's fit, a step or two from their own, instead
    of from no information. The halving keeps every step from lowering the likelihood
    either way, and the fit stops at the same tolerance, so only the work changes.
    """
    p = np.clip(prob, _EPS, 1 - _EPS)
    x, y, W = _distinct_cells(np.log(p / (1 - p)), np.asarray(y, dtype=np.float64), W)
    # A constant score has no slope (its Hessian is singular), and a resample without
    # events or without non-events has no fit: both are left NaN.
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        rate = (W @ y) / W.sum(axis=1)
        a = np.where((rate > 0) & (rate < 1), np.log(rate / (1 - rate)), np.nan)
        b = np.where(np.isfinite(a), 0.0, np.nan)
        if start is not None and np.isfinite(start).all():
            a = np.where(np.isfinite(a), start[0], np.nan)
            b = np.where(np.isfinite(b), start[1], np.nan)
        sign = 2.0 * y - 1.0
        current = _log_likelihood(sign, x, W, a, b)
        for _ in range(n_iter):
            mu = expit(a[:, None] + b[:, None] * x)
            r = W * (y - mu)
            h = W * mu * (1 - mu)
            g_a, g_b = r.sum(axis=1), r @ x
            h_aa, h_ab, h_bb = h.sum(axis=1), h @ x, h @ (x * x)
            det = h_aa * h_bb - h_ab**2
            singular = ~(np.abs(det) > 1e-12 * np.maximum(h_aa * h_bb, 1e-300))
            step_a = np.where(singular, np.nan, (h_bb * g_a - h_ab * g_b) / det)
            step_b = np.where(singular, np.nan, (h_aa * g_b - h_ab * g_a) / det)
            t = np.ones_like(a)
            for _halving in range(40):
                trial = _log_likelihood(sign, x, W, a + t * step_a, b + t * step_b)
                worse = np.isfinite(step_a) & ~(trial >= current - 1e-12 * np.abs(current))
                if not worse.any():
                    break
                t = np.where(worse, t / 2, t)
            else:
                trial = None  # t was halved after the last trial: its likelihood is not known
            a, b = a + t * step_a, b + t * step_b
            # The accepted trial is the likelihood at the new point (the LL is most of the cost).
            current = _log_likelihood(sign, x, W, a, b) if trial is None else trial
            moved = np.abs(np.r_[t * step_a, t * step_b])
            if not np.isfinite(moved).any() or np.nanmax(moved) < 1e-10:
                break
    return a, b


def equal_mass_bins(prob: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal-mass bins over runs of equal probability, independent of the row order.

    Rows sorted by ``prob`` are cut into ``min(n_bins, n)`` contiguous bins of (near) equal
    size. Rows of equal probability form a run; a run that straddles a cut is shared
    between the bins it overlaps in proportion to its rows there, so each bin receives that
    share of the run's totals. Cutting the run itself would make the figure depend on the
    input order of tied rows (an isotonic plateau across a cut moved an ECE from 0.0048
    to 0.0072 by shuffling alone); moving the cut instead would let one dominant plateau
    swallow the other bins.

    Parameters
    ----------
    prob : array of probabilities
    n_bins : int
        At least 1.

    Returns
    -------
    order : ndarray of int
        Row indices sorted by ``prob``.
    run_starts : ndarray of int
        Positions in ``order`` where each run of equal probability begins.
    share : ndarray of float, shape (runs, bins)
        The fraction of each run's rows that falls in each bin (rows sum to 1).
    """
    if n_bins < 1:
        raise ValueError(BAD_BINS.format(n_bins=n_bins))
    prob = np.asarray(prob, dtype=np.float64)
    order = np.argsort(prob, kind="stable")
    ranked = prob[order]
    n = len(prob)
    run_starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]]) if n else np.zeros(0, int)
    run_ends = np.r_[run_starts[1:], n]
    k = max(min(n_bins, n), 1)
    edges = (np.arange(k + 1) * n) // k
    overlap = np.minimum(run_ends[:, None], edges[None, 1:]) - np.maximum(
        run_starts[:, None], edges[None, :-1]
    )
    share = np.clip(overlap, 0, None) / np.maximum(run_ends - run_starts, 1)[:, None]
    return order, run_starts, share
