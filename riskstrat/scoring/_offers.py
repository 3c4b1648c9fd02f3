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

An offer is also closed once taken up: an enrolment in the programme (for care coordination,
in any care-coordination programme) started on or after the offer's date and before the
as-of date. Someone enrolled now is held back by that enrolment; someone who enrolled and has
since left is no longer in outreach, and keeps no caseload place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskstrat.scoring._ids import isin
from riskstrat.scoring._selection import STATUS_ENROLLED, STATUS_OFFERED, STATUS_OTHER

OFFERS_FILE = "offers.parquet"
OFFER_COLUMNS: tuple[str, ...] = ("person_id", "program", "offered_on")
OFFER_TYPES: dict[str, pa.DataType] = {
    "person_id": pa.string(),
    "program": pa.string(),
    "offered_on": pa.date32(),
}


def empty_ledger() -> pd.DataFrame:
    """An offer ledger with no rows (the first quarter scored)."""
    return pd.DataFrame(
        {
            "person_id": pd.Series(dtype="str"),
            "program": pd.Series(dtype="str"),
            "offered_on": pd.Series(dtype=object),
        }
    )


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


def taken_up(
    held: pd.DataFrame,
    enrolments: pd.DataFrame,
    as_of: dt.date,
    care_coordination: Iterable[str],
) -> np.ndarray:
    """Which open offers were taken up before ``as_of``, one flag per row of ``held``.

    Parameters
    ----------
    held : DataFrame
        Open offers (:func:`open_offers`).
    enrolments : DataFrame
        ``person_id``, ``program``, ``start_date``: the enrollments table. Starts on or after
        ``as_of`` are not read (the run sees nothing dated on or after its as-of date).
    as_of : date
    care_coordination : iterable of str
        The care-coordination programmes: one of them started takes up an offer of any.

    Returns
    -------
    ndarray of bool
        True where the person started the programme on or after the offer's date.
    """
    if held.empty or enrolments.empty:
        return np.zeros(len(held), dtype=bool)
    cc = set(care_coordination)

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        program = frame["program"].astype("str")
        # Care-coordination programmes share one key: taking up any closes an offer of any.
        return frame.assign(
            person_id=frame["person_id"].astype("str"),
            key=program.where(~program.isin(cc), "care coordination"),
        )

    starts = keyed(enrolments.loc[:, ["person_id", "program", "start_date"]])
    starts = starts.loc[(pd.to_datetime(starts["start_date"]) < pd.Timestamp(as_of)).to_numpy()]
    offers = keyed(held.loc[:, list(OFFER_COLUMNS)]).reset_index(drop=True)
    offers["row"] = np.arange(len(offers))
    both = offers.merge(starts[["person_id", "key", "start_date"]], on=["person_id", "key"])
    after = pd.to_datetime(both["start_date"]) >= pd.to_datetime(both["offered_on"])
    flags = np.zeros(len(held), dtype=bool)
    flags[both.loc[after.to_numpy(), "row"].to_numpy()] = True
    return flags


def renewed(
    held: pd.DataFrame,
    features: pd.DataFrame,
    as_of: dt.date,
    renewed_by: Mapping[str, str | None],
) -> np.ndarray:
    """Which open offers a new episode closes, one flag per row of ``held``.

    A programme's ``renewed_by`` feature counts days from its last event to ``as_of``; an
    event on or after the offer's date (``days <= as_of - offered_on``) is one the offering
    run could not see (it read only what came before its own as-of date): a new release
    for Re-entry, a new discharge for Recuperative Care. The person may be offered the
    programme again at once.

    Parameters
    ----------
    held : DataFrame
        Open offers (:func:`open_offers`).
    features : DataFrame
        ``person_id`` and the ``renewed_by`` features, as of ``as_of``.
    as_of : date
    renewed_by : mapping of programme code to feature name or None

    Returns
    -------
    ndarray of bool
    """
    flags = np.zeros(len(held), dtype=bool)
    rules = {p: f for p, f in renewed_by.items() if f is not None}
    if held.empty or not rules:
        return flags
    missing = sorted({f for f in rules.values() if f not in features.columns})
    if missing:
        raise ValueError(RENEWAL_MISSING.format(missing=missing))
    ids = features["person_id"].astype("str")
    elapsed = (pd.Timestamp(as_of) - pd.to_datetime(held["offered_on"])).dt.days.to_numpy()
    for program, feature in rules.items():
        rows = (held["program"] == program).to_numpy()
        if not rows.any():
            continue
        days = pd.Series(features[feature].to_numpy(dtype=float), index=ids)
        since = held.loc[rows, "person_id"].astype("str").map(days).to_numpy(dtype=float)
        # A person not scored now (died, left the data) keeps the offer as it was.
        flags[rows] = np.nan_to_num(since, nan=np.inf) <= elapsed[rows]
    return flags


