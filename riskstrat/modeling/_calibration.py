"""Isotonic calibration that never claims certainty.

Isotonic regression sets each plateau to its observed event rate, so a top plateau in which
every calibration row had the event says 1.0, and a bottom one without events 0.0. A list
that tells an outreach team a person's risk is 100% overstates what a few dozen rows can
show (on the demo's test quarter the people scored 1.0 had the event 91% of the time).
Those two plateaus get the Jeffreys estimate of their rate instead, ``(k + 0.5) / (n + 1)``,
kept monotone with their neighbours; every other plateau is left as fitted.
"""

from __future__ import annotations

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.isotonic import IsotonicRegression

from riskstrat.modeling._evaluate import tie_break


def temper_extremes(calibrated: CalibratedClassifierCV, X: object) -> CalibratedClassifierCV:
    """Replace isotonic plateaus at exactly 0 or 1 by their Jeffreys estimates, in place.

    Parameters
    ----------
    calibrated : CalibratedClassifierCV
        Fitted on ``X`` with ``method="isotonic"`` around one frozen model (other
        calibrators are returned unchanged).
    X : array-like
        The calibration rows it was fitted on.

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
                _temper(iso, np.asarray(scores, dtype=float))
    return calibrated


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
