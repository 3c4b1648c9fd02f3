"""Scale run of the cohort's by-group table, ``groups.csv`` (prints figures, never asserts
timing).

Run with::

    .venv/bin/pytest benchmarks/test_bench_groups.py -m benchmark -s

``RISKSTRAT_BENCH_PERSONS`` (default 1000000): persons scored, with random attributes in a
county's proportions and about 10% eligible for one of nine programmes. The suppression's
integer programs grow with the groups and programmes, not the persons.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from riskstrat.scoring._groups import group_counts

PROGRAMMES = {  # share of persons eligible, care coordination
    "fsp": (0.03, False),
    "hcss": (0.012, True),
    "isr": (0.001, True),
    "rbc": (0.0005, True),
    "recuperative_care": (0.0002, False),
    "reentry": (0.013, True),
    "sud_ens": (0.027, True),
    "tenancy_support": (0.013, False),
    "toc": (0.001, True),
}
RACES = {
    "Hispanic/Latino": 0.5,
    "White": 0.16,
    "Asian/Pacific Islander": 0.12,
    "Black": 0.11,
    "Other/Multiple": 0.04,
    "Unknown": 0.04,
    "American Indian/Alaska Native": 0.03,
}


def _county(n: int, seed: int = 0) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = pd.Series(np.char.mod("p%07d", np.arange(n))).astype("str")
    persons = pd.DataFrame(
        {
            "person_id": ids,
            "race_ethnicity": rng.choice(list(RACES), n, p=list(RACES.values())),
            "sex": rng.choice(["F", "M", "X", "U"], n, p=[0.51, 0.47, 0.01, 0.01]),
            "birth_date": pd.Timestamp("1940-01-01")
            + pd.to_timedelta(rng.integers(0, 365 * 85, n), unit="D"),
            "spa": pd.array(rng.integers(1, 9, n), dtype="Int64"),
        }
    )
    held = np.zeros(n, dtype=bool)  # one care-coordination place per person
    rows = []
    for programme, (share, care_coordination) in PROGRAMMES.items():
        eligible = np.flatnonzero(rng.random(n) < share)
        chosen = rng.random(len(eligible)) < 0.8
        if care_coordination:
            chosen &= ~held[eligible]
            held[eligible[chosen]] = True
        rows.append(pd.DataFrame({"person_id": ids[eligible], "program": programme}))
        rows[-1]["selected"] = chosen
    return ids, persons, pd.concat(rows, ignore_index=True)


@pytest.mark.benchmark
def test_groups_table_at_scale():
    n = int(os.environ.get("RISKSTRAT_BENCH_PERSONS", "1000000"))
    ids, persons, cohort = _county(n)
    cc = [p for p, (_share, cc) in PROGRAMMES.items() if cc]
    start = time.perf_counter()
    table = group_counts(ids, persons, cohort, list(PROGRAMMES), "2025-07-01", cc)
    seconds = time.perf_counter() - start
    hidden = table[["eligible", "selected"]].isna().to_numpy().mean()
    print(
        f"\ngroups.csv, {n:,} persons, {len(cohort):,} eligible rows, {len(PROGRAMMES)} "
        f"programmes: {seconds:.1f} s, {len(table)} rows, {hidden:.0%} of eligible/selected "
        "cells hidden"
    )
    assert len(table) > 0
