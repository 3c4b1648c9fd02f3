from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from riskstrat.cli import app

from .conftest import CLEAN_DIR, REFERENCE

runner = CliRunner()


def _copy(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True)
    for path in CLEAN_DIR.glob("*.csv"):
        (tmp_path / path.name).write_text(path.read_text())
    return tmp_path


def _with_unknown_event_type(tmp_path: Path) -> Path:
    """The clean tables with one justice event coded 'parole' (not a contract code)."""
    src = _copy(tmp_path / "in")
    path = src / "justice.csv"
    path.write_text(path.read_text().replace("probation_end", "parole"))
    return src


def _quarantine(src: Path) -> list[str]:
    return ["validate", str(src), "--mode", "quarantine", "--reference-date", REFERENCE]


def test_clean_folder_exits_zero_and_prints_report() -> None:
    result = runner.invoke(app, ["validate", str(CLEAN_DIR), "--reference-date", REFERENCE])
    assert result.exit_code == 0, result.output
    assert "encounters" in result.output and "strict" in result.output


def test_strict_violation_exits_one_and_names_it(tmp_path: Path) -> None:
    src = _with_unknown_event_type(tmp_path)
    result = runner.invoke(app, ["validate", str(src), "--reference-date", REFERENCE])
    assert result.exit_code == 1
    assert "table 'justice', column 'event_type': check 'unknown_code'" in result.output
    assert "['parole']" in result.output


def test_quarantine_exits_zero_writes_rejects_and_json(tmp_path: Path) -> None:
    src = _with_unknown_event_type(tmp_path)
    args = [
        *_quarantine(src),
        "--rejected-dir",
        str(tmp_path / "rej"),
        "--json",
        str(tmp_path / "r.json"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "1 row(s) rejected" in result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["tables"]["justice"]["by_check"] == {"unknown_code": 1}
    assert report["tables"]["justice"]["rows_in"] == 7
    assert pd.read_parquet(tmp_path / "rej" / "justice.parquet")["check"].tolist() == [
        "unknown_code"
    ]


def test_usage_errors_exit_two(tmp_path: Path) -> None:
    bad_mode = runner.invoke(app, ["validate", str(CLEAN_DIR), "--mode", "lenient"])
    assert bad_mode.exit_code == 2
    bad_date = runner.invoke(app, ["validate", str(CLEAN_DIR), "--reference-date", "2025-13-01"])
    assert bad_date.exit_code == 2
    missing = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    # Strict mode sets nothing aside: a rejected-rows folder there is a mistake to say.
    strict = runner.invoke(app, ["validate", str(CLEAN_DIR), "--rejected-dir", str(tmp_path)])
    assert strict.exit_code == 2
    assert "--rejected-dir needs --mode quarantine" in strict.output


def test_quarantine_without_a_folder_says_how_to_keep_the_rows(tmp_path: Path) -> None:
    src = _with_unknown_event_type(tmp_path)
    result = runner.invoke(app, _quarantine(src))
    assert result.exit_code == 0
    assert "hint: pass --rejected-dir D to keep the rejected rows" in result.output


def test_contract_option_allows_a_county_instrument(tmp_path: Path) -> None:
    src = _copy(tmp_path / "in")
    path = src / "assessments.csv"
    path.write_text(path.read_text().replace("PHQ-9,9", "LA-ACUITY,29"))
    args = ["validate", str(src), "--reference-date", REFERENCE]
    assert runner.invoke(app, args).exit_code == 1
    contract = tmp_path / "contract.yaml"
    contract.write_text("data:\n  instruments:\n    LA-ACUITY: {min: 0, max: 30}\n")
    result = runner.invoke(app, [*args, "--contract", str(contract)])
    assert result.exit_code == 0, result.output
    contract.write_text("data:\n  instrument: {}\n")
    assert runner.invoke(app, [*args, "--contract", str(contract)]).exit_code == 2
