"""Where the model's gap to the as-of oracle comes from (prints figures).

Run with::

    RISKSTRAT_BENCH_DATA=<county> .venv/bin/pytest benchmarks/test_bench_gap.py -m benchmark -s

Environment:
- ``RISKSTRAT_BENCH_DATA``: a synthetic county folder (``riskstrat synth``), required;
- ``RISKSTRAT_BENCH_OUTCOME`` (default ``composite_adverse``).

Trains the default pipeline on the latest test quarter five ways
(:func:`riskstrat.modeling._informed.gap_decomposition`): on the records, on the records plus
each person's persistent levels, plus the episode of the month before the as-of date, plus
both, and plus the persistent levels as far as cross-fitted regressors can learn them from the
same records (cross-fitted by person); prints each AUROC beside the as-of oracle's and the
R^2 of those estimates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import time
from pathlib import Path

import pytest

from riskstrat.modeling import load_model_config
from riskstrat.modeling._informed import gap_decomposition
from riskstrat.modeling._plan import splits_for_range
from riskstrat.synth import as_of_truth


@pytest.mark.benchmark
def test_gap_decomposition() -> None:
    data = os.environ.get("RISKSTRAT_BENCH_DATA")
    if not data:
        pytest.skip("set RISKSTRAT_BENCH_DATA to a synthetic county folder")
    data = Path(data)
    outcome = os.environ.get("RISKSTRAT_BENCH_OUTCOME", "composite_adverse")
    config = load_model_config(None)
    config = dataclasses.replace(
        config, outcome=outcome, split=dataclasses.replace(config.split, n_test=1)
    )
    settings = json.loads((data / "synth_manifest.json").read_text())["arguments"]
    start, data_end = (dt.date.fromisoformat(settings[k]) for k in ("start", "end"))
    (split,) = splits_for_range(config, start, data_end)
    began = time.perf_counter()
    truth = as_of_truth(data, [split.test_as_of], draws=32)
    table = gap_decomposition(config, data, split, truth)
    seconds = time.perf_counter() - began
    records = float(table.loc[table["inputs"] == "records", "auroc"].iloc[0])
    print(f"\n{outcome}, test quarter {split.test_as_of}, {settings['n_persons']:,} persons:")
    for row in table.itertuples(index=False):
        print(f"  {row.inputs:<58} AUROC {row.auroc:.4f}  ({row.auroc - records:+.4f})")
    print(
        "  R^2 of the persistent levels estimated from the records (cross-fitted, test quarter): "
        + ", ".join(f"{k} {v:.2f}" for k, v in table.attrs["r2"].items())
    )
    print(f"  in {seconds:.0f} s")
    assert table["auroc"].between(0.5, 1.0).all()
