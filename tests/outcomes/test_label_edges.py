"""Label edges the build tests leave out: readmission bounds and a death on the window end.

The label window of as_of 2025-01-01 is [2025-01-01, 2026-01-01): its last day is
2025-12-31 and 2026-01-01, the window end, is already outside it.
"""

from __future__ import annotations

import pandas as pd

from riskstrat.outcomes import build_outcomes

from .test_build import _persons

D = pd.Timestamp
AS_OF = D("2025-01-01")
WINDOW_END = D("2026-01-01")
DATA_END = D("2026-06-30")  # well past the window: only deaths end follow-up early


def _stays(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "start_date": [D(r[1]) for r in rows],
            "end_date": [D(r[2]) for r in rows],
            "setting": ["inpatient_medical"] * len(rows),
            "paid_amount": [100.0] * len(rows),
        }
    )


def _labels(out: pd.DataFrame, outcome: str) -> dict[str, object]:
    return dict(zip(out["person_id"], out[outcome].tolist(), strict=True))


def test_readmission_on_the_window_end_day_is_outside_the_window() -> None:
    tables = {
        "persons": _persons("on_window_end", "on_last_day"),
        "encounters": _stays(
            [
                ("on_window_end", "2025-12-20", "2025-12-24"),
                ("on_window_end", "2026-01-01", "2026-01-03"),  # 8 days after: in range
                ("on_last_day", "2025-12-20", "2025-12-24"),
                ("on_last_day", "2025-12-31", "2026-01-03"),
            ]
        ),
    }
    out = build_outcomes(tables, AS_OF, data_end=DATA_END)
    # Within 30 days of the discharge either way; only the start date against the window
    # end (readmit_in_window, the default) tells them apart.
    assert _labels(out, "readmission_30d") == {"on_last_day": 1, "on_window_end": 0}


def test_readmission_the_day_after_discharge_counts_and_on_its_day_does_not() -> None:
    tables = {
        "persons": _persons("next_day", "same_day"),
        "encounters": _stays(
            [
                ("next_day", "2025-03-01", "2025-03-05"),
                ("next_day", "2025-03-06", "2025-03-08"),  # readmit_min_days (1) after
                ("same_day", "2025-03-01", "2025-03-05"),
                ("same_day", "2025-03-05", "2025-03-08"),  # a transfer, not a readmission
            ]
        ),
    }
    out = build_outcomes(tables, AS_OF, data_end=DATA_END)
    assert _labels(out, "readmission_30d") == {"next_day": 1, "same_day": 0}


def test_a_death_on_the_window_end_day_is_no_death_and_censors_nothing() -> None:
    tables = {
        "persons": _persons("dies_on_window_end", deaths={"dies_on_window_end": "2026-01-01"})
    }
    out = build_outcomes(tables, AS_OF, data_end=DATA_END)
    (row,) = out.to_dict("records")
    assert row["death"] == 0 and not row["death_censored"]
    # Alive through the window's last day: every outcome was fully observed, so none is
    # censored (and an "exclude" label is a real 0, not null).
    censored = [c for c in out.columns if c.endswith("_censored") and row[c]]
    assert censored == []
    assert row["jail_booking"] == 0 and row["readmission_30d"] == 0
    assert row["followup_end"] == WINDOW_END - pd.Timedelta(days=1)


def test_a_death_on_the_last_day_of_the_window_is_a_death() -> None:
    tables = {"persons": _persons("dies_on_last_day", deaths={"dies_on_last_day": "2025-12-31"})}
    out = build_outcomes(tables, AS_OF, data_end=DATA_END)
    (row,) = out.to_dict("records")
    assert row["death"] == 1 and not row["death_censored"]
    assert row["followup_end"] == D("2025-12-31")
    # Observed through the window's last day, as data ending that day would be: the other
    # outcomes are whole, not censored.
    censored = [c for c in out.columns if c.endswith("_censored") and row[c]]
    assert censored == []
    assert row["jail_booking"] == 0


def test_a_death_on_the_as_of_date_is_a_death_in_the_window() -> None:
    # Alive at the start of as_of: the death is the window's first day, not a reason to
    # leave the person out (nothing as of as_of sees it).
    tables = {"persons": _persons("dies_on_as_of", deaths={"dies_on_as_of": "2025-01-01"})}
    out = build_outcomes(tables, AS_OF, data_end=DATA_END)
    (row,) = out.to_dict("records")
    assert row["death"] == 1 and not row["death_censored"]
    assert row["jail_booking_censored"] and pd.isna(row["jail_booking"])
