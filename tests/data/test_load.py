from __future__ import annotations

import itertools
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from riskstrat.data import DataContractError, load_tables, read_tables, validate_tables
from riskstrat.data._csv_faults import csv_dialect_problem, line_ending_switch
from riskstrat.data._files import AMBIGUOUS_FILES
from riskstrat.data._row_places import record_lines
from riskstrat.data._validate import MISSING_TABLE
from riskstrat.features import build_features
from riskstrat.synth._dirty import inject_faults

from .conftest import CLEAN_DIR, REFERENCE


def _as_stored(df: pd.DataFrame) -> pd.DataFrame:
    """Dates as Parquet/DuckDB DATE (python dates), as the contract stores them."""
    dates = {c: df[c].dt.date for c in df.columns if pd.api.types.is_datetime64_dtype(df[c])}
    return df.assign(**dates)


def _write(tables: dict[str, pd.DataFrame], out: Path, fmt: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "duckdb":
        path = out / "county.duckdb"
        with duckdb.connect(str(path)) as con:
            for name, df in tables.items():
                stored = _as_stored(df)  # noqa: F841 (read by DuckDB's replacement scan)
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM stored")
        return path
    for name, df in tables.items():
        if fmt == "parquet":
            _as_stored(df).to_parquet(out / f"{name}.parquet", index=False)
        else:
            df.to_csv(out / f"{name}.csv", index=False, date_format="%Y-%m-%d")
    return out


def _same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert list(a) == list(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_dtype=True, obj=name)


@pytest.fixture
def dirty(clean: dict[str, pd.DataFrame]):
    return inject_faults(clean, rate=0.3, seed=7)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "duckdb"])
def test_formats_give_identical_results(dirty, fmt: str, tmp_path: Path) -> None:
    tables, injected = dirty
    # Reference: the same dirty tables validated in memory.
    expected_tables, expected_report = validate_tables(
        tables, mode="quarantine", reference_date=REFERENCE
    )
    source = _write(tables, tmp_path / fmt, fmt)
    got_tables, got_report = load_tables(
        source, mode="quarantine", reference_date=REFERENCE, rejected_dir=tmp_path / "rej"
    )
    _same(got_tables, expected_tables)
    assert got_report == expected_report
    assert {t: r.by_check for t, r in got_report.tables.items()} == injected
    rejected = pd.read_parquet(tmp_path / "rej" / "encounters.parquet")
    assert len(rejected) == sum(injected["encounters"].values())


def test_csv_fixture_reads_with_normalised_dtypes() -> None:
    tables, report = load_tables(CLEAN_DIR, reference_date=REFERENCE)
    persons = tables["persons"]
    assert str(persons["birth_date"].dtype) == "datetime64[us]"
    assert persons["person_id"].dtype == "str"
    assert persons["spa"].dtype == "Int64" and persons["spa"].isna().sum() == 1
    assert tables["encounters"]["avoidable"].dtype == "boolean"
    assert tables["pharmacy"]["days_supply"].tolist()[:2] == [30, 28]
    assert report.tables["diagnoses"].rows_in == 11


def test_person_id_keeps_leading_zeros_in_csv(tmp_path: Path) -> None:
    for path in CLEAN_DIR.glob("*.csv"):
        text = path.read_text().replace("P0", "00").replace("P10", "010")
        (tmp_path / path.name).write_text(text)
    tables, _ = load_tables(tmp_path, reference_date=REFERENCE)
    assert tables["persons"]["person_id"].tolist()[:2] == ["001", "002"]
    assert len(tables["encounters"]) == 12  # no orphans: ids match across tables


def test_missing_table_names_the_source(tmp_path: Path) -> None:
    for path in CLEAN_DIR.glob("*.csv"):
        if path.stem != "assessments":
            (tmp_path / path.name).write_text(path.read_text())
    with pytest.raises(DataContractError) as info:
        load_tables(tmp_path, reference_date=REFERENCE)
    assert str(info.value) == MISSING_TABLE.format(
        table="assessments",
        source=str(tmp_path),
        expected=list(read_tables(CLEAN_DIR)),
    ) + (
        "; an extract without this feed gives the table with no rows (a CSV of its header "
        "line alone, or an empty database table), which reads as no events"
    )
    # As it says: the header line alone passes, and the table is one with no rows.
    header = (CLEAN_DIR / "assessments.csv").read_text().splitlines()[0]
    (tmp_path / "assessments.csv").write_text(header + "\n")
    tables, report = load_tables(tmp_path, reference_date=REFERENCE)
    assert len(tables["assessments"]) == 0 and report.tables["assessments"].rows_in == 0


def test_both_formats_for_one_table_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "justice.csv").write_text("person_id,event_date,event_type\n")
    pd.DataFrame({"person_id": ["a"]}).to_parquet(tmp_path / "justice.parquet")
    with pytest.raises(ValueError) as info:
        read_tables(tmp_path)
    assert str(info.value) == AMBIGUOUS_FILES.format(
        path=tmp_path, table="justice", found="justice.parquet, justice.csv"
    )


