"""Reading and verifying the offer ledger of an earlier ``riskstrat score`` run.

``riskstrat score --previous <folder>`` reads that run's ``offers.parquet`` only after
checking it against the run's manifest (sha256) and its own cohort's selections, and checks
that it names this data's persons; the manifest carries the chain's first date
(``offers_since``) and any skipped quarters (``offers_gaps``) down to every later run. What
the offers then do is :mod:`riskstrat.scoring._offers`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat.data._codes import PROGRAMS
from riskstrat.data._shown import shown_values
from riskstrat.scoring._errors import ScoringConfigError, ScoringDataError
from riskstrat.scoring._ids import isin
from riskstrat.scoring._offers import OFFER_COLUMNS, OFFER_TYPES, OFFERS_FILE
from riskstrat.scoring._selection import STATUS_OFFERED
from riskstrat.scoring._write import sha256_file

logger = logging.getLogger(__name__)

NO_PREVIOUS = "previous (--previous) {path}: no such folder; expected an earlier `riskstrat score` --out folder"
PREVIOUS_IS_FILE = (
    "previous (--previous) {path}: is a file; expected the folder an earlier `riskstrat score` wrote "
    "(its --out)"
)
NO_MANIFEST = "previous (--previous) {path}: no manifest.json; expected an earlier `riskstrat score` --out folder"
BAD_MANIFEST = "previous (--previous) {path}: manifest.json is not a scoring manifest ({problem})"
NO_LEDGER = (
    "previous (--previous) {path}: its manifest lists no {file}; the run was written by a riskstrat "
    "that kept no offers, so score that quarter again with this version first"
)
LEDGER_CHANGED = (
    "previous (--previous) {path}: {file} has sha256 {actual}, but its manifest records {expected}; "
    "the file was changed after that run"
)
LEDGER_MISSING = (
    "previous (--previous) {path}: {file} is missing; its manifest records it (sha256 {expected})"
)
LEDGER_UNREADABLE = "previous (--previous) {path}: {file} cannot be read as Parquet ({problem})"
COHORT_INCOMPLETE = (
    "previous (--previous) {path}: cohort.parquet has columns {columns}; expected person_id, program "
    "and selected"
)
LEDGER_DISAGREES = (
    "previous (--previous) {path}: {file} lists {ledger} offer(s) made on {as_of}, but that run's "
    "cohort.parquet selected {cohort}; expected the same (person_id, program) pairs"
)
NOT_EARLIER = "previous (--previous) {path}: it is as of {previous}, expected a date before {as_of}"
UNKNOWN_OFFERED = (
    "%d of the %d person(s) --previous %s offered a place are not among this data's "
    "accepted persons (ids re-pseudonymised, or persons rows set aside by validation?); offers "
    "to them cannot hold anyone back"
)
# Above this share of last quarter's offered persons missing, the warning above is given.
UNKNOWN_SHARE_WARNING = 0.1
TOO_SOON = (
    "previous (--previous) {path}: it is as of {previous}, less than a quarter before {as_of}; each run "
    "offers a quarter's places, so runs closer together would offer them twice; expected an "
    "as-of date on or after {next_run} (or up to {slack} days before it)"
)
# How early a quarter's run may come after the last one: scheduled days drift a little.
QUARTER_SLACK_DAYS = 10
BAD_LEDGER = "previous (--previous) {path}: {file} {problem}"
FOREIGN_LEDGER = (
    "previous (--previous) {path}: none of the {count} person_id value(s) its offers name is in this "
    "data's persons table; expected an earlier run on the same county"
)
SAME_FOLDER = (
    "--previous {path} {relation} --out {out}: {consequence}; expected a new --out folder "
    "for this quarter, beside last quarter's"
)
# How --previous can overlap --out, and what the run would do to the earlier folder.
_SAME = ("is the same folder as", "last quarter's cohort would be replaced")
_INSIDE = ("lies inside", "replacing --out would delete last quarter's cohort")
_HOLDS = ("holds", "this quarter's folder would sit inside last quarter's, mixing the two runs")
# A quarter's run reads the run of the quarter before. A run in between was possible when
# this one comes two quarters after the earlier (less the slack a schedule drifts by): then
# the offers it may have made are not known. A run a few days late is no gap.
CHAIN_GAP_MONTHS = 6


@dataclass(frozen=True)
class PreviousOffers:
    """The offer ledger of an earlier run.

    Attributes
    ----------
    ledger : DataFrame
        ``OFFER_COLUMNS``: the latest offer of each (person, programme) pair up to that run.
    as_of : date
        That run's as-of date.
    sha256 : str
        sha256 of the ``offers.parquet`` read, as its manifest records it.
    since : date
        The as-of date of the first run of the chain: offers made before it are not known.
    gaps : tuple of (date, date)
        Runs of the chain that read a run two quarters or more earlier: offers made between
        the two dates by a run not read are not known.
    """

    ledger: pd.DataFrame
    as_of: dt.date
    sha256: str
    since: dt.date
    gaps: tuple[tuple[dt.date, dt.date], ...] = ()


def check_apart(previous: str | Path, out: str | Path) -> None:
    """Refuse an ``out`` folder that is, holds or lies inside the earlier run's folder.

    Raises
    ------
    ScoringConfigError
        Naming which of the three it is (exit code 2).
    """
    earlier, target = Path(previous).resolve(), Path(out).resolve()
    if target == earlier:
        overlap = _SAME
    elif target in earlier.parents:
        overlap = _INSIDE
    elif earlier in target.parents:
        overlap = _HOLDS
    else:
        return
    relation, consequence = overlap
    raise ScoringConfigError(
        SAME_FOLDER.format(path=previous, relation=relation, out=out, consequence=consequence)
    )


def read_previous_offers(folder: str | Path, as_of: dt.date) -> PreviousOffers:
    """Read and verify the offer ledger an earlier ``riskstrat score`` run wrote.

    Parameters
    ----------
    folder : str or Path
        That run's output folder (``cohort.parquet``, ``offers.parquet``, ``manifest.json``).
    as_of : date
        This run's as-of date; the earlier run must be as of a date before it.

    Returns
    -------
    PreviousOffers

    Raises
    ------
    ScoringConfigError
        No such folder, no manifest, no ledger in it, or not an earlier date (exit code 2).
    ScoringDataError
        The ledger differs from what its manifest recorded, is malformed, holds offers dated
        after that run, or disagrees with that run's selections (exit code 1).
    """
    path = Path(folder)
    if path.is_file():
        raise ScoringConfigError(PREVIOUS_IS_FILE.format(path=path))
    if not path.is_dir():
        raise ScoringConfigError(NO_PREVIOUS.format(path=path))
    manifest_file = path / "manifest.json"
    if not manifest_file.is_file():
        raise ScoringConfigError(NO_MANIFEST.format(path=path))
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        previous = dt.date.fromisoformat(manifest["as_of"])
        expected = manifest["outputs"].get(OFFERS_FILE)
        cohort_sha = manifest["outputs"]["cohort.parquet"]
        since_text = manifest.get("offers_since")
        since = None if since_text is None else dt.date.fromisoformat(since_text)
        gaps = tuple(
            (dt.date.fromisoformat(a), dt.date.fromisoformat(b))
            for a, b in manifest.get("offers_gaps") or ()
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ScoringConfigError(BAD_MANIFEST.format(path=path, problem=exc)) from exc
    if since is not None and since > previous:
        raise ScoringConfigError(
            BAD_MANIFEST.format(path=path, problem=f"offers_since {since} after as_of {previous}")
        )
    if expected is None:
        raise ScoringConfigError(NO_LEDGER.format(path=path, file=OFFERS_FILE))
    if previous >= as_of:
        raise ScoringConfigError(NOT_EARLIER.format(path=path, previous=previous, as_of=as_of))
    next_run = (pd.Timestamp(previous) + pd.DateOffset(months=3)).date()
    # Runs on a quarter's first Monday (2025-07-07, then 2025-10-06) fall a day or so short.
    if not a_quarter_apart(previous, as_of):
        raise ScoringConfigError(
            TOO_SOON.format(
                path=path,
                previous=previous,
                as_of=as_of,
                next_run=next_run,
                slack=QUARTER_SLACK_DAYS,
            )
        )
    ledger = _checked_ledger(_verified_table(path, OFFERS_FILE, expected), path, previous)
    cohort = _verified_table(path, "cohort.parquet", cohort_sha)
    _check_against_cohort(ledger, cohort, previous, path)
    if since is None:  # a manifest that does not say: no later than the oldest offer it holds
        since = min([previous, *ledger["offered_on"]])
    return PreviousOffers(ledger=ledger, as_of=previous, sha256=expected, since=since, gaps=gaps)


def _verified_table(path: Path, name: str, expected: str) -> pa.Table:
    file = path / name
    if not file.is_file():
        raise ScoringDataError(LEDGER_MISSING.format(path=path, file=name, expected=expected))
    actual = sha256_file(file)
    if actual != expected:
        raise ScoringDataError(
            LEDGER_CHANGED.format(path=path, file=name, actual=actual, expected=expected)
        )
    try:
        return pq.read_table(file)
    except (pa.ArrowException, OSError) as exc:
        raise ScoringDataError(LEDGER_UNREADABLE.format(path=path, file=name, problem=exc)) from exc


def _check_against_cohort(
    ledger: pd.DataFrame, cohort: pa.Table, as_of: dt.date, path: Path
) -> None:
    """The offers dated on that run's as-of date are exactly the pairs its cohort selected."""
    try:
        frame = cohort.select(["person_id", "program", "selected"]).to_pandas()
    except KeyError as exc:
        raise ScoringDataError(
            COHORT_INCOMPLETE.format(path=path, columns=cohort.column_names)
        ) from exc
    chosen = frame.loc[frame["selected"].astype(bool), ["person_id", "program"]]
    dated = ledger.loc[ledger["offered_on"] == as_of, ["person_id", "program"]]
    if _pairs(dated) != _pairs(chosen):
        raise ScoringDataError(
            LEDGER_DISAGREES.format(
                path=path, file=OFFERS_FILE, ledger=len(dated), as_of=as_of, cohort=len(chosen)
            )
        )


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    ids, programs = frame["person_id"].astype("str"), frame["program"].astype("str")
    return set(zip(ids, programs, strict=True))


