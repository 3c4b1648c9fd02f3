"""Readable summaries of a training run (rich tables for the ``train`` command).

Only aggregate figures are shown: metrics, intervals, counts and file locations.
"""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.table import Table

from riskstrat.modeling._result import TrainResult

HEADLINE_METRICS: tuple[str, ...] = (
    "auroc",
    "auprc",
    "brier",
    "ece",
    "calibration_intercept",
    "calibration_slope",
)

ORACLE_TEXT = {
    "as_of": "the generator's probability given each person's state on the as-of date",
    "path": "the generator's probability given the latent path over the whole outcome "
    "window (clairvoyant: it sees episodes after the as-of date)",
}


def _cell(estimate: float, lower: float, upper: float) -> str:
    if not math.isfinite(estimate):
        return "-"
    if not (math.isfinite(lower) and math.isfinite(upper)):
        return f"{estimate:.3f}"
    return f"{estimate:.3f} [{lower:.3f}, {upper:.3f}]"


def _metric_order(result: TrainResult) -> list[str]:
    ks = [f"{kind}_at_k_{p}" for p in result.capacities for kind in ("precision", "recall")]
    return [*HEADLINE_METRICS, *ks]


def metrics_rich_table(result: TrainResult, scorers: list[str] | None = None) -> Table:
    """Metric rows, one column per scorer, each cell ``estimate [lower, upper]``.

    Parameters
    ----------
    result : TrainResult
    scorers : list of str, optional
        Default: model, the baselines, oracle (when present).

    Returns
    -------
    rich.table.Table
    """
    metrics = result.metrics
    present = list(dict.fromkeys(metrics["scorer"]))
    scorers = scorers or [s for s in present if "_vs_" not in s]
    level = int(round(result.config.metrics.confidence * 100))
    table = Table(
        title=f"{result.outcome}: test quarter {result.split.test_as_of} ({level}% intervals)"
    )
    order = _metric_order(result)
    table.add_column("metric", no_wrap=True, min_width=max(map(len, order)))
    for s in scorers:
        table.add_column(s, justify="right")
    _add_interval_rows(table, metrics, order, scorers)
    return table


def comparison_rich_table(result: TrainResult) -> Table:
    """Model minus each baseline / the oracle, and precision-at-k lift, with intervals."""
    metrics = result.metrics
    comparisons = [s for s in dict.fromkeys(metrics["scorer"]) if "_vs_" in s]
    table = Table(title="model compared (difference = model - other; lift = model / other)")
    wanted = [f"diff_{m}" for m in ("auroc", "auprc", "brier", "ece")]
    wanted += [f"lift_precision_at_k_{p}" for p in result.capacities]
    table.add_column("metric", no_wrap=True, min_width=max(map(len, wanted)))
    for s in comparisons:
        table.add_column(s.removeprefix("model_vs_"), justify="right")
    _add_interval_rows(table, metrics, wanted, comparisons)
    return table


def _add_interval_rows(
    table: Table, metrics: pd.DataFrame, rows: list[str], scorers: list[str]
) -> None:
    """One row per metric: "estimate [lower, upper]" per scorer, "-" where not computed."""
    lookup = metrics.set_index(["scorer", "metric"])
    for metric in rows:
        cells = []
        for scorer in scorers:
            if (scorer, metric) in lookup.index:
                row = lookup.loc[(scorer, metric)]
                cells.append(_cell(row["estimate"], row["lower"], row["upper"]))
            else:
                cells.append("-")
        table.add_row(metric, *cells)


def lift_ceilings(result: TrainResult) -> dict[str, float]:
    """Per programme, the precision lift over the rule that a perfect ranking would reach.

    Precision is at most 1, so at a capacity where the rule is already precise no scorer
    can lift it far: the bound puts a lift target in context.
    """
    lookup = result.metrics.set_index(["scorer", "metric"])["estimate"]
    out = {}
    for programme in result.capacities:
        key = ("rule", f"precision_at_k_{programme}")
        if key in lookup.index and lookup[key] > 0:
            out[programme] = 1.0 / float(lookup[key])
    return out