def test_files_no_table_is_read_from_are_named(tmp_path: Path, caplog) -> None:
    data = tmp_path / "data"
    shutil.copytree(CLEAN_DIR, data)
    load_tables(data, mode="quarantine", reference_date=REFERENCE)
    assert "not read" not in caplog.text  # the fixture holds the contract's tables only
    # A table under another name, and what is no data.
    (data / "claims.parquet").write_bytes(b"")
    (data / "notes.txt").write_text("")
    (data / ".DS_Store").write_text("")
    (data / "_SUCCESS").write_text("")
    (data / "synth_manifest.json").write_text("{}")
    load_tables(data, mode="quarantine", reference_date=REFERENCE)
    expected = (
        f"{data}: 2 entries not read, not named as a table of the data contract: "
        "claims.parquet, notes.txt; expected <table>.parquet"
    )
    assert expected in caplog.text


def test_a_file_named_like_a_table_but_not_read_is_refused(tmp_path: Path) -> None:
    # A year's extract beside the table: read, the run would have a year less of it.
    data = tmp_path / "data"
    shutil.copytree(CLEAN_DIR, data)
    # A checksum and a data dictionary named after a table are no part of it.
    (data / "persons.csv.sha256").write_text("")
    (data / "encounters_dictionary.pdf").write_text("")
    load_tables(data, mode="quarantine", reference_date=REFERENCE)
    shutil.copy(data / "encounters.csv", data / "encounters_2024.csv")
    with pytest.raises(ValueError) as info:
        load_tables(data, mode="quarantine", reference_date=REFERENCE)
    assert str(info.value).startswith(
        f"{data}: encounters_2024.csv not read, though named like table 'encounters': a table "
        "is read from one encounters.parquet or encounters.csv, or from every file in the "
        "folder encounters/"
    )
    # Skipping the contract does not skip reading every row of a table.
    for read in (read_tables, lambda d: build_features(d, "2023-01-01", validate=False)):
        with pytest.raises(ValueError, match="encounters_2024.csv not read, though named like"):
            read(data)


def test_a_table_stored_as_a_file_and_a_dataset_is_an_error(tmp_path: Path) -> None:
    pd.DataFrame({"person_id": ["a"]}).to_parquet(tmp_path / "justice.parquet")
    (tmp_path / "justice").mkdir()
    pd.DataFrame({"person_id": ["b"]}).to_parquet(tmp_path / "justice" / "part-0.parquet")
    with pytest.raises(ValueError, match=r"\(justice.parquet, justice\); keep one"):
        read_tables(tmp_path)


def _all_but(folder: Path, table: str) -> dict[str, pd.DataFrame]:
    """The clean tables, each but ``table`` written to ``folder`` as Parquet."""
    clean = read_tables(CLEAN_DIR)
    for name, frame in clean.items():
        if name != table:
            frame.to_parquet(folder / f"{name}.parquet")
    return clean


def test_a_partitioned_dataset_is_read_whole_and_a_mixed_one_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clean = _all_but(tmp_path, "encounters")
    encounters = clean["encounters"].assign(
        year=clean["encounters"]["start_date"].astype("str").str[:4]
    )
    encounters.to_parquet(tmp_path / "encounters", partition_cols=["year"])
    (tmp_path / "encounters" / "README.txt").write_text("written by Spark")
    read = read_tables(tmp_path)["encounters"]
    assert len(read) == len(clean["encounters"]) > 0
    assert sorted(read["person_id"]) == sorted(clean["encounters"]["person_id"])
    assert set(read["year"].astype("str")) == set(encounters["year"])  # the partition comes back
    # Validated, the partition key is the layout's column: no warning of an extra column.
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        load_tables(tmp_path, reference_date=REFERENCE)
    assert "outside the data contract" not in caplog.text
    # Spark's leftovers are not data: a half-written task folder and a staging folder.
    for leftover in ("_temporary/0/task_1/year=2022", ".hive-staging/year=2022"):
        (tmp_path / "encounters" / leftover).mkdir(parents=True)
        clean["encounters"].to_parquet(tmp_path / "encounters" / leftover / "part-9.parquet")
    assert len(read_tables(tmp_path)["encounters"]) == len(clean["encounters"])
    clean["encounters"].head(1).to_parquet(tmp_path / "encounters" / "stray.parquet")
    with pytest.raises(ValueError, match="both at its top and in partition folders"):
        read_tables(tmp_path)


