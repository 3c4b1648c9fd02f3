"""A training run on the console: its figures, or (quiet) its warnings and where it wrote.

Only aggregate figures are shown: metrics, intervals, counts and file locations.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console

from riskstrat.modeling._fairness_report import FLAGGED, impact_ratio
from riskstrat.modeling._places_report import flagged_places
from riskstrat.modeling._programme_rule_report import (
    programme_rule_rich_table,
    programme_rule_rows,
)
from riskstrat.modeling._result import TrainResult
from riskstrat.modeling._subgroup_report import (
    SUBGROUPS_NOTE,
    calibrated_groups_note,
    miscalibration_note,
    subgroup_attributes,
    subgroup_rich_tables,
)
from riskstrat.modeling._summary import (
    comparison_rich_table,
    importance_note,
    importance_rich_table,
    metrics_rich_table,
    registered_line,
    rolling_rich_table,
    run_facts,
)


def print_summary(
    result: TrainResult,
    console: Console | None = None,
    *,
    quiet: bool = False,
    warnings: Console | None = None,
) -> None:
    """Print the metric tables, the split, row counts and where outputs went.

    Parameters
    ----------
    result : TrainResult
    console : rich.console.Console, optional
    quiet : bool
        Only the warnings and where the outputs went (a scheduled job's log); the
        evaluation's ``summary.md`` keeps the rest.
    warnings : rich.console.Console, optional
        Where a quiet summary's warnings go (``riskstrat train`` gives stderr, where the
        data's warnings are); ``console`` without it.
    """
    console = console or Console()
    facts = run_facts(result)

    def say(text: str, **style: object) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True, **style)

    if quiet:
        warn = warnings or console
        shown = [text for key, text in facts.items() if "warning" in key]
        if result.subgroups is not None and (flagged := miscalibration_note(result)):
            shown.append(f"warning: {flagged}")
        for text in shown:
            warn.print(text, markup=False, highlight=False, soft_wrap=True)
        _where(result, say)
        return

    keys = ("split", "rows", "input", "input_warning", "warning", "baseline_warning")
    keys += ("lift_warning", "calibration_warning")
    keys += ("baselines", "intervals", "fingerprint")
    for key in (*keys, "oracle"):
        if key in facts:
            say(facts[key], **({"style": "yellow"} if "warning" in key else {}))
    console.print(metrics_rich_table(result))
    console.print(comparison_rich_table(result))
    if "ceiling" in facts:
        say(facts["ceiling"])
    if programme_rule_rows(result):
        console.print(programme_rule_rich_table(result))
    if result.rolling["test_as_of"].nunique() > 1:
        console.print(rolling_rich_table(result.rolling))
    if result.importance is not None:
        console.print(importance_rich_table(result.importance, caption=importance_note(result)))
    for table in subgroup_rich_tables(result):
        console.print(table)
    if result.subgroups is not None:
        say(SUBGROUPS_NOTE)
        flagged = miscalibration_note(result)
        if flagged:
            say(flagged, style="yellow")
        calibrated = calibrated_groups_note(result)
        if calibrated:
            say(calibrated)
        # Who gets the places, in one line per attribute (the table is in summary.md).
        for attribute in subgroup_attributes(result):
            if impact := impact_ratio(result, attribute):
                flagged = FLAGGED in impact.split("; ")[0]  # the model's, not the rule's
                say(f"{attribute}: {impact}", **({"style": "yellow"} if flagged else {}))
        if places := flagged_places(result):
            say(places)
    _where(result, say)


def _where(result: TrainResult, say: Callable[[str], None]) -> None:
    """Where the bundle, the plots and the MLflow run went."""
    if result.bundle_path is not None:
        say(f"bundle: {result.bundle_path}")
    elif result.bundle is None:
        say(f"no bundle: kind {result.kind!r} is a baseline")
    if result.plots:
        folder = next(iter(result.plots.values())).parent
        say(f"plots: {folder} ({', '.join(result.plots)})")
    if result.run_id:
        say(f"MLflow run: {result.run_id}" + registered_line(result.registered))
