"""Selection per programme: capacity for the quarter, ranking and non-duplication.

Rules (programmes from ``configs/programs.yaml``; documented in ``riskstrat score --help``):

* Candidates are the eligible (person, programme) pairs. Within a programme they are ranked by
  risk (highest first), ties broken by the uncalibrated model score ``raw_score`` when present
  (highest first), then by ``person_id`` (ascending), so the order never depends on input
  row order.
* A person already enrolled in the programme is not selected again; for a care-coordination
  programme, enrolment in any other care-coordination programme also conflicts (they are never
  held at the same time). Status ``already_enrolled``.
* A person offered the programme in an earlier quarter and still within the re-offer window
  (``riskstrat.scoring._offers``), who has not taken the offer up since, is not offered it
  again, nor, for a care-coordination programme, one of lower priority: outreach is still
  under way. Status ``offered_recently``; enrolment takes precedence. A care-coordination
  programme of higher priority than the one offered may still be offered: someone offered
  Re-entry last quarter who is in hospital now is not kept from Transitions of Care by it.
* Each programme takes people in rank order up to its capacity for the quarter (see
  :func:`quarter_capacity`).
* A person within the cut-off of two or more care-coordination programmes keeps the one with
  the best (lowest) priority and is released from the others (status ``assigned_other``); each
  freed place passes to the next person in that programme's line. This is repeated until no
  one holds two; it ends because a release is never undone. Under a priority rule the result
  equals filling programmes one at a time in priority order.
* Other programmes (recuperative care, tenancy support, FSP) combine freely with any.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from riskstrat.data._codes import PROGRAMS
from riskstrat.scoring._ids import isin

STATUS_SELECTED = "selected"
STATUS_ENROLLED = "already_enrolled"
STATUS_OFFERED = "offered_recently"
STATUS_OTHER = "assigned_other"
STATUS_CAPACITY = "over_capacity"
STATUS_INELIGIBLE = "not_eligible"
STATUSES: tuple[str, ...] = (
    STATUS_SELECTED,
    STATUS_ENROLLED,
    STATUS_OFFERED,
    STATUS_OTHER,
    STATUS_CAPACITY,
    STATUS_INELIGIBLE,
)

CAPACITY_PERIODS: dict[str, float] = {
    # Places per quarter from a cap stated per period: a quarter is 3 months or a quarter year.
    # "total" caps (a caseload at a time, such as FSP's ~15,000 clients) are stated whole here
    # and netted of the people enrolled now before selection (net_of_enrolment).
    "month": 3.0,
    "quarter": 1.0,
    "year": 0.25,
    "total": 1.0,
}

UNKNOWN_PERIOD = "capacity period {value!r} is not one of {expected}"
MISSING_COLUMNS = "{table}: missing column(s) {missing}; expected {expected}"
MISSING_SLOTS = "candidates: programme(s) {missing} have no capacity entry; expected one of {known}"
DUPLICATE_PAIRS = "candidates: {count} duplicate (person_id, program) pair(s)"

CANDIDATE_COLUMNS: tuple[str, ...] = ("person_id", "program", "eligible", "risk")


@dataclass(frozen=True)
class ProgramSlots:
    """What selection needs to know about one programme.

    Attributes
    ----------
    program : str
        Programme code (``riskstrat.data._codes.PROGRAMS``).
    capacity : int or None
        New places this quarter; None means no cap.
    care_coordination : bool
        Care-coordination programmes are mutually exclusive.
    priority : int
        Lower wins when a person is in line for two care-coordination programmes.
    caseload : int or None
        A cap held at a time (``per: total``), as stated: its places this quarter are the
        caseload less the people enrolled now (:func:`net_of_enrolment`).
    enrolled_now : int or None
        For a caseload, how many are enrolled on the as-of date, once netted.
    offered_open : int or None
        For a caseload, how many hold an offer still open (``--previous``) and are not
        enrolled yet: their places are kept for them, once netted.
    renewed_by : str or None
        A days_since feature whose event on or after an offer's date closes the offer
        (``renewed_by`` in programs.yaml).
    caseload_per_fte : float or None
        Clients one care manager carries (``caseload_per_fte`` in programs.yaml); None:
        the acuity tiers' caseloads.
    """

    program: str
    capacity: int | None
    care_coordination: bool
    priority: int
    caseload: int | None = None
    enrolled_now: int | None = None
    offered_open: int | None = None
    renewed_by: str | None = None
    caseload_per_fte: float | None = None


def quarter_capacity(amount: float | None, per: str) -> int | None:
    """Places available in one quarter for a cap stated ``amount`` per ``per``.

    Monthly caps are multiplied by 3, yearly caps divided by 4 (rounded down so the yearly
    total is never exceeded), quarterly and total (at a time) caps are used as they are; a
    total is then netted of current enrolment by :func:`net_of_enrolment`.

    Parameters
    ----------
    amount : float or None
        The stated cap; None means unlimited.
    per : {"month", "quarter", "year", "total"}

    Returns
    -------
    int or None
    """
    if per not in CAPACITY_PERIODS:
        raise ValueError(UNKNOWN_PERIOD.format(value=per, expected=list(CAPACITY_PERIODS)))
    if amount is None:
        return None
    return int(np.floor(amount * CAPACITY_PERIODS[per] + 1e-9))


def slots_from_programs(programs: Any, priority: Sequence[str] = ()) -> dict[str, ProgramSlots]:
    """Selection facts of every programme in a ``riskstrat.eligibility.Programs``.

    Parameters
    ----------
    programs : Programs
        Loaded ``configs/programs.yaml`` (capacity, care-coordination flag, priority).
    priority : sequence of str
        Care-coordination codes that go first (``selection.priority`` in tiers.yaml); the
        programmes' own ``care_coordination_priority`` follows, then config order.

    Returns
    -------
    dict of programme code to ProgramSlots
    """
    codes = list(programs.programs)
    order = list(dict.fromkeys([*priority, *programs.care_coordination_priority, *codes]))
    slots = {}
    for code in codes:
        spec = programs.programs[code]
        cap = spec.capacity
        slots[code] = ProgramSlots(
            program=code,
            capacity=None if cap is None else quarter_capacity(cap.count, cap.per),
            care_coordination=bool(spec.care_coordination),
            priority=order.index(code),
            caseload=quarter_capacity(cap.count, cap.per)
            if cap is not None and cap.per == "total"
            else None,
            renewed_by=getattr(spec, "renewed_by", None),
            caseload_per_fte=getattr(spec, "caseload_per_fte", None),
        )
    return slots


def net_of_enrolment(
    slots: Mapping[str, ProgramSlots],
    enrolled: pd.DataFrame,
    offered: pd.DataFrame | None = None,
) -> dict[str, ProgramSlots]:
    """Caseload caps less the people enrolled now, and less open offers: the places free.

    A caseload such as FSP's ~15,000 clients or SUD-ENS's 720 slots is held at a time;
    offering the whole cap every quarter would promise places that current clients fill.
    Likewise a person offered a place in an earlier quarter who may still take it keeps
    it: passing it on would promise one place twice. A quarterly intake (monthly or yearly
    caps) is a fresh allotment each quarter and is left as given.

    Parameters
    ----------
    slots : mapping of programme code to ProgramSlots
    enrolled : DataFrame
        (``person_id``, ``program``) pairs enrolled on the as-of date
        (:func:`enrolled_pairs`).
    offered : DataFrame, optional
        (``person_id``, ``program``) pairs with an offer still open
        (``riskstrat.scoring._offers.open_offers``); those also enrolled count once.

    Returns
    -------
    dict of programme code to ProgramSlots
        Caseloads with ``capacity`` netted (never below 0), ``enrolled_now`` and
        ``offered_open`` set; the others as given.
    """
    pairs = ["person_id", "program"]
    enrolled = enrolled.loc[:, pairs].astype("str").drop_duplicates()
    counts = enrolled["program"].value_counts()
    pending = pd.Series(dtype="int64")
    if offered is not None and not offered.empty:
        waiting = offered.loc[:, pairs].astype("str").drop_duplicates()
        # Enrolled in the programme, or (care coordination is never held twice) in another
        # care-coordination programme: the offer can no longer be taken up.
        taken = _conflicts(waiting, slots, enrolled)
        pending = waiting.loc[~taken, "program"].value_counts()
    out = {}
    for code, slot in slots.items():
        if slot.caseload is not None:
            now, held = int(counts.get(code, 0)), int(pending.get(code, 0))
            slot = replace(
                slot,
                capacity=max(0, slot.caseload - now - held),
                enrolled_now=now,
                offered_open=held,
            )
        out[code] = slot
    return out


def enrolled_pairs(features: pd.DataFrame, programs: Iterable[str] = PROGRAMS) -> pd.DataFrame:
    """Long (person_id, program) pairs of current enrolments from ``enrolled_<program>_now``.

    Parameters
    ----------
    features : DataFrame
        With ``person_id`` and any of the ``enrolled_<program>_now`` columns (missing ones are
        taken as nobody enrolled).
    programs : iterable of str

    Returns
    -------
    DataFrame with columns ``person_id``, ``program``.
    """
    parts = []
    for program in programs:
        column = f"enrolled_{program}_now"
        if column in features.columns:
            flag = features[column].fillna(False).astype(bool).to_numpy()
            ids = features["person_id"].to_numpy()[flag]
            parts.append(pd.DataFrame({"person_id": ids, "program": program}))
    if not parts:
        return pd.DataFrame(
            {"person_id": pd.Series(dtype="str"), "program": pd.Series(dtype="str")}
        )
    return pd.concat(parts, ignore_index=True)


def select_cohort(
    candidates: pd.DataFrame,
    slots: Mapping[str, ProgramSlots],
    enrolled: pd.DataFrame | None = None,
    include_ineligible: bool = False,
    offered: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rank, cut at capacity and de-duplicate care coordination (rules in the module docstring).

    Parameters
    ----------
    candidates : DataFrame
        Long format: ``person_id``, ``program``, ``eligible`` (bool), ``risk`` (float); other
        columns are carried through.
    slots : mapping of programme code to ProgramSlots
    enrolled : DataFrame or None
        Current enrolments as (``person_id``, ``program``) pairs (see :func:`enrolled_pairs`).
    include_ineligible : bool
        Keep ineligible rows (status ``not_eligible``, rank null) in the result.
    offered : DataFrame or None
        Open offers from earlier quarters as (``person_id``, ``program``) pairs (see
        :func:`riskstrat.scoring._offers.open_offers`); they conflict as enrolments do.

    Returns
    -------
    DataFrame
        The candidates sorted by (program, rank), with ``rank`` (1-based within programme
        among the eligible), ``status`` and ``selected`` added.
    """
    missing = [c for c in CANDIDATE_COLUMNS if c not in candidates.columns]
    if missing:
        raise ValueError(
            MISSING_COLUMNS.format(table="candidates", missing=missing, expected=CANDIDATE_COLUMNS)
        )
    unknown = sorted(set(candidates["program"].unique()) - set(slots))
    if unknown:
        raise ValueError(MISSING_SLOTS.format(missing=unknown, known=sorted(slots)))
    dupes = int(candidates.duplicated(["person_id", "program"]).sum())
    if dupes:
        raise ValueError(DUPLICATE_PAIRS.format(count=dupes))

    eligible_mask = candidates["eligible"].fillna(False).astype(bool).to_numpy()
    pool = candidates.loc[eligible_mask]
    # Deterministic order: programme, risk descending, then the uncalibrated score descending
    # (isotonic calibration ties many people at one probability; the model still ranks them),
    # then person_id.
    order = ["program", "risk", "raw_score", "person_id"]
    ascending = [True, False, False, True]
    if "raw_score" not in pool.columns:
        order.remove("raw_score")
        ascending.pop(2)
    pool = pool.sort_values(order, ascending=ascending, kind="mergesort").reset_index(drop=True)
    program = pool["program"].to_numpy(dtype=object)
    person = pool["person_id"].to_numpy(dtype=object)
    rank = pool.groupby("program", sort=False).cumcount().to_numpy() + 1

    blocked_enrolled = _conflicts(pool, slots, enrolled)
    blocked_offered = _conflicts(pool, slots, offered, by_priority=True) & ~blocked_enrolled
    blocked_other = np.zeros(len(pool), dtype=bool)
    cap = np.array(
        [np.inf if slots[p].capacity is None else slots[p].capacity for p in program], dtype=float
    )
    is_cc = np.array([slots[p].care_coordination for p in program], dtype=bool)
    prio = np.array([slots[p].priority for p in program], dtype=np.int64)
    prog_codes = pd.factorize(program)[0] if len(program) else np.zeros(0, dtype=np.int64)

    while True:
        blocked = blocked_enrolled | blocked_offered | blocked_other
        chosen = _within_capacity(prog_codes, ~blocked, cap)
        release = _care_coordination_releases(person, prio, chosen & is_cc)
        if not release.any():
            break
        blocked_other |= release

    status = np.full(len(pool), STATUS_CAPACITY, dtype=object)
    status[blocked_other] = STATUS_OTHER
    status[blocked_offered] = STATUS_OFFERED
    status[blocked_enrolled] = STATUS_ENROLLED
    status[chosen] = STATUS_SELECTED
    result = pool.assign(rank=rank, status=status, selected=chosen)
    if include_ineligible:
        rest = candidates.loc[~eligible_mask].sort_values(
            ["program", "person_id"], kind="mergesort"
        )
        rest = rest.assign(rank=pd.NA, status=STATUS_INELIGIBLE, selected=False)
        result = pd.concat([result, rest], ignore_index=True)
        result = result.sort_values(["program"], kind="mergesort").reset_index(drop=True)
    result["rank"] = result["rank"].astype("Int64")
    result["selected"] = result["selected"].astype(bool)
    result["status"] = result["status"].astype("str")
    return result


