"""How an evaluation's tables name a metric, and show it, for the people who read them.

``metrics.csv`` and MLflow keep the names code reads (``precision_at_k_isr``); a table an
evaluator reads says what each row is ("precision at isr, k = 255"), with the name in
``metrics.csv`` a lookup away in :data:`HEADLINE_LABELS` and the pattern below.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

HEADLINE_LABELS = {
    "auroc": "AUROC",
    "auprc": "AUPRC",
    "brier": "Brier score",
    "ece": "ECE",
    "calibration_slope": "calibration slope",
    "calibration_intercept": "calibration intercept",
}
_AT_K = re.compile(r"(?P<kind>precision|recall|mean_risk)_at_k_(?P<programme>.+)")


def metric_label(metric: str, capacities: Mapping[str, int]) -> str:
    """The row label of ``metric``: a headline name, a figure at a capacity, a difference or
    a lift; a name it does not know is shown as it is."""
    if metric.startswith("diff_"):
        return f"{metric_label(metric.removeprefix('diff_'), capacities)}: difference"
    if metric.startswith("lift_"):
        return f"{metric_label(metric.removeprefix('lift_'), capacities)}: lift"
    if metric in HEADLINE_LABELS:
        return HEADLINE_LABELS[metric]
    at_k = _AT_K.fullmatch(metric)
    if at_k is None:
        return metric
    programme, kind = at_k["programme"], at_k["kind"].replace("_", " ")
    k = capacities.get(programme)
    return f"{kind} at {programme}" + ("" if k is None else f", k = {k:,}")


def interval_rows(
    metrics: pd.DataFrame, rows: list[str], scorers: list[str], ks: Mapping[str, int]
) -> list[list[str]]:
    """One row per metric, labelled for a reader (``ks``: the capacities): "estimate
    [lower, upper]" per scorer, "-" where not computed."""
    lookup = metrics.set_index(["scorer", "metric"])
    out = []
    for metric in rows:
        cells = []
        for scorer in scorers:
            if (scorer, metric) in lookup.index:
                row = lookup.loc[(scorer, metric)]
                cells.append(_cell(row["estimate"], row["lower"], row["upper"]))
            else:
                cells.append("-")
        out.append([metric_label(metric, ks), *cells])
    return out


def _cell(estimate: float, lower: float, upper: float) -> str:
    if not math.isfinite(estimate):
        return "-"
    if not (math.isfinite(lower) and math.isfinite(upper)):
        return f"{round(estimate, 3) + 0.0:.3f}"
    return f"{round(estimate, 3) + 0.0:.3f} {bounds(lower, upper)}"  # + 0.0: no -0.000


def round_outward(values: object, digits: int, side: str) -> np.ndarray:
    """``values`` floored (``side="lower"``) or ceiled (``"upper"``) at ``digits`` decimals.

    An interval rounded to nearest can read as excluding a value it holds (0.9777 shown as
    0.98). Values within a 20,000th of a step of the grid are taken as on it: a ratio such
    as (35/255)/(25/255) is 1.4000000000000001 in binary, a float32 0.2 is 0.2000000030,
    and neither should move a step out. NaN and infinities pass through.
    """
    scale = 10.0**digits
    scaled = np.round(np.asarray(values, dtype=float) * scale, 4)
    edge = np.floor(scaled) if side == "lower" else np.ceil(scaled)
    return edge / scale + 0.0  # + 0.0: no -0.0, which reads as a sign the bound lacks


def round_outward_avoiding(
    values: object, digits: int, side: str, avoid: float = 1.0, extra: int = 4
) -> np.ndarray:
    """:func:`round_outward`, with up to ``extra`` more decimals where a bound would land on
    ``avoid`` without being it: an O/E's upper bound of 0.991 stored as 1.00 would read as an
    interval reaching the 1 it excludes (the test beside it says it does not)."""
    values = np.asarray(values, dtype=float)
    out = round_outward(values, digits, side)
    for more in range(1, extra + 1):
        stuck = (out == avoid) & (values != avoid) & np.isfinite(values)
        if not stuck.any():
            break
        out = np.where(stuck, round_outward(values, digits + more, side), out)
    return out


def bound_text(value: float, side: str, digits: int = 3, avoid: float | None = None) -> str:
    """One bound rounded outward; with more decimals while it would read as ``avoid`` (an
    upper bound of 0.996 shown as 1.00 would seem to hold the 1 it excludes)."""
    value = float("nan") if pd.isna(value) else float(value)
    for decimals in range(digits, digits + 6):
        shown = float(round_outward(value, decimals, side))
        if avoid is None or shown != avoid or value == avoid:
            return f"{shown:.{decimals}f}"
    return repr(value)  # all of its digits: never the value it is not


def no_width(lower: object, upper: object) -> bool:
    """Whether an interval has no width but for floating-point noise: the same plateau's
    probability, summed in another order in each resample, differs in its 15th digit."""
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    return np.isfinite(lower) & np.isclose(lower, upper, rtol=1e-9, atol=0)


def nearest_text(value: float, digits: int, avoid: float | None) -> str:
    """``value`` rounded to nearest, with more decimals while it would read as ``avoid``."""
    for decimals in range(digits, digits + 6):
        shown = round(float(value), decimals) + 0.0  # + 0.0: no -0.000
        if avoid is None or shown != avoid or value == avoid:
            return f"{shown:.{decimals}f}"
    return repr(float(value))


def bounds(lower: float, upper: float, digits: int = 3, avoid: float | None = None) -> str:
    """``[lower, upper]`` rounded outward (:func:`round_outward`), so the interval shown holds
    the one computed; ``avoid`` as :func:`bound_text`.

    An interval of no width (a mean risk on the calibration's top plateau) shows its one
    value twice, rounded to nearest: outward, it would gain a width it does not have.
    """
    if no_width(lower, upper):
        one = nearest_text(lower, digits, avoid)
        return f"[{one}, {one}]"
    low = bound_text(lower, "lower", digits, avoid)
    return f"[{low}, {bound_text(upper, 'upper', digits, avoid)}]"
