"""A folder the user may not write, a read-only mount or a full disk: one line naming the
place (exit 2), not a traceback, from every command."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from riskstrat._os_errors import unusable_path

FIXTURE = Path(__file__).parent / "data" / "fixtures" / "clean"


@pytest.mark.parametrize(
    ("exc", "named"),
    [
        # An output's hidden work file: its folder is what the operator must fix.
        (PermissionError(errno.EACCES, "Permission denied", "/out/.f.parquet.x1.tmp"), "/out"),
        (OSError(errno.EROFS, "Read-only file system", "/mnt/cohort.csv"), "/mnt/cohort.csv"),
        (OSError(errno.ENOSPC, "No space left on device"), "a file of this run"),
        # A file inside a run's hidden work folder: the folder the work folder is in.
        (OSError(errno.ENOSPC, "No space left", "/c/.q3.tmp-12-ab/persons.parquet"), "/c"),
    ],
)
def test_a_refusal_names_the_place_and_what_was_expected(exc: OSError, named: str) -> None:
    message = unusable_path(exc)
    assert message is not None and message.startswith(f"{named}: {exc.strerror}; ")
    assert "writable with room" in message


@pytest.mark.parametrize(
    "exc",
    [FileNotFoundError(errno.ENOENT, "No such file", "x"), OSError("no errno"), ValueError("x")],
)
def test_other_errors_are_left_to_their_own_handling(exc: Exception) -> None:
    assert unusable_path(exc) is None


def test_a_command_that_cannot_write_its_output_says_where(tmp_path, monkeypatch, capsys) -> None:
    import riskstrat._atomic as atomic
    import riskstrat.cli as cli

    out = tmp_path / "locked" / "features.parquet"

    made = atomic.work_path

    def refused(parent, prefix, suffix="", folder=True):
        if Path(parent) != out.parent:  # the feature stage's spill folder, say
            return made(parent, prefix, suffix, folder)
        # Root, who runs CI, is not stopped by permission bits: raise what a user would get.
        raise PermissionError(errno.EACCES, "Permission denied", f"{parent}/{prefix}x1{suffix}")

    monkeypatch.setattr(atomic, "work_path", refused)
    argv = ["riskstrat", "features", "--data", str(FIXTURE), "--as-of", "2024-01-01"]
    monkeypatch.setattr("sys.argv", [*argv, "--out", str(out)])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    err = _error_line(capsys.readouterr().err)
    assert err.startswith(f"error: {out.parent}: Permission denied; expected the inputs readable")
    assert "Traceback" not in err


def test_a_folder_given_for_a_file_says_a_file_was_expected(tmp_path) -> None:
    import pandas as pd

    from riskstrat.data import write_parquet_atomic

    with pytest.raises(IsADirectoryError) as info:
        write_parquet_atomic(pd.DataFrame({"a": [1]}), tmp_path)
    assert unusable_path(info.value) == (
        f"{tmp_path}: is a folder, not a file; expected the path of the file to write"
    )


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            'IO Error: Cannot open file "/d/persons.csv": Permission denied',
            (errno.EACCES, "/d/persons.csv"),
        ),
        (
            'IO Error: Could not write file "/s/.x.tmp-1/duckdb_temp_block": No space left on device',
            (errno.ENOSPC, "/s/.x.tmp-1/duckdb_temp_block"),
        ),
        (
            'IO Error: Cannot open file "/d/q"uote.csv": Permission denied',
            (errno.EACCES, '/d/q"uote.csv'),
        ),
        # A strerror's words inside a value DuckDB quotes are data, not a refusal.
        ('Conversion Error: Could not convert string "Permission denied" to DATE', None),
        ('IO Error: Cannot open file "/d/x.csv": No such file or directory', None),
    ],
)
def test_a_refusal_duckdb_reports_in_words_is_the_os_error_it_was(message, expected) -> None:
    from riskstrat._os_errors import refusal_in

    got = refusal_in(message)
    assert (got if got is None else (got.errno, got.filename)) == expected


def _error_line(err: str) -> str:
    """The error a command ends with, after any warnings on the data (the fixture's, as of
    today, name an old booking with no release)."""
    return next(line for line in err.splitlines() if line.startswith("error: "))


def _run_cli(monkeypatch, argv: list[str]) -> int:
    import riskstrat.cli as cli

    monkeypatch.setattr("sys.argv", ["riskstrat", *argv])
    with pytest.raises(SystemExit) as info:
        cli.main()
    return info.value.code


def test_an_input_duckdb_may_not_read_is_a_usage_error(tmp_path, monkeypatch, capsys) -> None:
    import duckdb

    import riskstrat.data._load as load

    def refused(_con, source):
        # Root, who runs CI, is not stopped by permission bits: raise what a user would get.
        raise duckdb.IOException(f'IO Error: Cannot open file "{source[1]}": Permission denied')

    monkeypatch.setattr(load, "read_relation", refused)
    code = _run_cli(monkeypatch, ["validate", str(FIXTURE)])
    err = _error_line(capsys.readouterr().err)
    # Not exit 1, "the data is bad": the operator's to fix, named as Python's own reads are.
    assert code == 2
    assert (
        err.startswith(f"error: {FIXTURE}/") and ": Permission denied; expected the inputs" in err
    )
    assert "Traceback" not in err


def test_a_full_disk_while_features_spill_is_a_usage_error(tmp_path, monkeypatch, capsys) -> None:
    import tempfile

    import duckdb

    import riskstrat.features._engine as engine

    def full(con, *_args, **_kwargs):
        spill = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        raise duckdb.IOException(
            f'IO Error: Could not write file "{spill}/duckdb_temp_block-1.block": '
            "No space left on device"
        )

    monkeypatch.setattr(engine, "_run_batched", full)
    argv = ["features", "--data", str(FIXTURE), "--as-of", "2024-01-01"]
    code = _run_cli(monkeypatch, [*argv, "--out", str(tmp_path / "f.parquet")])
    err = _error_line(capsys.readouterr().err)
    assert code == 2
    # The spill folder is gone by now: the folder it was in, and how to move it.
    assert err.startswith(
        f"error: {tempfile.gettempdir()}: No space left on device, spilling the feature "
        "queries to disk (TMPDIR sets where); expected the inputs"
    )