def rolling_rich_table(rolling: pd.DataFrame) -> Table:
    """AUROC, ECE and Brier per rolling-origin test quarter and scorer."""
    table = Table(title="rolling-origin test quarters (point estimates)")
    for column in ("test as-of", "scorer", "rows", "auroc", "ece", "brier"):
        table.add_column(column, justify="right" if column not in ("scorer",) else "left")
    for row in rolling.itertuples(index=False):
        table.add_row(
            str(row.test_as_of),
            row.scorer,
            f"{row.n:,}",
            f"{row.auroc:.3f}",
            f"{row.ece:.3f}",
            f"{row.brier:.3f}",
        )
    return table


def importance_rich_table(importance: pd.DataFrame, top: int = 10) -> Table:
    """The ``top`` features by mean absolute contribution on the test quarter."""
    table = Table(title=f"what drives the score: top {top} features on the test quarter")
    for column in ("rank", "feature", "mean |contribution|", "share", "direction"):
        table.add_column(column, justify="left" if column in ("feature", "direction") else "right")
    for row in importance.head(top).itertuples(index=False):
        table.add_row(
            str(row.rank),
            row.label,
            f"{row.mean_abs_contribution:.3f}",
            f"{row.share:.1%}",
            row.direction,
        )
    return table


def print_summary(result: TrainResult, console: Console | None = None) -> None:
    """Print the metric tables, the split, row counts and where outputs went.

    Parameters
    ----------
    result : TrainResult
    console : rich.console.Console, optional
    """
    console = console or Console()
    split = result.split
    console.print(
        f"split: train {', '.join(d.isoformat() for d in split.train_as_of)}; "
        f"calibration {', '.join(d.isoformat() for d in split.calibration_as_of)}; "
        f"test {split.test_as_of.isoformat()} (horizon {split.horizon_months} months, "
        f"data end {split.data_end.isoformat()})",
        highlight=False,
        soft_wrap=True,
    )
    c = result.counts
    console.print(
        f"rows (events): train {c['train_rows']:,} ({c['train_events']:,}), calibration "
        f"{c['calibration_rows']:,} ({c['calibration_events']:,}), test {c['test_rows']:,} "
        f"({c['test_events']:,}); k per quarter: "
        + ", ".join(f"{p}={k:,}" for p, k in result.capacities.items()),
        highlight=False,
        soft_wrap=True,
    )
    too_big = {p: k for p, k in result.capacities.items() if k >= c["test_rows"]}
    if too_big:
        console.print(
            f"warning: k is at least the test quarter's {c['test_rows']:,} rows for "
            + ", ".join(f"{p} (k={k:,})" for p, k in too_big.items())
            + ": precision at k there is just the event rate and the lift 1.0; scale the "
            "capacities to the county with model.metrics.capacity_scale",
            style="yellow",
            highlight=False,
            soft_wrap=True,
        )
    if result.data_fingerprint:
        console.print(
            f"data fingerprint (sha256 of the tables as loaded): {result.data_fingerprint}",
            highlight=False,
            soft_wrap=True,
        )
    if result.oracle:
        console.print(
            f"oracle: {result.oracle}, "
            f"{ORACLE_TEXT.get(result.oracle.split()[0], 'from the truth table given')}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    console.print(metrics_rich_table(result))
    console.print(comparison_rich_table(result))
    ceiling = lift_ceilings(result)
    if ceiling:
        console.print(
            "largest precision lift over the rule any scorer can reach (1 / rule precision): "
            + ", ".join(f"{p} {v:.2f}x" for p, v in ceiling.items()),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if result.rolling["test_as_of"].nunique() > 1:
        console.print(rolling_rich_table(result.rolling))
    if result.importance is not None:
        console.print(importance_rich_table(result.importance))
    if result.bundle_path is not None:
        console.print(f"bundle: {result.bundle_path}", highlight=False, soft_wrap=True)
    elif result.bundle is None:
        console.print(
            f"no bundle: kind {result.kind!r} is a baseline", highlight=False, soft_wrap=True
        )
    if result.plots:
        folder = next(iter(result.plots.values())).parent
        console.print(
            f"plots: {folder} ({', '.join(result.plots)})", highlight=False, soft_wrap=True
        )
    if result.run_id:
        console.print(f"MLflow run: {result.run_id}", highlight=False, soft_wrap=True)