RENEWAL_MISSING = (
    "the features scored lack {missing}, which programs.yaml's renewed_by reads to close "
    "offers a new episode renews: build them with the feature spec the programmes use"
)


def offer_starts(
    enrollments: pd.DataFrame, ledger: pd.DataFrame, as_of: pd.Timestamp | dt.date
) -> pd.DataFrame | None:
    """The enrolment starts that could close an offer of ``ledger`` (None: no offers).

    Only the offered persons' starts on or after the oldest offer and before ``as_of`` are
    kept, so a county-wide run does not carry the whole enrollments table through scoring.
    """
    if ledger.empty:
        return None
    starts = enrollments.loc[:, ["person_id", "program", "start_date"]]
    dates = pd.to_datetime(starts["start_date"])
    oldest = pd.Timestamp(min(ledger["offered_on"]))
    keep = (dates >= oldest) & (dates < pd.Timestamp(as_of))
    keep &= isin(starts["person_id"].astype("str"), ledger["person_id"])
    return starts.loc[keep.to_numpy()].reset_index(drop=True)


def last_offered(cohort: pd.DataFrame, ledger: pd.DataFrame) -> pd.Series:
    """The earlier offer date of each cohort row's (person, programme) pair; None if none."""
    keyed = ledger.set_index(["person_id", "program"])["offered_on"]
    index = pd.MultiIndex.from_frame(cohort[["person_id", "program"]])
    found = keyed.reindex(index).to_numpy(dtype=object)
    return pd.Series(
        [None if pd.isna(value) else value for value in found], index=cohort.index, dtype=object
    )


def holding_offers(
    cohort: pd.DataFrame, held: pd.DataFrame, priority: Mapping[str, int]
) -> pd.Series:
    """For each ``offered_recently`` row, the open offer holding it (``"isr 2025-07-01"``).

    The pair's own offer when it has one; otherwise the person's latest open offer of a
    care-coordination programme (``priority``: their codes and priorities, lower first) of
    the row's priority or higher, which blocks it. Other rows get ``""``.
    """
    text = pd.Series("", index=cohort.index, dtype="str")
    rows = cohort.loc[cohort["status"] == STATUS_OFFERED, ["person_id", "program"]]
    if rows.empty:
        return text
    offers = held.loc[:, list(OFFER_COLUMNS)].astype({"person_id": "str", "program": "str"})
    offers = offers.assign(text=offers["program"] + " " + offers["offered_on"].astype("str"))
    own = rows.merge(offers, on=["person_id", "program"], how="left")["text"].to_numpy()
    cc = offers.loc[offers["program"].isin(list(priority))]
    cc = cc.assign(rank=cc["program"].map(priority))
    # The cohort's row labels as a column "row", whatever the index is called.
    candidates = rows.rename_axis("row").reset_index()
    candidates = candidates.merge(cc, on="person_id", suffixes=("", "_offer"))
    row_rank = candidates["program"].map(priority).to_numpy(dtype=float)
    candidates = candidates.loc[candidates["rank"].to_numpy(dtype=float) <= row_rank]
    latest = candidates.sort_values(
        ["row", "offered_on", "program_offer"], kind="mergesort"
    ).drop_duplicates("row", keep="last")
    other = latest.set_index("row")["text"].reindex(rows.index)
    found = pd.Series(own, index=rows.index).fillna(other)
    text.loc[rows.index] = found.fillna("").astype("str")
    return text


