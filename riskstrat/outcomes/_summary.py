"""Per-outcome rates and censoring counts (aggregates only, never person-level data)."""

from __future__ import annotations

import pandas as pd
from rich.table import Table

from riskstrat.outcomes._spec import OutcomeSpec


def outcome_summary(outcomes: pd.DataFrame, spec: OutcomeSpec) -> pd.DataFrame:
    """Event rate (or mean) and censoring per outcome and as-of date.

    Parameters
    ----------
    outcomes : DataFrame
        The output of :func:`build_outcomes`.
    spec : OutcomeSpec
        The definitions it was built with.

    Returns
    -------
    DataFrame
        ``as_of``, ``outcome``, ``kind``, ``persons``, ``censored``, ``labelled`` (non-null
        labels), ``mean`` (event rate for binary outcomes, mean for continuous ones).
    """
    rows = []
    for as_of, group in outcomes.groupby("as_of", sort=True):
        for name, outcome in spec.outcomes.items():
            labels = group[name]
            rows.append(
                {
                    "as_of": as_of,
                    "outcome": name,
                    "kind": outcome.kind,
                    "persons": len(group),
                    "censored": int(group[f"{name}_censored"].sum()),
                    "labelled": int(labels.notna().sum()),
                    "mean": float(labels.mean()) if labels.notna().any() else float("nan"),
                }
            )
    return pd.DataFrame(rows)


def summary_table(summary: pd.DataFrame) -> Table:
    """A rich table of :func:`outcome_summary`."""
    table = Table(title="Outcomes over the horizon after each as-of date")
    for column in ("as of", "outcome", "persons", "censored", "labelled", "rate / mean"):
        table.add_column(column, justify="left" if column in ("as of", "outcome") else "right")
    censored = False
    for row in summary.itertuples(index=False):
        mean = f"{row.mean:.2%}" if row.kind == "binary" else f"{row.mean:,.2f}"
        if row.censored:
            # Among labelled rows only: where the window outruns the data, the only labels
            # left are the events already seen, and the rate reads near 100%.
            mean += " *"
            censored = True
        table.add_row(
            f"{pd.Timestamp(row.as_of):%Y-%m-%d}",
            row.outcome,
            f"{row.persons:,}",
            f"{row.censored:,}",
            f"{row.labelled:,}",
            mean,
        )
    if censored:
        table.caption = (
            "* some labels are censored (the data or a life ends inside the window): the "
            "rate or mean is over the labelled persons only, and where the window outruns "
            "the data it counts only the events already seen"
        )
    return table
