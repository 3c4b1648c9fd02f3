"""Which way a feature moves the score: its mean contribution along bins of its value.

A rank correlation of value and contribution misreads two common shapes: an effect that
rises and then falls (age: children and the old are scored lowest, young adults highest)
gets the sign of whichever side has more rows, and a rare yes/no flag that always lowers
the score (in custody now) cannot reach any useful correlation, since most rows tie at 0.
Binning the value and fitting the bins' mean contributions reads both: the flag is two bins,
the age curve a peak.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from riskstrat.modeling._disclosure import MIN_CELL

RAISES, LOWERS, MIXED = "higher raises risk", "higher lowers risk", "mixed"
UNUSED = "unused"
HIGHEST, LOWEST = "highest at", "lowest at"  # followed by the value range
BINS = 10
MIN_BIN_ROWS = 50  # a bin of fewer rows has a mean too noisy to call a shape with
# A monotone reading allows the bins' means to step back by this share of their range.
MAX_STEP_BACK = 0.1
# Share of the bin means' weighted variance a monotone (or one-peak) fit must explain.
MIN_FIT = 0.9
# Bin means that spread less than this share of the feature's mean |contribution| say
# the effect depends on other features more than on this one's value.
MIN_SPREAD = 0.5


def direction(value: pd.Series, contribution: pd.Series) -> str:
    """``higher raises risk``, ``higher lowers risk``, ``highest at A to B`` (or ``at A``,
    ``at A or more``, ``at B or less``; a value few rows hold is ``about`` it rounded),
    ``lowest at ...``, ``mixed`` or ``unused`` (the feature never moves the score)."""
    c_all = contribution.to_numpy(dtype=float)
    if not np.abs(c_all).any():
        return UNUSED
    known = value.notna().to_numpy()
    x, c = value.to_numpy(dtype=float)[known], c_all[known]
    bins = _bins(x)
    if bins is None:
        return MIXED
    keys, lo, hi = bins
    frame = pd.DataFrame({"bin": keys, "c": c})
    grouped = frame.groupby("bin", sort=True)["c"].agg(["mean", "size"])
    grouped = grouped[grouped["size"] >= MIN_BIN_ROWS]
    if len(grouped) < 2:
        return MIXED
    means, weights = grouped["mean"].to_numpy(), grouped["size"].to_numpy(dtype=float)
    if np.ptp(means) < MIN_SPREAD * float(np.abs(c).mean()):
        return MIXED
    total = float(np.sum(weights * (means - np.average(means, weights=weights)) ** 2))
    if total <= 0:
        return MIXED
    spread = float(np.ptp(means))
    if _step_back(means) <= MAX_STEP_BACK * spread:
        return RAISES
    if _step_back(-means) <= MAX_STEP_BACK * spread:
        return LOWERS
    if len(means) < 3:
        return MIXED
    best = max(
        ((_one_turn(means, weights, peak), peak) for peak in (True, False)),
        key=lambda item: _explained(item[0], means, weights, total),
    )
    fitted, peak = best
    if _explained(fitted, means, weights, total) < MIN_FIT:
        return MIXED
    at = np.flatnonzero(np.isclose(fitted, fitted.max() if peak else fitted.min()))
    ends = grouped.index.to_numpy()[[at[0], at[-1]]]
    span = _span(x, lo[ends[0]], hi[ends[1]], ends[0] == min(lo), ends[1] == max(hi))
    return f"{HIGHEST if peak else LOWEST} {span}"


def _span(x: np.ndarray, first: float, last: float, bottom: bool, top: bool) -> str:
    """The values a peak or trough spans, in words that give no one person's value.

    A bin's smallest and largest value can be one person's (the highest paid amount, 179
    ED visits) and the text is published with the evaluation: the lowest or highest of
    all values, when fewer than ``MIN_CELL`` rows hold it, is left open ("16 or more"),
    and such a value within the range is rounded to two significant figures ("about
    17,000"; a whole number under 100 stays as it is).
    """
    if first == last:
        return _value(x, first)
    if top and not _shared(x, last):
        return f"{_value(x, first)} or more"
    if bottom and not _shared(x, first):
        return f"{_value(x, last)} or less"
    return f"{_value(x, first)} to {_value(x, last)}"


def _shared(x: np.ndarray, value: float) -> bool:
    return int(np.count_nonzero(x == value)) >= MIN_CELL


def _value(x: np.ndarray, value: float) -> str:
    if _shared(x, value):
        return _number(value)
    if float(value).is_integer() and abs(value) < 100:
        return _number(value)  # a small count or an age: a bound, not one person's amount
    return f"about {_number(float(f'{value:.2g}'))}"


def _bins(x: np.ndarray) -> tuple[np.ndarray, dict[int, float], dict[int, float]] | None:
    """Bin number per row, in value order, with each bin's smallest and largest value.

    Up to ``BINS`` distinct values are a bin each. Past that, a value that holds a tenth of
    the rows or more (0 of a count most people have none of, the "never" of a days-since)
    is a bin of its own, and the values between such ones are cut into quantile bins in
    proportion to their rows: a plain decile cut would merge the common value with
    everything near it, and a strong effect among the rest would read as mixed.
    """
    n = len(x)
    if n < 2 * MIN_BIN_ROWS or np.ptp(x) == 0:
        return None
    distinct, counts = np.unique(x, return_counts=True)
    if len(distinct) <= BINS:
        keys = np.searchsorted(distinct, x)
    else:
        heavy = distinct[counts * BINS >= n]
        keys = np.empty(n, dtype=np.int64)
        edges = [-np.inf, *heavy, np.inf]
        next_key = 0
        for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
            between = (x > lo) & (x < hi)
            if between.any():
                parts = max(1, round(BINS * between.sum() / n))
                cut = pd.qcut(x[between], parts, labels=False, duplicates="drop")
                cut = np.asarray(cut, dtype=np.int64)
                keys[between] = next_key + cut
                next_key += int(cut.max()) + 1
            if i < len(heavy):
                keys[x == heavy[i]] = next_key
                next_key += 1
    frame = pd.DataFrame({"bin": keys, "x": x}).groupby("bin")["x"]
    return keys, frame.min().to_dict(), frame.max().to_dict()


def _step_back(means: np.ndarray) -> float:
    """The largest fall of the means below the highest one before them."""
    return float(np.max(np.maximum.accumulate(means) - means))


def _monotone(means: np.ndarray, weights: np.ndarray, increasing: bool) -> np.ndarray:
    order = np.arange(len(means), dtype=float)
    return IsotonicRegression(increasing=increasing).fit_transform(
        order, means, sample_weight=weights
    )


def _one_turn(means: np.ndarray, weights: np.ndarray, peak: bool) -> np.ndarray:
    """Best fit rising then falling (``peak``), or falling then rising, over every turn."""
    best, best_sse = means, np.inf
    for turn in range(1, len(means) - 1):
        first = _monotone(means[: turn + 1], weights[: turn + 1], peak)
        second = _monotone(means[turn + 1 :], weights[turn + 1 :], not peak)
        fitted = np.concatenate([first, second])
        sse = float(np.sum(weights * (fitted - means) ** 2))
        if sse < best_sse:
            best, best_sse = fitted, sse
    return best


def _explained(fitted: np.ndarray, means: np.ndarray, weights: np.ndarray, total: float) -> float:
    return 1.0 - float(np.sum(weights * (fitted - means) ** 2)) / total


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:.3g}"
