"""A run without --previous beside an earlier quarter's run: refused, named, or warned of."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

import pytest

from riskstrat.scoring._chain_beside import check_chain, earlier_beside
from riskstrat.scoring._errors import ScoringConfigError

Q4 = dt.date(2025, 10, 1)


def _run(folder: Path, as_of: str) -> Path:
    """What earlier_beside reads of a run: its manifest and its offers ledger."""
    folder.mkdir(parents=True)
    outputs = {"cohort.parquet": "0" * 64, "offers.parquet": "1" * 64}
    manifest = {"manifest_version": 1, "as_of": as_of, "outputs": outputs}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "offers.parquet").write_bytes(b"PAR1")
    return folder


def test_last_quarter_beside_is_named_with_both_ways_on(tmp_path) -> None:
    _run(tmp_path / "2025Q3", "2025-07-01")
    _run(tmp_path / "2025Q2", "2025-04-01")
    with pytest.raises(ScoringConfigError) as info:
        check_chain(tmp_path / "2025Q4", Q4, None, new_chain=False)
    assert str(info.value) == (
        f"no --previous: {tmp_path / '2025Q3'}, beside --out, is the run as of 2025-07-01; "
        "without it nobody is held back for its offers, and the places its offers hold would "
        f"be offered again; expected --previous {tmp_path / '2025Q3'}, or --new-chain "
        "(new_chain=True) if the offer chain is meant to start again here"
    )
    check_chain(tmp_path / "2025Q4", Q4, tmp_path / "2025Q3", new_chain=False)
    with pytest.raises(ScoringConfigError, match="--previous and --new-chain: pass one"):
        check_chain(tmp_path / "2025Q4", Q4, tmp_path / "2025Q3", new_chain=True)


def test_a_run_less_than_a_quarter_before_or_later_is_not_an_earlier_quarter(tmp_path) -> None:
    _run(tmp_path / "2025Q4", "2025-10-01")  # this quarter's, rerun with --overwrite
    _run(tmp_path / "2026Q1", "2026-01-01")
    _run(tmp_path / "adhoc", "2025-07-12")  # 11 days short of a quarter; 10 days' slack
    assert earlier_beside(tmp_path / "2025Q4", Q4) == (None, [])
    _run(tmp_path / "july", "2025-07-11")  # 10 days short: a schedule drifting
    assert earlier_beside(tmp_path / "2025Q4", Q4) == (
        (tmp_path / "july", dt.date(2025, 7, 11)),
        [],
    )


def test_two_quarters_back_the_hint_names_allow_gap(tmp_path) -> None:
    _run(tmp_path / "2025Q2", "2025-04-01")
    with pytest.raises(ScoringConfigError) as info:
        check_chain(tmp_path / "2025Q4", Q4, None, new_chain=False)
    assert (
        f"expected --previous {tmp_path / '2025Q2'} with --allow-gap (183 days earlier: if no "
        "run was made in between), or --new-chain" in str(info.value)
    )


def test_work_folders_are_not_runs_and_a_lone_link_names_its_folder(tmp_path) -> None:
    _run(tmp_path / ".2025Q3.tmp-999999-abcdef", "2025-07-01")
    assert earlier_beside(tmp_path / "2025Q4", Q4) == (None, [])
    runs = tmp_path.parent / f"{tmp_path.name}-runs"
    _run(runs / "2025Q3", "2025-07-01")
    (tmp_path / "latest").symlink_to(runs / "2025Q3")
    found, _ = earlier_beside(tmp_path / "2025Q4", Q4)
    assert found == ((runs / "2025Q3").resolve(), dt.date(2025, 7, 1))
    # Beside the folder itself, the folder.
    _run(tmp_path / "2025Q3", "2025-07-01")
    found, _ = earlier_beside(tmp_path / "2025Q4", Q4)
    assert found == (tmp_path / "2025Q3", dt.date(2025, 7, 1))


def test_new_chain_is_warned_of_and_a_folder_it_cannot_read_too(
    tmp_path, monkeypatch, caplog
) -> None:
    _run(tmp_path / "2025Q3", "2025-07-01")
    with caplog.at_level(logging.WARNING):
        # The unread run's date, for the manifest.
        assert check_chain(tmp_path / "2025Q4", Q4, None, new_chain=True) == dt.date(2025, 7, 1)
    assert caplog.messages == [
        f"--new-chain: {tmp_path / '2025Q3'}, beside --out, is the run as of 2025-07-01; its "
        "offers are not read: nobody is held back for them and the offer chain starts again here"
    ]
    caplog.clear()
    # Runs are their owner's only (0700): another account cannot tell one from a stranger.
    # Root, who runs CI, is not stopped by permission bits: raise what a user would get.
    reading = Path.read_text

    def refused(path, *args, **kwargs):
        if path.parent.name == "2025Q3":
            raise PermissionError(13, "Permission denied", str(path))
        return reading(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refused)
    with caplog.at_level(logging.WARNING):
        check_chain(tmp_path / "2025Q4", Q4, None, new_chain=False)
    assert caplog.messages == [
        f"{tmp_path / '2025Q3'}, beside --out, cannot be read by this account (Permission "
        f"denied); if it is an earlier quarter's run, score with --previous "
        f"{tmp_path / '2025Q3'} from an account that can read it, or nobody is held back for "
        "its offers"
    ]


def test_a_chain_across_year_folders_is_caught_and_only_year_folders_are_read(tmp_path) -> None:
    # cohorts/2025/Q4 then cohorts/2026/Q1: the earlier run sits in last year's folder.
    cohorts = tmp_path / "cohorts"
    _run(cohorts / "2025" / "Q3", "2025-07-01")
    _run(cohorts / "2025" / "Q4", "2025-10-01")
    q1 = dt.date(2026, 1, 1)
    with pytest.raises(ScoringConfigError) as info:
        check_chain(cohorts / "2026" / "Q1", q1, None, new_chain=False)
    assert str(info.value).startswith(
        f"no --previous: {cohorts / '2025' / 'Q4'}, in 2025, another year's folder beside "
        "--out's, is the run as of 2025-10-01;"
    )
    # Within a year's folder the run beside it is the one named, as "beside".
    _run(cohorts / "2026" / "Q1", "2026-01-01")
    found, _ = earlier_beside(cohorts / "2026" / "Q2", dt.date(2026, 4, 1))
    assert found == (cohorts / "2026" / "Q1", dt.date(2026, 1, 1))
    # Folders beside the years that are not years are not searched inside.
    other = tmp_path / "elsewhere"
    _run(other / "archive" / "old", "2025-10-01")
    (other / "2024").mkdir()
    assert earlier_beside(other / "2026" / "Q1", q1) == (None, [])


def test_year_folders_are_searched_only_when_out_is_in_one(tmp_path) -> None:
    # Year folders beside --out's folder, but --out is not in a year's folder: not read.
    _run(tmp_path / "2025" / "Q4", "2025-10-01")
    (tmp_path / "cohorts").mkdir()
    assert earlier_beside(tmp_path / "cohorts" / "2026Q1", dt.date(2026, 1, 1)) == (None, [])
    # A later year's folder holds no earlier quarter; a year "folder" that is a file is skipped.
    _run(tmp_path / "c" / "2027" / "Q1", "2025-10-01")
    (tmp_path / "c" / "2024").write_text("not a folder")
    assert earlier_beside(tmp_path / "c" / "2026" / "Q1", dt.date(2026, 1, 1)) == (None, [])


def test_a_switch_from_flat_quarters_to_year_folders_is_caught(tmp_path) -> None:
    _run(tmp_path / "cohorts" / "2025Q4", "2025-10-01")
    with pytest.raises(ScoringConfigError, match="beside --out's year folder, is the run"):
        check_chain(tmp_path / "cohorts" / "2026" / "Q1", dt.date(2026, 1, 1), None, False)


def test_a_relative_out_in_a_year_folder_is_searched_as_its_absolute_path(
    tmp_path, monkeypatch
) -> None:
    _run(tmp_path / "cohorts" / "2025" / "Q4", "2025-10-01")
    (tmp_path / "cohorts" / "2026").mkdir()
    monkeypatch.chdir(tmp_path / "cohorts" / "2026")
    found, _ = earlier_beside(Path("Q1"), dt.date(2026, 1, 1))
    assert found == (tmp_path / "cohorts" / "2025" / "Q4", dt.date(2025, 10, 1))


def test_a_year_folder_that_cannot_be_listed_or_entered_is_warned_of(
    tmp_path, monkeypatch, caplog
) -> None:
    # Tests run as root, which permissions do not stop: the refusals are simulated.
    cohorts = tmp_path / "cohorts"
    _run(cohorts / "2025" / "Q4", "2025-10-01")
    real_scandir, real_is_dir = os.scandir, Path.is_dir

    def scandir(path):
        if Path(path).name == "2025":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    out = cohorts / "2026" / "Q1"
    with caplog.at_level(logging.WARNING):
        check_chain(out, dt.date(2026, 1, 1), None, new_chain=False)
    assert f"{cohorts / '2025'}, in 2025, another year's folder beside --out's, cannot be read" in (
        caplog.text
    )
    monkeypatch.setattr(os, "scandir", real_scandir)
    caplog.clear()

    # Listable but not enterable: the manifest cannot be read, nor can it be told whether
    # the entry is a folder; warned of, not an error.
    def manifest_refused(self, *args, **kwargs):
        if self.name == "manifest.json" and self.parent.parent.name == "2025":
            raise PermissionError(13, "Permission denied")
        return real_read_text(self, *args, **kwargs)

    def is_dir(self, *args, **kwargs):
        if self.parent.name == "2025":
            raise PermissionError(13, "Permission denied")
        return real_is_dir(self, *args, **kwargs)

    real_read_text = Path.read_text
    monkeypatch.setattr(Path, "read_text", manifest_refused)
    monkeypatch.setattr(Path, "is_dir", is_dir)
    with caplog.at_level(logging.WARNING):
        check_chain(out, dt.date(2026, 1, 1), None, new_chain=False)
    assert f"{cohorts / '2025' / 'Q4'}, in 2025, another year's folder" in caplog.text