def held_by(
    cohort: pd.DataFrame,
    held: pd.DataFrame,
    enrolled: pd.DataFrame,
    priority: Mapping[str, int],
) -> pd.Series:
    """What holds each eligible row back that is not over capacity: ``held_by``.

    ``"offer isr 2025-07-01"`` for ``offered_recently`` (see :func:`holding_offers`),
    ``"enrolled sud_ens"`` for ``already_enrolled`` (the programme itself, or for care
    coordination the care-coordination programmes the person is in now), ``"selected
    reentry"`` for ``assigned_other`` (the care-coordination place this cohort gives the
    person instead); ``""`` for other rows. ``priority``: the care-coordination
    programmes' codes and priorities (lower first).
    """
    cc = set(priority)
    text = pd.Series("", index=cohort.index, dtype="str")
    offers = holding_offers(cohort, held, priority)
    text.loc[offers != ""] = "offer " + offers.loc[offers != ""]
    rows = cohort.loc[cohort["status"] == STATUS_ENROLLED, ["person_id", "program"]]
    if not rows.empty:
        now = enrolled.loc[:, ["person_id", "program"]].astype("str").drop_duplicates()
        pairs = rows.rename_axis("row").reset_index()
        pairs = pairs.merge(now, on="person_id", suffixes=("", "_in"))
        same = pairs["program_in"] == pairs["program"]
        both_cc = pairs["program"].isin(cc) & pairs["program_in"].isin(cc)
        pairs = pairs.loc[same | both_cc].sort_values(["row", "program_in"], kind="mergesort")
        names = pairs.groupby("row")["program_in"].agg(", ".join)
        text.loc[names.index] = "enrolled " + names
    rows = cohort.loc[cohort["status"] == STATUS_OTHER, ["person_id"]]
    if not rows.empty:
        chosen = cohort.loc[cohort["selected"] & cohort["program"].isin(cc)]
        place = rows["person_id"].map(chosen.set_index("person_id")["program"])
        text.loc[rows.index] = ("selected " + place).fillna("")
    return text


def superseded(
    held: pd.DataFrame, cohort: pd.DataFrame, as_of: dt.date, care_coordination: Iterable[str]
) -> np.ndarray:
    """Open offers this cohort's selections (offers made on ``as_of``) replace, one flag per
    row of ``held``: :func:`replaced_earlier` with this quarter's offers added."""
    chosen = cohort.loc[cohort["selected"], ["person_id", "program"]]
    now = chosen.assign(offered_on=[as_of] * len(chosen))
    both = pd.concat([held.loc[:, list(OFFER_COLUMNS)], now], ignore_index=True)
    return replaced_earlier(both, care_coordination)[: len(held)]


def replaced_earlier(held: pd.DataFrame, care_coordination: Iterable[str]) -> np.ndarray:
    """Open care-coordination offers after which the person was offered another one.

    The later offer (of a higher-priority programme: a lower one is held back) replaces
    the earlier: it holds nothing and keeps no caseload place.
    """
    cc = held["program"].astype("str").isin(list(care_coordination)).to_numpy()
    if not cc.any():
        return np.zeros(len(held), dtype=bool)
    dates = pd.to_datetime(held["offered_on"])
    latest = dates.where(cc).groupby(held["person_id"].astype("str").to_numpy()).transform("max")
    return cc & (dates < latest).to_numpy()


def updated_ledger(ledger: pd.DataFrame, cohort: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The ledger with this quarter's selections as offers on ``as_of``, sorted by pair.

    A pair held back keeps the date it was first offered, so its window is not extended.
    Offers a later one replaced stay in it (``last_offered`` reads them); they hold nothing
    (:func:`replaced_earlier`).
    """
    chosen = cohort.loc[cohort["selected"], ["person_id", "program"]]
    new = chosen.assign(offered_on=[as_of] * len(chosen))
    both = pd.concat([ledger.loc[:, list(OFFER_COLUMNS)], new], ignore_index=True)
    both = both.astype({"person_id": "str", "program": "str"})
    both = both.drop_duplicates(["person_id", "program"], keep="last")
    return both.sort_values(["person_id", "program"], kind="mergesort", ignore_index=True)


REPLACED_OFFERS = (
    "out (--out) {path}: this run replaces the offers of the run it overwrites: {dropped} of "
    "that run's {before:,} offers as of {as_of} are not made again, and {added} are new; if "
    "that run's lists went to programme staff, its offers were made, and the next quarter's "
    "--previous must read them: keep that folder (write this run to another --out) or tell "
    "the programmes which offers changed"
)


def replaced_offers(out: Path, new: Path, as_of: dt.date) -> str | None:
    """The warning for an ``--overwrite`` that changes the offers a quarter made, else None.

    The offers ledger is the record of places offered; replacing it drops those of the
    replaced run that this one does not make again, which the next quarter would not hold.
    """
    try:
        before = pq.read_table(out / OFFERS_FILE).to_pandas()
        after = pq.read_table(new / OFFERS_FILE).to_pandas()
    except (OSError, pa.ArrowException):
        return None  # nothing readable replaced: no offers to lose

    def made(ledger: pd.DataFrame) -> set[tuple[str, str]]:
        on = pd.to_datetime(ledger["offered_on"]).dt.date == as_of
        return set(zip(ledger.loc[on, "person_id"], ledger.loc[on, "program"], strict=True))

    old, now = made(before), made(after)
    if old == now:
        return None
    return REPLACED_OFFERS.format(
        path=out, dropped=len(old - now), before=len(old), as_of=as_of, added=len(now - old)
    )
