"""The subgroup table as rows of text, shared by ``riskstrat train`` and ``summary.md``.

One table per sensitive attribute, with the selection figures at the one capacity the
table holds (:func:`riskstrat.modeling._subgroups.subgroup_capacity`). The terminal gets a
narrower table (no intervals, no difference column) than ``summary.md``. Both name the
groups whose O/E interval excludes 1 (:func:`miscalibration_note`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from rich.table import Table

from riskstrat.modeling._group_selection import selection_programme
from riskstrat.modeling._metric_labels import bounds, nearest_text
from riskstrat.modeling._rich import text_table
from riskstrat.modeling._subgroup_names import ALL
from riskstrat.modeling._subgroups import BEYOND_CHANCE, OBSERVED

SUBGROUPS_TITLE = (
    "by {attribute} (test quarter; {at}'-': hidden, a count of 1 to 10 could be read, or undefined)"
)
SUBGROUPS_NOTE = (
    "model, oracle: mean predicted probability; O/E = observed events / expected (over 1: the model "
    "under-predicts for the group); recall at k = share of the group's events that fall among "
    "the people a scorer would select at that capacity (whole people, ties at the cut-off "
    "broken by row order; the all row can differ in the third decimal from metrics.csv, which "
    "counts ties at their expected value); selected = share of the group's people a scorer "
    "would select there (summary.md and report.html; counts in subgroups.csv); groups under 11 "
    "people are pooled, and a '-' in a large group can hide a figure that, with the total and "
    "the groups shown, would give away a smaller group's count of 1 to 10 (complementary "
    "suppression: it cannot be said which, since that too would narrow the count)"
)

CALIBRATED_GROUPS = (
    "no group's calibration differs beyond chance (model O/E; exact Poisson test, "
    "Holm-adjusted over the {tested} groups shown; a group's own interval may still exclude 1, "
    "as chance gives across that many groups)"
)
MISCALIBRATED = (
    "calibration differs by group beyond chance (model O/E [95% interval]; exact Poisson test, "
    "Holm-adjusted over the {tested} groups shown, so a calibrated model is named here in at most "
    "one test quarter in 20; over 1: more events than the model predicts): {groups}"
)


def _number(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "-"


def _count(value: float) -> str:
    return f"{value:,.0f}" if math.isfinite(value) else "-"


def shown_capacity(result: object) -> tuple[str, int] | None:
    """The programme and k the table selects at (:func:`subgroup_capacity`), or None."""
    programme = selection_programme(result.subgroups)
    return None if programme is None else (programme, result.capacities[programme])


def subgroup_header(result: object, compact: bool = False) -> list[str]:
    """Column names of :func:`subgroup_rows`."""
    scorers = set(result.subgroups["scorer"])
    oracle = "oracle" in scorers
    if compact:
        header = ["group", "n", "observed", "model", *(["oracle"] if oracle else [])]
    else:
        header = ["group", "people", "events", "observed rate", "model risk"]
        header += ["oracle risk", "model - oracle"] if oracle else []
    header += ["O/E", "AUROC"] if compact else ["model O/E", "model AUROC"]
    shown = shown_capacity(result)
    if shown is not None:
        programme, k = shown
        header += [
            f"recall {s}" if compact else f"{programme} recall (k={k:,}): {s}"
            for s in ("model", "rule")
            if s in scorers
        ]
        if not compact:  # who gets the places: the share of the group each would select
            header += [f"{programme} selected: {s}" for s in ("model", "rule") if s in scorers]
    return header


def subgroup_title(result: object, attribute: str, compact: bool = False) -> str:
    """Title of one attribute's table; the terminal's names the capacity of its recall."""
    shown = shown_capacity(result)
    at = f"recall at {shown[0]} k={shown[1]:,}; " if compact and shown is not None else ""
    return SUBGROUPS_TITLE.format(attribute=attribute, at=at)


def subgroup_rows(result: object, attribute: str, compact: bool = False) -> list[list[str]]:
    """One row of text per group of ``attribute`` (the whole test quarter last)."""
    table = result.subgroups[result.subgroups["attribute"] == attribute]
    values = table.set_index(["group", "scorer", "metric"])
    scorers = set(table["scorer"])
    shown = shown_capacity(result)

    def get(group: str, scorer: str, metric: str) -> float:
        key = (group, scorer, metric)
        return float(values.loc[key, "estimate"]) if key in values.index else math.nan

    rows = []
    groups = [g for g in dict.fromkeys(table["group"]) if g != ALL] + [ALL]
    for group in groups:
        rate = values.loc[(group, OBSERVED, "observed_rate")]
        observed = _number(rate["estimate"])
        if not compact and math.isfinite(rate["lower"]):
            observed += f" {bounds(rate['lower'], rate['upper'])}"
        row = [group, _count(get(group, OBSERVED, "n"))]
        row += [] if compact else [_count(get(group, OBSERVED, "events"))]
        row += [observed, _number(get(group, "model", "mean_risk"))]
        if "oracle" in scorers:
            row.append(_number(get(group, "oracle", "mean_risk")))
            diff = get(group, "model_vs_oracle", "diff_mean_risk")
            row += [] if compact else [f"{diff:+.3f}" if math.isfinite(diff) else "-"]
        shown_ratio = _number(get(group, "model", "observed_to_expected"), 2)
        key = (group, "model", "observed_to_expected")
        if not compact and key in values.index and math.isfinite(values.loc[key, "lower"]):
            shown_ratio = _ratio(values.loc[key])
        row += [shown_ratio, _number(get(group, "model", "auroc"))]
        if shown is not None:
            metric = f"recall_at_k_{shown[0]}"
            row += [_number(get(group, s, metric)) for s in ("model", "rule") if s in scorers]
            if not compact:
                rate = f"selection_rate_at_k_{shown[0]}"
                row += [_number(get(group, s, rate)) for s in ("model", "rule") if s in scorers]
        rows.append(row)
    return rows


def miscalibrated_groups(result: object, scorer: str = "model") -> list[str]:
    """``attribute group O/E [lower, upper]`` for each group whose O/E differs from 1
    beyond chance (:data:`BEYOND_CHANCE`: Holm over the groups shown, from unrounded
    figures); the whole test quarter is judged by the headline ECE and slope instead."""
    if result.subgroups is None:
        return []
    table = result.subgroups[result.subgroups["scorer"] == scorer]
    values = table.set_index(["attribute", "group", "metric"])
    flagged = table[(table["metric"] == BEYOND_CHANCE) & (table["estimate"] == 1)]
    lines = []
    for row in flagged.itertuples(index=False):
        ratio = values.loc[(row.attribute, row.group, "observed_to_expected")]
        # No interval for a group without events.
        shown = _ratio(ratio) if math.isfinite(ratio["lower"]) else f"{ratio['estimate']:.2f}"
        lines.append(f"{row.attribute} {row.group} {shown}")
    return lines


def _ratio(ratio: Mapping[str, float]) -> str:
    """An O/E with its interval, neither reading as 1 unless it is: an interval excluding 1
    is not shown reaching it (0.991 is not 1.00), nor its estimate outside it."""
    point = nearest_text(ratio["estimate"], 2, avoid=1.0)
    return f"{point} {bounds(ratio['lower'], ratio['upper'], 2, avoid=1.0)}"


def miscalibration_note(result: object) -> str | None:
    """One sentence naming the groups the model's risk misses beyond chance, or None."""
    flagged = miscalibrated_groups(result)
    if not flagged:
        return None
    return MISCALIBRATED.format(tested=_tested(result), groups="; ".join(flagged))


def calibrated_groups_note(result: object) -> str | None:
    """The sentence saying no group was named, when groups were tested and none was: a
    reader should not have to infer it from a note's absence. None otherwise."""
    if result.subgroups is None or miscalibrated_groups(result):
        return None
    tested = _tested(result)
    return CALIBRATED_GROUPS.format(tested=tested) if tested else None


def _tested(result: object) -> int:
    table = result.subgroups
    tested = table[(table["scorer"] == "model") & (table["metric"] == BEYOND_CHANCE)]
    return int(tested["estimate"].notna().sum())


def subgroup_attributes(result: object) -> list[str]:
    """The sensitive attributes of the table, in its order (none without one)."""
    if result.subgroups is None:
        return []
    return list(dict.fromkeys(result.subgroups["attribute"]))


def subgroup_rich_tables(result: object) -> list[Table]:
    """One rich table per sensitive attribute (the compact columns)."""
    tables = []
    header = subgroup_header(result, compact=True) if result.subgroups is not None else []
    for attribute in subgroup_attributes(result):
        title = subgroup_title(result, attribute, compact=True)
        rows = subgroup_rows(result, attribute, compact=True)
        tables.append(text_table(title, header, rows, left=("group",)))
    return tables
