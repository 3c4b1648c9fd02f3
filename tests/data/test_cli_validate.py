from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
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


def _quarantine_keeping(src: Path, tmp_path: Path) -> list[str]:
    """Quarantine, keeping the rejected rows in tmp_path/rej and the report in r.json."""
    return [
        *_quarantine(src),
        "--rejected-dir",
        str(tmp_path / "rej"),
        "--json",
        str(tmp_path / "r.json"),
    ]


def test_clean_folder_exits_zero_and_prints_report() -> None:
    result = runner.invoke(app, ["validate", str(CLEAN_DIR), "--reference-date", REFERENCE])
    assert result.exit_code == 0, result.output
    assert "encounters" in result.output and "strict" in result.output


def test_strict_violation_exits_one_and_names_it(tmp_path: Path) -> None:
    src = _with_unknown_event_type(tmp_path)
    result = runner.invoke(app, ["validate", str(src), "--reference-date", REFERENCE])
    assert result.exit_code == 1
    assert "table 'justice', column 'event_type': check 'unknown_code'" in result.output
    # One row holds it: shown by its row number, not its value.
    assert "'parole'" not in result.output
    assert "rows: [4 (justice.csv line 6)]" in result.output
    assert result.output.startswith("error: table 'justice'")  # as every command says it
    # The codes allowed are no one's record: listed even when the value is not.
    assert "expected one of ['booking', 'release'," in result.output
    assert "in case only" not in result.output


def test_a_hidden_value_differing_in_case_only_is_counted(tmp_path: Path) -> None:
    src = _copy(tmp_path / "in")
    path = src / "justice.csv"
    path.write_text(path.read_text().replace("booking", "Booking", 1))
    result = runner.invoke(app, ["validate", str(src), "--reference-date", REFERENCE])
    assert result.exit_code == 1
    assert "'Booking'" not in result.output
    assert "(1 of these rows differ from a code in case only" in result.output


