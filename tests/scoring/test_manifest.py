"""The manifest fingerprints every input file, dataset folders included."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskstrat.scoring import input_files
from riskstrat.scoring._write import sha256_file


def test_a_partitioned_table_is_listed_file_by_file(tmp_path: Path) -> None:
    pd.DataFrame({"person_id": ["a", "b"]}).to_parquet(tmp_path / "persons.parquet")
    encounters = pd.DataFrame({"person_id": ["a", "a", "b"], "year": ["2021", "2022", "2022"]})
    encounters.to_parquet(tmp_path / "encounters", partition_cols=["year"])
    (tmp_path / "notes.parquet").write_bytes(b"not a contract table")
    listed = input_files(tmp_path)
    parts = sorted((tmp_path / "encounters").rglob("*.parquet"))
    names = [p.relative_to(tmp_path).as_posix() for p in parts]
    assert list(listed) == sorted([*names, "persons.parquet"])
    assert sum(listed[name]["rows"] for name in names) == 3
    assert listed[names[0]]["sha256"] == sha256_file(parts[0])


def test_a_csv_table_is_counted_as_the_loader_reads_it(tmp_path: Path) -> None:
    # A quoted field may hold a newline: three rows on four lines.
    (tmp_path / "justice.csv").write_text(
        'person_id,event_date,event_type\na,2024-01-02,booking\n"b\nc",2024-02-03,release\n'
        "d,2024-03-04,booking\n"
    )
    listed = input_files(tmp_path)["justice.csv"]
    assert listed["rows"] == 3
    assert listed["sha256"] == sha256_file(tmp_path / "justice.csv")
