"""A run that reads no earlier run while one stands beside its output folder.

Quarters of one offer chain kept side by side (``cohorts/2025Q3``, ``cohorts/2025Q4``), or
in year folders side by side (``cohorts/2025/Q4``, ``cohorts/2026/Q1``, and a switch from
the first layout to the second): the next one scored without ``--previous`` would offer
again the places the last one's offers hold. Scored so, the demo's 2025Q4 list gave 917 of
its 1,386 places to people 2025Q3 had just offered the same programme.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

from riskstrat.scoring._errors import ScoringConfigError
from riskstrat.scoring._offers import OFFERS_FILE
from riskstrat.scoring._previous import a_quarter_apart, two_quarters_apart

logger = logging.getLogger(__name__)

BESIDE = "beside --out"
BESIDE_YEARS = "beside --out's year folder"
IN_YEAR = "in {year}, another year's folder beside --out's"

EARLIER_BESIDE = (
    "no --previous: {path}, {where}, is the run as of {earlier}; without it nobody is "
    "held back for its offers, and the places its offers hold would be offered again; "
    "expected --previous {path}{gap}, or --new-chain (new_chain=True) if the offer chain is "
    "meant to start again here"
)
GAP_HINT = " with --allow-gap ({days} days earlier: if no run was made in between)"
NEW_CHAIN = (
    "--new-chain: {path}, {where}, is the run as of {earlier}; its offers are not read: "
    "nobody is held back for them and the offer chain starts again here"
)
BOTH_CHAINS = (
    "--previous and --new-chain: pass one; --previous carries on the offer chain of the run it "
    "names, --new-chain starts one here, reading no earlier run"
)
UNREADABLE_BESIDE = (
    "{path}, {where}, cannot be read by this account ({reason}); if it is an earlier "
    "quarter's run, score with --previous {path} from an account that can read it, or nobody "
    "is held back for its offers"
)


def check_chain(out: Path, as_of: dt.date, previous: object, new_chain: bool) -> dt.date | None:
    """Refuse a run reading no earlier run while one ``--previous`` could read stands beside
    ``out``, unless ``new_chain`` says a new offer chain is meant (then warned of, and the
    unread run's as-of date returned, for the manifest); warn of a folder beside it that
    this account cannot read, which may be one.

    Raises
    ------
    ScoringConfigError
        Both ``previous`` and ``new_chain``, or neither beside an earlier quarter's run.
    """
    if previous is not None and new_chain:
        raise ScoringConfigError(BOTH_CHAINS)
    if previous is not None:
        return None
    found, unreadable = _search(out, as_of)
    if found is None:
        for path, where, reason in [] if new_chain else unreadable:
            logger.warning(UNREADABLE_BESIDE.format(path=path, where=where, reason=reason))
        return None
    path, earlier, where = found
    if new_chain:
        logger.warning(NEW_CHAIN.format(path=path, where=where, earlier=earlier))
        return earlier
    apart = two_quarters_apart(earlier, as_of)
    gap = GAP_HINT.format(days=(as_of - earlier).days) if apart else ""
    text = EARLIER_BESIDE.format(path=path, where=where, earlier=earlier, gap=gap)
    raise ScoringConfigError(text)


def earlier_beside(
    out: Path, as_of: dt.date
) -> tuple[tuple[Path, dt.date] | None, list[tuple[Path, str]]]:
    """The latest run near ``out`` that ``--previous`` could read for ``as_of`` and its
    as-of date (None if none), and the folders near it this account cannot read.

    Near: beside ``out``; with ``out`` in a year's folder (``cohorts/2026/Q1``), in the
    other years' folders up to ``as_of``'s year (``cohorts/2025/``) and beside the year
    folders (``cohorts/2025Q4``, the layout before a switch to year folders). Only
    four-digit names are years, so a county's other folders are not searched. Hidden names
    are a run's work folders, not runs. Of runs of one date, a folder is named before a link
    to one (``latest``, which moves on); a link alone, by the folder it leads to.
    """
    found, unreadable = _search(out, as_of)
    return (None if found is None else found[:2]), [(p, r) for p, _w, r in unreadable]


def _search(out: Path, as_of: dt.date) -> tuple[tuple | None, list[tuple[Path, str, str]]]:
    """:func:`earlier_beside`, each path with where it is as the messages say it."""
    out = Path(out).absolute()  # a relative --out in a year's folder: its name is the year
    candidates, unreadable = _near(out, as_of)
    found = []
    for folder, where in candidates:
        if folder.name.startswith("."):
            continue
        try:
            day = _earlier_run(folder, as_of)
        except PermissionError as exc:
            if _may_be_folder(folder):
                unreadable.append((folder, where, exc.strerror or "permission denied"))
            continue
        if day is not None:
            found.append((day, not folder.is_symlink(), str(folder), where))
    if not found:
        return None, unreadable
    day, real, name, where = max(found)
    path = Path(name)
    return (path if real else path.resolve(), day, where), unreadable


def _near(out: Path, as_of: dt.date) -> tuple[list[tuple[Path, str]], list[tuple[Path, str, str]]]:
    """The folders that may hold an earlier run of ``out``'s chain, with where each is, and
    the year folders this account cannot list."""
    parent = out.parent
    try:
        candidates = [(p, BESIDE) for p in _folders(parent) if p.name != out.name]
    except FileNotFoundError:  # a new year's folder, made by the run
        candidates = []
    except OSError:  # the output checks say what is wrong with the folder
        return [], []
    unreadable = []
    if not _is_year(parent.name):
        return candidates, unreadable
    try:
        around = _folders(parent.parent)
    except OSError:
        return candidates, unreadable
    for folder in around:
        if folder.name == parent.name:
            continue
        if not _is_year(folder.name):
            candidates.append((folder, BESIDE_YEARS))  # cohorts/2025Q4 before year folders
            continue
        if int(folder.name) > as_of.year:
            continue  # a later year's folder holds no earlier quarter
        where = IN_YEAR.format(year=folder.name)
        try:
            candidates += [(p, where) for p in _folders(folder)]
        except PermissionError as exc:  # likely the earlier part of this chain
            unreadable.append((folder, where, exc.strerror or "permission denied"))
        except OSError:
            continue
    return candidates, unreadable


def _folders(folder: Path) -> list[Path]:
    """The folders (and links to folders) in ``folder``, sorted; files are skipped without a
    look inside, which a year folder full of other files would otherwise cost."""
    with os.scandir(folder) as entries:
        return sorted(Path(e.path) for e in entries if _entry_is_dir(e))


def _entry_is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return True  # cannot tell: read as a folder, whose manifest then says


def _may_be_folder(path: Path) -> bool:
    """Whether ``path`` is a folder, or may be one this account cannot look at."""
    try:
        return path.is_dir()
    except OSError:  # a folder inside one listable but not enterable
        return True


def _is_year(name: str) -> bool:
    return len(name) == 4 and name.isascii() and name.isdigit()


def _earlier_run(folder: Path, as_of: dt.date) -> dt.date | None:
    """The as-of date of ``folder`` if, at a glance, it is a run ``--previous`` reads for
    ``as_of``: a scoring manifest and its offers ledger, a quarter or more before.

    Raises
    ------
    PermissionError
        The folder or its manifest is there but this account may not read it.
    """
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        previous = dt.date.fromisoformat(manifest["as_of"])
        outputs = manifest["outputs"]
        if "manifest_version" not in manifest or not isinstance(outputs, dict):
            return None
        if not isinstance(outputs.get(OFFERS_FILE), str) or "cohort.parquet" not in outputs:
            return None
        if not (folder / OFFERS_FILE).is_file():
            return None
    except PermissionError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # not a run: nothing to say of it
    return previous if a_quarter_apart(previous, as_of) else None
