"""Scale runs of programme rules and outcome labels (prints figures, never asserts timing).

Run with::

    .venv/bin/pytest benchmarks/test_bench_eligibility.py -m benchmark -s

Environment:
- ``RISKSTRAT_BENCH_PERSONS`` (default 1000000): rows of the random feature frame for the
  rule evaluation (nine programmes each);
- ``RISKSTRAT_BENCH_DATA``: a synthetic county folder for the outcome and end-to-end
  eligibility run (skipped when unset).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
import psutil
import pytest

from riskstrat.eligibility import Programs, eligible_counts, evaluate_programs, load_programs
from riskstrat.eligibility._programs import iter_leaves


def _random_features(programs: Programs, n: int, seed: int = 0) -> pd.DataFrame:
    """Features the rules use, with sparse, skewed values like a real county's."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {
        "person_id": pd.Series(np.char.mod("p%07d", np.arange(n))).astype("str"),
        "as_of": pd.Timestamp("2025-01-01"),
    }
    used = {
        leaf.feature for code in programs for leaf, _ in iter_leaves(programs[code].criteria, "")
    }
    for name in sorted(used):
        if name == "age":
            columns[name] = rng.integers(0, 95, n)
        elif name.startswith(("has_", "is_", "in_", "on_")) or name.endswith(("_now", "homeless")):
            columns[name] = rng.random(n) < 0.1
        elif name.startswith("days_since"):
            columns[name] = np.where(rng.random(n) < 0.2, rng.integers(0, 1000, n), 9999)
        elif name == "mcas_latest":
            columns[name] = pd.array(rng.integers(17, 86, n), dtype="Float64")
            columns[name][rng.random(n) < 0.9] = pd.NA
        else:
            columns[name] = rng.negative_binomial(1, 0.6, n)
    return pd.DataFrame(columns)


@pytest.mark.benchmark
def test_rules_on_a_million_persons() -> None:
    n = int(os.environ.get("RISKSTRAT_BENCH_PERSONS", "1000000"))
    programs = load_programs()
    features = _random_features(programs, n)
    rss_before = psutil.Process().memory_info().rss
    started = time.perf_counter()
    long = evaluate_programs(features, programs)
    elapsed = time.perf_counter() - started
    rss_after = psutil.Process().memory_info().rss
    counts = eligible_counts(long, programs)
    print(f"\nevaluate_programs: {n:,} persons x {len(programs)} programmes = {len(long):,} rows")
    print(f"  {elapsed:.1f} s, RSS +{(rss_after - rss_before) / 2**20:,.0f} MiB")
    print(counts[["program", "eligible", "share"]].to_string(index=False))
    assert len(long) == n * len(programs)


@pytest.mark.benchmark
def test_outcomes_and_eligibility_on_a_synthetic_county() -> None:
    data = os.environ.get("RISKSTRAT_BENCH_DATA")
    if not data:
        pytest.skip("set RISKSTRAT_BENCH_DATA to a synthetic county folder")
    from riskstrat.data import load_tables
    from riskstrat.features import build_features
    from riskstrat.outcomes import build_outcomes, load_outcome_spec, outcome_summary

    tables = load_tables(data, mode="quarantine", required=("persons",)).tables
    started = time.perf_counter()
    labels = build_outcomes(tables, ["2023-01-01", "2023-07-01"])
    print(f"\nbuild_outcomes: {len(labels):,} rows in {time.perf_counter() - started:.1f} s")
    print(outcome_summary(labels, load_outcome_spec()).to_string(index=False))
    started = time.perf_counter()
    features = build_features(tables, "2024-07-01")
    built = time.perf_counter() - started
    programs = load_programs()
    started = time.perf_counter()
    long = evaluate_programs(features, programs)
    print(
        f"features {built:.1f} s, rules {time.perf_counter() - started:.1f} s "
        f"for {len(features):,} persons"
    )
    print(eligible_counts(long, programs).to_string(index=False))
