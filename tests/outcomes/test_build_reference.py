"""The SQL labels agree with a plain pandas reading of the definitions on random events."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskstrat.outcomes import build_outcomes

AS_OFS = [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-07-01")]
DATA_END = pd.Timestamp("2025-03-31")  # censors the second window (ends 2025-07-01)


def _random_county(n: int, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"p{i:03d}" for i in range(n)]
    day0 = pd.Timestamp("2023-06-01")

    def dates(k: int) -> pd.Series:
        return pd.Series(day0 + pd.to_timedelta(rng.integers(0, 650, k), unit="D"))

    deaths = dates(n).where(rng.random(n) < 0.3)
    persons = pd.DataFrame(
        {
            "person_id": ids,
            "birth_date": pd.Timestamp("1970-01-01"),
            "sex": "U",
            "race_ethnicity": "Unknown",
            "spa": 1,
            "death_date": deaths,
        }
    )
    k = 20 * n
    start = dates(k)
    encounters = pd.DataFrame(
        {
            "person_id": rng.choice(ids, k),
            "start_date": start,
            "end_date": start + pd.to_timedelta(rng.integers(0, 5, k), unit="D"),
            "setting": rng.choice(["ed", "inpatient_psych", "psych_emergency", "primary_care"], k),
            "paid_amount": rng.integers(0, 1000, k).astype(float),
        }
    )
    j = 2 * n
    justice = pd.DataFrame(
        {
            "person_id": rng.choice(ids, j),
            "event_date": dates(j),
            "event_type": rng.choice(["booking", "release"], j),
        }
    )
    return {"persons": persons, "encounters": encounters, "justice": justice}


def _reference(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    persons, enc, jus = tables["persons"], tables["encounters"], tables["justice"]
    rows = []
    for as_of in AS_OFS:
        end = as_of + pd.DateOffset(months=12)
        data_short = end - pd.Timedelta(days=1) > DATA_END
        alive = persons[persons["death_date"].isna() | (persons["death_date"] > as_of)]
        for pid, death in zip(alive["person_id"], alive["death_date"], strict=True):
            e = enc[(enc["person_id"] == pid) & (enc["start_date"] >= as_of)]
            e = e[e["start_date"] < end]
            b = jus[(jus["person_id"] == pid) & (jus["event_type"] == "booking")]
            b = b[(b["event_date"] >= as_of) & (b["event_date"] < end)]
            n_ed = int((e["setting"] == "ed").sum())
            events = {
                "psych_crisis": bool(
                    e["setting"].isin(["inpatient_psych", "psych_emergency"]).any()
                ),
                "jail_booking": len(b) > 0,
                "frequent_ed": n_ed >= 4,
                "composite_adverse": bool((e["setting"] == "inpatient_psych").any())
                or len(b) > 0
                or n_ed >= 4,
            }
            died = pd.notna(death) and death < end
            row = {"person_id": pid, "as_of": as_of}
            for name, event in events.items():
                censored = (data_short or died) and not event
                row[name] = None if censored else int(event)
                row[f"{name}_censored"] = censored
            row["death"] = 1 if died else (None if data_short else 0)
            row["total_cost"] = float(e["paid_amount"].sum())
            row["total_cost_censored"] = bool(data_short or died)
            rows.append(row)
    return pd.DataFrame(rows)


def test_sql_labels_match_the_pandas_reference() -> None:
    tables = _random_county(60, seed=11)
    # The reference reads the rows as drawn, contract or not: so does the engine here.
    got = build_outcomes(tables, AS_OFS, data_end=DATA_END, validate=False)
    expected = _reference(tables)
    assert len(got) == len(expected)
    got = got.set_index(["as_of", "person_id"]).sort_index()
    expected = expected.set_index(["as_of", "person_id"]).sort_index()

    def plain(values: pd.Series) -> list:
        return [None if pd.isna(v) else v for v in values.astype("object")]

    for column in expected.columns:
        assert plain(got[column]) == plain(expected[column]), column
    # Both branches exercised: some events, some censoring, some complete negatives.
    assert got["jail_booking"].eq(1).any() and got["jail_booking"].eq(0).any()
    assert got["jail_booking_censored"].any() and got["frequent_ed"].eq(1).any()
