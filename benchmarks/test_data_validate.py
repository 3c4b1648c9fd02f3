"""Validation throughput on ~1M event rows (prints figures; run with ``-m benchmark -s``)."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskstrat.data import load_tables, table_schema, validate_tables
from riskstrat.data._codes import DRUG_CLASSES, RACE_ETHNICITIES, SETTINGS, SEXES
from riskstrat.synth._dirty import inject_faults

pytestmark = pytest.mark.benchmark

# Scale with RISKSTRAT_BENCH_ENCOUNTERS (default 1M encounters, 0.5M fills, 100k persons).
N_ENCOUNTERS = int(os.environ.get("RISKSTRAT_BENCH_ENCOUNTERS", "1000000"))
N_FILLS = N_ENCOUNTERS // 2
PER_DAY = max(N_FILLS // 3000, 1)  # fills per day: all dates stay within ~8 years
N_PERSONS = max(N_ENCOUNTERS // 10, 1000)


def _tables(seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:08d}" for i in range(N_PERSONS)], dtype=object)
    day0 = np.datetime64("2015-01-01", "us")
    persons = pd.DataFrame(
        {
            "person_id": pd.array(ids, dtype="str"),
            "birth_date": day0
            - rng.integers(18 * 365, 80 * 365, N_PERSONS).astype("timedelta64[D]"),
            "sex": pd.array(rng.choice(SEXES, N_PERSONS), dtype="str"),
            "race_ethnicity": pd.array(rng.choice(RACE_ETHNICITIES, N_PERSONS), dtype="str"),
            "spa": pd.array(rng.integers(1, 9, N_PERSONS), dtype="Int64"),
            "death_date": pd.Series(pd.NaT, index=range(N_PERSONS), dtype="datetime64[us]"),
        }
    )
    start = day0 + rng.integers(0, 3000, N_ENCOUNTERS).astype("timedelta64[D]")
    encounters = pd.DataFrame(
        {
            "person_id": pd.array(ids[rng.integers(0, N_PERSONS, N_ENCOUNTERS)], dtype="str"),
            "start_date": start,
            "end_date": start + rng.integers(0, 10, N_ENCOUNTERS).astype("timedelta64[D]"),
            "setting": pd.array(rng.choice(SETTINGS, N_ENCOUNTERS), dtype="str"),
            "paid_amount": rng.gamma(1.0, 800.0, N_ENCOUNTERS).round(2),
            # A row counter keeps the generated rows unique (no accidental exact duplicates).
            "provider_id": pd.array([f"H{i}" for i in range(N_ENCOUNTERS)], dtype="str"),
        }
    )
    pharmacy = pd.DataFrame(
        {
            "person_id": pd.array(ids[rng.integers(0, N_PERSONS, N_FILLS)], dtype="str"),
            "fill_date": day0 + (np.arange(N_FILLS) // PER_DAY).astype("timedelta64[D]"),
            "drug_class": pd.array(rng.choice(DRUG_CLASSES, N_FILLS), dtype="str"),
            # (date, days_supply) is unique per row, so there are no accidental duplicates.
            "days_supply": np.arange(N_FILLS) % PER_DAY + 1,
        }
    )
    return {"persons": persons, "encounters": encounters, "pharmacy": pharmacy}


def _timed(label: str, fn):
    start = time.perf_counter()
    out = fn()
    print(f"{label}: {time.perf_counter() - start:.2f} s")
    return out


def test_validation_throughput(tmp_path: Path) -> None:
    clean = _tables()
    rows = sum(len(df) for df in clean.values())
    dirty, injected = _timed("inject_faults rate 0.01", lambda: inject_faults(clean, 0.01, 0))
    kwargs = {"reference_date": "2025-01-01", "required": ("persons",)}
    _timed(f"validate strict, clean, {rows:,} rows", lambda: validate_tables(clean, **kwargs))
    result = _timed(
        f"validate quarantine, 1% dirty, {rows:,} rows",
        lambda: validate_tables(dirty, mode="quarantine", rejected_dir=tmp_path / "rej", **kwargs),
    )
    for name, t in result.report.tables.items():
        assert t.by_check == injected[name]
    for name, df in dirty.items():
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    _timed(
        "load_tables from Parquet, quarantine",
        lambda: load_tables(tmp_path, mode="quarantine", **kwargs),
    )
    schema = table_schema(
        "encounters",
        reference_date="2025-01-01",
        person_ids=clean["persons"]["person_id"],
        columns=tuple(clean["encounters"].columns),
    )
    _timed(
        f"pandera schema.validate(lazy=True), clean encounters {N_ENCOUNTERS:,}",
        lambda: schema.validate(clean["encounters"], lazy=True),
    )
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