def test_dataset_parts_without_a_column_the_others_have_are_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clean = _all_but(tmp_path, "encounters")
    encounters = clean["encounters"]
    (tmp_path / "encounters").mkdir()
    encounters.iloc[:4].to_parquet(tmp_path / "encounters" / "part-0.parquet")
    # Written before the warehouse kept end dates: its stays would all read as open.
    later = encounters.iloc[4:].drop(columns="end_date")
    later.to_parquet(tmp_path / "encounters" / "part-1.parquet")
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        load_tables(tmp_path, reference_date=REFERENCE)
    assert (
        f"encounters: 1 of 2 parts ({len(later)} rows, the first encounters/part-1.parquet) "
        "have no end_date column, which the others have: on their rows, every stay reads as "
        "still open" in caplog.text
    )
    assert "no end_date column in the input" not in caplog.text  # the table has the column
    # A part without rows changes nothing, and a partition key fills its column from the
    # folder: neither is named.
    caplog.clear()
    for part in (tmp_path / "encounters").iterdir():
        part.unlink()
    for setting, rows in encounters.groupby("setting"):
        folder = tmp_path / "encounters" / f"setting={setting}"
        folder.mkdir()
        rows.drop(columns="setting").to_parquet(folder / "part-0.parquet")
    kept = encounters.iloc[:1]  # an older part that kept the column in the file
    kept.to_parquet(tmp_path / "encounters" / f"setting={kept['setting'].iloc[0]}" / "old.parquet")
    encounters.iloc[:0].drop(columns="end_date").to_parquet(folder / "empty.parquet")
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        # The older part's row is a copy: quarantined as one, not the point here.
        load_tables(tmp_path, mode="quarantine", reference_date=REFERENCE)
    assert "parts" not in caplog.text


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        # A workbook's compressed parts are not UTF-8.
        ("justice.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(128, 256)), "a zip archive"),
        # What Excel writes for an empty sheet saved as CSV UTF-8.
        ("justice.csv", b"\xef\xbb\xbf", "no header row, only a byte-order mark"),
        ("justice.csv", b"\xef\xbb\xbf\r\n\r\n", "no header row, only a byte-order mark"),
        ("justice.csv", b"\n\n", "no header row, only a byte-order mark or blank lines"),
        ("justice.parquet", b"PAR1", "the Parquet file is cut short"),
        (
            "justice.parquet",
            b"PK\x03\x04" + bytes(60),
            "zip archive, as an Excel workbook (.xlsx) is; expected a Parquet file",
        ),
        ("justice.parquet", b"person_id,event_date\nP01,2021-01-01\n", "lacks Parquet's PAR1"),
        ("justice.parquet", b"PAR1" + b"\x00" * 60, "the Parquet file is cut short"),
    ],
)
def test_a_file_of_another_kind_is_named_for_what_it_is(
    tmp_path: Path, name: str, content: bytes, said: str
) -> None:
    _all_but(tmp_path, "justice")
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataContractError, match=re.escape(said)) as info:
        load_tables(tmp_path, reference_date=REFERENCE)
    assert info.value.check == "unreadable" and "<value>" not in str(info.value)


def test_a_csv_among_a_datasets_parquet_parts_is_refused_not_skipped(tmp_path: Path) -> None:
    clean = _all_but(tmp_path, "encounters")
    (tmp_path / "encounters").mkdir()
    clean["encounters"].iloc[:4].to_parquet(tmp_path / "encounters" / "part-0.parquet")
    clean["encounters"].iloc[4:].to_csv(tmp_path / "encounters" / "part-1.csv", index=False)
    with pytest.raises(ValueError, match=re.escape("1 CSV file(s) among the dataset's Parquet")):
        read_tables(tmp_path)


def test_a_dataset_folder_is_read_as_spark_reads_it_or_refused(tmp_path: Path) -> None:
    clean = _all_but(tmp_path, "justice")
    justice = clean["justice"].assign(_src="a")
    # A partition column may start with "_": its folders (_src=a) are data.
    justice.to_parquet(tmp_path / "justice", partition_cols=["_src"])
    assert len(read_tables(tmp_path)["justice"]) == len(justice) > 0
    shutil.rmtree(tmp_path / "justice")
    # A failed write leaves a folder with no data file: refused, not read as no table.
    (tmp_path / "justice.parquet").mkdir()
    (tmp_path / "justice.parquet" / "_SUCCESS").write_text("")
    with pytest.raises(ValueError, match="no Parquet data file in it"):
        read_tables(tmp_path)
    shutil.rmtree(tmp_path / "justice.parquet")
    # DuckDB would not follow a linked partition that Spark reads: refused.
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    justice.drop(columns="_src").to_parquet(elsewhere / "part-0.parquet")
    (tmp_path / "justice").mkdir()
    (tmp_path / "justice" / "year=2022").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ValueError, match="a symbolic link in a dataset folder is not followed"):
        read_tables(tmp_path)


