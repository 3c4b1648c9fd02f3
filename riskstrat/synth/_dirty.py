"""Inject realistic data faults into clean linked tables, counting exactly what was injected.

The counts are keyed by the check names of :mod:`riskstrat.data` so that a quarantine
run reconciles with them one to one: every faulty row carries one fault only, and a
corrupted ``persons`` row is counted together with the orphans it leaves behind in the
other tables (their ``person_id`` is no longer among the accepted persons).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from riskstrat.data._checks import (
    BEFORE_BIRTH,
    DATE_PAIRS,
    DUPLICATE_ROW,
    END_BEFORE_START,
    FUTURE_DATE,
    NEGATIVE_VALUE,
    NULL_PERSON_ID,
    ORPHAN_PERSON_ID,
    UNKNOWN_CODE,
)
from riskstrat.data._codes import EVENT_DATES, TABLE_COLUMNS, TABLE_NAMES

# Codes a county feed really sends before mapping (a free-text sex, a setting not in
# the contract, a justice event type from another system).
UNKNOWN_CODES: dict[str, tuple[str, str]] = {
    "persons": ("sex", "Male"),
    "encounters": ("setting", "urgent_care"),
    "diagnoses": ("condition", "obesity"),
    "pharmacy": ("drug_class", "opioid_analgesic"),
    "justice": ("event_type", "arrest"),
    "homelessness": ("project_type", "motel_voucher"),
    "enrollments": ("program", "wpc_general"),
    "assessments": ("instrument", "ACUITY"),
}
NEGATIVE_COLUMNS: dict[str, str] = {"encounters": "paid_amount", "pharmacy": "days_supply"}
# A century typo ("2123" for "2023"), a fixed shift so that date order within a row holds.
FUTURE_SHIFT = pd.Timedelta(days=36525)
# Faults that remove a persons row from the accepted persons.
PERSON_LOSING = (NULL_PERSON_ID, UNKNOWN_CODE, END_BEFORE_START, FUTURE_DATE)

ID_CLASH = "persons.person_id: ids of the form UNLINKED-nnnnnnn are reserved for orphans"
BAD_RATE = "rate: expected a number in [0, 0.5], got {rate!r}"


def _kinds(table: str, df: pd.DataFrame) -> list[str]:
    kinds = [DUPLICATE_ROW, NULL_PERSON_ID]
    if table != "persons":
        kinds.append(ORPHAN_PERSON_ID)
    if table in DATE_PAIRS and set(DATE_PAIRS[table]) <= set(df.columns):
        kinds.append(END_BEFORE_START)
    if UNKNOWN_CODES[table][0] in df.columns:
        kinds.append(UNKNOWN_CODE)
    kinds.append(FUTURE_DATE)
    if NEGATIVE_COLUMNS.get(table) in df.columns:
        kinds.append(NEGATIVE_VALUE)
    if table in EVENT_DATES:
        kinds.append(BEFORE_BIRTH)
    return kinds


def _date_columns(table: str, df: pd.DataFrame) -> list[str]:
    return [c for c, kind, _r in TABLE_COLUMNS[table] if kind == "date" and c in df.columns]


def _corrupt(
    table: str,
    df: pd.DataFrame,
    kind: str,
    rows: np.ndarray,
    rng: np.random.Generator,
    births: pd.Series,
) -> pd.DataFrame:
    if kind == NULL_PERSON_ID:
        df.loc[rows, "person_id"] = None
    elif kind == ORPHAN_PERSON_ID:
        # An id from a neighbouring system that never made it into persons.
        df.loc[rows, "person_id"] = [f"UNLINKED-{i:07d}" for i in range(len(rows))]
    elif kind == END_BEFORE_START:
        start, end = DATE_PAIRS[table]
        back = pd.to_timedelta(rng.integers(1, 31, size=len(rows)), unit="D")
        df.loc[rows, end] = df.loc[rows, start].to_numpy() - back.to_numpy()
    elif kind == UNKNOWN_CODE:
        column, value = UNKNOWN_CODES[table]
        df.loc[rows, column] = value
    elif kind == FUTURE_DATE:
        for column in _date_columns(table, df):
            df.loc[rows, column] = df.loc[rows, column] + FUTURE_SHIFT
    elif kind == NEGATIVE_VALUE:
        column = NEGATIVE_COLUMNS[table]
        values = pd.to_numeric(df.loc[rows, column]).fillna(0).abs()
        df.loc[rows, column] = (-(values + 1)).astype(df[column].dtype)
    elif kind == BEFORE_BIRTH:
        # A parent's record linked to a child's id: dated up to a year before the birth.
        # Only the event date moves back, so an end date never precedes it.
        back = pd.to_timedelta(rng.integers(1, 366, size=len(rows)), unit="D")
        born = births.reindex(df.loc[rows, "person_id"]).to_numpy()
        df.loc[rows, EVENT_DATES[table]] = born - back.to_numpy()
    return df


def _eligible(
    table: str, df: pd.DataFrame, kind: str, pool: np.ndarray, births: pd.Series
) -> np.ndarray:
    if kind == END_BEFORE_START:
        start = DATE_PAIRS[table][0]
        return pool[df[start].iloc[pool].notna().to_numpy()]
    if kind == FUTURE_DATE:
        # Shift only rows whose required dates exist, so the shift really puts them ahead.
        first = _date_columns(table, df)[0]
        return pool[df[first].iloc[pool].notna().to_numpy()]
    if kind == BEFORE_BIRTH:
        # Only a person with a known birth date can have an event before it.
        return pool[births.reindex(df["person_id"].iloc[pool]).notna().to_numpy()]
    return pool


def _inject_table(
    table: str,
    df: pd.DataFrame,
    n_faults: int,
    rng: np.random.Generator,
    lost_persons: set,
    births: pd.Series,
) -> tuple[pd.DataFrame, dict[str, int], set]:
    counts: dict[str, int] = {}
    df = df.reset_index(drop=True).copy()
    # Rows of persons lost upstream become orphans: count them, never corrupt them twice.
    lost = df["person_id"].isin(list(lost_persons)).to_numpy() if lost_persons else None
    if lost is not None and lost.any():
        counts[ORPHAN_PERSON_ID] = int(lost.sum())
    # Only clean, unique rows are corrupted or copied: a row that already has an exact
    # twin would change the duplicate count when either copy is touched.
    usable = ~df.duplicated(keep=False).to_numpy() & df["person_id"].notna().to_numpy()
    if lost is not None:
        usable &= ~lost
    pool = rng.permutation(np.flatnonzero(usable))
    kinds = _kinds(table, df)
    # An even split over the kinds, the remainder to kinds drawn at random.
    per_kind = dict.fromkeys(kinds, n_faults // len(kinds))
    for kind in rng.choice(kinds, size=n_faults % len(kinds), replace=False):
        per_kind[str(kind)] += 1
    taken = np.zeros(len(df), dtype=bool)
    chosen: dict[str, np.ndarray] = {}
    # Kinds that need a non-null date pick first, from the whole pool.
    for kind in sorted(kinds, key=lambda k: k not in (END_BEFORE_START, FUTURE_DATE, BEFORE_BIRTH)):
        candidates = _eligible(table, df, kind, pool, births)
        candidates = candidates[~taken[candidates]][: per_kind[kind]]
        taken[candidates] = True
        chosen[kind] = np.sort(candidates)
    newly_lost: set = set()
    for kind, rows in chosen.items():
        if len(rows) == 0 or kind == DUPLICATE_ROW:
            continue
        if table == "persons" and kind in PERSON_LOSING:
            newly_lost |= set(df.loc[rows, "person_id"])
        df = _corrupt(table, df, kind, rows, rng, births)
        counts[kind] = counts.get(kind, 0) + len(rows)
    dup_rows = chosen[DUPLICATE_ROW]
    if len(dup_rows):
        # A double submission lands right after the original.
        order = np.concatenate([np.arange(len(df)), dup_rows])
        position = np.concatenate([np.arange(len(df)) * 2.0, dup_rows * 2.0 + 1])
        df = df.iloc[order[np.argsort(position, kind="stable")]].reset_index(drop=True)
        counts[DUPLICATE_ROW] = len(dup_rows)
    return df, counts, newly_lost


def inject_faults(
    tables: Mapping[str, pd.DataFrame], rate: float, seed: int
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, int]]]:
    """Inject faults into about ``rate`` of the rows of every table.

    Faults: exact duplicate rows, null ``person_id``, orphan ``person_id``, end before
    start (``death_date`` before ``birth_date`` in persons), unknown codes (sex "Male",
    setting "urgent_care", ...), dates a century in the future, negative ``paid_amount``
    or ``days_supply``, events dated before the person's birth. Each faulty row gets exactly one fault. Rows that already have an
    exact twin are never touched, so duplicates the input already had keep their own count.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Clean tables in the in-memory contract (dates as datetime64); not modified.
    rate : float
        Share of each table's rows to corrupt, in [0, 0.5].
    seed : int
        Seed of the random generator; the result is deterministic given it.

    Returns
    -------
    tables : dict of str to DataFrame
        The dirty tables.
    injected : dict of str to dict of str to int
        Per table, rows that validation must reject per check name (``duplicate_row``,
        ``null_person_id``, ``orphan_person_id``, ``end_before_start``, ``unknown_code``,
        ``future_date``, ``negative_value``, ``before_birth``), including orphans left by
        corrupted persons.
    """
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 0.5:
        raise ValueError(BAD_RATE.format(rate=rate))
    rng = np.random.default_rng(seed)
    persons = tables["persons"] if "persons" in tables else pd.DataFrame(columns=["person_id"])
    if persons["person_id"].astype("str").str.fullmatch(r"UNLINKED-\d{7}").any():
        raise ValueError(ID_CLASH)
    # Each person's birth date as the clean table has it: a persons row the injector
    # corrupts loses its person, whose events are then orphans, never moved before a birth.
    known = persons.dropna(subset=["person_id"]).drop_duplicates("person_id", keep=False)
    births = pd.Series(
        known["birth_date"].to_numpy("datetime64[us]") if "birth_date" in known else None,
        index=known["person_id"].to_numpy(),
        dtype="datetime64[us]",
    )
    lost: set = set()
    dirty: dict[str, pd.DataFrame] = {}
    injected: dict[str, dict[str, int]] = {}
    for table in [t for t in TABLE_NAMES if t in tables]:
        df = tables[table]
        n_faults = round(rate * len(df))
        dirty[table], injected[table], newly_lost = _inject_table(
            table, df, n_faults, rng, lost, births
        )
        lost |= newly_lost
    return dirty, injected
