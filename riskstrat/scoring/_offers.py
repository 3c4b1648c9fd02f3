"""Offers made in earlier quarters, so a person still in outreach is not offered a place again.

A cohort's selected rows are offers: outreach teams then reach those people, who choose
whether to enrol (WPC-LA: "individuals must choose to opt in"). Someone offered a place who
has not enrolled by the next quarter is usually still being reached, and listing them again
as a new selection would spend a second place of the quarter on one person.

Every run writes ``offers.parquet``: the latest offer of each (person, programme) pair so
far, this quarter's selections included. ``riskstrat score --previous <last run's folder>``
reads that ledger (checked against the last run's manifest): a pair offered within
``selection.reoffer_after_months`` before the as-of date is held back (status
``offered_recently``) and its place passes to the next person in line. Once the window has
passed the person can be offered again, and the cohort's ``last_offered`` says when they were.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat.scoring._errors import ScoringConfigError, ScoringDataError
from riskstrat.scoring._write import sha256_file

OFFERS_FILE = "offers.parquet"
OFFER_COLUMNS: tuple[str, ...] = ("person_id", "program", "offered_on")
OFFER_TYPES: dict[str, pa.DataType] = {
    "person_id": pa.string(),
    "program": pa.string(),
    "offered_on": pa.date32(),
}

NO_PREVIOUS = (
    "--previous {path}: no such folder; expected an earlier `riskstrat score` --out folder"
)
NO_MANIFEST = (
    "--previous {path}: no manifest.json; expected an earlier `riskstrat score` --out folder"
)
BAD_MANIFEST = "--previous {path}: manifest.json is not a scoring manifest ({problem})"
NO_LEDGER = (
    "--previous {path}: its manifest lists no {file}; the run was written by a riskstrat "
    "that kept no offers, so score that quarter again with this version first"
)
LEDGER_CHANGED = (
    "--previous {path}: {file} has sha256 {actual}, but its manifest records {expected}; "
    "the file was changed after that run"
)
NOT_EARLIER = "--previous {path}: it is as of {previous}, expected a date before {as_of}"
BAD_LEDGER = "--previous {path}: {file} {problem}; expected columns {expected}, one row per pair"


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
    """

    ledger: pd.DataFrame
    as_of: dt.date
    sha256: str


def empty_ledger() -> pd.DataFrame:
    """An offer ledger with no rows (the first quarter scored)."""
    return pd.DataFrame(
        {
            "person_id": pd.Series(dtype="str"),
            "program": pd.Series(dtype="str"),
            "offered_on": pd.Series(dtype=object),
        }
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
        The ledger differs from what its manifest recorded, or is malformed (exit code 1).
    """
    path = Path(folder)
    if not path.is_dir():
        raise ScoringConfigError(NO_PREVIOUS.format(path=path))
    manifest_file = path / "manifest.json"
    if not manifest_file.is_file():
        raise ScoringConfigError(NO_MANIFEST.format(path=path))
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        previous = dt.date.fromisoformat(manifest["as_of"])
        expected = manifest["outputs"].get(OFFERS_FILE)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ScoringConfigError(BAD_MANIFEST.format(path=path, problem=exc)) from exc
    if expected is None:
        raise ScoringConfigError(NO_LEDGER.format(path=path, file=OFFERS_FILE))
    if previous >= as_of:
        raise ScoringConfigError(NOT_EARLIER.format(path=path, previous=previous, as_of=as_of))
    ledger_file = path / OFFERS_FILE
    actual = sha256_file(ledger_file) if ledger_file.is_file() else "(no file)"
    if actual != expected:
        raise ScoringDataError(
            LEDGER_CHANGED.format(path=path, file=OFFERS_FILE, actual=actual, expected=expected)
        )
    ledger = _checked_ledger(pq.read_table(ledger_file), path)
    return PreviousOffers(ledger=ledger, as_of=previous, sha256=actual)


def _checked_ledger(table: pa.Table, path: Path) -> pd.DataFrame:
    def refuse(problem: str) -> ScoringDataError:
        return ScoringDataError(
            BAD_LEDGER.format(path=path, file=OFFERS_FILE, problem=problem, expected=OFFER_COLUMNS)
        )

    if tuple(table.column_names) != OFFER_COLUMNS:
        raise refuse(f"has columns {table.column_names}")
    try:
        table = table.cast(pa.schema([(name, OFFER_TYPES[name]) for name in OFFER_COLUMNS]))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise refuse(f"has column types {table.schema.types}") from exc
    frame = table.to_pandas(date_as_object=True)
    if frame.isna().any().any():
        raise refuse("has empty values")
    if frame.duplicated(["person_id", "program"]).any():
        raise refuse("repeats a (person_id, program) pair")
    return frame.astype({"person_id": "str", "program": "str"})


def open_offers(ledger: pd.DataFrame, as_of: dt.date, months: int) -> pd.DataFrame:
    """Pairs offered less than ``months`` before ``as_of``: still in outreach, so held back.

    An offer on 1 July with a 6-month window holds until 31 December and lapses on 1 January.

    Parameters
    ----------
    ledger : DataFrame
        ``OFFER_COLUMNS``.
    as_of : date
    months : int
        ``selection.reoffer_after_months``; 0 holds nothing back.

    Returns
    -------
    DataFrame
        The held (``person_id``, ``program``, ``offered_on``) rows.
    """
    if months == 0 or ledger.empty:
        return ledger.iloc[0:0]
    offered = pd.to_datetime(ledger["offered_on"])
    lapses = offered + pd.DateOffset(months=months)
    return ledger.loc[(lapses > pd.Timestamp(as_of)).to_numpy()].reset_index(drop=True)


def last_offered(cohort: pd.DataFrame, ledger: pd.DataFrame) -> pd.Series:
    """The earlier offer date of each cohort row's (person, programme) pair; None if none."""
    keyed = ledger.set_index(["person_id", "program"])["offered_on"]
    index = pd.MultiIndex.from_frame(cohort[["person_id", "program"]])
    found = keyed.reindex(index).to_numpy(dtype=object)
    return pd.Series(
        [None if pd.isna(value) else value for value in found], index=cohort.index, dtype=object
    )


def updated_ledger(ledger: pd.DataFrame, cohort: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The ledger with this quarter's selections as offers on ``as_of``, sorted by pair.

    A pair held back keeps the date it was first offered, so its window is not extended.
    """
    chosen = cohort.loc[cohort["selected"], ["person_id", "program"]]
    new = chosen.assign(offered_on=[as_of] * len(chosen))
    both = pd.concat([ledger.loc[:, list(OFFER_COLUMNS)], new], ignore_index=True)
    both = both.astype({"person_id": "str", "program": "str"})
    both = both.drop_duplicates(["person_id", "program"], keep="last")
    return both.sort_values(["person_id", "program"], kind="mergesort", ignore_index=True)
