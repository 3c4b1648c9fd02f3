"""Isotonic calibration that never claims certainty.

Isotonic regression sets each plateau to its observed event rate, so a top plateau in which
every calibration row had the event says 1.0, and a bottom one without events 0.0. A list
that tells an outreach team a person's risk is 100% overstates what a few dozen rows can
show (on the demo's test quarter the people scored 1.0 had the event 91% of the time).
Those two plateaus get the Jeffreys estimate of their rate instead, ``(k + 0.5) / (n + 1)``,
kept monotone with their neighbours.

First, a plateau of fewer than ``MIN_PLATEAU_ROWS`` calibration rows is pooled with a
neighbour: its value is an exact fraction of those few people's outcomes (0.9375 said that 7
of 7 had the event), which the bundle's calibrator.json and every cohort's risk column would
carry to whoever holds them. So is a plateau whose events or non-events number 1 to 10, as
the audit tables hide such cells: 13/14 said that one of those 14 people had no event.
Pooling adjacent plateaus keeps the fit monotone.
"""

from __future__ import annotations

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.isotonic import IsotonicRegression

from riskstrat.modeling._evaluate import tie_break

# As the audit tables' smallest cell: no plateau's rate is a count of fewer people.
MIN_PLATEAU_ROWS = 11


def temper_extremes(
    calibrated: CalibratedClassifierCV, X: object, y: object = None
) -> CalibratedClassifierCV:
    """Pool small isotonic plateaus, then replace those at exactly 0 or 1 by their
    Jeffreys estimates, in place.

    Parameters
    ----------
    calibrated : CalibratedClassifierCV
        Fitted on ``X`` with ``method="isotonic"`` around one frozen model (other
        calibrators are returned unchanged).
    X : array-like
        The calibration rows it was fitted on.
    y : array-like of 0/1, optional
        Their outcomes; with them, plateaus of fewer than ``MIN_PLATEAU_ROWS`` rows, or
        of 1 to ``MIN_PLATEAU_ROWS - 1`` events or non-events, are pooled with a neighbour
        first.

    Returns
    -------
    CalibratedClassifierCV
        The same object.
    """
    scores = tie_break(calibrated, X)  # the response the calibrator was fitted on
    if scores is None:
        return calibrated
    for fitted in calibrated.calibrated_classifiers_:
        for iso in fitted.calibrators:
            if isinstance(iso, IsotonicRegression):
                if y is not None:
                    _pool(iso, np.asarray(scores, dtype=float), np.asarray(y, dtype=float))
                _temper(iso, np.asarray(scores, dtype=float))
    return calibrated


def _pool(iso: IsotonicRegression, scores: np.ndarray, y: np.ndarray) -> None:
    """Merge each plateau of fewer than MIN_PLATEAU_ROWS rows, or of 1 to MIN_PLATEAU_ROWS - 1
    events or non-events, into its neighbour nearer in rate, smallest first."""
    xs = np.asarray(iso.X_thresholds_, dtype=float)
    ys = np.asarray(iso.y_thresholds_, dtype=float)
    # Plateaus: runs of equal values; every calibration row's score lies inside one.
    starts = np.flatnonzero(np.r_[True, ys[1:] != ys[:-1]])
    ends = np.r_[starts[1:], len(ys)] - 1
    blocks = []
    for s, e in zip(starts, ends, strict=True):
        inside = (scores >= xs[s]) & (scores <= xs[e])
        blocks.append([xs[s], xs[e], float(y[inside].sum()), int(inside.sum())])
    while len(blocks) > 1:
        small = [i for i, b in enumerate(blocks) if _too_few(b[2], b[3])]
        if not small:
            break
        i = min(small, key=lambda j: blocks[j][3])
        rate = blocks[i][2] / max(blocks[i][3], 1)
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(blocks)]
        j = min(neighbours, key=lambda n: abs(blocks[n][2] / max(blocks[n][3], 1) - rate))
        a, b = sorted((i, j))
        blocks[a : b + 1] = [
            [blocks[a][0], blocks[b][1], blocks[a][2] + blocks[b][2], blocks[a][3] + blocks[b][3]]
        ]
    knots_x, knots_y = [], []
    for first, last, events, n in blocks:
        value = events / max(n, 1)
        knots_x += [first] if first == last else [first, last]
        knots_y += [value] if first == last else [value, value]
    iso.X_thresholds_ = np.asarray(knots_x)
    iso.y_thresholds_ = np.asarray(knots_y)
    iso._build_f(iso.X_thresholds_, iso.y_thresholds_)


def _too_few(events: float, rows: int) -> bool:
    """Fewer rows than MIN_PLATEAU_ROWS, or a count of events or non-events from 1 to
    MIN_PLATEAU_ROWS - 1 (none is safe: there is nobody to single out)."""
    return rows < MIN_PLATEAU_ROWS or any(
        0 < count < MIN_PLATEAU_ROWS for count in (events, rows - events)
    )


def _temper(iso: IsotonicRegression, scores: np.ndarray) -> None:
    xs = np.asarray(iso.X_thresholds_, dtype=float)
    ys = np.asarray(iso.y_thresholds_, dtype=float).copy()
    if len(ys) < 2:
        return
    if ys[-1] >= 1.0:
        start = int(np.argmax(ys >= 1.0))  # the top plateau's first knot
        n = int((scores >= xs[start]).sum())  # every one of them had the event
        below = ys[start - 1] if start else 0.0
        ys[start:] = max((n + 0.5) / (n + 1), below)
    if ys[0] <= 0.0:
        end = len(ys) - 1 - int(np.argmax(ys[::-1] <= 0.0))  # the bottom plateau's last knot
        n = int((scores <= xs[end]).sum())  # none of them had it
        above = ys[end + 1] if end + 1 < len(ys) else 1.0
        ys[: end + 1] = min(0.5 / (n + 1), above)
    iso.y_thresholds_ = ys
    iso._build_f(xs, ys)  # what predict interpolates; scikit-learn rebuilds it the same way
