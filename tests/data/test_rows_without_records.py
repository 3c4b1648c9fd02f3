"""Rows an export gets wrong as a whole, named for what they are and where they lie: a
header repeated where files were joined, a spreadsheet's blank row, Excel's serial days, a
duplicate with the row it copies, a line holding a very long value."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from riskstrat.data import DataContractError, load_tables
from riskstrat.data._layout_rows import empty_rows, repeated_headers
from riskstrat.data._row_places import record_lines

from .conftest import CLEAN_DIR, REFERENCE

HEADER = "person_id,start_date,end_date,setting,dx_group,avoidable,paid_amount,provider_id"


def _county(tmp_path: Path, edit) -> Path:
    """The clean fixture as CSV, with ``edit(lines)`` applied to encounters.csv's lines."""
    folder = tmp_path / "in"
    shutil.copytree(CLEAN_DIR, folder)
    path = folder / "encounters.csv"
    lines = path.read_text().splitlines()
    assert lines[0] == HEADER
    path.write_text("\n".join(edit(lines)) + "\n")
    return folder


def _quarantined(folder: Path, tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    result = load_tables(
        folder, mode="quarantine", reference_date=REFERENCE, rejected_dir=tmp_path / "rej"
    )
    report = result.report.tables["encounters"]
    assert report.rows_in == report.accepted + report.rejected
    return result.tables["encounters"], pd.read_parquet(tmp_path / "rej" / "encounters.parquet")


@pytest.mark.parametrize(
    "second_header",
    [
        HEADER,
        HEADER.upper(),
        HEADER.title(),  # Person_Id,Start_Date,...: an export's own case
        # The second export's own column order, quoted: still a header.
        '"setting","person_id","start_date","end_date","dx_group","avoidable","paid_amount",'
        '"provider_id"',
    ],
)
def test_a_header_repeated_where_files_were_joined_is_named_as_one(
    second_header: str, tmp_path: Path
) -> None:
    folder = _county(tmp_path, lambda lines: [*lines[:6], second_header, *lines[6:]])
    with pytest.raises(DataContractError) as info:
        load_tables(folder, reference_date=REFERENCE)
    assert info.value.check == "repeated_header"
    assert "two exports were joined" in str(info.value)
    assert str(info.value).endswith("rows: [5 (encounters.csv line 7)]")
    accepted, rejected = _quarantined(folder, tmp_path)
    assert rejected[["check", "file_line"]].values.tolist() == [["repeated_header", 7]]
    clean = load_tables(CLEAN_DIR, reference_date=REFERENCE).tables["encounters"]
    pd.testing.assert_frame_equal(accepted, clean)


def test_a_header_in_persons_is_not_counted_as_a_person(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    shutil.copytree(CLEAN_DIR, folder)
    path = folder / "persons.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:4], lines[0].title(), *lines[4:]]) + "\n")
    result = load_tables(folder, mode="quarantine", reference_date=REFERENCE)
    assert result.report.tables["persons"].by_check == {"repeated_header": 1}
    # Scoring adds the persons rejected to the population: a header is nobody.
    assert result.report.persons_rejected == 0


def test_rows_are_taken_by_position_whatever_the_index(clean) -> None:
    # A frame joined without ignore_index repeats labels: only the header row is one.
    from riskstrat.data import validate_tables

    encounters = clean["encounters"].astype("str").astype(object)
    header = pd.DataFrame([list(encounters.columns)], columns=encounters.columns, index=[0])
    clean["encounters"] = pd.concat([encounters.iloc[:6], header, encounters.iloc[6:]])
    assert clean["encounters"].index.duplicated().any()
    result = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    report = result.report.tables["encounters"]
    assert (report.rows_in, report.rejected) == (13, 1)
    assert report.by_check == {"repeated_header": 1}


def test_a_record_naming_one_column_or_half_of_them_is_not_a_header() -> None:
    raw = pd.DataFrame(
        {
            "person_id": ["person_id", "person_id", "person_id"],
            "start_date": ["2022-01-05", "start_date", "start_date"],
            "setting": ["ed", "ed", "setting"],
            "dx_group": ["substance_use", "substance_use", "substance_use"],
        },
        dtype=object,
    )
    # One name, then exactly half of four cells (not a header), then three of four.
    assert repeated_headers("encounters", raw).tolist() == [False, False, True]
    assert repeated_headers("encounters", raw.set_axis([7, 7, 7])).tolist() == [False, False, True]
    # Typed ids (a Parquet file's) cannot hold a header.
    assert not repeated_headers("encounters", raw.assign(person_id=[1, 2, 3])).any()


def test_a_blank_spreadsheet_row_is_named_as_one(tmp_path: Path) -> None:
    folder = _county(tmp_path, lambda lines: [*lines[:3], ",,,,,,,", " , ,,,,,,", *lines[3:]])
    with pytest.raises(DataContractError) as info:
        load_tables(folder, reference_date=REFERENCE)
    assert info.value.check == "empty_row"
    assert str(info.value).endswith("rows: [2 (encounters.csv line 4), 3 (encounters.csv line 5)]")
    accepted, rejected = _quarantined(folder, tmp_path)
    assert rejected["check"].tolist() == ["empty_row", "empty_row"]
    assert len(accepted) == 12


def test_a_row_with_anything_in_it_is_a_record_without_an_id_not_an_empty_row() -> None:
    raw = pd.DataFrame(
        {"person_id": [None, None, "P01"], "setting": [None, "ed", None], "note": ["", "", ""]},
        dtype=object,
    )
    assert empty_rows(raw, raw["person_id"].isna()).tolist() == [True, False, False]


def _with_start_date(value: str):
    def edit(lines: list[str]) -> list[str]:
        cells = lines[2].split(",")
        cells[1] = value
        return [*lines[:2], ",".join(cells), *lines[3:]]

    return edit


@pytest.mark.parametrize(
    ("value", "serial"), [("44569", True), ("44569.75", True), ("4456", False)]
)
def test_an_excel_serial_day_says_what_it_is(value: str, serial: bool, tmp_path: Path) -> None:
    folder = _county(tmp_path, _with_start_date(value))
    with pytest.raises(DataContractError) as info:
        load_tables(folder, reference_date=REFERENCE)
    message = str(info.value)
    assert info.value.check == "unparseable" and message.endswith("(encounters.csv line 3)]")
    assert ("as Excel writes a date" in message) is serial
    assert value not in message  # a date is a person's: shown by line, not by value
    _accepted, rejected = _quarantined(folder, tmp_path)
    assert rejected["original_value"].tolist() == [value]


def test_the_strict_duplicate_error_names_the_row_copied(tmp_path: Path) -> None:
    folder = _county(tmp_path, lambda lines: [*lines, lines[4]])
    with pytest.raises(DataContractError, match="duplicate_row") as info:
        load_tables(folder, reference_date=REFERENCE)
    assert (
        str(info.value)
        .split(" (exact duplicate row); ")[1]
        .startswith(
            "rows: [12 (encounters.csv line 14)]; row 12 repeats row 3 (encounters.csv line 5)"
        )
    )


def test_a_line_holding_a_very_long_value_is_still_found(tmp_path: Path) -> None:
    # Longer than the csv module's default field limit (131,072 characters).
    long_id = "A" * 200_000
    folder = _county(tmp_path, lambda lines: [*lines[:5], long_id + lines[5][3:], *lines[6:]])
    limit = csv.field_size_limit()
    assert record_lines(folder / "encounters.csv", [4, 5]) == {4: 6, 5: 7}
    assert csv.field_size_limit() == limit
    with pytest.raises(DataContractError, match=re.escape("rows: [4 (encounters.csv line 6)]")):
        load_tables(folder, reference_date=REFERENCE)