def test_a_part_without_a_column_reads_it_as_empty(tmp_path: Path) -> None:
    # DuckDB's default stopped at the part, naming neither it nor the column.
    clean = _all_but(tmp_path, "encounters")
    encounters = clean["encounters"].assign(provider_id="clinic-1")
    (tmp_path / "encounters").mkdir()
    half = len(encounters) // 2
    encounters.iloc[:half].to_parquet(tmp_path / "encounters" / "part-0.parquet")
    encounters.iloc[half:].drop(columns="provider_id").to_parquet(
        tmp_path / "encounters" / "part-1.parquet"
    )
    read = read_tables(tmp_path)["encounters"]
    assert len(read) == len(encounters)
    assert read["provider_id"].isna().sum() == len(encounters) - half
    # A required column missing from a part: its rows fail missing_value, one by one.
    encounters.iloc[half:].drop(columns="setting").to_parquet(
        tmp_path / "encounters" / "part-1.parquet"
    )
    _, report = load_tables(tmp_path, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["encounters"].by_check == {"missing_value": len(encounters) - half}


def test_spark_style_folders_are_datasets_and_odd_ones_refused(tmp_path: Path) -> None:
    clean = _all_but(tmp_path, "encounters")
    # Spark writes df.write.parquet("encounters.parquet") as a folder of parts.
    (tmp_path / "encounters.parquet").mkdir()
    clean["encounters"].to_parquet(tmp_path / "encounters.parquet" / "part-0.parquet")
    (tmp_path / "encounters.parquet" / "_SUCCESS").write_text("")
    assert len(read_tables(tmp_path)["encounters"]) == len(clean["encounters"])
    (tmp_path / "encounters.parquet" / "batch0").mkdir()
    clean["encounters"].to_parquet(tmp_path / "encounters.parquet" / "batch0" / "p.parquet")
    (tmp_path / "encounters.parquet" / "part-0.parquet").unlink()
    with pytest.raises(ValueError, match="'batch0', which is not a hive partition"):
        read_tables(tmp_path)
    shutil.rmtree(tmp_path / "encounters.parquet")
    (tmp_path / "justice.csv").mkdir()
    with pytest.raises(ValueError, match="a folder of CSV parts is not read"):
        read_tables(tmp_path)
    shutil.rmtree(tmp_path / "justice.csv")
    # CSV parts in a table's folder: said as such, not as a failed Parquet write.
    (tmp_path / "justice").mkdir()
    clean["justice"].to_csv(tmp_path / "justice" / "part-0.csv", index=False)
    with pytest.raises(
        ValueError, match=r"justice: a folder of CSV parts is not read; expected one justice.csv"
    ):
        read_tables(tmp_path)


def test_missing_source_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such folder or DuckDB database file"):
        read_tables(tmp_path / "nope")


def test_load_tables_accepts_tables_in_memory(clean: dict[str, pd.DataFrame]) -> None:
    clean["justice"].loc[0, "event_type"] = "arrest"
    tables, report = load_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["justice"].by_check == {"unknown_code": 1}
    assert len(tables["justice"]) == 6


def test_a_name_value_folder_above_the_tables_is_not_a_column(tmp_path: Path) -> None:
    # DuckDB's default would read dx_group=x/ as a dx_group of 'x' on every encounter.
    folder = tmp_path / "dx_group=x" / "county"
    folder.mkdir(parents=True)
    clean = _all_but(folder, "diagnoses")
    clean["diagnoses"].to_csv(folder / "diagnoses.csv", index=False)
    read = read_tables(folder)
    assert read["encounters"]["dx_group"].tolist() == clean["encounters"]["dx_group"].tolist()
    assert "dx_group" not in read["diagnoses"].columns
    (folder / "encounters.parquet").unlink()
    (folder / "encounters").mkdir()
    clean["encounters"].to_parquet(folder / "encounters" / "part-0.parquet")
    with pytest.raises(ValueError, match="lies under 'dx_group=x', a name=value folder"):
        read_tables(folder)


def test_rejected_rows_name_the_part_file_they_came_from(dirty, tmp_path: Path) -> None:
    tables, injected = dirty
    for name, frame in tables.items():
        if name != "encounters":
            frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    encounters = tables["encounters"]
    (tmp_path / "encounters").mkdir()
    bounds = [0, 3, 3, 7, len(encounters)]  # one part is empty
    for i, (start, stop) in enumerate(itertools.pairwise(bounds)):
        part = encounters.iloc[start:stop]
        part.to_parquet(tmp_path / "encounters" / f"part-{i}.parquet", index=False)
    accepted, report = load_tables(
        tmp_path, mode="quarantine", reference_date=REFERENCE, rejected_dir=tmp_path / "rej"
    )
    # File names stay with the rejected rows: pandas would write attrs into every Parquet
    # made from the accepted tables, and outputs would change with the input's folder.
    assert not any(frame.attrs for frame in accepted.values())
    rejected = pd.read_parquet(tmp_path / "rej" / "encounters.parquet")
    assert (
        len(rejected)
        == report.tables["encounters"].rejected
        == sum(injected["encounters"].values())
    )
    assert rejected["source_file"].nunique() >= 2  # rows from several parts
    for row in rejected.itertuples(index=False):
        part = pd.read_parquet(tmp_path / row.source_file)
        where = bounds[int(row.source_file[-9])] + row.file_row_number
        assert where == row.row_number
        pd.testing.assert_series_equal(
            part.iloc[row.file_row_number].astype("str"),
            encounters.iloc[row.row_number].astype("str"),
            check_names=False,
        )
    # A single file: its rows are the table's.
    persons = pd.read_parquet(tmp_path / "rej" / "persons.parquet")
    assert (persons["source_file"] == "persons.parquet").all()
    assert persons["file_row_number"].tolist() == persons["row_number"].tolist()


def test_a_rejected_csv_row_names_the_line_it_starts_on(tmp_path: Path) -> None:
    # Blank lines are skipped and a quoted field may hold a line break: the row's number
    # and its line part ways, and an editor shows lines.
    shutil.copytree(CLEAN_DIR, tmp_path / "in")
    path = tmp_path / "in" / "encounters.csv"
    header, *rows = path.read_text().splitlines()
    # A free-text note outside the contract over two lines (one in a contract column is
    # refused: test_a_stray_quote_that_swallows_lines_is_refused_with_its_lines).
    header, rows = header + ",note", [r + "," for r in rows]
    rows[1] = rows[1] + '"seen in the\nannex"'
    bad = rows[4].split(",")
    bad[3] = "XX"  # an unknown setting
    rows[4] = ",".join(bad)
    lines = [header, "", rows[0], rows[1], "", "", *rows[2:5], "", *rows[5:]]
    path.write_text("\n".join(lines) + "\n")
    # Rows 1 (the quoted break) and 4: lines 4 to 5, and 10.
    assert path.read_text().splitlines()[9] == rows[4]
    load_tables(
        tmp_path / "in", mode="quarantine", reference_date=REFERENCE, rejected_dir=tmp_path / "rej"
    )
    rejected = pd.read_parquet(tmp_path / "rej" / "encounters.parquet")
    assert rejected[["file_row_number", "file_line"]].values.tolist() == [[4, 10]]
    # Parquet has rows, not lines.
    persons = pd.read_parquet(tmp_path / "rej" / "persons.parquet")
    assert persons["file_line"].dtype == "Int64"
    with pytest.raises(DataContractError, match=re.escape("rows: [4 (encounters.csv line 10)]")):
        load_tables(tmp_path / "in", reference_date=REFERENCE)
    assert record_lines(path, [0, 1, 2, 4, 99]) == {0: 3, 1: 4, 2: 8, 4: 10}
    # A blank line before the header moves every line by one.
    path.write_text("\n" + path.read_text())
    assert record_lines(path, [0, 4]) == {0: 4, 4: 11}
    again = tmp_path / "rej2"
    load_tables(tmp_path / "in", mode="quarantine", reference_date=REFERENCE, rejected_dir=again)
    moved = pd.read_parquet(again / "encounters.parquet")
    assert moved[["file_row_number", "file_line"]].values.tolist() == [[4, 11]]


def test_title_lines_above_a_csv_header_are_said_and_counted_in_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An export with a title (and a blank line) above the header: DuckDB's reader finds the
    # header below them, so the lines of the rows below move by as many.
    shutil.copytree(CLEAN_DIR, tmp_path / "in")
    path = tmp_path / "in" / "encounters.csv"
    header, *rows = path.read_text().splitlines()
    bad = rows[4].split(",")
    bad[3] = "XX"  # an unknown setting
    rows[4] = ",".join(bad)
    path.write_text("\n".join(["County extract, 2025-10-01", "", header, *rows]) + "\n")
    assert path.read_text().splitlines()[7] == rows[4]  # line 8
    assert record_lines(path, [0, 4]) == {0: 4, 4: 8}
    with caplog.at_level("WARNING"), pytest.raises(DataContractError) as info:
        load_tables(tmp_path / "in", reference_date=REFERENCE)
    assert "rows: [4 (encounters.csv line 8)]" in str(info.value)
    assert "encounters.csv: the 2 line(s) above its header were skipped (a title?)" in caplog.text
    assert "County extract" not in caplog.text  # what the lines say is not repeated


def test_a_strict_error_names_the_part_file_of_each_row(clean, tmp_path: Path) -> None:
    clean["encounters"].loc[[1, 9], "paid_amount"] = -5.0
    for name, frame in clean.items():
        if name != "encounters":
            frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    (tmp_path / "encounters").mkdir()
    clean["encounters"].iloc[:6].to_parquet(tmp_path / "encounters" / "a.parquet")
    clean["encounters"].iloc[6:].to_parquet(tmp_path / "encounters" / "b.parquet")
    with pytest.raises(DataContractError) as info:
        load_tables(tmp_path, reference_date=REFERENCE)
    assert str(info.value).endswith(
        "rows: [1 (encounters/a.parquet row 1), 9 (encounters/b.parquet row 3)]"
    )


def test_a_value_that_did_not_convert_is_kept_as_read(tmp_path: Path) -> None:
    for path in CLEAN_DIR.glob("*.csv"):
        (tmp_path / path.name).write_text(path.read_text())
    lines = (tmp_path / "justice.csv").read_text().splitlines()
    person, _date, event = lines[2].split(",")
    lines[2] = f"{person},2023-13-45,{event}"
    (tmp_path / "justice.csv").write_text("\n".join(lines) + "\n")
    load_tables(tmp_path, mode="quarantine", reference_date=REFERENCE, rejected_dir=tmp_path / "r")
    rejected = pd.read_parquet(tmp_path / "r" / "justice.parquet")
    assert rejected["check"].tolist() == ["unparseable"]
    assert rejected["event_date"].isna().all()  # the converted column cannot hold it
    assert rejected["original_value"].tolist() == ["2023-13-45"]
    assert rejected["row_number"].tolist() == [1]  # data rows from 0: line 3 of the file
    others = pd.read_parquet(tmp_path / "r" / "persons.parquet")
    assert "original_value" in others.columns and others.empty
    # An empty file has the same column types as a full one, so quarters' files stack.
    for column in ("check", "reason", "original_value", "source_file"):
        assert others[column].dtype == rejected[column].dtype == "str", column


def _evening_in_los_angeles(
    tmp_path: Path, fmt: str, unit: str = "us", zone: str = "America/Los_Angeles"
) -> Path:
    """The clean tables with each encounter at 23:00 Pacific time on its own day.

    Written as ``zone``'s time for Parquet (a fixed offset such as ``-08:00`` is how
    pyarrow writes some timestamps).
    """
    shutil.copytree(CLEAN_DIR, tmp_path / "in")
    src = tmp_path / "in"
    encounters = pd.read_csv(src / "encounters.csv", dtype=str)
    (src / "encounters.csv").unlink()
    for column in ("start_date", "end_date"):
        local = (pd.to_datetime(encounters[column]) + pd.Timedelta(hours=23)).dt.tz_localize(
            "America/Los_Angeles"
        )
        if fmt == "csv":  # ISO text with its offset: -08:00 in winter, -07:00 in summer
            encounters[column] = local.map(lambda t: t.isoformat() if pd.notna(t) else "")
        else:
            encounters[column] = local
    if fmt == "csv":
        encounters.to_csv(src / "encounters.csv", index=False)
        return src
    # pandas writes nanoseconds, which DuckDB used to read as UTC's day.
    stamps = {
        c: encounters[c].astype(f"datetime64[{unit}, {zone}]") for c in ("start_date", "end_date")
    }
    encounters = encounters.assign(**stamps)
    if fmt == "parquet":
        encounters.to_parquet(src / "encounters.parquet", index=False)
    else:  # a dataset of two parts, read by DuckDB (in UTC)
        (src / "encounters").mkdir()
        half = len(encounters) // 2
        encounters.iloc[:half].to_parquet(src / "encounters" / "part-0.parquet", index=False)
        encounters.iloc[half:].to_parquet(src / "encounters" / "part-1.parquet", index=False)
    return src


@pytest.mark.parametrize(
    ("fmt", "unit", "zone"),
    [
        ("parquet", "us", "America/Los_Angeles"),
        ("parquet", "ns", "America/Los_Angeles"),
        ("dataset", "us", "America/Los_Angeles"),
        ("dataset", "ns", "-08:00"),
        ("csv", "", ""),
    ],
)
def test_a_time_zone_keeps_the_day_it_was_written_in(
    tmp_path: Path, fmt: str, unit: str, zone: str
) -> None:
    # Converted to UTC, 23:00 in Los Angeles is the next day: every evening event moved.
    src = _evening_in_los_angeles(tmp_path, fmt, unit, zone)
    if fmt == "csv":
        offsets = pd.read_csv(src / "encounters.csv")["start_date"].str[-6:]
        assert {"-08:00", "-07:00"} <= set(offsets)  # mixed offsets used to fail the parse
    got = load_tables(src, reference_date=REFERENCE).tables["encounters"]
    want = load_tables(CLEAN_DIR, reference_date=REFERENCE).tables["encounters"]
    pd.testing.assert_series_equal(got["start_date"], want["start_date"])
    pd.testing.assert_series_equal(got["end_date"], want["end_date"])
    if fmt != "csv":
        # Read as stored, out of core, the days are the same: DuckDB's UTC is undone.
        as_stored = build_features(src, ["2022-07-01", "2023-01-01"], validate=False)
        clean = build_features(CLEAN_DIR, ["2022-07-01", "2023-01-01"], validate=False)
        pd.testing.assert_frame_equal(as_stored, clean)


@pytest.mark.parametrize("other", ["Asia/Tokyo", None])
def test_a_dataset_column_in_two_zones_is_read_as_utc_and_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, other: str | None
) -> None:
    src = _evening_in_los_angeles(tmp_path, "dataset")
    part = src / "encounters" / "part-1.parquet"
    frame = pd.read_parquet(part)
    # Tokyo's time, or the same evening written without a zone (another extract's export).
    moved = frame["start_date"].dt.tz_convert(other or "America/Los_Angeles")
    if other is None:  # midnights: read in Los Angeles time they would be the day before
        moved = moved.dt.tz_localize(None).dt.normalize()
    frame.assign(start_date=moved).to_parquet(part)
    got = read_tables(src)["encounters"]["start_date"]
    said = "column 'start_date' is written in 2 time zones across the dataset's files"
    assert said in caplog.text
    # Left as DuckDB reads it: each zoned 23:00 Pacific is its UTC day, the next one; a
    # wall time without a zone keeps its own day (no part is shifted into another's zone).
    days = got.dt.tz_localize(None).dt.normalize()  # the wall time's day, as validation takes it
    parts = [pd.read_parquet(p)["start_date"] for p in sorted((src / "encounters").iterdir())]
    want = [
        (p.dt.tz_convert("UTC").dt.tz_localize(None) if p.dt.tz else p).dt.normalize()
        for p in parts
    ]
    assert days.tolist() == pd.concat(want).tolist()
    assert (days.iloc[: len(parts[0])] != parts[0].dt.tz_localize(None).dt.normalize()).all()


