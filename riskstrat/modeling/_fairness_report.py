"""The model's places by group, as text: who gets them, and how evenly.

One table per attribute beside the subgroup table of :mod:`._subgroup_report`, for the
model at the capacity that table selects at (every scorer's figures are in
``subgroups.csv``): each rate with its interval and its ratio to the reference group
(:mod:`riskstrat.modeling._group_selection`), and the O/E among the selected.
"""

from __future__ import annotations

import math

import pandas as pd

from riskstrat.modeling._group_selection import (
    RATES,
    rate_metric,
    ratio_metric,
    reference_group,
    selected_oe_metric,
)
from riskstrat.modeling._metric_labels import bounds, nearest_text
from riskstrat.modeling._subgroup_names import ALL
from riskstrat.modeling._subgroup_report import shown_capacity

SCORER = "model"
RATE_NAMES = {
    "selection_rate": "selected",
    "recall": "recall",
    "precision": "precision",
    "false_positive_rate": "false-positive rate",
}
FAIRNESS_TITLE = (
    "by {attribute}: the model's {programme} places (k={k:,}); ratios to {attribute} {reference}, the "
    "largest group"
)
FAIRNESS_NOTE = (
    "Who the model would give a programme's places to, by group (the capacity of the table "
    "above, ranking the whole test quarter as the capacity figures do, where `riskstrat score` "
    "offers places only to the people eligible): selected = share of the group's people among "
    "the k highest risks; recall = share "
    "of the group's events among them (equal opportunity); precision = share of the group's "
    "selected people with the event (predictive parity); false-positive rate = share of the "
    "group's people without the event selected all the same (predictive equality); each with "
    "its 95% Wilson interval, and its ratio to the largest group with Katz's 95% interval (a "
    "ratio under 0.8 for the share selected is what the four-fifths rule flags; an interval "
    "reaching 1 is no difference beyond chance, each group tested on its own). O/E among the "
    "selected = their events over the events the model predicts for them, with the exact "
    "Poisson interval: calibration where the places are, which a group's O/E over all its "
    "people, mostly low risks, can hide. Selection is competitive (the same k places for "
    "everyone), so the intervals, which take each group's selections as given, describe the "
    "list made, not a list made again from other data. '-': hidden with a count of 1 to 10, "
    "or undefined (no event, no one selected); every scorer in `subgroups.csv`"
)


def fairness_header(result: object) -> list[str]:
    """Column names of :func:`fairness_rows`."""
    header = ["group"]
    for rate in RATES:
        header += [RATE_NAMES[rate], "ratio"]
    return [*header, "O/E among the selected"]


def fairness_reference(result: object, attribute: str) -> str | None:
    """The group the ratios of ``attribute`` are to: the largest named group shown."""
    table = result.subgroups
    people = table[
        (table["attribute"] == attribute)
        & (table["scorer"] == "observed")
        & (table["metric"] == "n")
        & ~table["suppressed"]
    ]
    return reference_group(pd.Series(people["estimate"].to_numpy(), index=people["group"]))


def fairness_title(result: object, attribute: str) -> str | None:
    """The table's title, or None when the subgroup table selects at no capacity."""
    shown = shown_capacity(result)
    reference = fairness_reference(result, attribute)
    if shown is None or reference is None:
        return None
    programme, k = shown
    return FAIRNESS_TITLE.format(attribute=attribute, programme=programme, k=k, reference=reference)


def _with_interval(row: pd.Series | None, digits: int = 3, avoid: float | None = None) -> str:
    if row is None or not math.isfinite(row["estimate"]):
        return "-"
    text = nearest_text(row["estimate"], digits, avoid)
    if math.isfinite(row["lower"]) and math.isfinite(row["upper"]):
        text += f" {bounds(row['lower'], row['upper'], digits, avoid)}"
    return text


def fairness_rows(result: object, attribute: str) -> list[list[str]]:
    """One row of text per group of ``attribute`` (the whole test quarter last)."""
    shown = shown_capacity(result)
    if shown is None:
        return []
    programme = shown[0]
    table = result.subgroups
    table = table[(table["attribute"] == attribute) & (table["scorer"] == SCORER)]
    values = table.set_index(["group", "metric"])

    def get(group: str, metric: str) -> pd.Series | None:
        key = (group, metric)
        return values.loc[key] if key in values.index else None

    rows = []
    groups = [g for g in dict.fromkeys(table["group"]) if g != ALL] + [ALL]
    for group in groups:
        row = [group]
        for rate in RATES:
            row.append(_with_interval(get(group, rate_metric(rate, programme))))
            # A ratio near 1 is not shown as 1 unless it is: 0.996 reads as no difference.
            row.append(_with_interval(get(group, ratio_metric(rate, programme)), 2, avoid=1.0))
        row.append(_with_interval(get(group, selected_oe_metric(programme)), 2, avoid=1.0))
        rows.append(row)
    return rows