def test_a_strict_failure_still_writes_the_json_a_batch_job_reads(tmp_path: Path) -> None:
    src = _with_unknown_event_type(tmp_path)
    out = tmp_path / "r.json"
    args = ["validate", str(src), "--reference-date", REFERENCE, "--json", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    failed = json.loads(out.read_text())
    assert failed == {
        "mode": "strict",
        "reference_date": REFERENCE,
        "failed": {"table": "justice", "column": "event_type", "check": "unknown_code", "rows": 1},
    }
    assert "parole" not in out.read_text()
    # A failure of another kind names its kind, and the reference date used is the default's.
    pd.read_csv(src / "justice.csv").to_parquet(src / "justice.parquet")
    result = runner.invoke(app, ["validate", str(src), "--json", str(out)])
    assert result.exit_code == 1, result.output
    failed = json.loads(out.read_text())
    assert failed["failed"]["check"] == "ValueError" and failed["reference_date"] is not None


def test_quarantine_exits_zero_writes_rejects_and_json(tmp_path: Path) -> None:
    src = _with_unknown_event_type(tmp_path)
    args = _quarantine_keeping(src, tmp_path)
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
    # One table's file where the folder of tables was expected.
    one_file = runner.invoke(app, ["validate", str(CLEAN_DIR / "persons.csv")])
    assert one_file.exit_code == 2
    assert "give the folder, not one table's file" in one_file.output
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


def _with_us_dates(tmp_path: Path) -> Path:
    """The clean tables with every encounter date written MM/DD/YYYY (a common export)."""
    src = _copy(tmp_path / "in")
    encounters = pd.read_csv(src / "encounters.csv", dtype=str)
    for column in ("start_date", "end_date"):
        dates = pd.to_datetime(encounters[column])
        encounters[column] = dates.dt.strftime("%m/%d/%Y").where(dates.notna(), "")
    encounters.to_csv(src / "encounters.csv", index=False)
    return src


def test_a_table_rejected_whole_fails_quarantine_after_its_report(tmp_path: Path) -> None:
    src = _with_us_dates(tmp_path)
    n = len(pd.read_csv(src / "encounters.csv"))
    args = _quarantine_keeping(src, tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert f"table 'encounters': all {n:,} rows were rejected (unparseable" in result.output
    # The report and the rejected rows are still written: they show what emptied it.
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["tables"]["encounters"]["accepted"] == 0
    assert report["failed"]["table"] == "encounters"  # and what refused the run
    assert len(pd.read_parquet(tmp_path / "rej" / "encounters.parquet")) == n
    for command in (["features"], ["eligibility"]):
        refused = runner.invoke(
            app,
            [
                *command,
                "--data",
                str(src),
                "--as-of",
                "2024-07-01",
                "--out",
                str(tmp_path / "o.parquet"),
                "--mode",
                "quarantine",
            ],
        )
        assert refused.exit_code == 1, refused.output
        assert "table 'encounters': all" in refused.output
        assert not (tmp_path / "o.parquet").exists()


def test_features_validates_its_input_as_every_command_does(tmp_path: Path) -> None:
    src = _with_unknown_event_type(tmp_path)
    out = tmp_path / "f.parquet"
    args = ["features", "--data", str(src), "--as-of", "2024-07-01", "--out", str(out)]
    strict = runner.invoke(app, args)
    assert strict.exit_code == 1
    assert "table 'justice', column 'event_type': check 'unknown_code'" in strict.output
    assert not out.exists()
    quarantine = runner.invoke(app, [*args, "--mode", "quarantine"])
    assert quarantine.exit_code == 0, quarantine.output
    assert "quarantine: rows set aside: justice 1 of 7" in quarantine.output
    (src / "pharmacy.csv").unlink()
    missing = runner.invoke(app, [*args, "--mode", "quarantine"])
    assert missing.exit_code == 0, missing.output
    assert "warning: no pharmacy table in" in missing.output


def test_features_and_eligibility_count_unclosed_terms_as_of_the_latest_date(
    tmp_path: Path,
) -> None:
    # P09's booking of 2022 reads as doubtful today, not as of mid-2024; P02's of 2019
    # was still running then (its release came later, unseen by the features of 2024).
    src = _copy(tmp_path / "in")
    with (src / "justice.csv").open("a") as justice:
        justice.write("P02,2019-01-01,booking\nP02,2024-09-01,release\n")
    for command in ("features", "eligibility"):
        out = tmp_path / f"{command}.parquet"
        dates = ["--as-of", "2023-01-01", "--as-of", "2024-07-01"]
        result = runner.invoke(app, [command, "--data", str(src), *dates, "--out", str(out)])
        assert result.exit_code == 0, result.output
        said = " ".join(result.output.split())
        assert (
            "justice: 1 person(s) have a booking more than 3 years before the as-of date "
            "2024-07-01 with no release after it by then" in said
        ), said
    validated = runner.invoke(app, ["validate", str(src)])
    assert validated.exit_code == 0, validated.output
    said = " ".join(validated.output.split())
    assert "1 person(s) have a booking more than 3 years before the reference date" in said


@pytest.mark.parametrize("mode", ["strict", "quarantine"])
def test_a_missing_table_fails_after_the_others_are_counted(tmp_path: Path, mode: str) -> None:
    # A county without an assessments feed still sees its other tables checked and counted.
    src = _copy(tmp_path / "in")
    (src / "assessments.csv").unlink()
    (src / "pharmacy.csv").unlink()
    report = tmp_path / "r.json"
    args = ["validate", str(src), "--mode", mode, "--json", str(report)]
    result = runner.invoke(app, [*args, "--reference-date", REFERENCE])
    assert result.exit_code == 1, result.output
    said = "".join(result.output.split())  # the path may wrap anywhere
    assert f"error:table'pharmacy'ismissingfrom{src};expectedtables:[" in said
    assert "alsomissing:['assessments'];anextractwithoutthisfeedgivesthetable" in said
    written = json.loads(report.read_text())
    assert written["failed"]["check"] == "missing_table"
    assert written["failed"]["table"] == "pharmacy"
    encounters = written["tables"]["encounters"]
    lines = len((src / "encounters.csv").read_text().splitlines()) - 1
    assert encounters["rows_in"] == lines == encounters["accepted"] + encounters["rejected"]
    assert "assessments" not in written["tables"]


def test_a_missing_table_is_said_whatever_stops_the_run(tmp_path: Path) -> None:
    # Another failure first: the county learns of the missing table now, not next run.
    src = _copy(tmp_path / "in")
    (src / "justice.csv").unlink()
    encounters = src / "encounters.csv"
    lines = encounters.read_text().splitlines()
    first = lines[1].split(",")
    first[2] = "2000-01-01"  # ends before it starts
    encounters.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n")
    result = runner.invoke(app, ["validate", str(src), "--reference-date", REFERENCE])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert "check 'end_before_start' failed for 1 row(s)" in said
    assert "the input lacks tables ['justice'] too; an extract without this feed" in said
    # No persons table (an empty or wrong folder): every table expected, every one missing.
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["validate", str(empty), "--reference-date", REFERENCE])
    assert result.exit_code == 1, result.output
    said = "".join(result.output.split())
    assert "expectedtables:['persons','encounters','diagnoses','pharmacy'," in said
    assert "alsomissing:['encounters','diagnoses','pharmacy','justice','homelessness'," in said


def test_a_persons_table_without_rows_is_refused(tmp_path: Path) -> None:
    src = _copy(tmp_path / "in")
    header = (src / "persons.csv").read_text().splitlines()[0]
    (src / "persons.csv").write_text(header + "\n")
    result = runner.invoke(app, _quarantine(src))
    assert result.exit_code == 1
    assert "table 'persons' has no rows" in result.output
    # Strict mode says the same, not that every event names nobody.
    strict = runner.invoke(app, ["validate", str(src), "--reference-date", "2025-01-01"])
    assert strict.exit_code == 1
    assert "table 'persons' has no rows" in strict.output


def test_training_refuses_a_table_rejected_whole_too(tmp_path: Path) -> None:
    from riskstrat.data import DataContractError
    from riskstrat.modeling._panel import load_tables as load_for_training

    src = _with_us_dates(tmp_path)
    with pytest.raises(DataContractError, match="table 'encounters': all .* rows were rejected"):
        load_for_training(src)


def test_a_date_time_this_cannot_read_is_set_aside_not_a_failed_load(tmp_path: Path) -> None:
    # Mixed UTC offsets with one basic-format value: the fallback parse cannot take it.
    src = _copy(tmp_path / "in")
    justice = pd.read_csv(src / "justice.csv", dtype=str)
    justice.loc[0, "event_date"] = "20220101T230000-0800"
    justice.loc[1, "event_date"] = "2022-07-01T23:00:00-07:00"
    justice.to_csv(src / "justice.csv", index=False)
    result = runner.invoke(app, _quarantine(src))
    assert result.exit_code == 0, result.output
    assert "1 row(s) rejected" in result.output


@pytest.mark.parametrize(("changed", "refused"), [(6, False), (7, True)])
def test_a_table_rejected_mostly_fails_as_one_rejected_whole(
    tmp_path: Path, changed: int, refused: bool
) -> None:
    # Ids lower-cased in part of the encounters extract: those rows name nobody.
    src = _copy(tmp_path / "in")
    encounters = pd.read_csv(src / "encounters.csv", dtype=str)
    assert len(encounters) == 12
    encounters.loc[: changed - 1, "person_id"] = encounters["person_id"].str.lower()
    encounters.to_csv(src / "encounters.csv", index=False)
    result = runner.invoke(app, _quarantine_keeping(src, tmp_path))
    if not refused:  # half set aside: still a quarantine's job
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1, result.output
    message = " ".join(result.output.split())
    assert "table 'encounters': 7 of 12 rows (58%) were rejected (orphan_person_id 7)" in message
    assert json.loads((tmp_path / "r.json").read_text())["tables"]["encounters"]["accepted"] == 5


def test_shares_near_the_ends_never_round_to_all_or_none() -> None:
    from riskstrat.data._whole_tables import share_text

    assert share_text(69479, 69741) == "over 99%"
    assert share_text(12, 12) == "100%"
    assert share_text(1, 1000) == "under 1%"
    assert share_text(7, 12) == "58%"


def test_rejected_rows_never_land_on_the_data_or_a_folder_of_other_files(tmp_path: Path) -> None:
    src = _with_unknown_event_type(tmp_path)
    before = {p.name: p.read_bytes() for p in src.iterdir()}
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("an analyst's notes")
    (src / "justice").mkdir()  # a table's dataset folder, as Spark writes them
    for folder, said in (
        (src, "is the data"),
        (src / "justice", "lies in a table folder of the data"),
        (notes, "holds notes.txt"),
    ):
        result = runner.invoke(app, [*_quarantine(src), "--rejected-dir", str(folder)])
        assert result.exit_code == 2, result.output
        assert said in " ".join(result.output.split())
    (src / "justice").rmdir()
    assert {p.name: p.read_bytes() for p in src.iterdir()} == before
    assert [p.name for p in notes.iterdir()] == ["notes.txt"]
    # A new folder, then the same folder again (an earlier quarantine's), are written; so
    # is a folder of its own inside the data.
    for rejected in (tmp_path / "rej", src / "rejected"):
        again = [*_quarantine(src), "--rejected-dir", str(rejected)]
        assert runner.invoke(app, again).exit_code == 0
        assert runner.invoke(app, again).exit_code == 0
        assert (rejected / "justice.parquet").exists()


def test_an_optional_column_left_out_is_said_with_what_it_changes(tmp_path: Path) -> None:
    src = _copy(tmp_path / "in")
    persons = pd.read_csv(src / "persons.csv", dtype=str).drop(columns="death_date")
    persons.to_csv(src / "persons.csv", index=False)
    encounters = pd.read_csv(src / "encounters.csv", dtype=str).drop(columns="end_date")
    encounters.to_csv(src / "encounters.csv", index=False)
    result = runner.invoke(app, ["validate", str(src), "--reference-date", REFERENCE])
    assert result.exit_code == 0, result.output
    assert "persons: no death_date column in the input: no one is known to have died" in (
        result.output
    )
    assert "encounters: no end_date column in the input: every stay reads as still open" in (
        result.output
    )
    clean = runner.invoke(app, ["validate", str(CLEAN_DIR), "--reference-date", REFERENCE])
    assert "column in the input" not in clean.output


def test_an_optional_column_blank_on_every_row_is_said_as_one_left_out(tmp_path: Path) -> None:
    # An export that writes the header but no value reads as one without the column.
    src = _copy(tmp_path / "in")
    persons = pd.read_csv(src / "persons.csv", dtype=str).assign(death_date="")
    persons.to_csv(src / "persons.csv", index=False)
    homelessness = pd.read_csv(src / "homelessness.csv", dtype=str).assign(end_date="")
    homelessness.to_csv(src / "homelessness.csv", index=False)
    report = tmp_path / "report.json"
    args = ["validate", str(src), "--reference-date", REFERENCE, "--json", str(report)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert (
        f"persons: the death_date column is empty on all {len(persons):,} rows: no one is" in said
    )
    assert "homelessness: the end_date column is empty on all" in said
    tables = json.loads(report.read_text())["tables"]
    assert tables["persons"]["columns_absent"] == ["death_date"]


@pytest.mark.parametrize("mode", ["strict", "quarantine"])
def test_a_stray_quote_that_swallows_lines_is_refused_with_its_lines(
    tmp_path: Path, mode: str
) -> None:
    src = _copy(tmp_path / "in")
    path = src / "encounters.csv"
    lines = path.read_text().splitlines()
    # An open quote on line 4's provider_id closes on line 7: lines 5 and 6 read as part of
    # one value, and the rows on them were lost with rows in = accepted + rejected intact.
    lines[3] = lines[3].rsplit(",", 1)[0] + ',"' + lines[3].rsplit(",", 1)[1]
    lines[6] = lines[6] + '"'
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app, [*_quarantine(src)[:2], "--mode", mode, "--reference-date", REFERENCE]
    )
    assert result.exit_code == 1, result.output
    assert (
        "table 'encounters', column 'provider_id': 1 value(s) run over more than one line, "
        "the first from encounters.csv line 4 to line 7" in result.output
    )


def test_a_note_over_several_lines_with_commas_is_read(tmp_path: Path) -> None:
    src = _copy(tmp_path / "in")
    path = src / "justice.csv"
    header, *rows = path.read_text().splitlines()
    rows = [f"{r},ok" for r in rows]
    rows[1] = rows[1].removesuffix("ok") + (
        '"Seen at intake.\nReturned later, called family, no answer, closed"'
    )
    path.write_text("\n".join([header + ",note", *rows]) + "\n")
    result = runner.invoke(app, _quarantine(src))
    assert result.exit_code == 0, result.output
    assert "0 row(s) rejected" in result.output


def test_a_stray_quote_in_a_note_outside_the_contract_is_refused_too(tmp_path: Path) -> None:
    src = _copy(tmp_path / "in")
    path = src / "justice.csv"
    header, *rows = path.read_text().splitlines()
    rows = [f"{r},ok" for r in rows]
    # The note opens a quote on row 1 and closes it on row 3.
    rows[1], rows[3] = rows[1].removesuffix("ok") + '"see', rows[3] + '"'
    path.write_text("\n".join([header + ",note", *rows]) + "\n")
    result = runner.invoke(app, _quarantine(src))
    assert result.exit_code == 1, result.output
    assert "table 'justice', column outside the contract: 1 value(s)" in result.output
    assert "justice.csv line 3 to line 5" in result.output


def test_a_reference_date_after_today_is_refused() -> None:
    """It stands for today: in the future, rows dated up to it would pass as not future."""
    import datetime as dt

    ahead = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)
    result = runner.invoke(app, ["validate", str(CLEAN_DIR), "--reference-date", ahead.isoformat()])
    assert result.exit_code == 2
    assert f"error: --reference-date {ahead} is after today (" in " ".join(result.output.split())
