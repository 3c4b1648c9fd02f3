"""Property: events on or after as_of never change any feature, in any table.

Two versions of one history share every event before as_of and differ arbitrarily in
events on or after it (added, removed, changed) and in end dates that fall on or after
as_of (unknown at as_of). Their feature tables must be identical.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskstrat.data._codes import (
    DRUG_CLASSES,
    DX_GROUPS,
    EVENT_DATES,
    HMIS_PROJECT_TYPES,
    JUSTICE_EVENT_TYPES,
    PROGRAMS,
    SETTINGS,
)
from riskstrat.features import build_features, population

from .conftest import AS_OF, make_tables

PEOPLE = ("p0", "p1", "p2")
CONDITIONS = ("smi", "sud_opioid", "diabetes", "overdose", "pregnancy", "depression")
INTERVALS = {"encounters", "homelessness", "enrollments"}

person = st.sampled_from(PEOPLE)
past_day = st.integers(-1200, -1)
future_day = st.integers(0, 400)
future_end = st.one_of(st.none(), future_day)


def _row(table: str, data: st.DataObject) -> dict:
    """Coded values and non-date fields of one event of ``table``."""
    draw = data.draw
    if table == "encounters":
        return {
            "setting": draw(st.sampled_from(SETTINGS)),
            "dx_group": draw(st.sampled_from(DX_GROUPS)),
            "avoidable": draw(st.booleans()),
            "paid_amount": float(draw(st.integers(0, 5000))),
        }
    if table == "diagnoses":
        return {"condition": draw(st.sampled_from(CONDITIONS))}
    if table == "pharmacy":
        return {"drug_class": draw(st.sampled_from(DRUG_CLASSES)), "days_supply": 30}
    if table == "justice":
        return {"event_type": draw(st.sampled_from(JUSTICE_EVENT_TYPES))}
    if table == "homelessness":
        return {"project_type": draw(st.sampled_from(HMIS_PROJECT_TYPES))}
    if table == "enrollments":
        return {"program": draw(st.sampled_from(PROGRAMS))}
    return {"instrument": draw(st.sampled_from(("MCAS", "PHQ-9"))), "score": 50.0}


DATE = EVENT_DATES


def _events(data: st.DataObject, days: st.SearchStrategy, n: int) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {t: [] for t in DATE}
    for _ in range(data.draw(st.integers(0, n))):
        table = data.draw(st.sampled_from(sorted(DATE)))
        start = data.draw(days)
        rec = {"person_id": data.draw(person), DATE[table]: start, **_row(table, data)}
        if table in INTERVALS:
            rec["end_date"] = start + data.draw(st.integers(0, 500))
        out[table].append(rec)
    return out


def _with_future(past: dict[str, list[dict]], data: st.DataObject) -> dict[str, pd.DataFrame]:
    """``past`` with fresh unknown ends and a fresh set of events on or after as_of."""
    tables = {t: [dict(r) for r in rows] for t, rows in past.items()}
    for table in INTERVALS:
        for rec in tables[table]:
            if rec["end_date"] is None or rec["end_date"] >= 0:
                rec["end_date"] = data.draw(future_end)
    future = _events(data, future_day, 6)
    for table, rows in future.items():
        tables[table] += rows
    return make_tables(list(PEOPLE), **tables)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_events_on_or_after_as_of_never_change_features(data: st.DataObject) -> None:
    past = _events(data, past_day, 25)
    # The engine itself is under test: drawn rows need not meet the contract (validate=False).
    first = build_features(_with_future(past, data), AS_OF, population="all", validate=False)
    second = build_features(_with_future(past, data), AS_OF, population="all", validate=False)
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(
        population(_with_future(past, data), AS_OF), population(_with_future(past, data), AS_OF)
    )
