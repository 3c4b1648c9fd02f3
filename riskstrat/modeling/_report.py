"""A training run's evaluation as Markdown (``<out>-evaluation/summary.md``).

The same figures ``riskstrat train`` prints, kept beside the bundle so an evaluator can read
them after the batch log has gone, with the plots inline. Aggregates only: metrics,
intervals, counts and feature names, never a person's record.
"""

from __future__ import annotations

from collections.abc import Sequence

from riskstrat.modeling._result import TrainResult
from riskstrat.modeling._summary import (
    COMPARISON_TITLE,
    IMPORTANCE_HEADER,
    ROLLING_COLUMNS,
    comparison_metrics,
    comparison_scorers,
    importance_rows,
    interval_rows,
    metric_order,
    metric_scorers,
    metrics_title,
    rolling_rows,
    run_facts,
)

REPORT_FILE = "summary.md"
IMPORTANCE_TOP = 20
# Columns of words (left-aligned); the rest hold numbers.
TEXT_COLUMNS = frozenset({"metric", "scorer", "feature", "direction", "test as-of"})
PLOT_CAPTIONS = {
    "calibration": "calibration: observed rate against mean predicted probability",
    "roc": "ROC curves",
    "pr": "precision-recall curves",
    "precision_at_k": "precision at k, programme capacities marked",
    "importance": "what drives the score",
}


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
        f"- {len(result.feature_names)} features; sensitive attributes as inputs: "
        + ("yes" if config.use_sensitive_features else "no"),
    ]
    out += [f"- {facts[key]}" for key in ("fingerprint", "oracle", "warning") if key in facts]
    scorers = metric_scorers(result)
    out += ["", f"## {metrics_title(result)}", ""]
    out += _table(
        ["metric", *scorers], interval_rows(result.metrics, metric_order(result), scorers)
    )
    comparisons = comparison_scorers(result)
    if comparisons:
        out += [f"## {COMPARISON_TITLE}", ""]
        out += _table(
            ["metric", *(s.removeprefix("model_vs_") for s in comparisons)],
            interval_rows(result.metrics, comparison_metrics(result), comparisons),
        )
    if "ceiling" in facts:
        out += [facts["ceiling"], ""]
    out += ["## Rolling-origin test quarters (point estimates)", ""]
    out += _table(ROLLING_COLUMNS, rolling_rows(result.rolling))
    if result.importance is not None:
        out += [
            f"## What drives the score: top {IMPORTANCE_TOP} features",
            "",
            "Mean absolute SHAP contribution to the score (log-odds) over the test quarter.",
            "",
        ]
        out += _table(IMPORTANCE_HEADER, importance_rows(result.importance, IMPORTANCE_TOP))
    if result.plots:
        out += ["## Plots", ""]
        for name, path in result.plots.items():
            out += [f"![{PLOT_CAPTIONS.get(name, name)}]({plots_prefix}{path.name})", ""]
    return "\n".join(out)
