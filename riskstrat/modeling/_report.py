"""A training run's evaluation as Markdown (``<out>-evaluation/summary.md``).

The same figures ``riskstrat train`` prints, kept beside the bundle so an evaluator can read
them after the batch log has gone, with the plots inline. Aggregates only: metrics,
intervals, counts and feature names, never a person's record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from riskstrat._atomic import SYSTEM_LITTER, Replaceable
from riskstrat._html import markdown_html
from riskstrat.modeling._fairness_plot import FAIRNESS_PLOT
from riskstrat.modeling._fairness_report import (
    FAIRNESS_NOTE,
    fairness_header,
    fairness_rows,
    fairness_title,
    impact_ratio,
)
from riskstrat.modeling._importance_and_group_plots import importance_plot
from riskstrat.modeling._metric_labels import no_width
from riskstrat.modeling._places_report import (
    PLACES_NOTE,
    PLACES_TITLE,
    place_tables,
    places_header,
    places_rows,
    places_title,
)
from riskstrat.modeling._plots import PLOT_NAMES
from riskstrat.modeling._programme_rule_report import (
    PROGRAMME_RULE_HEADER,
    programme_rule_note,
    programme_rule_rows,
    programme_rule_title,
    ranking_chooses,
)
from riskstrat.modeling._report_guide import PLOT_NOTES, glossary, limitations, oracle_section
from riskstrat.modeling._result import TrainResult
from riskstrat.modeling._subgroup_report import (
    SUBGROUPS_NOTE,
    calibrated_groups_note,
    miscalibration_note,
    subgroup_attributes,
    subgroup_header,
    subgroup_rows,
    subgroup_title,
)
from riskstrat.modeling._summary import (
    COMPARISON_TITLE,
    IMPORTANCE_HEADER,
    ROLLING_COLUMNS,
    ROLLING_NOTE,
    ROLLING_TITLE,
    comparison_metrics,
    comparison_scorers,
    importance_note,
    importance_rows,
    importance_title,
    interval_rows,
    metric_order,
    metric_scorers,
    metrics_title,
    rolling_rows,
    run_facts,
)

if TYPE_CHECKING:
    import pandas as pd

REPORT_FILE = "summary.md"
HTML_REPORT_FILE = "report.html"
SUBGROUPS_FILE = "subgroups.csv"
IMPORTANCE_FILE = "importance.csv"
IMPORTANCE_PLOT = "importance"
SUBGROUPS_PLOT = "subgroups"
IMPORTANCE_TOP = 20
# Columns of words (left-aligned); the rest hold numbers.
TEXT_COLUMNS = frozenset(
    {"metric", "scorer", "feature", "direction", "test as-of", "programme", "group"}
)
PLOT_CAPTIONS = {
    "calibration": "calibration: observed rate against mean predicted probability",
    "roc": "ROC curves",
    "pr": "precision-recall curves",
    "precision_at_k": "precision at k, programme capacities marked",
    "importance": "what drives the score",
    "subgroups": "observed rate and mean predicted risk by group",
    FAIRNESS_PLOT: "the model's places by group, as ratios to the largest group shown",
}


HIDDEN_AT_K_NOTE = (
    "'-' at k is hidden: with another capacity of the same ranking shown, or everyone, a "
    "difference would give 1 to 10 people's outcomes (where two clash, the one first in "
    "model.metrics.capacity_programs is shown), and so is every comparison that would give it "
    "back."
)


FLAT_MEAN_RISK_NOTE = (
    "A mean risk at k whose interval has no width (its bounds equal) is the probability of "
    "the calibration's top plateau: everyone selected sits on it in every resample, so it "
    "cannot move. It is not certainty about those people; their precision beside it is "
    "what was observed."
)


def _flat_mean_risks(metrics: pd.DataFrame) -> bool:
    """Whether a scorer's mean risk at some k has an interval of no width."""
    rows = metrics[metrics["metric"].str.startswith("mean_risk_at_k")]
    return bool(no_width(rows["lower"], rows["upper"]).any())


def _heading(title: str) -> str:
    return f"## {title[:1].upper()}{title[1:]}"


