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
    beyond_chance_metric,
    rate_metric,
    ratio_metric,
    selected_oe_metric,
    table_reference,
)
from riskstrat.modeling._intervals import rate_ratio_interval
from riskstrat.modeling._metric_labels import bounds, nearest_text
from riskstrat.modeling._subgroup_names import ALL, POOLED, UNKNOWN
from riskstrat.modeling._subgroup_report import shown_capacity

SCORER = "model"
RATE_NAMES = {
    "selection_rate": "selected",
    "recall": "recall",
    "precision": "precision",
    "false_positive_rate": "false-positive rate",
}
FAIRNESS_TITLE = (
    "by {attribute}: the model's top {k:,} of the whole test quarter ({programme}'s places, no "
    "eligibility rule applied); ratios to {attribute} {reference}, the largest group shown"
)
FAIRNESS_NOTE = (
    "Who the model would pick if a programme's places went to the k highest risks of the "
    "whole test quarter, with no eligibility rule (as the capacity figures above rank): "
    "`riskstrat score` offers places only to the people eligible, so where a programme has "
    "no more eligible people than places (the report's first line) these figures describe "
    "no offer made, and a group the rule leaves out, such as children for Re-entry, still "
    "counts here. selected = share of the group's people among the k highest risks; recall "
    "= share of the group's events among them (equal opportunity); precision = share of the"
    " group's selected people with the event (predictive parity); false-positive rate = "
    "share of the group's people without the event selected all the same (predictive "
    "equality). Each has its 95% Wilson interval and its ratio to the reference group, the "
    "largest group shown (the majority group, as Aequitas takes it), with Katz's 95% "
    "interval; an interval reaching 1 shows no difference beyond chance for that group on "
    "its own, one leaving 1 out is not adjusted for the number of groups: * marks a ratio "
    "that differs from 1 beyond chance under Holm's test over every ratio of the model's in "
    "these tables (all attributes and rates), which keeps the chance of any false flag "
    "among them near 5% as far as these approximate p-values hold. These intervals treat each group's "
    "counts as independent binomial draws; with a fixed k, one group's places are "
    "another's, so for the share selected they are likely too narrow, and a rate of 1 adds "
    "no width to a ratio's, and a rate of 0 gives a ratio of 0 with none. O/E among the "
    "selected = their events over the events the model predicts for them, with the exact "
    "Poisson interval (wider than the binomial truth where the selected have high risks): "
    "calibration where the places are, which a group's O/E over all its people, mostly low "
    "risks, can hide. Under each table, for the model, the rule and (on synthetic data) the"
    " oracle, the lowest share selected over the highest among the named groups shown "
    "(unknown and not-recorded codes left out), from their counts with Katz's interval: the"
    " impact ratio the four-fifths rule reads (under 0.8 it flags the lower group; between "
    "two small groups the interval says how little that settles). '-': hidden with a count "
    "of 1 to 10 (a ratio also with the reference's), or undefined (no event, no one "
    "selected, or a reference rate of 0); every scorer in `subgroups.csv`, with the "
    "reference marked by `reference_group`"
)
IMPACT = (
    "Share selected, lowest over highest of the named groups shown (the four-fifths rule's "
    "impact ratio): {parts}."
)
IMPACT_PART = (
    "{scorer} {low_group} {low:.3f} over {high_group} {high:.3f} = {ratio} {interval}{flag}"
)
FLAGGED = ", under 0.8"
NOT_SETTLED = " (its interval reaches 1)"
# The county's rule and, on synthetic data, the true risks beside the model: a flag the rule
# or the truth share is a difference in need or in the rule, not the model's alone.
IMPACT_SCORERS = ("model", "rule", "oracle")


def fairness_header(result: object) -> list[str]:
    """Column names of :func:`fairness_rows`."""
    header = ["group"]
    for rate in RATES:
        header += [RATE_NAMES[rate], "ratio"]
    return [*header, "O/E among the selected"]


def fairness_reference(result: object, attribute: str) -> str | None:
    """The group the ratios of ``attribute`` are to, as the table names it."""
    return table_reference(result.subgroups, attribute)


def impact_ratio(result: object, attribute: str) -> str | None:
    """The sentence giving, for the model, the rule and the oracle (those in the table),
    the lowest share selected over the highest among the named groups shown (not a pool, not
    "not recorded" or unknown), from their counts, with Katz's 95% interval; None when the
    model has under two such groups or none selected."""
    shown = shown_capacity(result)
    if shown is None:
        return None
    parts = [_impact(result.subgroups, attribute, shown[0], s) for s in IMPACT_SCORERS]
    if parts[0] is None:
        return None
    return IMPACT.format(parts="; ".join(p for p in parts if p is not None))


def _impact(table: pd.DataFrame, attribute: str, programme: str, scorer: str) -> str | None:
    table = table[(table["attribute"] == attribute) & ~table["suppressed"]]
    named = table["group"].ne(ALL) & ~table["group"].isin(list(UNKNOWN))
    table = table[named & ~table["group"].str.startswith(POOLED)]
    people = table[(table["scorer"] == "observed") & (table["metric"] == "n")]
    selected = table[
        (table["scorer"] == scorer) & (table["metric"] == f"selected_at_k_{programme}")
    ]
    counts = pd.DataFrame(
        {
            "n": people.set_index("group")["estimate"],
            "s": selected.set_index("group")["estimate"],
        }
    ).dropna()
    counts = counts[counts["n"] > 0]
    if len(counts) < 2 or counts["s"].max() <= 0:
        return None
    rates = counts["s"] / counts["n"]
    low, high = rates.idxmin(), rates.idxmax()
    ratio = rates[low] / rates[high]
    lower, upper = rate_ratio_interval(
        counts.loc[[low], "s"].to_numpy(),
        counts.loc[[low], "n"].to_numpy(),
        counts.loc[high, "s"],
        counts.loc[high, "n"],
    )
    interval = bounds(lower[0], upper[0], 2) if math.isfinite(lower[0]) else ""
    flag = ""
    if ratio < 0.8:
        flag = FLAGGED + (NOT_SETTLED if math.isfinite(upper[0]) and upper[0] >= 1 else "")
    return IMPACT_PART.format(
        scorer=scorer,
        low_group=low,
        low=rates[low],
        high_group=high,
        high=rates[high],
        ratio=nearest_text(ratio, 2, avoid=0.8),  # 0.798 is under 0.8: not shown as 0.80
        interval=interval,
        flag=flag,
    ).replace(" ,", ",")


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


def fairness_rows(
    result: object, attribute: str, scorer: str = SCORER, programme: str | None = None
) -> list[list[str]]:
    """One row of text per group of ``attribute`` (the whole test quarter last): the
    ``scorer``'s places at ``programme`` (default the model's at the capacity the table
    selects at)."""
    if programme is None:
        shown = shown_capacity(result)
        if shown is None:
            return []
        programme = shown[0]
    table = result.subgroups
    table = table[(table["attribute"] == attribute) & (table["scorer"] == scorer)]
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
            ratio = _with_interval(get(group, ratio_metric(rate, programme)), 2, avoid=1.0)
            flag = get(group, beyond_chance_metric(rate, programme))
            row.append(ratio + (" *" if flag is not None and flag["estimate"] == 1 else ""))
        row.append(_with_interval(get(group, selected_oe_metric(programme)), 2, avoid=1.0))
        rows.append(row)
    return rows
