from __future__ import annotations

import os
import shutil
import stat

import pandas as pd
import pytest

from riskstrat.scoring import atomic_output_dir
from riskstrat.scoring._write import OutputExistsError, dumps_json, write_csv, write_parquet


def _frame():
    return pd.DataFrame(
        {
            "person_id": pd.array(["b", "a"], dtype="str"),
            "risk": [0.1 + 0.2, 1 / 3],
            "rank": pd.array([1, None], dtype="Int64"),
        }
    )


def test_block_success_renames_into_place(tmp_path):
    out = tmp_path / "cohort"
    with atomic_output_dir(out) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".cohort.tmp-")
        (tmp / "a.txt").write_text("x")
        assert not out.exists()
    assert (out / "a.txt").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["cohort"]


def test_two_overwriting_runs_at_once_leave_the_first_to_finish_and_refuse_the_other(tmp_path):
    # Two jobs told to --overwrite one quarter (cron and a hand re-run): the later finisher
    # would replace the other's cohort while that one's log says it succeeded.
    out = tmp_path / "cohort"
    out.mkdir()
    (out / "a.txt").write_text("earlier run")
    with (
        pytest.raises(OutputExistsError, match="replaced or removed by another run"),
        atomic_output_dir(out, overwrite=True) as tmp,
    ):
        (tmp / "a.txt").write_text("this run")
        with atomic_output_dir(out, overwrite=True) as other:
            (other / "a.txt").write_text("the other run")
    assert (out / "a.txt").read_text() == "the other run"
    assert [p.name for p in tmp_path.iterdir()] == ["cohort"]
    # Nothing there when it started, one there now: the other run's, kept.
    shutil.rmtree(out)
    with (
        pytest.raises(OutputExistsError, match="written by another run while this one"),
        atomic_output_dir(out, overwrite=True),
        atomic_output_dir(out, overwrite=True) as other,
    ):
        (other / "a.txt").write_text("the other run")
    assert (out / "a.txt").read_text() == "the other run"
    # One run alone replaces what was there.
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "a.txt").write_text("this run")
    assert (out / "a.txt").read_text() == "this run"


def test_a_folder_removed_and_written_again_meanwhile_is_not_taken_for_the_one_found(tmp_path):
    # A freed inode number goes to the next folder made (ext4 does so at once): the folder
    # found is held open, so the other run's new one cannot pass for it.
    out = tmp_path / "cohort"
    for trial in range(5):
        out.mkdir()
        with (
            pytest.raises(OutputExistsError, match="replaced or removed by another run"),
            atomic_output_dir(out, overwrite=True) as tmp,
        ):
            (tmp / "a.txt").write_text("this run")
            shutil.rmtree(out)
            with atomic_output_dir(out) as other:
                (other / "a.txt").write_text(f"the other run {trial}")
        assert (out / "a.txt").read_text() == f"the other run {trial}"
        shutil.rmtree(out)


def test_a_linked_output_folder_is_replaced_and_its_link_leaves_nothing_beside(tmp_path):
    target = tmp_path / "elsewhere" / "cohort"
    target.mkdir(parents=True)
    out = tmp_path / "out" / "cohort"
    out.parent.mkdir()
    out.symlink_to(target, target_is_directory=True)
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "a.txt").write_text("this run")
    assert not out.is_symlink() and (out / "a.txt").read_text() == "this run"
    assert [p.name for p in out.parent.iterdir()] == ["cohort"]


def test_an_output_folder_is_its_owners_only_whatever_the_umask(tmp_path):
    out = tmp_path / "cohort"
    previous = os.umask(0o022)  # a usual umask: files 0644, readable by everyone
    try:
        with atomic_output_dir(out) as tmp:
            (tmp / "cohort.csv").write_text("x")
            (tmp / "plots").mkdir()
            (tmp / "plots" / "a.png").write_bytes(b"x")
    finally:
        os.umask(previous)
    modes = {
        p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in [out, *out.rglob("*")]
    }
    assert modes == {
        "cohort": 0o700,
        "cohort/cohort.csv": 0o600,
        "cohort/plots": 0o700,
        "cohort/plots/a.png": 0o600,
    }


def test_a_folder_of_rows_set_aside_is_its_owners_only_when_made(tmp_path):
    from riskstrat._atomic import staged_files

    rejected = tmp_path / "rejected"
    previous = os.umask(0o022)
    try:
        with staged_files(rejected) as tmp:
            (tmp / "encounters.parquet").write_bytes(b"PAR1")
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o750)  # a folder the county set up keeps its access
        with staged_files(shared) as tmp:
            (tmp / "persons.parquet").write_bytes(b"PAR1")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(rejected.stat().st_mode) == 0o700
    assert stat.S_IMODE(shared.stat().st_mode) == 0o750


