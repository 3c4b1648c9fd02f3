"""Scale run of the feature engine (prints figures; never asserts on timing).

Run with::

    .venv/bin/pytest benchmarks/bench_features.py -m benchmark -s

Environment:
- ``RISKSTRAT_BENCH_PERSONS`` (default 1000000): persons; about 30 events each are drawn;
- ``RISKSTRAT_BENCH_OUT``: folder for the generated Parquet tables (default: a temp dir).

The tables come from a simple numpy generator (fast at a million persons, unlike the full
synthetic county). Reported: wall time, events per second and peak resident memory of the
full default spec at one as-of date (targets: <= 60 s and <= 8 GB on 2 cores), and a plain
pandas groupby implementation of a fixed subset of features against the engine on the same
subset, with both outputs checked equal.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from riskstrat.data import _codes
from riskstrat.features import FeatureSpec, build_features, load_feature_spec

AS_OF = dt.date(2024, 7, 1)
EPOCH = dt.date(1970, 1, 1)
FIRST, LAST = (dt.date(2019, 7, 1) - EPOCH).days, (dt.date(2025, 1, 1) - EPOCH).days
# Events per person by table (about 30 in all).
PER_PERSON = {
    "encounters": 15.0,
    "diagnoses": 6.0,
    "pharmacy": 5.0,
    "justice": 1.5,
    "homelessness": 0.8,
    "enrollments": 0.4,
    "assessments": 1.0,
}
SETTING_P = {
    "ed": 0.25,
    "primary_care": 0.24,
    "outpatient_mh": 0.18,
    "outpatient_sud": 0.07,
    "inpatient_medical": 0.05,
    "inpatient_psych": 0.04,
    "psych_emergency": 0.04,
    "sobering_center": 0.03,
    "detox": 0.02,
    "residential_sud": 0.02,
    "crisis_residential": 0.02,
    "imd": 0.01,
    "enriched_residential": 0.01,
    "recuperative_care": 0.02,
}
ICD10 = ("F20.9", "F31.2", "F32.9", "F41.1", "F10.20", "F11.20", "F14.10", "E11.9", "I10",
         "J44.9", "T40.1X1A", "O26.89", "Z59.0", "R51")  # fmt: skip


class _Peak:
    """Samples this process's resident memory in a thread (DuckDB allocates outside Python)."""

    def __init__(self) -> None:
        self.start = psutil.Process().memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        proc = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, proc.memory_info().rss)
            self._stop.wait(0.05)

    def __enter__(self) -> _Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _dict(codes: tuple[str, ...], idx: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), pa.array(codes))


def _dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), mask=null).cast(pa.date32())


