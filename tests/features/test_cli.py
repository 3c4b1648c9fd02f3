"""The ``riskstrat features`` command: panel output, atomic write, exit codes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from riskstrat.cli import app
from riskstrat.features import build_features

from .conftest import make_tables

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    tables = make_tables(
        encounters=[
            {"person_id": "a", "start_date": -10, "end_date": -8, "setting": "ed"},
            {"person_id": "b", "start_date": -400, "end_date": None, "setting": "imd"},
        ]
    )
    folder = tmp_path / "data"
    folder.mkdir()
    for name, table in tables.items():
        table.to_parquet(folder / f"{name}.parquet")
    return folder


def test_cli_builds_a_panel(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "features.parquet"
    result = runner.invoke(
        app,
        [
            "features",
            "--data",
            str(data_dir),
            "--as-of",
            "2024-07-01",
            "--as-of",
            "2024-04-01",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    # a's only visit (2024-06-21) is after the April date: not in that population.
    assert "3 rows" in result.output and "2 as-of date(s)" in result.output
    written = pd.read_parquet(out)
    expected = build_features(data_dir, ["2024-04-01", "2024-07-01"])
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    assert written.loc[written["person_id"] == "b", "in_institution_now"].all()
    # Written through a temporary file and a rename: nothing else is left behind.
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["features.parquet"]


def test_cli_exit_codes(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    base = ["features", "--data", str(data_dir), "--out", str(out)]
    assert runner.invoke(app, [*base, "--as-of", "2024-02-30"]).exit_code == 2
    bad_population = [*base, "--as-of", "2024-07-01", "--population", "everyone"]
    assert runner.invoke(app, bad_population).exit_code == 2
    bad_spec = tmp_path / "spec.yaml"
    bad_spec.write_text("definitions: []\npopulation_lookback: 3\n")
    result = runner.invoke(app, [*base, "--as-of", "2024-07-01", "--spec", str(bad_spec)])
    assert result.exit_code == 2
    assert "features.population_lookback: unknown key" in result.output
    missing = runner.invoke(
        app, ["features", "--data", str(tmp_path), "--as-of", "2024-07-01", "--out", str(out)]
    )
    assert missing.exit_code == 1  # a folder without the persons table: the data's fault
    assert not out.exists()
    typo = runner.invoke(
        app,
        ["features", "--data", str(tmp_path / "nope"), "--as-of", "2024-07-01", "--out", str(out)],
    )
    assert typo.exit_code == 2  # no such folder: a usage error, as in every command