def care_coordination_programs(slots: Mapping[str, ProgramSlots]) -> list[str]:
    """The codes of the care-coordination programmes (never held two at a time)."""
    return [code for code, slot in slots.items() if slot.care_coordination]


def isin_pairs(frame: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """Which (person_id, program) rows of ``frame`` occur in ``pairs``."""
    # (person, programme) pairs as one key: "\x1f" cannot occur in an id or a code.
    sep = "\x1f"
    keys = frame["person_id"].astype("str") + sep + frame["program"].astype("str")
    same = pairs["person_id"].astype("str") + sep + pairs["program"].astype("str")
    return isin(keys, same)


def _conflicts(
    pool: pd.DataFrame,
    slots: Mapping[str, ProgramSlots],
    enrolled: pd.DataFrame | None,
    by_priority: bool = False,
) -> np.ndarray:
    """Rows whose (person, programme) is held, or whose care coordination conflicts with one held.

    ``enrolled`` holds (person_id, program) pairs: current enrolments, or open offers. With
    ``by_priority`` (offers), a care-coordination programme held conflicts only with those of
    its priority or lower, not with a higher one.
    """
    if enrolled is None or enrolled.empty or pool.empty:
        return np.zeros(len(pool), dtype=bool)
    conflict = isin_pairs(pool, enrolled)
    cc_programs = care_coordination_programs(slots)
    in_cc = enrolled.loc[enrolled["program"].isin(cc_programs)]
    pool_cc = pool["program"].isin(cc_programs).to_numpy()
    if not by_priority:
        return conflict | (pool_cc & isin(pool["person_id"], in_cc["person_id"]))
    # The best (lowest) priority each person holds, against each row's own.
    held = in_cc["program"].map(lambda code: slots[code].priority)
    best = held.groupby(in_cc["person_id"].astype("str").to_numpy()).min()
    mine = pool["program"].map(lambda code: slots[code].priority).to_numpy()
    theirs = pool["person_id"].astype("str").map(best).to_numpy(dtype=float)
    return conflict | (pool_cc & (theirs <= mine))


def _within_capacity(prog_codes: np.ndarray, available: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Rows that are available and within their programme's cut-off (rows are in rank order)."""
    if available.size == 0:
        return available.copy()
    position = pd.Series(available.astype(np.int64)).groupby(prog_codes).cumsum().to_numpy()
    return available & (position <= cap)


def _care_coordination_releases(
    person: np.ndarray, prio: np.ndarray, held: np.ndarray
) -> np.ndarray:
    """Rows to release: every care-coordination place a person holds beyond the best one."""
    release = np.zeros(person.size, dtype=bool)
    idx = np.flatnonzero(held)
    if idx.size < 2:
        return release
    frame = pd.DataFrame({"person": person[idx], "prio": prio[idx], "row": idx})
    frame = frame.sort_values(["person", "prio"], kind="mergesort")
    extra = frame.duplicated("person", keep="first").to_numpy()
    release[frame["row"].to_numpy()[extra]] = True
    return release
