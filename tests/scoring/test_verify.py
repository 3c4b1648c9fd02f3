"""A cohort folder is checked against its manifest: outputs, and the inputs and model named."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from typer.testing import CliRunner

from riskstrat.cli import app
from riskstrat.scoring import ScoringConfigError
from riskstrat.scoring._verify import verify_cohort


def _verify(*args: str):
    return CliRunner().invoke(app, ["cohorts", "verify", *args])


def test_a_cohort_as_written_verifies_with_its_inputs_and_model(
    first_run, county, tmp_path
) -> None:
    check = verify_cohort(first_run.out, county / "data", county / "bundle")
    assert check.ok and check.problems == [] and check.inputs and check.model
    assert check.as_of == "2025-01-01" and not check.code_differs
    # first_run had no --rejected-dir: its manifest records none, and says so when asked.
    assert json.loads((first_run.out / "manifest.json").read_text())["rejected_files"] is None
    asked = verify_cohort(first_run.out, rejected_dir=tmp_path)
    assert asked.ok and "the manifest records no rejected files" in asked.notes[0]
    manifest = (first_run.out / "manifest.json").read_bytes()
    assert check.manifest_sha256 == hashlib.sha256(manifest).hexdigest()
    result = _verify(
        str(first_run.out), "--data", str(county / "data"), "--model", str(county / "bundle")
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK {first_run.out} (as of 2025-01-01): checked ")
    assert f"manifest sha256 {check.manifest_sha256}" in result.output


def test_a_changed_missing_or_added_output_is_named(first_run, tmp_path) -> None:
    folder = tmp_path / "2025Q1"
    shutil.copytree(first_run.out, folder)
    cohort = bytearray((folder / "cohort.csv").read_bytes())
    cohort[-2] ^= 1  # one bit of the last person's row
    (folder / "cohort.csv").write_bytes(bytes(cohort))
    (folder / "scores.parquet").unlink()
    (folder / "notes.txt").write_text("approved")
    problems = verify_cohort(folder).problems
    assert [p.split(":")[0] for p in problems] == ["cohort.csv", "scores.parquet", "notes.txt"]
    assert "missing; the manifest records sha256" in problems[1]
    assert problems[2] == "notes.txt: not written by the run (the manifest does not list it)"
    result = _verify(str(folder))
    assert result.exit_code == 1 and result.output.startswith(f"CHANGED {folder}")


def test_inputs_other_than_those_read_and_another_model_are_named(
    first_run,
    county,
    tmp_path,
) -> None:
    import pandas as pd

    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    persons = pd.read_parquet(data / "persons.parquet")
    persons.iloc[:-1].to_parquet(data / "persons.parquet", index=False)  # one person fewer
    (data / "justice.parquet").rename(data / "justice_old.parquet")  # not a table name
    problems = verify_cohort(first_run.out, data).problems
    assert [p.split(":")[0] for p in problems] == ["input justice.parquet", "input persons.parquet"]
    assert "missing from" in problems[0] and "the run read" in problems[1]
    # A manifest naming another bundle: the model given is not the one that scored it.
    folder = tmp_path / "2025Q1"
    shutil.copytree(first_run.out, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model"]["sha256"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (problem,) = verify_cohort(folder, model=county / "bundle").problems
    assert problem.endswith(f"the cohort's was {'0' * 64}")


@pytest.mark.parametrize("make", ["missing", "no manifest", "not json"])
def test_a_folder_that_is_no_cohort_is_a_usage_error(tmp_path, make: str) -> None:
    folder = tmp_path / "x"
    if make != "missing":
        folder.mkdir()
    if make == "not json":
        (folder / "manifest.json").write_text("{")
    with pytest.raises(ScoringConfigError, match=r"expected a folder riskstrat score wrote"):
        verify_cohort(folder)
    result = _verify(str(folder))
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_a_tampered_model_is_a_failed_check(first_run, county, tmp_path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(county / "bundle", bundle)
    model = next(p for p in bundle.iterdir() if p.suffix == ".txt")
    model.write_bytes(model.read_bytes() + b" ")
    # One difference among the others, not the end of the check: a changed output is said too.
    folder = tmp_path / "2025Q1"
    shutil.copytree(first_run.out, folder)
    (folder / "cohort.csv").write_text("changed")
    result = _verify(str(folder), "--model", str(bundle))
    assert result.exit_code == 1 and result.output.startswith(f"CHANGED {folder}")
    assert f"  model {bundle}: " in result.output and "  cohort.csv: sha256 " in result.output


@pytest.mark.parametrize(
    ("option", "place", "said"),
    [
        ("--model", "nothing", "not a bundle folder (no checksums.json)"),
        ("--model", "champion", "riskstrat models export NAME@champion --out DIR first"),
        ("--data", "nothing", "data (--data) nothing: no such folder or file"),
        ("--rejected-dir", "nothing", "rejected_dir (--rejected-dir) nothing: no such folder"),
    ],
)
def test_a_place_given_that_is_not_there_is_a_usage_error(
    first_run,
    option: str,
    place: str,
    said: str,
) -> None:
    # A scheduler reads exit 1 as a changed cohort: a slip in the command is exit 2.
    result = _verify(str(first_run.out), option, place)
    assert result.exit_code == 2 and said in " ".join(result.output.split())


def test_data_a_run_could_not_have_read_is_a_difference(first_run, county, tmp_path) -> None:
    import pandas as pd

    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    pd.read_parquet(data / "persons.parquet").head(3).to_csv(data / "persons.csv", index=False)
    (problem,) = verify_cohort(first_run.out, data).problems
    assert problem.startswith(f"data {data}: ") and "persons" in problem
    (data / "persons.csv").unlink()
    (data / "justice.parquet").rename(tmp_path / "justice.parquet")
    (data / "justice.parquet").symlink_to(tmp_path / "justice.parquet")  # the same bytes
    assert verify_cohort(first_run.out, data).problems == [
        "input justice.parquet: a symbolic link; a run reads no table behind one"
    ]


def test_a_manifest_listing_no_outputs_is_no_cohort(first_run, tmp_path) -> None:
    folder = tmp_path / "2025Q1"
    shutil.copytree(first_run.out, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "outputs": {}}))
    result = _verify(str(folder))
    assert result.exit_code == 2 and "manifest.json lists no outputs" in result.output


def test_the_rows_set_aside_are_tied_to_their_cohort(county, tmp_path) -> None:
    from riskstrat.scoring import score_cohort

    out, rejected = tmp_path / "2025Q1", tmp_path / "2025Q1-rejected"
    score_cohort(
        county / "data",
        "2025-01-01",
        county / "bundle",
        out,
        mode="quarantine",
        rejected_dir=rejected,
    )
    recorded = json.loads((out / "manifest.json").read_text())["rejected_files"]
    assert recorded == {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in rejected.glob("*.parquet")
    }
    assert "persons.parquet" in recorded
    assert verify_cohort(out, rejected_dir=rejected).ok
    (rejected / "persons.parquet").write_bytes(b"")  # emptied by a later run, say
    (problem,) = verify_cohort(out, rejected_dir=rejected).problems
    assert problem.startswith("rejected persons.parquet: sha256 ")
    result = _verify(str(out), "--rejected-dir", str(rejected))
    assert result.exit_code == 1 and "rejected persons.parquet" in result.output


def test_a_damaged_input_a_foreign_name_and_an_old_manifest(first_run, county, tmp_path) -> None:
    data = tmp_path / "data"
    shutil.copytree(county / "data", data)
    (data / "pharmacy.parquet").write_bytes(b"PAR1bad")  # unreadable: still only a change
    (problem,) = verify_cohort(first_run.out, data).problems
    assert problem.startswith("input pharmacy.parquet: sha256 ")
    # A manifest naming a file outside its folder does not vouch for it.
    folder = tmp_path / "2025Q1"
    shutil.copytree(first_run.out, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    outside = tmp_path / "x.csv"
    outside.write_text("x")
    manifest["outputs"]["../x.csv"] = hashlib.sha256(b"x").hexdigest()
    del manifest["rejected_files"]  # as a manifest written before they were recorded
    (folder / "manifest.json").write_text(json.dumps(manifest))
    check = verify_cohort(folder, rejected_dir=tmp_path)
    assert check.problems == [
        "../x.csv: not a file name of the folder; the manifest is not a run's"
    ]
    (note,) = check.notes
    assert "not checked, the manifest records no rejected files" in note


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (
            lambda m: m.update(as_of="2025-04-01"),
            [
                "manifest as_of 2025-04-01, but cohort.parquet's rows are as of 2025-01-01",
                "manifest as_of 2025-04-01, but summary.json's is 2025-01-01",
            ],
        ),
        (
            lambda m: m.update(as_of="2025-13-01"),
            ["manifest as_of '2025-13-01': not a date (YYYY-MM-DD)"],
        ),
        (
            lambda m: m["tables"]["persons"].update(accepted=590),
            ["manifest tables persons: rows_in 600 is not accepted 590 + rejected 0"],
        ),
        (
            lambda m: m["tables"]["persons"].update(accepted=590, rejected=10),
            [
                "manifest tables persons: rejected 10, but rejected_by_check counts 0",
                "manifest rejected_rows 0, but its tables' rejected add up to 10",
            ],
        ),
        (
            lambda m: m.update(rejected_rows=5),
            ["manifest rejected_rows 5, but its tables' rejected add up to 0"],
        ),
        (
            lambda m: m.update(previous_offers={"as_of": "2025-01-01", "sha256": "0" * 64}),
            [
                "manifest previous_offers as of '2025-01-01': expected a date before the "
                "cohort's 2025-01-01"
            ],
        ),
    ],
)
def test_a_manifest_edited_by_hand_is_caught_by_what_it_says(first_run, tmp_path, edit, said):
    # Its checksums still match the outputs: only its content can give it away.
    folder = tmp_path / "2025Q1"
    shutil.copytree(first_run.out, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    edit(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert verify_cohort(folder).problems == said
    assert _verify(str(folder)).exit_code == 1
