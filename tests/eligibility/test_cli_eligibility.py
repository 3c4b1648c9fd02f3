"""`riskstrat eligibility`: files in, Parquet out, counts printed, exit codes."""

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
            "person_id": ["isr1", "none1"],
            "birth_date": [D("1980-01-01"), D("1990-01-01")],
            "sex": ["F", "M"],
            "race_ethnicity": ["White", "Black"],
            "spa": [3, 4],
            "death_date": [pd.NaT, pd.NaT],
        }
    ).to_parquet(folder / "persons.parquet", index=False)
    starts = [D("2024-08-01") + pd.DateOffset(months=k) for k in range(6)]
    pd.DataFrame(
        {
            "person_id": ["isr1"] * 6 + ["none1"],
            "start_date": [*starts, D("2025-03-01")],
            "end_date": [s + pd.Timedelta(days=3) for s in starts] + [D("2025-03-01")],
            "setting": ["inpatient_psych"] * 6 + ["primary_care"],
        }
    ).to_parquet(folder / "encounters.parquet", index=False)
    pd.DataFrame(
        {
            "person_id": ["isr1", "isr1"],
            "dx_date": [D("2024-01-10"), D("2024-01-10")],
            "icd10": ["F20.9", "F11.20"],
        }
    ).to_parquet(folder / "diagnoses.parquet", index=False)


def test_eligibility_command_writes_rows_and_prints_counts(tmp_path: Path) -> None:
    _write_county(tmp_path / "county")
    out = tmp_path / "elig.parquet"
    result = runner.invoke(
        app,
        [
            "eligibility",
            "--data",
            str(tmp_path / "county"),
            "--as-of",
            "2025-07-01",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "isr" in result.output and "Wrote" in result.output
    long = pd.read_parquet(out)
    assert len(long) == 2 * 9
    eligible = long[long["eligible"]]
    # SMI + SUD + 6 psychiatric admissions: ISR; SMI + 2+ admissions: FSP; SUD + 2+
    # admissions: SUD-ENS. The other person is eligible for nothing.
    assert sorted(zip(eligible["person_id"], eligible["program"], strict=True)) == [
        ("isr1", "fsp"),
        ("isr1", "isr"),
        ("isr1", "sud_ens"),
    ]


def test_eligibility_command_config_error_exits_2(tmp_path: Path) -> None:
    _write_county(tmp_path / "county")
    bad = tmp_path / "programs.yaml"
    bad.write_text(
        "programs:\n  isr:\n    name: ISR\n    criteria: {all: [{code: a, feature: nope, op: '>=', value: 1}]}\n"
    )
    result = runner.invoke(
        app,
        [
            "eligibility",
            "--data",
            str(tmp_path / "county"),
            "--as-of",
            "2025-07-01",
            "--out",
            str(tmp_path / "x.parquet"),
            "--programs",
            str(bad),
        ],
    )
    assert result.exit_code == 2
    assert "programs.isr.criteria.all[0].feature: unknown feature 'nope'" in result.output
    assert not (tmp_path / "x.parquet").exists()