def _checked_ledger(table: pa.Table, path: Path, as_of: dt.date) -> pd.DataFrame:
    def refuse(problem: str) -> ScoringDataError:
        return ScoringDataError(BAD_LEDGER.format(path=path, file=OFFERS_FILE, problem=problem))

    if tuple(table.column_names) != OFFER_COLUMNS:
        raise refuse(f"has columns {table.column_names}; expected {list(OFFER_COLUMNS)}")
    try:
        table = table.cast(pa.schema([(name, OFFER_TYPES[name]) for name in OFFER_COLUMNS]))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise refuse(
            f"has column types {[str(t) for t in table.schema.types]}; expected string, "
            "string, date32"
        ) from exc
    frame = table.to_pandas(date_as_object=True)
    checks = (
        (frame.isna().any(axis=1), "with an empty value; expected every value"),
        (
            frame.duplicated(["person_id", "program"], keep=False),
            "repeating a (person_id, program) pair; expected one row per pair",
        ),
        (frame["person_id"].fillna("").str.strip().str.len() == 0, "with a blank person_id"),
        (~frame["program"].isin(PROGRAMS), _unknown_programmes(frame)),
        (
            (pd.to_datetime(frame["offered_on"]) > pd.Timestamp(as_of)).to_numpy(),
            f"dated after that run's as-of date {as_of}; expected none later",
        ),
    )
    for bad, what in checks:
        if bad.any():
            raise refuse(f"has {int(bad.sum())} row(s) {what}")
    return frame.astype({"person_id": "str", "program": "str"})


