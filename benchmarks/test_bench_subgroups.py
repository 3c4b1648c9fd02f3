"""Scale run of the training evaluation's subgroup table, ``subgroups.csv`` (prints figures,
never asserts timing).

Run with::

    .venv/bin/pytest benchmarks/test_bench_subgroups.py -m benchmark -s

``RISKSTRAT_BENCH_ROWS`` (default 200000): test-quarter rows, with four attributes in a
county's proportions, four scorers selecting at one capacity, and three programmes' lists
by group (one with more eligible than places, so the model's places among them too). The
table is timed with and without the programmes' lists.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import pytest

from riskstrat.modeling import subgroup_metrics
from riskstrat.modeling._subgroup_names import MODEL_WITHIN_ELIGIBLE, PROGRAMME_ELIGIBLE
from riskstrat.modeling._subgroup_places import Places

RACES = {
    "Hispanic/Latino": 0.5,
    "White": 0.16,
    "Asian/Pacific Islander": 0.12,
    "Black": 0.11,
    "Other/Multiple": 0.04,
    "Unknown": 0.04,
    "American Indian/Alaska Native": 0.03,
}
LISTS = {"reentry": (0.014, 3_750), "sud_ens": (0.027, 720), "fsp": (0.03, 15_000)}


def _quarter(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    groups = pd.DataFrame(
        {
            "race_ethnicity": rng.choice(list(RACES), n, p=list(RACES.values())),
            "sex": rng.choice(["F", "M", "X", "U"], n, p=[0.51, 0.47, 0.01, 0.01]),
            "age_band": rng.choice(["0-17", "18-25", "26-44", "45-64", "65+"], n),
            "spa": rng.integers(1, 9, n).astype(str),
        }
    )
    y = (rng.random(n) < 0.15).astype(float)
    scores = {
        name: np.clip(rng.random(n) * 0.3 + y * rng.uniform(0, lift, n), 0, 1)
        for name, lift in (("model", 0.5), ("rule", 0.4), ("single_feature", 0.1), ("oracle", 0.6))
    }
    places = []
    for programme, (share, k) in LISTS.items():
        listed = rng.random(n) < share * (1 + y)
        places.append(Places(PROGRAMME_ELIGIBLE, programme, listed))
        if listed.sum() > k:
            rows = np.flatnonzero(listed)
            within = np.zeros(n, dtype=bool)
            within[rows[np.argsort(-scores["model"][rows], kind="stable")[:k]]] = True
            places.append(Places(MODEL_WITHIN_ELIGIBLE, programme, within, scores["model"]))
    return y, scores, groups, places


@pytest.mark.benchmark
def test_subgroup_table_at_scale():
    n = int(os.environ.get("RISKSTRAT_BENCH_ROWS", "200000"))
    y, scores, groups, places = _quarter(n)
    capacity = ("reentry", 3_750)
    for label, given in (("without the programmes' lists", ()), ("with them", places)):
        start = time.perf_counter()
        table = subgroup_metrics(y, scores, groups, capacity=capacity, places=given)
        seconds = time.perf_counter() - start
        print(
            f"\nsubgroups.csv, {n:,} rows, {len(given)} lists ({label}): {seconds:.1f} s, "
            f"{len(table):,} rows, {table['suppressed'].mean():.0%} hidden"
        )
        assert len(table) > 0
