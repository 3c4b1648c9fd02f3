"""Scale run of ``riskstrat score`` end to end (prints figures; never asserts on timing).

Run with::

    .venv/bin/pytest benchmarks/bench_score.py -m benchmark -s

Environment:
- ``RISKSTRAT_BENCH_PERSONS`` (default 1000000): persons in the scored county;
- ``RISKSTRAT_BENCH_BASE``: an existing synthetic county folder to tile (default: one of
  ``RISKSTRAT_BENCH_BASE_PERSONS``, default 100000, persons is generated);
- ``RISKSTRAT_BENCH_OUT``: working folder (default: a temp dir).

The full synthetic generator is too slow and memory-hungry at a million persons on two
cores, so a base county is tiled: copy ``k`` of every table gets person ids suffixed
``-k``. Event histories repeat, which does not change the work of any stage. A small
LightGBM bundle is trained on the base county (untimed). The timed part is the real
command, run in a child process: validate, features, eligibility, risk, tiers,
selection, explanations of the whole selected cohort, write. Reported: wall time, time of
each stage, peak resident memory of the child, persons selected and explained (targets:
<= 3 minutes and <= 8 GB on 2 cores with about 10,000 persons explained). Then the next
quarter is scored the same way with ``--previous`` (the first run's offers held back).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pytest

from riskstrat.data._codes import TABLE_NAMES

AS_OF = "2025-01-01"
NEXT_AS_OF = "2025-04-01"
TRAIN_AS_OF = "2024-01-01"
# Benchmark capacities for the programmes that have none (or a large one) in
# configs/programs.yaml, so that a million persons give a cohort of about 10,000 to
# explain, as a quarterly run for one county would.
# The command runs under this small Python process, which reports its child's peak RSS.
# Measured straight from the benchmark, the peak would be wrong after a fresh setup:
# subprocess starts children with vfork, and Linux carries the borrowed parent's high-water
# RSS into the child's ru_maxrss at exec, so a parent that had just loaded a million-person
# county for the bench bundle (8.6 GB) made the score command look that large.
PEAK_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[2:]).returncode\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)
BENCH_CAPACITY = {
    "hcss": {"count": 1000, "per": "month"},
    "recuperative_care": {"count": 300, "per": "month"},
    "tenancy_support": {"count": 300, "per": "month"},
    "fsp": {"count": 2000, "per": "total"},
}


def _base_county(work: Path) -> Path:
    given = os.environ.get("RISKSTRAT_BENCH_BASE")
    if given:
        return Path(given)
    from riskstrat.synth import write_county

    base = work / "base"
    if not (base / "persons.parquet").is_file():
        n = int(os.environ.get("RISKSTRAT_BENCH_BASE_PERSONS", "100000"))
        start = time.perf_counter()
        write_county(base, n, "2021-01-01", "2025-04-01", seed=11)
        print(f"generated base county of {n:,} persons in {time.perf_counter() - start:.0f} s")
    return base


def _tile(base: Path, out: Path, n_persons: int) -> int:
    """Write ``out/<table>.parquet`` with enough copies of ``base`` for ``n_persons``."""
    out.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute("SET threads = 2")
        n_base = con.execute(
            f"SELECT count(*) FROM read_parquet('{base / 'persons.parquet'}')"
        ).fetchone()[0]
        copies = max(1, -(-n_persons // n_base))
        for table in TABLE_NAMES:
            src = base / f"{table}.parquet"
            if not src.is_file():
                continue
            # The last copy keeps a hash-chosen subset of base persons (the same in every
            # table, so no event loses its person) to land near n_persons.
            keep = n_persons - (copies - 1) * n_base
            limit = f"WHERE k < {copies - 1} OR hash(person_id) % {n_base} < {keep}"
            con.execute(
                f"""
                COPY (
                    SELECT * REPLACE (person_id || '-' || k AS person_id)
                    FROM read_parquet('{src}') CROSS JOIN range({copies}) AS r(k) {limit}
                ) TO '{out / f"{table}.parquet"}' (FORMAT parquet)
                """
            )
        return int(
            con.execute(
                f"SELECT count(*) FROM read_parquet('{out / 'persons.parquet'}')"
            ).fetchone()[0]
        )


def _train_bundle(base: Path, path: Path) -> None:
    import lightgbm as lgb

    from riskstrat.data import load_tables
    from riskstrat.features import build_features
    from riskstrat.modeling import ModelBundle
    from riskstrat.outcomes import build_outcomes

    tables, _ = load_tables(base, mode="quarantine")
    features = build_features(tables, TRAIN_AS_OF)
    labels = build_outcomes(tables, TRAIN_AS_OF)[["person_id", "psych_crisis"]]
    train = features.merge(labels, on="person_id").dropna(subset=["psych_crisis"])
    names = [c for c in features.columns if c not in ("person_id", "as_of")]
    model = lgb.LGBMClassifier(
        n_estimators=100, num_leaves=31, verbose=-1, n_jobs=2, random_state=0
    ).fit(train[names].astype(float), train["psych_crisis"].astype(bool))
    ModelBundle.from_calibrated(
        model, "lightgbm", names, "psych_crisis", metadata={"version": "bench-1"}
    ).save(path, overwrite=True)


def _bench_programs(path: Path) -> Path:
    import yaml

    from riskstrat._config import default_config_path

    config = yaml.safe_load(default_config_path("programs.yaml").read_text())
    for code, capacity in BENCH_CAPACITY.items():
        config["programs"][code]["capacity"] = capacity
    # Anchors are expanded by the loader; the shared blocks are not needed any more.
    config.pop("blocks", None)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.benchmark
def test_score_a_million_persons():
    n_persons = int(os.environ.get("RISKSTRAT_BENCH_PERSONS", "1000000"))
    work = Path(os.environ.get("RISKSTRAT_BENCH_OUT") or tempfile.mkdtemp(prefix="bench-score-"))
    base = _base_county(work)
    data = work / f"county-{n_persons}"
    start = time.perf_counter()
    if not (data / "persons.parquet").is_file():
        _tile(base, data, n_persons)
    print(f"\ntiled data ready in {time.perf_counter() - start:.0f} s: {data}")
    bundle = work / "bundle"
    if not (bundle / "checksums.json").is_file():
        start = time.perf_counter()
        _train_bundle(base, bundle)
        print(f"trained bench bundle in {time.perf_counter() - start:.0f} s")

    entry = Path(sys.executable).with_name("riskstrat")
    if not entry.exists():
        pytest.skip("the riskstrat command is not installed in this environment")
    programs = _bench_programs(work / "programs.yaml")
    out = work / "cohort"
    _timed_score(entry, data, bundle, AS_OF, out, programs, work)
    # The next quarter, as a county runs it: last quarter's offers held back (--previous).
    print(f"\nnext quarter, {NEXT_AS_OF}, with --previous:")
    _timed_score(entry, data, bundle, NEXT_AS_OF, work / "cohort-next", programs, work, out)


def _timed_score(entry, data, bundle, as_of, out, programs, work, previous=None):
    cmd = [str(entry), "score", "--as-of", as_of, "--data", str(data), "--model", str(bundle)]
    cmd += ["--out", str(out), "--mode", "quarantine", "--overwrite"]
    cmd += ["--programs", str(programs)]
    if previous is not None:
        cmd += ["--previous", str(previous)]
    peak_file = work / "score_peak_kb.txt"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK_WRAPPER, str(peak_file), *cmd],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    peak_kb = int(peak_file.read_text())
    print(done.stdout)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    rec = summary["reconciliation"]
    print(f"persons in data: {rec['population']:,}; scored: {rec['scored']:,}")
    print(f"selected persons: {summary['selected_persons']:,}")
    print(f"explained persons: {summary['explained_persons']:,}")
    if summary.get("previous_offers"):
        print(f"rows held back by earlier offers: {summary['previous_offers']['rows_held_back']:,}")
    print(f"wall time end to end: {wall:.1f} s (target <= 180 s)")
    print(f"peak resident memory of the run: {peak_kb / 1024**2:.2f} GB (target <= 8 GB)")
