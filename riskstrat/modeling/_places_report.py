"""Each programme's own list by group, as text: who its rule lists, and who the model
picks among them (:mod:`riskstrat.modeling._subgroup_places`).

The fairness tables beside the subgroup table rank the whole test quarter; these follow a
programme's rule, as ``riskstrat score`` does. Their rows are those of
:func:`riskstrat.modeling._fairness_report.fairness_rows` for the scorers
``programme_eligible`` and ``model_within_eligible``.
"""

from __future__ import annotations

import math

from riskstrat.modeling._fairness_report import RATE_NAMES, fairness_header, fairness_rows
from riskstrat.modeling._group_selection import (
    RATES,
    beyond_chance_metric,
    ratio_metric,
    table_reference,
)
from riskstrat.modeling._metric_labels import nearest_text
from riskstrat.modeling._subgroup_names import ALL, MODEL_WITHIN_ELIGIBLE, PROGRAMME_ELIGIBLE

PLACES_TITLE = "Each programme's own list by group: who its rule lists, and who the model picks"
PLACES_NOTE = (
    "Who `riskstrat score` would consider and offer on the test quarter, by group: a "
    "programme's places go only to the people its rule lists (programme_eligible: everyone "
    "eligible, whatever the places) and, where more are eligible than there are places, to "
    "the model's highest risks among them (model_within_eligible: min(k, eligible) places, "
    "whole people, ties at the cut-off to the earlier rows, where metrics.csv counts tied "
    "people at their expected value). listed or selected = share of "
    "the group's people on the list or given a place; recall = share of the group's events "
    "among them; precision = share of them with the event; false-positive rate = share of "
    "the group's people without the event on the list or given a place all the same. A rule "
    "that lists one group's people with the outcome more readily than another's shows as a "
    "recall ratio over 1 before any model ranks anyone; a precision ratio under 1 means it "
    "lists that group's people at lower need. Intervals, ratios and '*' (Holm's test, one "
    "family for every ratio of the rules' lists shown here, another for the model's places) as "
    "in the fairness tables above; O/E among the model's places against its own risks. Not "
    "shown: a programme whose eligible, those of them left without a place, or the events or "
    "non-events on its list or among those its rule's places leave out are 1 to 10; the "
    "model's places where the events or non-events in them are; a list or the model's places "
    "1 to 10 people, events or non-events away from another list that holds them or that "
    "they hold (another programme's, a scorer's top k at any capacity, the rule's places, the "
    "rest of the quarter): the all row would give those away"
)
RULE_TITLE = (
    "{programme}: the {eligible:,} people its rule lists ({filled}) by {attribute}; ratios to "
    "{attribute} {reference}"
)
MODEL_TITLE = (
    "{programme}: the model's {places:,} places among the {eligible:,} eligible by "
    "{attribute}; ratios to {attribute} {reference}"
)
EVERYONE = "{k:,} places: room for all of them, the model changes no one here"
FEW = "{k:,} places: the model's choice in the next table"
FEW_HIDDEN = "{k:,} places: the model's choice not shown, it would give away a count of 1 to 10"
FLAGS_LINE = "each programme's own list by group (summary.md), ratios beyond chance (Holm): "


def place_tables(result: object) -> list[tuple[str, str]]:
    """(scorer, programme) of each programme's list and places the subgroup table holds,
    by programme: who its rule lists, then the model's places among them."""
    table = result.subgroups
    if table is None:
        return []
    table = table[table["scorer"].isin([PROGRAMME_ELIGIBLE, MODEL_WITHIN_ELIGIBLE])]
    prefix = "selected_at_k_"
    rows = table[table["metric"].str.startswith(prefix) & (table["group"] == ALL)]
    pairs = [(row.scorer, row.metric.removeprefix(prefix)) for row in rows.itertuples()]
    return sorted(dict.fromkeys(pairs), key=lambda p: (p[1], p[0] != PROGRAMME_ELIGIBLE))


def places_title(result: object, scorer: str, programme: str, attribute: str) -> str | None:
    """The title of one table, or None when the attribute has no reference group."""
    reference = table_reference(result.subgroups, attribute)
    if reference is None:
        return None
    eligible = _all_row(result, PROGRAMME_ELIGIBLE, programme)
    k = int(result.capacities[programme])
    fields = {"programme": programme, "eligible": eligible, "k": k, "places": min(k, eligible)}
    fields |= {"attribute": attribute, "reference": reference}
    if scorer == MODEL_WITHIN_ELIGIBLE:
        return MODEL_TITLE.format(**fields)
    model = (MODEL_WITHIN_ELIGIBLE, programme) in place_tables(result)
    filled = (EVERYONE if eligible <= k else FEW if model else FEW_HIDDEN).format(**fields)
    return RULE_TITLE.format(**fields, filled=filled)


def places_header(scorer: str) -> list[str]:
    """Columns of :func:`places_rows`: the fairness table's (a rule's list: "listed", not
    "selected"), the O/E for the model only."""
    header = fairness_header(None)
    return header if scorer == MODEL_WITHIN_ELIGIBLE else ["group", "listed", *header[2:-1]]


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
                rule = scorer == PROGRAMME_ELIGIBLE
                name = "listed" if rule and rate == "selection_rate" else RATE_NAMES[rate]
                parts.append(
                    f"{programme} ({'rule' if rule else 'model'}) {row.attribute} "
                    f"{row.group}: {name} {nearest_text(ratio, 2, avoid=1.0)}"
                )
    return FLAGS_LINE + "; ".join(parts) if parts else None


def _all_row(result: object, scorer: str, programme: str) -> int:
    table = result.subgroups
    rows = table[(table["scorer"] == scorer) & (table["metric"] == f"selected_at_k_{programme}")]
    return int(rows.loc[rows["group"] == ALL, "estimate"].iloc[0])
