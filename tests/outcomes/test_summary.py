"""The outcome summary marks rates read over censored windows."""

from __future__ import annotations

import pandas as pd
from rich.console import Console

from riskstrat.outcomes._summary import summary_table


def _render(summary: pd.DataFrame) -> str:
    console = Console(width=200, record=True)
    console.print(summary_table(summary))
    return console.export_text()


def test_a_rate_over_censored_windows_is_marked_and_explained() -> None:
    row = {"as_of": pd.Timestamp("2025-07-01"), "kind": "binary", "persons": 100}
    summary = pd.DataFrame(
        [
            {**row, "outcome": "jail_booking", "censored": 97, "labelled": 3, "mean": 1.0},
            {**row, "outcome": "death", "censored": 0, "labelled": 100, "mean": 0.02},
        ]
    )
    text = _render(summary)
    assert "100.00% *" in text
    assert "2.00% *" not in text and "2.00%" in text
    assert "some labels are censored" in text
    assert "some labels are censored" not in _render(summary.iloc[[1]])
