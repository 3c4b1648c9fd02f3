"""`riskstrat outcomes`: files in, labels out, rates printed, exit codes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from riskstrat.cli import app

D = pd.Timestamp
runner = CliRunner()


def _write_county(folder: Path) -> None:
    folder.mkdir()
    pd.DataFrame(
        {
            "person_id": ["a", "b"],
            "birth_date": [D("1980-01-01"), D("1990-01-01")],
            "sex": ["F", "M"],
            "race_ethnicity": ["White", "Black"],
            "spa": [3, 4],
            "death_date": [pd.NaT, D("2025-03-01")],
        }
    ).to_parquet(folder / "persons.parquet", index=False)
    pd.DataFrame(
        {
            "person_id": ["a", "b"],
            "event_date": [D("2025-02-01"), D("2024-12-01")],
            "event_type": ["booking", "booking"],
        }
    ).to_parquet(folder / "justice.parquet", index=False)


def test_outcomes_command(tmp_path: Path) -> None:
    _write_county(tmp_path / "county")
    out = tmp_path / "labels.parquet"
    args = ["outcomes", "--data", str(tmp_path / "county"), "--as-of", "2025-01-01"]
    result = runner.invoke(app, [*args, "--out", str(out), "--data-end", "2025-12-31"])
    assert result.exit_code == 0, result.output
    assert "jail_booking" in result.output
    labels = pd.read_parquet(out).set_index("person_id")
    assert labels.loc["a", "jail_booking"] == 1
    # b dies inside the window with no booking in it: censored, label excluded.
    assert bool(labels.loc["b", "jail_booking_censored"])
    assert pd.isna(labels.loc["b", "jail_booking"])
    assert labels.loc["b", "death"] == 1


def test_outcomes_command_bad_spec_exits_2(tmp_path: Path) -> None:
    _write_county(tmp_path / "county")
    spec = tmp_path / "outcomes.yaml"
    spec.write_text("outcomes:\n  x:\n    kind: binary\n    event: {table: jail}\n")
    args = ["outcomes", "--data", str(tmp_path / "county"), "--as-of", "2025-01-01"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "o.parquet"), "--spec", str(spec)])
    assert result.exit_code == 2
    assert "outcomes.outcomes.x.event.table: 'jail'" in result.output


def test_a_data_end_before_the_as_of_date_is_a_usage_error(tmp_path: Path) -> None:
    args = ["outcomes", "--data", str(tmp_path / "nowhere"), "--as-of", "2025-01-01"]
    out = ["--out", str(tmp_path / "o.parquet")]
    result = runner.invoke(app, [*args, *out, "--data-end", "2024-12-31"])
    assert result.exit_code == 2  # said before any data is read (there is none here)
    assert "--data-end 2024-12-31 is before --as-of 2025-01-01" in result.output
    result = runner.invoke(app, [*args, *out, "--data-end", "31/12/2025"])
    assert result.exit_code == 2 and "--data-end" in result.output