def test_an_unreadable_file_is_named_without_the_row_it_quotes(tmp_path: Path) -> None:
    shutil.copytree(CLEAN_DIR, tmp_path / "in")
    src = tmp_path / "in"
    rows = (src / "encounters.csv").read_text().splitlines()
    # Deep enough that DuckDB's sniffer does not see it: one row with an extra field.
    body = rows[1:] * 3000 + ["P01,2022-01-05,2022-01-05,ed,medical,false,99.5,H9,extra"]
    (src / "encounters.csv").write_text("\n".join([rows[0], *body]) + "\n")
    with pytest.raises(DataContractError) as info:
        load_tables(src, reference_date=REFERENCE)
    message = str(info.value)
    assert message.startswith("table 'encounters': encounters.csv could not be read: ")
    assert f"CSV Error on Line: {len(body) + 1}" in message
    assert "P01" not in message and "99.5" not in message and "Original Line" not in message
    (src / "encounters.csv").write_text("")
    with pytest.raises(
        DataContractError, match="encounters.csv could not be read: the file is empty"
    ):
        load_tables(src, reference_date=REFERENCE)


def test_one_tables_file_given_as_the_data_says_what_was_expected(tmp_path: Path) -> None:
    pd.DataFrame({"person_id": ["P01"]}).to_parquet(tmp_path / "persons.parquet")
    (tmp_path / "encounters.csv").write_text("person_id,start_date\nP01,2024-01-01\n")
    for file in ("persons.parquet", "encounters.csv"):
        with pytest.raises(NotADirectoryError) as info:
            load_tables(tmp_path / file)
        assert str(info.value).startswith(f"{tmp_path / file}: is a file DuckDB cannot open")
        assert "give the folder, not one table's file" in str(info.value)


