"""Small in-memory linked tables for the feature tests, built from day offsets to as_of."""

from __future__ import annotations

import pandas as pd
import pytest

AS_OF = pd.Timestamp("2024-07-01")


def day(offset: int | None) -> pd.Timestamp:
    """The date ``offset`` days from AS_OF (negative: before); None gives NaT."""
    return pd.NaT if offset is None or pd.isna(offset) else AS_OF + pd.Timedelta(days=offset)


def frame(rows: list[dict], date_columns: tuple[str, ...]) -> pd.DataFrame:
    """A table from rows whose date columns hold day offsets (or None)."""
    out = pd.DataFrame(rows)
    for col in date_columns:
        if col in out.columns:
            out[col] = pd.to_datetime([day(v) for v in out[col]]).astype("datetime64[us]")
    return out


DATE_COLUMNS = {
    "persons": ("birth_date", "death_date"),
    "encounters": ("start_date", "end_date"),
    "diagnoses": ("dx_date",),
    "pharmacy": ("fill_date",),
    "justice": ("event_date",),
    "homelessness": ("start_date", "end_date"),
    "enrollments": ("start_date", "end_date"),
    "assessments": ("assessed_date",),
}


def make_tables(persons: list[str] | None = None, **events: list[dict]) -> dict:
    """Tables with one adult per id in ``persons`` (plus every id used in ``events``).

    Everyone is born 1980-01-01 and alive; event rows give day offsets for dates.
    """
    ids = list(persons or [])
    for rows in events.values():
        ids += [r["person_id"] for r in rows]
    ids = list(dict.fromkeys(ids))
    people = pd.DataFrame(
        {
            "person_id": ids,
            "birth_date": pd.to_datetime(["1980-01-01"] * len(ids)).astype("datetime64[us]"),
            "sex": ["F"] * len(ids),
            "race_ethnicity": ["Unknown"] * len(ids),
            "spa": [1] * len(ids),
        }
    )
    tables = {"persons": people}
    for name, rows in events.items():
        if not rows:
            continue
        tables[name] = frame(rows, DATE_COLUMNS[name])
    return tables


@pytest.fixture
def as_of() -> pd.Timestamp:
    return AS_OF
