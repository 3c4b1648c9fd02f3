"""Cross-row checks: orphan ``person_id``, events outside the person's life, exact
duplicate rows, duplicate ``person_id``.

They run after the row checks, on the rows still accepted, and must stay cheap on tens of
millions of rows: duplicates are found through one 64-bit key per row, and only rows whose
key repeats are compared exactly (so a key collision can never reject a row).
"""

from __future__ import annotations

import dataclasses
import functools

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskstrat.data._checks import (
    AFTER_DEATH,
    BEFORE_BIRTH,
    DUPLICATE_PERSON_ID,
    DUPLICATE_ROW,
    ORPHAN_PERSON_ID,
    RowCheck,
)
from riskstrat.data._codes import EVENT_DATES
from riskstrat.data._hints import Outside
from riskstrat.data._results import DataContractError

# The reason of an orphan whose id no persons row has (not one whose row was rejected).
NOT_IN_PERSONS = "person_id not in persons"
WRITTEN_ALIKE = (
    "{n:,} of them match a persons id once both are written alike (leading zeros, a "
    "trailing '.0', case and spaces set aside): the tables write their ids differently"
)


def orphan_ids(ids: pd.Series, person_ids: pd.Series) -> pd.Series:
    """True where an id is not among ``person_ids`` (a null id is no orphan)."""
    try:
        # Arrow's hash lookup is ~10x faster than Series.isin on arrow-backed strings.
        known = pc.is_in(pa.array(ids.array), value_set=pa.array(person_ids.array))
        found = pd.Series(known.to_numpy(zero_copy_only=False), index=ids.index, dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        # Ids Arrow cannot hash as one type (mixed objects in a CSV-read column, say):
        # pandas' slower lookup gives the same answer.
        found = ids.isin(person_ids)
    return ids.notna() & ~found


@dataclasses.dataclass(frozen=True)
class Lifespans:
    """The accepted persons: their ids, and the dates their lives begin and end.

    ``death`` is NaT for a person still alive (or whose death the county does not know).
    """

    ids: pd.Series
    birth: np.ndarray
    death: np.ndarray

    @classmethod
    def of(cls, persons: pd.DataFrame) -> Lifespans:
        death = persons["death_date"] if "death_date" in persons.columns else None
        return cls(
            ids=persons["person_id"].astype("str").reset_index(drop=True),
            birth=persons["birth_date"].to_numpy("datetime64[us]"),
            death=(
                np.full(len(persons), np.datetime64("NaT", "us"))
                if death is None
                else death.to_numpy("datetime64[us]")
            ),
        )

    @functools.cached_property
    def alike(self) -> pd.Index:
        """The persons' ids written alike (see :func:`written_alike`), worked out once."""
        return pd.Index(_alike(self.ids))

    def positions(self, ids: pd.Series) -> np.ndarray:
        """Each id's row among the persons; -1 for a null id or one not among them."""
        try:
            found = pc.index_in(pa.array(ids.array), value_set=pa.array(self.ids.array))
            return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            # Ids Arrow cannot hash as one type: pandas' lookup gives the same answer.
            return pd.Index(self.ids).get_indexer(ids)


class _PersonRows:
    """The persons row of each event, looked up once per table for the checks that need it."""

    def __init__(self, lifespans: Lifespans) -> None:
        self.lifespans = lifespans
        self._frame: pd.DataFrame | None = None
        self._rows = np.zeros(0, dtype=np.int64)

    def __call__(self, df: pd.DataFrame) -> np.ndarray:
        if df is not self._frame:
            self._frame, self._rows = df, self.lifespans.positions(df["person_id"])
        return self._rows

    def dates(self, df: pd.DataFrame, which: str) -> np.ndarray:
        """The person's birth or death date for each event (NaT where there is none)."""
        rows = self(df)
        known = getattr(self.lifespans, which)
        if not len(known):
            return np.full(len(rows), np.datetime64("NaT", "us"))
        return np.where(rows >= 0, known[np.maximum(rows, 0)], np.datetime64("NaT", "us"))


def _outside_life(rows: _PersonRows, column: str, which: str):
    def violated(df: pd.DataFrame, keep: np.ndarray) -> np.ndarray:
        when = df[column].to_numpy("datetime64[us]")
        limit = rows.dates(df, which)
        # NaT compares False either way: an unknown date or an unknown death passes.
        outside = when < limit if which == "birth" else when > limit
        return outside & keep

    return violated


def _hashable_column(s: pd.Series) -> pa.Array:
    # Equal values (NaN and missing included) must hash alike; unequal ones may collide.
    try:
        return pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        # Values Arrow cannot hold as one type (numbers among text in an object column):
        # their codes, which pandas gives equal values alike.
        return pa.array(pd.factorize(s, use_na_sentinel=True)[0])


def _row_keys(df: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row, equal for equal rows.

    DuckDB hashes the columns in native code on every core: factorising each column in
    pandas made a 1,000,000-person county's validation 2.4 s longer (36.7 s, not 34.3 s). It
    hashes NaN like a missing value and -0.0 like 0.0, as DataFrame.duplicated compares them.
    """
    columns = {f"c{i}": _hashable_column(df[name]) for i, name in enumerate(df.columns)}
    with duckdb.connect() as con:
        con.register("rows", pa.table(columns))
        hashed = con.execute(f"SELECT hash({', '.join(columns)}) AS key FROM rows").fetchnumpy()
    return np.asarray(hashed["key"], dtype="u8")


def _duplicate_rows(
    df: pd.DataFrame, keep: np.ndarray, outside: Outside | None = None
) -> np.ndarray:
    """``df.loc[keep].duplicated()`` aligned to ``df``, without factorising the whole frame.

    Rows are hashed to one 64-bit key; only rows whose key repeats are compared exactly.
    ``outside.differ`` counts the duplicates that differ from their first copy outside the
    contract.
    """
    rows = np.flatnonzero(keep)
    out = np.zeros(len(df), dtype=bool)
    if len(rows) < 2:
        return out
    # Keys of all rows, then of the kept ones: cheaper than copying every column's subset.
    keys = _row_keys(df)[rows]
    # Sorting beats a hash table on tens of millions of random 64-bit keys.
    ordered = np.sort(keys)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    if len(repeated):
        found = np.minimum(np.searchsorted(repeated, keys), len(repeated) - 1)
        candidates = rows[repeated[found] == keys]
        frame = df.iloc[candidates]
        copied = frame.duplicated().to_numpy()
        out[candidates] = copied
        if outside is not None and copied.any():
            # A row first seen with its own outside columns repeats no row as written.
            groups = frame.groupby(list(frame.columns), dropna=False, sort=False).ngroup()
            outside_key = outside.hashes(candidates, groups.to_numpy())
            written = frame.assign(**{" outside": outside_key}).duplicated()
            outside.differ = int((copied & ~written.to_numpy()).sum())
    return out


def _duplicate_ids(df: pd.DataFrame, keep: np.ndarray) -> np.ndarray:
    ids = df["person_id"][keep]
    mask = ids.duplicated(keep=False) & ids.notna()
    return mask.reindex(df.index, fill_value=False).to_numpy(dtype=bool)


def cross_checks(
    table: str,
    lifespans: Lifespans | None,
    rejected_ids: pd.Series | None = None,
    outside: Outside | None = None,
) -> list[RowCheck]:
    """The cross-row checks of ``table`` in priority order.

    Their ``violated(df, keep)`` takes the mask of rows still accepted and judges only those:
    a corrupt row cannot make a clean one look like a duplicate. ``lifespans`` are the
    accepted persons; ``rejected_ids`` those whose persons row was rejected: their events
    are orphans too, but with the reason that says so (the person is in the file, and the
    fix is in the persons row). An event dated before its person's birth or after their
    death is a linkage error (a parent's record on a child's id, a namesake's visit after
    a death): the person's other records are kept, the event is set aside.
    """
    checks = []
    if table != "persons" and rejected_ids is not None and len(rejected_ids):
        checks.append(
            RowCheck(
                ORPHAN_PERSON_ID,
                "person_id",
                "the person's persons row was rejected",
                lambda df, keep: (
                    ~orphan_ids(df["person_id"], rejected_ids).to_numpy(bool)
                    & df["person_id"].notna().to_numpy(bool)
                    & keep
                ),
            )
        )
    if table != "persons" and lifespans is not None:
        rows = _PersonRows(lifespans)
        checks.append(
            RowCheck(
                ORPHAN_PERSON_ID,
                "person_id",
                NOT_IN_PERSONS,
                lambda df, keep: (rows(df) < 0) & df["person_id"].notna().to_numpy(bool) & keep,
            )
        )
        if table in EVENT_DATES:
            date = EVENT_DATES[table]
            checks += [
                RowCheck(
                    BEFORE_BIRTH,
                    date,
                    "dated before the person's birth_date",
                    _outside_life(rows, date, "birth"),
                ),
                RowCheck(
                    AFTER_DEATH,
                    date,
                    "dated after the person's death_date",
                    _outside_life(rows, date, "death"),
                ),
            ]
    duplicates = functools.partial(_duplicate_rows, outside=outside)
    checks.append(RowCheck(DUPLICATE_ROW, "*", "exact duplicate row", duplicates))
    if table == "persons":
        checks.append(
            RowCheck(DUPLICATE_PERSON_ID, "person_id", "person_id not unique", _duplicate_ids)
        )
    return checks


def _alike(ids: pd.Series) -> pd.Series:
    text = ids.astype("str").str.strip().str.lower().str.replace(r"\.0+$", "", regex=True)
    alike = text.str.lstrip("0")
    # An id of zeros alone ("000", "0.0") stays itself: stripped, it would match them all.
    return alike.where(alike != "", text)


def written_alike(ids: pd.Series, lifespans: Lifespans) -> int:
    """How many of ``ids`` (none of them a persons id) match one once both are written alike."""
    ids = ids.dropna()
    if ids.empty or lifespans.ids.empty:
        return 0
    return int(_alike(ids).isin(lifespans.alike).sum())


def with_id_hint(exc: DataContractError, df: pd.DataFrame, lifespans: Lifespans | None):
    """Strict mode's orphan error, saying how many orphans are ids written differently."""
    if exc.check != ORPHAN_PERSON_ID or lifespans is None or "person_id" not in df.columns:
        return exc
    ids = df["person_id"][lifespans.positions(df["person_id"]) < 0]
    n = written_alike(ids, lifespans)
    if not n:
        return exc
    return exc.extended(f"; {WRITTEN_ALIKE.format(n=n)}")


def orphans_written_alike(rejected: pd.DataFrame, lifespans: Lifespans | None) -> int:
    """How many rows quarantined as not in persons name a persons id written differently."""
    if lifespans is None or rejected.empty or "reason" not in rejected.columns:
        return 0
    orphans = rejected.loc[rejected["reason"].str.startswith(NOT_IN_PERSONS), "person_id"]
    return written_alike(orphans, lifespans)