def test_a_bad_row_in_the_sniffed_rows_is_named_by_its_line(tmp_path: Path) -> None:
    shutil.copytree(CLEAN_DIR, tmp_path / "in")
    src = tmp_path / "in"
    rows = (src / "encounters.csv").read_text().splitlines()
    # Early enough that DuckDB's sniffer sees it and gives up naming no line.
    rows[2] += ",99.5-extra"
    (src / "encounters.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataContractError) as info:
        load_tables(src, reference_date=REFERENCE)
    message = str(info.value)
    assert message == (
        "table 'encounters': encounters.csv could not be read: line 3 has 9 fields where the "
        "header has 8 (DuckDB could not detect the file's delimiter and quoting)"
    )


def test_an_unclosed_quote_before_a_bad_row_is_named_not_a_traceback(tmp_path: Path) -> None:
    shutil.copytree(CLEAN_DIR, tmp_path / "in")
    src = tmp_path / "in"
    rows = (src / "justice.csv").read_text().splitlines()
    body = ['P01,"2021-11-01,booking', *rows[1:] * 1000, "P01,2021-11-01,booking,extra"]
    (src / "justice.csv").write_text("\n".join([rows[0], *body]) + "\n")
    with pytest.raises(DataContractError) as info:
        load_tables(src, reference_date=REFERENCE, mode="quarantine")
    assert "a quote is not closed" in str(info.value)
    assert "P01" not in str(info.value)


def test_a_rejected_rows_folder_needs_quarantine_mode(tmp_path: Path) -> None:
    # Strict mode sets no row aside: the folder would have stayed empty, unsaid.
    from riskstrat._config import ConfigError

    clean = Path(__file__).parent / "fixtures" / "clean"
    with pytest.raises(ConfigError, match="rejected_dir: needs mode='quarantine'"):
        load_tables(clean, rejected_dir=tmp_path / "rejected")
    load_tables(clean, mode="quarantine", rejected_dir=tmp_path / "rejected")


@pytest.mark.parametrize(("sep", "name"), [(";", "semicolon"), ("\t", "tab")])
def test_a_csv_separated_otherwise_says_so(
    tmp_path: Path, sep: str, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    shutil.copytree(CLEAN_DIR, data)
    persons = pd.read_csv(data / "persons.csv", dtype=str)
    persons.to_csv(data / "persons.csv", sep=sep, index=False)
    with pytest.raises(DataContractError) as info, caplog.at_level("WARNING"):
        load_tables(data, reference_date=REFERENCE)
    assert "no death_date column" not in caplog.text  # only the refusal is worth reading
    assert str(info.value).startswith("table 'persons': required column 'person_id' is missing")
    assert f"the file looks {name}-separated, expected comma-separated values" in str(info.value)
    # The header is the contract's names, not a record's values: shown as found.
    assert f"columns found: ['person_id{sep}birth_date{sep}sex" in str(info.value).replace(
        "\\t", "\t"
    )
    assert "look like a record's values" not in str(info.value)


def test_line_endings_that_change_midway_are_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(CLEAN_DIR, data)
    path = data / "justice.csv"
    lines = path.read_text().splitlines()
    # Two exports joined: the first from Windows, the rest from Unix.
    path.write_bytes(("\r\n".join(lines[:3]) + "\r\n" + "\n".join(lines[3:]) + "\n").encode())
    # What the message says when DuckDB's sniffer gives up on such a file (a long one).
    assert "line endings change at line 4 (Windows CRLF and Unix LF" in csv_dialect_problem(path)
    assert line_ending_switch(CLEAN_DIR / "justice.csv") is None


def test_a_csv_not_in_utf8_names_the_line_and_what_to_do(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(CLEAN_DIR, data)
    persons = pd.read_csv(data / "persons.csv", dtype=str)
    persons.loc[3, "race_ethnicity"] = "Latiño"
    persons.to_csv(data / "persons.csv", index=False, encoding="latin-1")
    with pytest.raises(DataContractError) as info:
        load_tables(data, reference_date=REFERENCE)
    message = str(info.value)
    assert "Line: 5" in message and "expected UTF-8 text" in message
    # DuckDB's own settings are no advice riskstrat can take; the value is not shown.
    assert "ignore_errors" not in message and "encoding=" not in message
    assert "Lati" not in message


def test_a_broken_quote_in_a_quoted_csv_is_named_by_its_line(tmp_path: Path) -> None:
    # DuckDB's sniffer gave up on quoting: every column name kept its quotes, and the
    # message was a missing person_id column.
    import csv

    data = tmp_path / "data"
    shutil.copytree(CLEAN_DIR, data)
    encounters = pd.read_csv(data / "encounters.csv", dtype=str)
    encounters = pd.concat([encounters] * 60, ignore_index=True)
    encounters.to_csv(data / "encounters.csv", index=False, quoting=csv.QUOTE_ALL)
    lines = (data / "encounters.csv").read_text().splitlines()
    lines[500] = lines[500].replace('","', '"x"y","', 1)
    (data / "encounters.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataContractError) as info:
        load_tables(data, mode="quarantine", reference_date=REFERENCE)
    assert str(info.value) == (
        "table 'encounters': encounters.csv could not be read: line 501 has a double quote "
        "inside a quoted field that is not doubled, or a quote not closed; expected each "
        "quote inside a field written twice"
    )


def test_a_utf16_csv_is_named_as_such(tmp_path: Path) -> None:
    # DuckDB read it as one field per line and blamed the delimiter.
    data = tmp_path / "data"
    shutil.copytree(CLEAN_DIR, data)
    persons = pd.read_csv(data / "persons.csv", dtype=str)
    persons.to_csv(data / "persons.csv", index=False, encoding="utf-16")
    with pytest.raises(DataContractError) as info:
        load_tables(data, reference_date=REFERENCE)
    assert "persons.csv could not be read: the file is UTF-16 text" in str(info.value)
    assert "expected UTF-8" in str(info.value)


@pytest.mark.parametrize(
    "error",
    [duckdb.InterruptException("INTERRUPT Error: Interrupted!"), RuntimeError("Query interrupted")],
)
def test_ctrl_c_while_reading_is_an_interrupt_not_bad_data(monkeypatch, error) -> None:
    from riskstrat.data import _load

    def stopped(self, table):
        raise error

    monkeypatch.setattr(_load._LazyTables, "_read_file", stopped)
    with pytest.raises(KeyboardInterrupt):
        load_tables(CLEAN_DIR, mode="quarantine", reference_date=REFERENCE)


def test_duckdb_errors_keep_line_numbers_and_drop_values() -> None:
    from riskstrat.data._load import duckdb_detail

    failed = []
    for query in (
        "select cast(4000123412341234 as int)",
        "select cast(4000123412341234 as bigint) * 1000000",
        "select cast(4.000123412341234e+19 as bigint)",
    ):
        with pytest.raises(duckdb.Error) as info:
            duckdb.sql(query).fetchall()
        failed.append(duckdb_detail(info.value))
    assert not any("4000123" in text or "e+19" in text for text in failed), failed
    kept = duckdb_detail(duckdb.Error("CSV Error on Line: 40020; Value with unterminated quote"))
    assert kept == "CSV Error on Line: 40020; Value with unterminated quote"
