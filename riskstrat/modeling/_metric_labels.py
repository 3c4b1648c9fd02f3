"""How an evaluation's tables name a metric, and show it, for the people who read them.

``metrics.csv`` and MLflow keep the names code reads (``precision_at_k_isr``); a table an
evaluator reads says what each row is ("precision at isr, k = 255"), with the name in
``metrics.csv`` a lookup away in :data:`HEADLINE_LABELS` and the pattern below.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

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
        return f"{estimate:.3f}"
    return f"{estimate:.3f} [{lower:.3f}, {upper:.3f}]"
