"""Where a cohort's rejected rows may go: beside ``--out``, never inside it (it is written
whole), and never over the rows another run set aside."""

from __future__ import annotations

import json
from pathlib import Path

from riskstrat.scoring._errors import ScoringConfigError
from riskstrat.scoring._write import sha256_file

REJECTED_IN_OUT = (
    "rejected_dir (--rejected-dir) {rejected} is inside out (--out) {out}, which is written "
    "whole and holds the cohort's outputs only; expected a folder beside it, such as "
    "{out}-rejected"
)

REJECTED_HELD = (
    "rejected_dir (--rejected-dir) {rejected} holds the rejected-row files of a run "
    "({held}), which this run would replace; expected a folder of this cohort's own, such as {out}-rejected "
    "(--overwrite replaces only the rows the run it replaces recorded in its manifest; rows "
    "a failed or stopped run left, or one from before riskstrat recorded them, are yours "
    "to move or remove first)"
)


def check_rejected_beside(out: Path, rejected_dir: object, *, overwrite: bool) -> None:
    """Refuse a ``--rejected-dir`` inside ``out``, or one holding rows a run set aside
    but those of the run ``--overwrite`` replaces: a folder shared by the quarters lost
    each quarter's rejected rows to the next, without a word (``--overwrite`` in every
    run of a job too)."""
    rejected = Path(str(rejected_dir)).resolve()
    if Path(out).resolve() in (rejected, *rejected.parents):
        raise ScoringConfigError(REJECTED_IN_OUT.format(rejected=rejected_dir, out=out))
    held = _held(rejected)
    if held and not (overwrite and (held, rejected.name) == _recorded(Path(out))):
        shown = ", ".join(sorted(held))
        raise ScoringConfigError(REJECTED_HELD.format(rejected=rejected_dir, held=shown, out=out))


def _held(folder: Path) -> dict[str, str]:
    """The quarantine's ``<table>.parquet`` files in ``folder``, with their sha256."""
    from riskstrat.data._codes import TABLE_NAMES

    names = (f"{t}.parquet" for t in TABLE_NAMES)
    return {n: sha256_file(folder / n) for n in names if (folder / n).is_file()}


def _recorded(out: Path) -> tuple[dict[str, str], str] | None:
    """The rejected files the run in ``out`` recorded and the folder's name, or None."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    return manifest.get("rejected_files"), manifest.get("rejected_folder")


def kept_rows_dir(rejected_dir: object) -> Path | None:
    """Where a run refused for a table rejected whole keeps the rows that explain it:
    ``rejected_dir``, unless that holds the rows of the run ``--overwrite`` was to replace
    (they stay with its cohort, which still stands), then ``<rejected_dir>-refused`` beside it."""
    if rejected_dir is None:
        return None
    from riskstrat.data._codes import TABLE_NAMES

    folder = Path(str(rejected_dir))
    if any((folder / f"{t}.parquet").is_file() for t in TABLE_NAMES):
        return folder.with_name(f"{folder.name}-refused")
    return folder