def _table(header: Sequence[str], rows: list[list[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    align = ["---" if h in TEXT_COLUMNS else "---:" for h in header]
    return [line(header), "|" + "|".join(align) + "|", *(line(r) for r in rows), ""]


def evaluation_markdown(result: TrainResult, plots_prefix: str = "plots/") -> str:
    """The run's evaluation as a Markdown document.

    Parameters
    ----------
    result : TrainResult
    plots_prefix : str
        Path from the document to the plot files (``"plots/"`` in the evaluation folder).

    Returns
    -------
    str
    """
    facts = run_facts(result)
    config = result.config
    out = [
        f"# Model evaluation: {result.outcome}",
        "",
        f"- model: {result.kind}, {config.calibration} calibration"
        + (f", bundle sha256 `{result.bundle.sha256}`" if result.bundle is not None else ""),
        f"- {facts['split']}",
        f"- {facts['rows']}",
        f"- {len(result.feature_names)} model input{'s' if len(result.feature_names) != 1 else ''}"
        f"; sensitive attributes ({', '.join(config.sensitive_features)} and the columns made "
        f"from them) and the features standing in for one ({', '.join(config.proxy_features)}): "
        + ("inputs" if config.use_sensitive_features else "left out"),
    ]
    keys = (
        "input",
        "input_warning",
        "baselines",
        "intervals",
        "fingerprint",
        "software",
        "configs",
    )
    keys += ("oracle",)
    keys += ("warning",)
    keys += ("baseline_warning", "lift_warning", "calibration_warning")
    out += [f"- {facts[key]}" for key in keys if key in facts]
    out += [f"- {chooses}"] if (chooses := ranking_chooses(result)) else []
    out += [
        "",
        "Terms, tie-breaks and rounding: *How to read this report*, at the end; what "
        "this evaluation cannot say: *Limitations*.",
    ]
    scorers = metric_scorers(result)
    out += ["", f"## {metrics_title(result)}", ""]
    out += _table(
        ["metric", *scorers],
        interval_rows(result.metrics, metric_order(result), scorers, result.capacities),
    )
    out += [HIDDEN_AT_K_NOTE, ""]
    if _flat_mean_risks(result.metrics):
        out += [FLAT_MEAN_RISK_NOTE, ""]
    comparisons = comparison_scorers(result)
    if comparisons:
        out += [f"## {COMPARISON_TITLE}", ""]
        out += _table(
            ["metric", *(s.removeprefix("model_vs_") for s in comparisons)],
            interval_rows(
                result.metrics, comparison_metrics(result), comparisons, result.capacities
            ),
        )
    if "ceiling" in facts:
        out += [facts["ceiling"], ""]
    out += oracle_section(result)
    own = programme_rule_rows(result)
    if own:
        out += [_heading(programme_rule_title(result)), ""]
        out += _table(PROGRAMME_RULE_HEADER, own)
        out += [programme_rule_note(result), ""]
    out += [_heading(ROLLING_TITLE), ""]
    out += _table(ROLLING_COLUMNS, rolling_rows(result.rolling))
    out += [ROLLING_NOTE, ""]
    if result.importance is not None:
        title = importance_title(result.importance, IMPORTANCE_TOP)
        out += [_heading(title), "", importance_note(result), ""]
        out += _table(IMPORTANCE_HEADER, importance_rows(result.importance, IMPORTANCE_TOP))
    attributes = subgroup_attributes(result)
    if attributes:
        header = subgroup_header(result)
        for attribute in attributes:
            out += [_heading(subgroup_title(result, attribute)), ""]
            out += _table(header, subgroup_rows(result, attribute))
            if title := fairness_title(result, attribute):
                out += [_heading(title), ""]
                out += _table(fairness_header(result), fairness_rows(result, attribute))
                out += [impact, ""] if (impact := impact_ratio(result, attribute)) else []
        # Wilson and exact Poisson intervals at 95%, whatever the bootstrap's settings.
        out += [SUBGROUPS_NOTE + f"; [95% intervals]; every scorer: `{SUBGROUPS_FILE}`.", ""]
        fairness = any(fairness_title(result, a) for a in attributes)
        out += [FAIRNESS_NOTE + ".", ""] if fairness else []
        flagged = miscalibration_note(result)
        calibrated = calibrated_groups_note(result)
        out += [f"**{flagged}.**", ""] if flagged else []
        out += [f"{calibrated}.", ""] if calibrated else []
        out += places_section(result)
    if result.plots:
        out += ["## Plots", ""]
        for name, path in result.plots.items():
            caption = PLOT_CAPTIONS.get(name, name)
            out += [f"![{caption}]({plots_prefix}{path.name})", ""]
            out += (
                [f"*{caption[:1].upper()}{caption[1:]}.* {PLOT_NOTES[name]}", ""]
                if name in PLOT_NOTES
                else []
            )
    out += glossary(result) + limitations(result)
    return "\n".join(out)


def places_section(result: object) -> list[str]:
    """Each programme's own list by group: one table per programme, scorer and attribute."""
    tables = place_tables(result)
    if not tables:
        return []
    out = [_heading(PLACES_TITLE), "", PLACES_NOTE + ".", ""]
    for scorer, programme in tables:
        for attribute in subgroup_attributes(result):
            if title := places_title(result, scorer, programme, attribute):
                out += [f"### {title}", ""]
                out += _table(
                    places_header(scorer), places_rows(result, attribute, scorer, programme)
                )
    return out


def _is_evaluation(folder: Path) -> bool:
    written = {REPORT_FILE, HTML_REPORT_FILE, "metrics.csv", "rolling.csv", SUBGROUPS_FILE}
    written |= {IMPORTANCE_FILE, "plots"}
    report = folder / REPORT_FILE
    return (
        report.is_file()
        and report.read_text(encoding="utf-8", errors="replace").startswith("# Model evaluation")
        and all(p.name in written | SYSTEM_LITTER for p in folder.iterdir())
    )


# A training run replaces its own earlier evaluation, never a folder that happens to be there.
EVALUATION = Replaceable(owns=_is_evaluation, what="a model evaluation an earlier training wrote")


def evaluation_folder(out: str | Path) -> Path:
    """Where the evaluation of a bundle saved to ``out`` goes: ``<out>-evaluation`` beside
    it, since a bundle folder holds only checksummed files."""
    return Path(f"{Path(out)}-evaluation")


def relocate_plots(result: TrainResult, written: Path, folder: Path) -> TrainResult:
    """The result with its plot paths moved from the folder they were written in to ``folder``.

    Training writes its evaluation into a work folder that ``atomic_output_dir`` renames
    into place once complete.
    """
    plots = {name: folder / Path(path).relative_to(written) for name, path in result.plots.items()}
    return dataclasses.replace(
        result, evaluation=dataclasses.replace(result.evaluation, plots=plots)
    )


def write_evaluation(result: TrainResult, folder: Path, *, plots: bool) -> TrainResult:
    """Write ``metrics.csv``, ``rolling.csv``, ``subgroups.csv``, ``importance.csv`` (with
    its plot when ``plots``), ``summary.md`` and ``report.html`` (the same, one page with its
    plots) into ``folder``; returns the result with the plot added.

    Files an earlier run left there that this run does not make (importance of a model
    retrained as a baseline, plots of a run with plots off) are removed, so the folder
    never mixes two runs.
    """
    folder.mkdir(parents=True, exist_ok=True)
    plots_dir = folder / "plots"
    stale = [folder / IMPORTANCE_FILE, plots_dir / f"{IMPORTANCE_PLOT}.png"]
    if not plots:
        stale += [plots_dir / f"{name}.png" for name in (*PLOT_NAMES, SUBGROUPS_PLOT)]
    if result.subgroups is None:
        stale += [folder / SUBGROUPS_FILE, plots_dir / f"{SUBGROUPS_PLOT}.png"]
    if FAIRNESS_PLOT not in result.plots:
        stale.append(plots_dir / f"{FAIRNESS_PLOT}.png")
    for path in stale:
        path.unlink(missing_ok=True)
    result.metrics.to_csv(folder / "metrics.csv", index=False)
    result.rolling.to_csv(folder / "rolling.csv", index=False)
    if result.subgroups is not None:
        result.subgroups.to_csv(folder / SUBGROUPS_FILE, index=False)
    if result.importance is not None:
        result.importance.to_csv(folder / IMPORTANCE_FILE, index=False)
        if plots:
            path = importance_plot(result.importance, plots_dir, title=result.outcome)
            evaluation = dataclasses.replace(
                result.evaluation, plots={**result.evaluation.plots, IMPORTANCE_PLOT: path}
            )
            result = dataclasses.replace(result, evaluation=evaluation)
    text = evaluation_markdown(result)
    (folder / REPORT_FILE).write_text(text, encoding="utf-8")
    # The same report as one page with its plots, for a browser (and to send on).
    page = markdown_html(text, f"Model evaluation: {result.outcome}", folder)
    (folder / HTML_REPORT_FILE).write_text(page, encoding="utf-8")
    return result
