"""A run that reads no earlier run while one stands beside its output folder.

Quarters of one offer chain kept side by side (``cohorts/2025Q3``, ``cohorts/2025Q4``), or
in year folders side by side (``cohorts/2025/Q4``, ``cohorts/2026/Q1``): the next one scored
without ``--previous`` would offer again the places the last one's offers hold. Scored so, the demo's 2025Q4 list gave 917 of its 1,386 places to people 2025Q3 had
just offered the same programme.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from riskstrat.scoring._errors import ScoringConfigError
from riskstrat.scoring._offers import OFFERS_FILE
from riskstrat.scoring._previous import a_quarter_apart, two_quarters_apart

logger = logging.getLogger(__name__)

BESIDE, NEAR = "beside --out", "near --out"

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
    found, unreadable = earlier_beside(out, as_of)
    if found is None:
        for path, reason in [] if new_chain else unreadable:
            where = BESIDE if path.parent == Path(out).parent else NEAR
            logger.warning(UNREADABLE_BESIDE.format(path=path, where=where, reason=reason))
        return None
    path, earlier = found
    where = BESIDE if path.parent == Path(out).parent else NEAR
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
    """The latest run beside ``out`` that ``--previous`` could read for ``as_of`` and its
    as-of date (None if none), and the folders beside it this account cannot read.

    Hidden names are a run's work folders, not runs. Of runs of one date, a folder is named
    before a link to one (``latest``, which moves on); a link alone, by the folder it
    leads to.
    """
    out = Path(out)
    try:
        beside = [p for p in out.parent.iterdir() if p.name != out.name]
    except FileNotFoundError:  # a new year's folder, made by the run
        beside = []
    except OSError:  # the output checks say what is wrong with the folder
        return None, []
    found, unreadable = [], []
    for folder in sorted(beside) + _other_years(out.parent):
        if folder.name.startswith("."):
            continue
        try:
            day = _earlier_run(folder, as_of)
        except PermissionError as exc:
            if folder.is_dir():
                unreadable.append((folder, exc.strerror or "permission denied"))
            continue
        if day is not None:
            found.append((day, not folder.is_symlink(), str(folder)))
    if not found:
        return None, unreadable
    day, real, name = max(found)
    path = Path(name)
    return (path if real else path.resolve(), day), unreadable


def _other_years(parent: Path) -> list[Path]:
    """With ``--out`` in a year's folder (``cohorts/2026/Q1``), the folders in the other
    years' folders beside it (``cohorts/2025/Q4``): a chain crosses years there. Only
    four-digit names are read, so a county's unrelated folders beside its year folders are
    not taken for runs."""
    if not _is_year(parent.name):
        return []
    try:
        years = [p for p in parent.parent.iterdir() if _is_year(p.name) and p.name != parent.name]
    except OSError:
        return []
    folders = []
    for year in sorted(years):
        try:
            folders += sorted(year.iterdir()) if year.is_dir() else []
        except OSError:
            continue  # another year's folder this account cannot list: not this run's
    return folders


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
