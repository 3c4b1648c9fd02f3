"""Each programme's own places by group, as text: who the rule lists, and who the model
picks among them (:mod:`riskstrat.modeling._subgroup_places`).

The fairness tables beside the subgroup table rank the whole test quarter; these follow a
programme's rule, as ``riskstrat score`` does. Their rows are those of
:func:`riskstrat.modeling._fairness_report.fairness_rows` for the scorers
``programme_rule`` and ``model_within_eligible``.
"""

from __future__ import annotations

import math

import pandas as pd

from riskstrat.modeling._fairness_report import RATE_NAMES, fairness_header, fairness_rows
from riskstrat.modeling._group_selection import (
    RATES,
    beyond_chance_metric,
    ratio_metric,
    table_reference,
)
from riskstrat.modeling._metric_labels import nearest_text
from riskstrat.modeling._subgroup_names import ALL, MODEL_WITHIN_ELIGIBLE, PROGRAMME_RULE

PLACES_TITLE = "Each programme's own places by group: who its rule lists, and who the model picks"
PLACES_NOTE = (
    "What `riskstrat score` would offer on the test quarter, by group: a programme's places "
    "go only to the people its rule lists (min(k, eligible) places; where more are eligible "
    "than there are places, first by criteria met for the rule, by risk for the model), "
    "whole people, ties at the cut-off to the earlier rows. selected = share of the group's "
    "people given a place; recall = share of the group's events among them; precision = share "
    "of the group's places going to people with the event; false-positive rate = share of the "
    "group's people without the event given a place all the same. A rule that lists one "
    "group's people with the outcome more readily than another's shows as a recall ratio "
    "over 1 before any model ranks anyone; a precision ratio under 1 means the rule lists "
    "that group's people at lower need. Intervals, ratios and '*' (Holm's test, one family "
    "for every ratio of the rules' places shown here, another for the model's) as in the "
    "fairness tables above; O/E among the model's places against its own risks. Not shown: a "
    "programme whose places, or the events or non-events among them, are 1 to 10 (its "
    "precision in the table of each programme's own rule is hidden too)"
)
RULE_TITLE = (
    "{programme}: its rule's {places:,} places ({filled}) by {attribute}; ratios to "
    "{attribute} {reference}"
)
MODEL_TITLE = (
    "{programme}: the model's {places:,} places among the eligible ({eligible}) by "
    "{attribute}; ratios to {attribute} {reference}"
)
EVERYONE = "everyone eligible: the model changes no one here"
FEW = "the first {places:,} of the eligible ({eligible}) by criteria met"
FLAGS_LINE = "each programme's own places by group (summary.md), ratios beyond chance (Holm): "


def place_tables(result: object) -> list[tuple[str, str]]:
    """(scorer, programme) of each programme's places the subgroup table holds, in its
    order: a programme's rule, then the model within its eligible."""
    table = result.subgroups
    if table is None:
        return []
    table = table[table["scorer"].isin([PROGRAMME_RULE, MODEL_WITHIN_ELIGIBLE])]
    prefix = "selected_at_k_"
    rows = table[table["metric"].str.startswith(prefix) & (table["group"] == ALL)]
    pairs = [(row.scorer, row.metric.removeprefix(prefix)) for row in rows.itertuples()]
    return sorted(dict.fromkeys(pairs), key=lambda p: (p[1], p[0] != PROGRAMME_RULE))


def places_title(result: object, scorer: str, programme: str, attribute: str) -> str | None:
    """The title of one table, or None when the attribute has no reference group."""
    reference = table_reference(result.subgroups, attribute)
    if reference is None:
        return None
    places = _all_row(result, scorer, f"selected_at_k_{programme}")
    eligible = _eligible(result, programme)
    if scorer == MODEL_WITHIN_ELIGIBLE:
        template, filled = MODEL_TITLE, ""
    else:
        template = RULE_TITLE
        filled = EVERYONE if eligible == f"{places:,}" else FEW
    fields = {"programme": programme, "places": places, "eligible": eligible}
    fields |= {"attribute": attribute, "reference": reference}
    return template.format(**fields, filled=filled.format(**fields))


def places_header(scorer: str) -> list[str]:
    """Columns of :func:`places_rows`: the fairness table's, the O/E for the model only."""
    header = fairness_header(None)
    return header if scorer == MODEL_WITHIN_ELIGIBLE else header[:-1]


def places_rows(result: object, attribute: str, scorer: str, programme: str) -> list[list[str]]:
    """One row of text per group, the whole test quarter last."""
    rows = fairness_rows(result, attribute, scorer, programme)
    return rows if scorer == MODEL_WITHIN_ELIGIBLE else [row[:-1] for row in rows]


def flagged_places(result: object) -> str | None:
    """One line naming every ratio of the places that differs from 1 beyond chance
    (Holm), for the console, or None."""
    table = result.subgroups
    parts = []
    for scorer, programme in place_tables(result):
        mine = table[(table["scorer"] == scorer) & ~table["suppressed"]]
        values = mine.set_index(["attribute", "group", "metric"])["estimate"]
        for rate in RATES:
            flags = mine[(mine["metric"] == beyond_chance_metric(rate, programme))]
            for row in flags[flags["estimate"] == 1].itertuples():
                ratio = values.get((row.attribute, row.group, ratio_metric(rate, programme)))
                if ratio is None or not math.isfinite(ratio):
                    continue
                who = "rule" if scorer == PROGRAMME_RULE else "model"
                parts.append(
                    f"{programme} ({who}) {row.attribute} {row.group}: "
                    f"{RATE_NAMES[rate]} {nearest_text(ratio, 2, avoid=1.0)}"
                )
    return FLAGS_LINE + "; ".join(parts) if parts else None


def _all_row(result: object, scorer: str, metric: str) -> int:
    table = result.subgroups
    rows = table[(table["scorer"] == scorer) & (table["metric"] == metric)]
    return int(rows.loc[rows["group"] == ALL, "estimate"].iloc[0])


def _eligible(result: object, programme: str) -> str:
    """The people eligible as the programme-rule table shows them (where it hides them,
    what hiding says: 1 to 10 more than the places)."""
    metrics = result.metrics
    rows = metrics[
        (metrics["scorer"] == PROGRAMME_RULE) & (metrics["metric"] == f"eligible_{programme}")
    ]
    value = rows["estimate"].iloc[0] if len(rows) else math.nan
    return "1 to 10 more than the places" if pd.isna(value) else f"{int(value):,}"
