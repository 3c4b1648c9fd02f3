"""Synthetic county at scale: 1,000,000 persons over 5 years (prints figures, never asserts time).

Run with ``pytest benchmarks/bench_synth.py -m benchmark -s``; scale with
``RISKSTRAT_BENCH_PERSONS``. Targets: <= 2 minutes and <= 8 GB peak on 2 cores.
"""

from __future__ import annotations

import os
import resource
import threading
import time

import psutil
import pytest

from riskstrat.synth import write_county

pytestmark = pytest.mark.benchmark

N_PERSONS = int(os.environ.get("RISKSTRAT_BENCH_PERSONS", "1000000"))


def test_bench_synth_county(tmp_path) -> None:
    proc = psutil.Process()
    peak = [proc.memory_info().rss]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stamps: list[tuple[str, float]] = []
    started = time.perf_counter()
    county = write_county(
        tmp_path / "county",
        N_PERSONS,
        "2019-01-01",
        "2024-01-01",
        seed=1,
        progress=lambda stage: stamps.append((stage, time.perf_counter())),
    )
    elapsed = time.perf_counter() - started
    done.set()
    watcher.join()
    stamps.append(("end", time.perf_counter()))
    events = sum(len(f) for name, f in county.tables.items() if name != "persons")
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB -> GB on Linux
    print(
        f"\nsynth: {N_PERSONS:,} persons, 5 years, {events:,} event rows, "
        f"{len(county.truth):,} truth rows"
    )
    for (stage, t0), (_next, t1) in zip(stamps, stamps[1:], strict=False):
        print(f"  {stage:<13} {t1 - t0:7.1f} s")
    print(
        f"  total         {elapsed:7.1f} s  ({N_PERSONS / elapsed:,.0f} persons/s, "
        f"{events / elapsed:,.0f} events/s)"
    )
    print(f"  peak memory   {max(peak[0] / 1e9, max_rss):7.2f} GB")
    assert len(county.tables["persons"]) == N_PERSONS
