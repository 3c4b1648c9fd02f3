"""Test-quarter metrics with seeded, vectorised, paired bootstrap intervals.

Every metric is written for a matrix of case weights ``W`` (resamples x rows): the
point estimate uses weights of one, a bootstrap resample uses how often each row was
drawn. All scorers (model, baselines, oracle) share the same resamples, so differences
and ratios between them (lift, oracle gap) get paired intervals.

Definitions
-----------
- ``auroc``: area under the ROC curve, ties counted as one half.
- ``auprc``: average precision, ``sum_i (R_i - R_{i-1}) P_i`` over distinct score
  thresholds (scikit-learn's ``average_precision_score``).
- ``brier``: mean squared difference between probability and outcome.
- ``ece``: expected calibration error over equal-mass bins: rows sorted by predicted
  probability are cut into ``n_bins`` contiguous groups of (near) equal size on the
  full test set, and rows of equal probability that straddle a cut are shared between
  the bins in proportion (:func:`equal_mass_bins`), so the figure does not depend on the
  row order; ``ECE = sum_b |sum_{i in b} w_i (y_i - p_i)| / sum_i w_i``, i.e. the bin-size
  weighted absolute gap between observed rate and mean prediction. Bins stay fixed
  across resamples.
- ``calibration_intercept``, ``calibration_slope``: ``a`` and ``b`` of the logistic
  recalibration ``logit P(y=1) = a + b logit(p)`` (ideal: 0 and 1), fitted jointly by
  damped Newton steps. ``a`` is not calibration-in-the-large (the intercept with the slope
  held at 1); with a slope of 1 the two agree.
- ``precision_at_k_<name>``, ``recall_at_k_<name>``: among the ``k`` highest scores;
  ``mean_risk_at_k_<name>``: their mean predicted probability, the events the scorer
  expects there (calibration where the places are: against ``precision_at_k``).
  Tied scores at the cut-off count at their expected value under random tie-breaking
  (the boundary group contributes the fraction of it that fits), so a coarse baseline
  is neither flattered nor penalised by an arbitrary row order.

The ranking metrics (AUROC, AUPRC, precision and recall at k) rank by a scorer's
probability, and where a scorer has a tie-breaker, equal probabilities by that. Isotonic
calibration maps whole ranges of a model's raw score onto one probability (a 20,000-person
test quarter can have under a hundred distinct values), while a cohort is selected by
probability and then by raw score; ranking the plateaus at random would measure a coarser
ranking than the one deployed. The calibration metrics read the probabilities alone.

Intervals are bootstrap percentiles. The ECE is a sum of absolute values, so its
resampled values are biased upward and a plain percentile interval can sit wholly above
the point estimate (a calibrated scorer read as "0.011 [0.012, 0.029]"). Its interval is
therefore shifted down by the bootstrap bias (mean of the resampled ECEs minus the
estimate) and floored at zero: the spread of the bootstrap, placed around the estimate.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from riskstrat.modeling._calibration_measures import equal_mass_bins, logistic_recalibration

PROB_METRICS: tuple[str, ...] = (
    "auroc",
    "auprc",
    "brier",
    "ece",
    "calibration_intercept",
    "calibration_slope",
)
LENGTH_MISMATCH = "{name}: expected {n} scores aligned with the outcome, got {m}"
CLUSTERS_MISMATCH = "clusters: expected one label per row ({n}), got {m}"
NOT_BINARY = (
    "outcome: expected 0/1 values with both classes present, got {n_other} other value(s) "
    "and {n_classes} of the 2 classes"
)
NOT_FINITE = "{name}: {count} score(s) are missing or not finite"
BAD_CAPACITY = "capacity {name!r}: expected k of at least 1, got {k!r}"
UNKNOWN_TIE_BREAK = "tie_breaks: {names} are not scorers; expected some of {scorers}"
# Bound on resamples x rows held in memory at once (float64: ~32 MB per matrix).
_CHUNK_CELLS = 4_000_000


# Metrics whose resampled values are biased upward (sums of absolute values).
BIAS_SHIFTED = ("ece",)


def ranking_key(score: np.ndarray, tie_break: np.ndarray | None = None) -> np.ndarray:
    """A key that orders rows by ``score``, then by ``tie_break``, and ties only rows equal in both.

    Parameters
    ----------
    score : array
        The probability (higher ranks first).
    tie_break : array, optional
        Orders rows of equal ``score`` (higher first), e.g. the uncalibrated model score.

    Returns
    -------
    ndarray of float
        ``score`` itself without a tie-breaker, else dense ranks (1 = lowest).
    """
    score = np.asarray(score, dtype=np.float64)
    if tie_break is None:
        return score
    tie_break = np.asarray(tie_break, dtype=np.float64)
    order = np.lexsort((tie_break, score))
    s, t = score[order], tie_break[order]
    new = np.r_[True, (s[1:] != s[:-1]) | (t[1:] != t[:-1])]
    key = np.empty(len(score), dtype=np.float64)
    key[order] = np.cumsum(new)
    return key


def _groups_desc(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row order by descending score and the start index of each run of tied scores."""
    order = np.argsort(-score, kind="stable")
    ranked = score[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    return order, starts


def _grouped(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(values, starts, axis=1)


def _ranking_metrics(
    y: np.ndarray,
    score: np.ndarray,
    W: np.ndarray,
    ks: Mapping[str, int],
    prob: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    order, starts = _groups_desc(score)
    ys, Ws = y[order], W[:, order]
    pos = _grouped(Ws * ys, starts)
    neg = _grouped(Ws * (1.0 - ys), starts)
    # Expected events per tie group (a group of equal ranking keys has one probability).
    risk = None if prob is None else _grouped(Ws * prob[order], starts)
    cum_risk = None if risk is None else np.cumsum(risk, axis=1)
    P, N = pos.sum(axis=1), neg.sum(axis=1)
    cum_pos, cum_neg = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auroc = (pos * (N[:, None] - cum_neg) + 0.5 * pos * neg).sum(axis=1) / (P * N)
        precision = np.where(cum_pos + cum_neg > 0, cum_pos / (cum_pos + cum_neg), 0.0)
        recall_step = pos / P[:, None]
        auprc = (recall_step * precision).sum(axis=1)
    out = {"auroc": auroc, "auprc": auprc}
    weight = pos + neg
    cum_weight = cum_pos + cum_neg
    total = cum_weight[:, -1] if cum_weight.shape[1] else np.zeros(len(W))
    rows = np.arange(len(W))
    for name, k in ks.items():
        # Tie groups wholly inside the top k count whole; the group the k-th place falls in
        # (the first whose running weight reaches k) counts in proportion, as ties share it.
        cut = np.count_nonzero(cum_weight < k, axis=1)
        inside = cut < weight.shape[1]
        at = np.minimum(cut, weight.shape[1] - 1)
        before = np.where(cut > 0, cum_pos[rows, np.maximum(cut - 1, 0)], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = (k - (cum_weight[rows, at] - weight[rows, at])) / weight[rows, at]
            hits = before + np.where(inside, np.clip(share, 0.0, 1.0) * pos[rows, at], 0.0)
            out[f"precision_at_k_{name}"] = hits / np.minimum(float(k), total)
            out[f"recall_at_k_{name}"] = hits / P
            if cum_risk is not None:
                # Calibration where the places are: predicted events over the same k,
                # against precision, the observed share.
                risk_before = np.where(cut > 0, cum_risk[rows, np.maximum(cut - 1, 0)], 0.0)
                part = np.where(inside, np.clip(share, 0.0, 1.0) * risk[rows, at], 0.0)
                out[f"mean_risk_at_k_{name}"] = (risk_before + part) / np.minimum(float(k), total)
    return out


def _calibration_metrics(
    y: np.ndarray,
    prob: np.ndarray,
    W: np.ndarray,
    n_bins: int,
    start: tuple[float, float] | None = None,
) -> dict[str, np.ndarray]:
    total = W.sum(axis=1)
    brier = (W @ (prob - y) ** 2) / total
    order, run_starts, share = equal_mass_bins(prob, n_bins)
    gap = _grouped(W[:, order] * (y - prob)[order], run_starts) @ share
    ece = np.abs(gap).sum(axis=1) / total
    intercept, slope = logistic_recalibration(y, prob, W, start=start)
    return {
        "brier": brier,
        "ece": ece,
        "calibration_intercept": intercept,
        "calibration_slope": slope,
    }


def _check(y: np.ndarray, scores: Mapping[str, np.ndarray | None]) -> None:
    n_other = int((~np.isin(y, (0.0, 1.0))).sum())
    n_classes = len(np.unique(y[np.isin(y, (0.0, 1.0))]))
    if n_other or n_classes != 2:
        raise ValueError(NOT_BINARY.format(n_other=n_other, n_classes=n_classes))
    for name, score in scores.items():
        if score is None:
            continue
        if len(score) != len(y):
            raise ValueError(LENGTH_MISMATCH.format(name=name, n=len(y), m=len(score)))
        bad = int((~np.isfinite(score)).sum())
        if bad:
            raise ValueError(NOT_FINITE.format(name=name, count=bad))


def _all_metrics(
    y: np.ndarray,
    scores: Mapping[str, np.ndarray],
    W: np.ndarray,
    ks: Mapping[str, int],
    n_bins: int,
    keys: Mapping[str, np.ndarray] | None = None,
    starts: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    keys = scores if keys is None else keys
    starts = starts or {}
    return {
        name: {
            **_ranking_metrics(y, keys[name], W, ks, s),
            **_calibration_metrics(y, s, W, n_bins, starts.get(name)),
        }
        for name, s in scores.items()
    }


def _ranking_keys(
    y: np.ndarray,
    scores: Mapping[str, np.ndarray],
    tie_breaks: Mapping[str, np.ndarray | None] | None,
) -> dict[str, np.ndarray]:
    ties = dict(tie_breaks or {})
    unknown = sorted(set(ties) - set(scores))
    if unknown:
        raise ValueError(UNKNOWN_TIE_BREAK.format(names=unknown, scorers=list(scores)))
    _check(y, {f"tie_break of {name}": t for name, t in ties.items()})
    return {name: ranking_key(s, ties.get(name)) for name, s in scores.items()}


def checked_capacities(ks: Mapping[str, int] | None) -> dict[str, int]:
    """``ks`` as a dict, refusing a capacity below one (precision at 0 has no meaning)."""
    for name, k in (ks or {}).items():
        if not k >= 1:
            raise ValueError(BAD_CAPACITY.format(name=name, k=k))
    return dict(ks or {})


def _resample_weights(
    rng: np.random.Generator, n: int, size: int, clusters: np.ndarray | None = None
) -> np.ndarray:
    """How often each row is drawn, per resample; with ``clusters``, whole clusters are.

    ``clusters`` numbers each row's cluster from 0 in order of first appearance (a
    person's rows on several as-of dates are not independent draws); with one row per
    cluster the draws are exactly the row resamples.
    """
    m = n if clusters is None else int(clusters.max(initial=-1)) + 1
    idx = rng.integers(0, m, size=(size, m))
    flat = (idx + np.arange(size)[:, None] * m).ravel()
    counts = np.bincount(flat, minlength=size * m).reshape(size, m).astype(np.float64)
    # Clusters are numbered by first appearance, so as many clusters as rows is row order.
    return counts if m == n else counts[:, clusters]


def percentile_interval(sample: np.ndarray, confidence: float, *, lift: bool = False) -> tuple:
    """The percentile interval of resampled values, NaN ones left out (NaN bounds when none
    is usable). A lift's takes the values as they are: a baseline with no event in its top
    k makes the ratio infinite, and without interpolation a bound can be infinite, not NaN."""
    tail = (1 - confidence) / 2 * 100
    if np.isnan(sample).all() if lift else not np.isfinite(sample).any():
        return np.nan, np.nan
    method = "inverted_cdf" if lift else "linear"
    lo, hi = np.nanpercentile(sample, [tail, 100 - tail], method=method)
    return float(lo), float(hi)


def bootstrap_metrics(
    y: np.ndarray,
    scores: Mapping[str, np.ndarray],
    *,
    ks: Mapping[str, int] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    n_bins: int = 10,
    reference: str | None = None,
    confidence: float = 0.95,
    tie_breaks: Mapping[str, np.ndarray | None] | None = None,
    clusters: np.ndarray | None = None,
) -> pd.DataFrame:
    """Point estimates and percentile bootstrap intervals of every metric per scorer.

    Parameters
    ----------
    y : array of 0/1
        Observed outcome on the test rows.
    scores : mapping of name to array
        Predicted probabilities (e.g. ``model``, baselines, ``oracle``) aligned with ``y``.
    ks : mapping of name to int, optional
        Capacities for precision and recall at k (e.g. ``{"isr": 255}``).
    n_bootstrap : int
        Resamples (0 gives point estimates only, with NaN bounds).
    seed : int
        Seed of the resampling generator.
    n_bins : int
        Equal-mass bins for the ECE.
    reference : str, optional
        Scorer that comparisons are made for (normally ``model``): adds rows
        ``<reference>_vs_<other>`` with the difference (``reference - other``) of every
        metric and, for precision at k, the ratio (``lift_`` prefix).
    confidence : float
        Interval coverage.
    tie_breaks : mapping of name to array, optional
        Per scorer, what orders its equal probabilities in the ranking metrics (normally
        the uncalibrated score, as cohort selection does); see the module docstring.
    clusters : array, optional
        Each row's unit of resampling, e.g. its person (any labels): a person's rows on
        several as-of dates are drawn together, or the intervals would be too narrow.
        Default: each row alone (one row per person, as on one test quarter).

    Returns
    -------
    DataFrame
        Columns ``scorer``, ``metric``, ``estimate``, ``lower``, ``upper``.
    """
    y = np.asarray(y, dtype=np.float64)
    scores = {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}
    _check(y, scores)
    keys = _ranking_keys(y, scores, tie_breaks)
    ks = checked_capacities(ks)
    n = len(y)
    if clusters is not None:
        if len(clusters) != n:
            raise ValueError(CLUSTERS_MISMATCH.format(n=n, m=len(clusters)))
        # Numbered in order of first appearance: one row per cluster draws as rows do.
        clusters = pd.factorize(np.asarray(clusters))[0]
    point = _all_metrics(y, scores, np.ones((1, n)), ks, n_bins, keys)
    # Each resample's recalibration fit starts from the full sample's (see
    # logistic_recalibration): the fit was most of the bootstrap's time.
    starts = {
        name: (float(m["calibration_intercept"][0]), float(m["calibration_slope"][0]))
        for name, m in point.items()
    }
    draws: dict[str, dict[str, list[np.ndarray]]] = {s: {} for s in scores}
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    done = 0
    while done < n_bootstrap:
        size = min(chunk, n_bootstrap - done)
        weights = _resample_weights(rng, n, size, clusters)
        part = _all_metrics(y, scores, weights, ks, n_bins, keys, starts)
        for s, metrics in part.items():
            for m, values in metrics.items():
                draws[s].setdefault(m, []).append(values)
        done += size
    boot = {s: {m: np.concatenate(v) for m, v in ms.items()} for s, ms in draws.items()}
    rows = []

    def add(scorer: str, metric: str, estimate: float, sample: np.ndarray | None) -> None:
        lift = metric.startswith("lift_")
        lo, hi = (
            (np.nan, np.nan)
            if sample is None
            else percentile_interval(sample, confidence, lift=lift)
        )
        if metric in BIAS_SHIFTED and sample is not None and np.isfinite(sample).any():
            bias = np.nanmean(sample) - estimate
            lo, hi = max(lo - bias, 0.0), max(hi - bias, 0.0)
        rows.append((scorer, metric, float(estimate), float(lo), float(hi)))

    for s, metrics in point.items():
        for m, value in metrics.items():
            add(s, m, value[0], boot[s].get(m))
    if reference is not None:
        for other in scores:
            if other == reference:
                continue
            label = f"{reference}_vs_{other}"
            for m, value in point[reference].items():
                sample = None
                if boot[reference]:
                    sample = boot[reference][m] - boot[other][m]
                add(label, f"diff_{m}", value[0] - point[other][m][0], sample)
            for name in ks:
                m = f"precision_at_k_{name}"
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = point[reference][m][0] / point[other][m][0]
                    sample = boot[reference][m] / boot[other][m] if boot[reference] else None
                add(label, f"lift_{m}", ratio, sample)
    return pd.DataFrame(rows, columns=["scorer", "metric", "estimate", "lower", "upper"])


def point_metrics(
    y: np.ndarray,
    score: np.ndarray,
    *,
    ks: Mapping[str, int] | None = None,
    n_bins: int = 10,
    tie_break: np.ndarray | None = None,
) -> dict[str, float]:
    """All metrics for one scorer, without intervals.

    Parameters
    ----------
    y : array of 0/1
    score : array of probabilities
    ks : mapping of name to int, optional
    n_bins : int
    tie_break : array, optional
        Orders equal probabilities in the ranking metrics (see the module docstring).

    Returns
    -------
    dict of metric name to value
    """
    y = np.asarray(y, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    _check(y, {"score": score})
    keys = _ranking_keys(y, {"score": score}, {"score": tie_break})
    metrics = _all_metrics(
        y, {"score": score}, np.ones((1, len(y))), checked_capacities(ks), n_bins, keys
    )
    return {m: float(v[0]) for m, v in metrics["score"].items()}


def expected_calibration_error(y: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> float:
    """Equal-mass ECE (see module docstring).

    Parameters
    ----------
    y : array of 0/1
    prob : array of probabilities
    n_bins : int

    Returns
    -------
    float
    """
    return point_metrics(y, prob, n_bins=n_bins)["ece"]


def precision_at_k(y: np.ndarray, score: np.ndarray, k: int) -> float:
    """Share of events among the ``k`` highest scores (ties at expected value).

    Parameters
    ----------
    y : array of 0/1
    score : array
    k : int

    Returns
    -------
    float
    """
    return point_metrics(y, score, ks={"k": k})["precision_at_k_k"]