def _unknown_programmes(frame: pd.DataFrame) -> str:
    """The unknown programmes a message may show: a ledger is person-level, so a value
    typed into one person's row is theirs (the data's rule, :func:`shown_values`)."""
    bad = frame["program"].dropna()
    shown, hidden = shown_values(frame, bad[~bad.isin(PROGRAMS)])
    listed = [repr(sorted(shown))] if shown else []
    listed += [f"{hidden} {'other ' if shown else ''}value(s) not shown"] if hidden else []
    return f"with a programme not among {list(PROGRAMS)}" + (
        f" ({'; '.join(listed)})" if listed else ""
    )


def chain_gaps(previous: PreviousOffers | None, as_of: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The chain's stretches where a run may not have been read, this run's step included."""
    if previous is None:
        return []
    gaps = list(previous.gaps)
    if two_quarters_apart(previous.as_of, as_of):
        gaps.append((previous.as_of, as_of))
    return gaps


def a_quarter_apart(earlier: dt.date, as_of: dt.date) -> bool:
    """Whether a run as of ``earlier`` is a quarter or more before ``as_of``: the next
    quarter's run (with the slack of a drifting schedule)."""
    return _months_apart(earlier, as_of, 3)


def two_quarters_apart(earlier: dt.date, as_of: dt.date) -> bool:
    """Whether a run as of ``earlier`` is two quarters or more before ``as_of``: a run in
    between was possible (with the slack of a drifting schedule)."""
    return _months_apart(earlier, as_of, CHAIN_GAP_MONTHS)


def _months_apart(earlier: dt.date, as_of: dt.date, months: int) -> bool:
    due = (pd.Timestamp(earlier) + pd.DateOffset(months=months)).date()
    return as_of >= due - dt.timedelta(days=QUARTER_SLACK_DAYS)


def offer_facts(
    previous: PreviousOffers | None,
    scored: Any,
    config: Any,
    as_of: dt.date,
    gaps: list[tuple[dt.date, dt.date]],
    unknown_persons: int | None,
) -> dict[str, Any] | None:
    """What the summary says of the earlier run's offers (None: no ``--previous`` given).

    ``scored`` is the run's ``ScoredCohort``; ``gaps`` come from :func:`chain_gaps`.
    """
    if previous is None:
        return None
    return {
        "as_of": previous.as_of.isoformat(),
        "days_before": (as_of - previous.as_of).days,
        "offers_since": previous.since.isoformat(),
        # Every stretch of the chain with a run possibly not read, this one's included.
        "offers_gaps": [[a.isoformat(), b.isoformat()] for a, b in gaps],
        "reoffer_after_months": config.selection.reoffer_after_months,
        "offers_known": len(previous.ledger),
        "offers_open": scored.offers_open,
        "offers_taken_up": scored.offers_taken_up,
        "offers_replaced": scored.offers_replaced,
        "offers_renewed": scored.offers_renewed,
        "offers_not_eligible": scored.offers_not_eligible,
        "offers_of_persons_not_in_data": unknown_persons,
        "rows_held_back": int((scored.cohort["status"] == STATUS_OFFERED).sum()),
    }


def check_same_county(previous: PreviousOffers, person_ids: pd.Series, path: str | Path) -> int:
    """Refuse a ledger none of whose persons is in this data; return how many are not.

    Persons leave a county's data (they move, or records are corrected), so a few unknown
    ids are expected; none known at all means another county's run was given.
    """
    named = pd.Series(previous.ledger["person_id"].unique())
    missing = int((~isin(named, person_ids)).sum())
    if len(named) and missing == len(named):
        raise ScoringDataError(FOREIGN_LEDGER.format(path=path, count=len(named)))
    if len(named) and missing > UNKNOWN_SHARE_WARNING * len(named):
        # A quarter's moves and corrections lose a few; this many is a changed pseudonym
        # key, and the people offered last quarter would be offered again under new ids.
        logger.warning(UNKNOWN_OFFERED, missing, len(named), path)
    return missing


CHAIN_GAP = (
    "--previous: the run as of {as_of} is {days} days earlier; offers made by any run in "
    "between are not known"
)
GAP_REFUSED = (
    "previous (--previous): the run as of {as_of} is {days} days earlier, two quarters or more: "
    "the offers of a run in between are not known, and the people it offered would be "
    "offered again; expected last quarter's folder, or allow_gap (--allow-gap) when no run "
    "was made in between"
)


def checked_gaps(
    previous: PreviousOffers | None, as_of: dt.date, allow_gap: bool
) -> list[tuple[dt.date, dt.date]]:
    """:func:`chain_gaps`, refusing (or, with ``allow_gap``, warning of) a step of this run
    two quarters or more back (a run in between was possible)."""
    gaps = chain_gaps(previous, as_of)
    if previous is not None and gaps[-1:] == [(previous.as_of, as_of)]:
        days = (as_of - previous.as_of).days
        if not allow_gap:
            raise ScoringConfigError(GAP_REFUSED.format(as_of=previous.as_of, days=days))
        logger.warning(CHAIN_GAP.format(as_of=previous.as_of, days=days))
    return gaps
