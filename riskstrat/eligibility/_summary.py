"""Counts of eligible persons per programme, as a frame and as a rich table."""

from __future__ import annotations

import pandas as pd
from rich.table import Table

from riskstrat.eligibility._programs import Capacity, Programs


def _capacity_text(capacity: Capacity | None) -> str:
    if capacity is None:
        return "-"
    per = " total" if capacity.per == "total" else f"/{capacity.per}"
    return f"{capacity.count:,}{per}"


def eligible_counts(long: pd.DataFrame, programs: Programs) -> pd.DataFrame:
    """Eligible persons per programme and as-of date.

    Parameters
    ----------
    long : DataFrame
        The output of :func:`evaluate_programs`.
    programs : Programs
        The rules it was evaluated with (for names, capacity and care coordination).

    Returns
    -------
    DataFrame
        ``as_of``, ``program``, ``name``, ``care_coordination``, ``capacity``,
        ``persons``, ``eligible``, ``share`` (eligible / persons), in programme order.
    """
    grouped = long.groupby(["as_of", "program"], sort=False)["eligible"].agg(["size", "sum"])
    rows = []
    for (as_of, code), (size, count) in grouped.iterrows():
        program = programs[code]
        rows.append(
            {
                "as_of": as_of,
                "program": code,
                "name": program.name,
                "care_coordination": program.care_coordination,
                "capacity": _capacity_text(program.capacity),
                "persons": int(size),
                "eligible": int(count),
                "share": float(count) / size if size else 0.0,
            }
        )
    columns = ["as_of", "program", "name", "care_coordination", "capacity", "persons"]
    # Nobody scored (no persons alive with contact on the date): a table with no rows.
    return pd.DataFrame(rows, columns=[*columns, "eligible", "share"])


def counts_table(counts: pd.DataFrame) -> Table:
    """A rich table of :func:`eligible_counts` (counts only, never person-level data)."""
    dates = sorted(pd.to_datetime(counts["as_of"]).unique())
    several = len(dates) > 1
    when = "" if several or not dates else f" as of {pd.Timestamp(dates[0]):%Y-%m-%d}"
    table = Table(title=f"Eligible persons per programme{when} (from data; screening pending)")
    columns = ["as of"] if several else []
    for column in [*columns, "programme", "care coord.", "capacity", "eligible", "share"]:
        table.add_column(
            column, justify="right" if column in ("eligible", "share") else "left", no_wrap=True
        )
    for row in counts.itertuples(index=False):
        cells = [f"{pd.Timestamp(row.as_of):%Y-%m-%d}"] if several else []
        table.add_row(
            *cells,
            row.program,
            "yes" if row.care_coordination else "no",
            row.capacity,
            f"{row.eligible:,}",
            f"{row.share:.2%}",
        )
    return table