def generate(n: int, out: Path, seed: int = 7) -> int:
    """Write ``n`` persons and about 30n events as Parquet tables into ``out``; return events."""
    rng = np.random.default_rng(seed)
    ids = pa.array([f"P{i:07d}" for i in range(n)])
    activity = rng.gamma(0.7, 1 / 0.7, n)
    cdf = np.cumsum(activity / activity.sum())

    def people(k: int) -> pa.Array:
        idx = np.minimum(np.searchsorted(cdf, rng.random(k)), n - 1)
        return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32)), ids)

    def days(k: int) -> np.ndarray:
        return rng.integers(FIRST, LAST, k)

    birth = rng.integers((dt.date(1935, 1, 1) - EPOCH).days, (dt.date(2015, 1, 1) - EPOCH).days, n)
    dies = rng.random(n) > 0.03
    tables = {
        "persons": {
            "person_id": ids,
            "birth_date": _dates(birth),
            "sex": _dict(_codes.SEXES, rng.integers(0, 4, n)),
            "race_ethnicity": _dict(_codes.RACE_ETHNICITIES, rng.integers(0, 7, n)),
            "spa": pa.array(rng.integers(1, 9, n).astype(np.int32)),
            "death_date": _dates(rng.integers(FIRST, LAST + 400, n), null=dies),
        }
    }
    k = int(PER_PERSON["encounters"] * n)
    settings = tuple(SETTING_P)
    setting = rng.choice(len(settings), k, p=np.array(list(SETTING_P.values())))
    start = days(k)
    stay = np.isin(
        setting, [settings.index(s) for s in settings if s not in ("ed", "primary_care")]
    )
    los = np.where(stay, rng.integers(1, 30, k), 0)
    tables["encounters"] = {
        "person_id": people(k),
        "start_date": _dates(start),
        "end_date": _dates(start + los, null=stay & (rng.random(k) < 0.02)),
        "setting": _dict(settings, setting),
        "dx_group": _dict(_codes.DX_GROUPS, rng.integers(0, 5, k)),
        "avoidable": pa.array(rng.random(k) < 0.1),
        "paid_amount": pa.array(np.round(rng.gamma(1.5, 400, k), 2)),
    }
    k = int(PER_PERSON["diagnoses"] * n)
    tables["diagnoses"] = {
        "person_id": people(k),
        "dx_date": _dates(days(k)),
        "icd10": _dict(ICD10, rng.integers(0, len(ICD10), k)),
    }
    k = int(PER_PERSON["pharmacy"] * n)
    tables["pharmacy"] = {
        "person_id": people(k),
        "fill_date": _dates(days(k)),
        "drug_class": _dict(_codes.DRUG_CLASSES, rng.integers(0, len(_codes.DRUG_CLASSES), k)),
        "days_supply": pa.array(rng.choice([7, 14, 30, 90], k).astype(np.int32)),
    }
    k = int(PER_PERSON["justice"] * n)
    jt = rng.choice(6, k, p=[0.4, 0.38, 0.08, 0.08, 0.03, 0.03])
    tables["justice"] = {
        "person_id": people(k),
        "event_date": _dates(days(k)),
        "event_type": _dict(_codes.JUSTICE_EVENT_TYPES, jt),
    }
    for name, codes, length in (
        ("homelessness", _codes.HMIS_PROJECT_TYPES, 200),
        ("enrollments", _codes.PROGRAMS, 300),
    ):
        k = int(PER_PERSON[name] * n)
        start = days(k)
        table = {
            "person_id": people(k),
            "start_date": _dates(start),
            "end_date": _dates(start + rng.integers(1, length, k), null=rng.random(k) < 0.2),
        }
        key = "project_type" if name == "homelessness" else "program"
        table[key] = _dict(codes, rng.integers(0, len(codes), k))
        tables[name] = table
    k = int(PER_PERSON["assessments"] * n)
    tables["assessments"] = {
        "person_id": people(k),
        "assessed_date": _dates(days(k)),
        "instrument": _dict(("MCAS", "PHQ-9"), rng.integers(0, 2, k)),
        "score": pa.array(rng.integers(17, 86, k).astype(np.float64)),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, cols in tables.items():
        pq.write_table(pa.table(cols), out / f"{name}.parquet", row_group_size=1_000_000)
    return sum(len(c["person_id"]) for t, c in tables.items() if t != "persons")


SUBSET = (
    "ed_visits",
    "psych_inpatient_admissions",
    "days_since_ed_visit",
    "paid_amount",
    "in_institution_now",
    "bookings",
    "days_since_release",
    "antipsychotic_fills",
)


def _read(folder: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    table = pq.read_table(folder / f"{name}.parquet", columns=columns)
    frame = table.to_pandas(date_as_object=False)
    frame["person_id"] = frame["person_id"].astype(str)
    return frame


def pandas_subset(folder: Path, as_of: dt.date) -> pd.DataFrame:
    """The SUBSET features with plain pandas groupbys (population: everyone alive)."""
    d = pd.Timestamp(as_of)
    persons = _read(folder, "persons", ["person_id", "birth_date", "death_date"])
    # A death on the as-of date is that day's event, unseen: the person is in the population.
    alive = (persons["birth_date"] < d) & ~(persons["death_date"] < d)
    out = pd.DataFrame(
        index=pd.Index(np.sort(persons.loc[alive, "person_id"].to_numpy()), name="person_id")
    )

    def days_before(col: pd.Series) -> pd.Series:
        return (d - col).dt.days

    cols = ["person_id", "start_date", "end_date", "setting", "paid_amount"]
    enc = _read(folder, "encounters", cols)
    enc = enc[enc["start_date"] < d]
    ago = days_before(enc["start_date"])
    ed = enc["setting"] == "ed"
    for w in (30, 90, 180, 365, 730, 1095):
        out[f"ed_visits_{w}d"] = enc[ed & (ago <= w)].groupby("person_id").size()
    out["ed_visits_all"] = enc[ed].groupby("person_id").size()
    psych = enc["setting"] == "inpatient_psych"
    for w in (90, 365, 730, 1095):
        out[f"psych_inpatient_admissions_{w}d"] = (
            enc[psych & (ago <= w)].groupby("person_id").size()
        )
    out["days_since_ed_visit"] = ago[ed].groupby(enc.loc[ed, "person_id"]).min()
    # A bill counts once its encounter has ended before as_of; a visit ends the day it starts.
    end = enc["end_date"].where(~enc["setting"].isin(_codes.VISIT_SETTINGS), enc["start_date"])
    settled = end < d  # an open stay (no end) is not settled
    for w in (365, 1095):
        paid = enc.loc[(ago <= w) & settled]
        out[f"paid_amount_{w}d"] = paid.groupby("person_id")["paid_amount"].sum()
    inst = enc["setting"].isin(_codes.INSTITUTIONAL_MH_SETTINGS) & ~(enc["end_date"] < d)
    out["in_institution_now"] = enc[inst].groupby("person_id").size() > 0
    jus = _read(folder, "justice")
    jus = jus[jus["event_date"] < d]
    jago = days_before(jus["event_date"])
    booking = jus["event_type"] == "booking"
    for w in (90, 365, 730, 1095):
        out[f"bookings_{w}d"] = jus[booking & (jago <= w)].groupby("person_id").size()
    rel = jus["event_type"] == "release"
    out["days_since_release"] = jago[rel].groupby(jus.loc[rel, "person_id"]).min()
    rx = _read(folder, "pharmacy", ["person_id", "fill_date", "drug_class"])
    rx = rx[(rx["fill_date"] < d) & (rx["drug_class"] == "antipsychotic")]
    out["antipsychotic_fills_365d"] = (
        rx[days_before(rx["fill_date"]) <= 365].groupby("person_id").size()
    )
    never = {"days_since_ed_visit": 9999, "days_since_release": 9999, "in_institution_now": False}
    out = out.fillna({c: never.get(c, 0) for c in out.columns})
    return out


def _subset_spec() -> FeatureSpec:
    spec = load_feature_spec()
    # The day-window definitions: the rules' calendar-month ones share their names.
    kept = tuple(d for d in spec.definitions if d.name in SUBSET and not d.rule_only)
    return FeatureSpec(definitions=kept)


@pytest.mark.benchmark
def test_features_at_scale() -> None:
    n = int(os.environ.get("RISKSTRAT_BENCH_PERSONS", "1000000"))
    folder = Path(os.environ.get("RISKSTRAT_BENCH_OUT") or tempfile.mkdtemp(prefix="bench-feat-"))
    began = time.perf_counter()
    events = generate(n, folder)
    print(f"\ngenerated {n:,} persons, {events:,} events in {time.perf_counter() - began:.1f} s")

    with _Peak() as peak:
        began, cpu = time.perf_counter(), time.process_time()
        full = build_features(folder, AS_OF, validate=False)  # the engine alone, out of core
        wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    # CPU time shows what the run would take on two idle cores when the machine is shared.
    print(
        f"full spec: {len(full):,} rows x {full.shape[1] - 2} features in {wall:.1f} s wall, "
        f"{cpu:.1f} s CPU ({events / wall / 1e6:.2f} M events/s), "
        f"peak RSS {peak.peak / 2**30:.2f} GB (baseline {peak.start / 2**30:.2f} GB), "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    del full

    spec = _subset_spec()
    began = time.perf_counter()
    engine = build_features(folder, AS_OF, spec=spec, population="all", validate=False)
    t_engine = time.perf_counter() - began
    began = time.perf_counter()
    plain = pandas_subset(folder, AS_OF)
    t_pandas = time.perf_counter() - began
    engine = engine.set_index("person_id").drop(columns="as_of")
    plain = plain[engine.columns].astype(engine.dtypes.to_dict())
    pd.testing.assert_frame_equal(engine, plain, check_index_type=False, check_names=False)
    print(
        f"subset ({engine.shape[1]} features, everyone alive): engine {t_engine:.1f} s, "
        f"pandas groupby {t_pandas:.1f} s (both from Parquet), ratio pandas/engine "
        f"{t_pandas / t_engine:.2f}; outputs equal"
    )