def test_exception_leaves_nothing(tmp_path):
    out = tmp_path / "cohort"
    with pytest.raises(RuntimeError, match="crash"), atomic_output_dir(out) as tmp:
        (tmp / "half.parquet").write_bytes(b"PAR1")
        raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []
    # Parent folders made for the output go too; one that held something before stays.
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "keep.txt").write_text("x")
    out = tmp_path / "runs" / "new" / "sub" / "2025Q4"
    with pytest.raises(RuntimeError, match="crash"), atomic_output_dir(out):
        raise RuntimeError("crash")
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["keep.txt"]


def test_existing_folder_is_refused_or_replaced(tmp_path):
    out = tmp_path / "cohort"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(OutputExistsError, match="already exists"), atomic_output_dir(out):
        pass
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["cohort"]


def test_failed_overwrite_keeps_the_previous_run(tmp_path):
    out = tmp_path / "cohort"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_output_dir(out, overwrite=True):
        raise RuntimeError("crash")
    assert (out / "old.txt").read_text() == "old"


def test_writers_are_byte_identical_and_round_trip(tmp_path):
    write_parquet(_frame(), tmp_path / "a.parquet")
    write_parquet(_frame(), tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    back = pd.read_parquet(tmp_path / "a.parquet")
    assert back["risk"].tolist() == [0.1 + 0.2, 1 / 3]  # full float precision
    assert back["rank"].isna().tolist() == [False, True]
    write_csv(_frame(), tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_text() == (
        "person_id,risk,rank\nb,0.30000000000000004,1\na,0.3333333333333333,\n"
    )


def test_json_is_sorted_and_stable():
    assert dumps_json({"b": 1, "a": {"d": 2, "c": 3}}) == (
        '{\n  "a": {\n    "c": 3,\n    "d": 2\n  },\n  "b": 1\n}\n'
    )


def test_work_folders_of_killed_runs_are_removed(tmp_path) -> None:
    # A run killed mid-write (SIGKILL) leaves its work folder; the next run removes it,
    # but never the work of a live process or a folder it did not name.
    dead = _dead_pid()
    stale = tmp_path / f".cohort.tmp-{dead}-abc123"
    stale_old = tmp_path / f".cohort.old-{dead}-def456"
    live = tmp_path / f".cohort.tmp-{os.getpid()}-xyz789"
    foreign = tmp_path / ".cohort.tmp-notapid-1"
    for folder in (stale, stale_old, live, foreign):
        folder.mkdir()
        (folder / "part.csv").write_text("x\n")
    # A linked --out exchanged aside whose target has gone since: a link to nothing.
    dangling = tmp_path / f".cohort.tmp-{dead}-link"
    dangling.symlink_to(tmp_path / "gone", target_is_directory=True)
    (tmp_path / "cohort").mkdir()  # the swap had finished: the .old folder is debris
    with atomic_output_dir(tmp_path / "cohort", overwrite=True) as tmp:
        (tmp / "cohort.csv").write_text("person_id\n")
    assert not stale.exists() and not stale_old.exists() and not dangling.is_symlink()
    assert live.exists() and foreign.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["cohort"]


def _dead_pid() -> int:
    """A process id no process has: above any Linux hands out (pid_max is at most 2^22).
    An exited child's id could be handed out again while the test runs."""
    return 2**22 + 1


def test_a_previous_output_left_aside_by_a_killed_swap_is_put_back(tmp_path) -> None:
    # Killed between moving the old cohort aside and the new one in: the old one is the
    # only copy. The next run restores it, then refuses to replace it unasked, and even a
    # run that then fails keeps it.
    aside = tmp_path / f".cohort.old-{_dead_pid()}-abc123"
    aside.mkdir()
    (aside / "cohort.csv").write_text("previous\n")
    with (
        pytest.raises(OutputExistsError, match="already exists"),
        atomic_output_dir(tmp_path / "cohort"),
    ):
        pass
    assert (tmp_path / "cohort" / "cohort.csv").read_text() == "previous\n"
    assert not aside.exists()
    aside.mkdir()
    (aside / "cohort.csv").write_text("older\n")
    with pytest.raises(RuntimeError), atomic_output_dir(tmp_path / "cohort", overwrite=True):
        raise RuntimeError("model not found")
    assert (tmp_path / "cohort" / "cohort.csv").read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["cohort"]


def test_an_overwrite_swaps_in_one_step(tmp_path, monkeypatch) -> None:
    # Where the kernel can exchange two folders, there is no moment without an output.
    from riskstrat import _atomic

    out = tmp_path / "cohort"
    out.mkdir()
    (out / "cohort.csv").write_text("old\n")
    renames = []
    original = type(out).rename
    monkeypatch.setattr(
        type(out),
        "rename",
        lambda self, target: renames.append(self.name) or original(self, target),
    )
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "cohort.csv").write_text("new\n")
    assert (out / "cohort.csv").read_text() == "new\n"
    probe = tmp_path / "probe"
    (probe / "a").mkdir(parents=True)
    (probe / "b").mkdir()
    if _atomic._exchange(probe / "a", probe / "b"):  # the kernel and file system can
        assert "cohort" not in renames  # the old output was never renamed aside
    shutil.rmtree(probe)
    assert [p.name for p in tmp_path.iterdir()] == ["cohort"]


def test_an_overwrite_without_an_exchange_renames_aside_and_leaves_nothing(
    tmp_path, monkeypatch
) -> None:
    # Where the kernel cannot exchange (not Linux, or a file system without it).
    from riskstrat import _atomic

    monkeypatch.setattr(_atomic, "_exchange", lambda a, b: False)
    out = tmp_path / "cohort"
    out.mkdir()
    (out / "cohort.csv").write_text("old\n")
    with atomic_output_dir(out, overwrite=True) as tmp:
        (tmp / "cohort.csv").write_text("new\n")
    assert (out / "cohort.csv").read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["cohort"]


def _signal_as_made(monkeypatch, name: str = ".") -> None:
    """Ctrl-C lands just after a folder or file whose name starts with ``name`` is made
    (a work name, by default), before the call making it returns: Python runs a handler
    between any two steps, so it can (a scheduler's SIGTERM, sent as soon as the work
    folder appeared, once left it behind)."""
    from pathlib import Path

    def landing(made):
        def call(path, *args, **kwargs):
            result = made(path, *args, **kwargs)
            if Path(path).name.startswith(name):
                if isinstance(result, int):
                    os.close(result)
                raise KeyboardInterrupt
            return result

        return call

    monkeypatch.setattr(Path, "mkdir", landing(Path.mkdir))
    monkeypatch.setattr(os, "open", landing(os.open))


def test_a_signal_as_the_work_folder_is_made_leaves_nothing(tmp_path, monkeypatch) -> None:
    from riskstrat._atomic import staged_files

    (tmp_path / "keep.txt").write_text("x")
    _signal_as_made(monkeypatch)
    for out in (tmp_path / "cohort", tmp_path / "new" / "2025Q4"):
        with pytest.raises(KeyboardInterrupt), atomic_output_dir(out):
            pass
        with pytest.raises(KeyboardInterrupt), staged_files(out):
            pass
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    # Or as a folder is made for the output's place: it goes too.
    monkeypatch.undo()
    _signal_as_made(monkeypatch, "new")
    for made in (atomic_output_dir, staged_files):
        with pytest.raises(KeyboardInterrupt), made(tmp_path / "new" / "2025Q4"):
            pass
        assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_a_file_replaced_whole_leaves_nothing_beside_it_stopped_or_not(
    tmp_path, monkeypatch
) -> None:
    from riskstrat._atomic import atomic_file

    path = tmp_path / "report.json"
    with atomic_file(path) as tmp:
        assert tmp.parent == tmp_path and stat.S_IMODE(tmp.stat().st_mode) == 0o600
        tmp.write_text("new\n")
        assert not path.exists()
    assert path.read_text() == "new\n"
    with pytest.raises(RuntimeError, match="crash"), atomic_file(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert path.read_text() == "new\n"
    _signal_as_made(monkeypatch)
    with pytest.raises(KeyboardInterrupt), atomic_file(path):
        pass
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_scratch_folder_goes_however_its_block_ends(tmp_path, monkeypatch) -> None:
    import tempfile

    from riskstrat._atomic import scratch_folder

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with scratch_folder("riskstrat-x-") as tmp:
        assert tmp.parent == tmp_path and stat.S_IMODE(tmp.stat().st_mode) == 0o700
        (tmp / "part.csv").write_text("x\n")
    with pytest.raises(RuntimeError, match="crash"), scratch_folder() as tmp:
        (tmp / "part.csv").write_text("x\n")
        raise RuntimeError("crash")
    # Where TemporaryDirectory left its folder: a signal landing as it is made.
    _signal_as_made(monkeypatch, "riskstrat-")
    with pytest.raises(KeyboardInterrupt), scratch_folder("riskstrat-x-"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_work_name_another_made_first_is_left_alone(tmp_path, monkeypatch) -> None:
    from riskstrat import _atomic

    names = iter(["aaaaaaaaaaaa", "bbbbbbbbbbbb"])
    monkeypatch.setattr(_atomic.secrets, "token_hex", lambda _n: next(names))
    theirs = tmp_path / ".x.tmp-aaaaaaaaaaaa"
    theirs.mkdir()
    (theirs / "part.csv").write_text("x\n")
    ours = _atomic.work_path(tmp_path, ".x.tmp-")
    assert ours.name == ".x.tmp-bbbbbbbbbbbb" and stat.S_IMODE(ours.stat().st_mode) == 0o700
    assert (theirs / "part.csv").read_text() == "x\n"
