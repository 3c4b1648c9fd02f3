"""The pipeline against the synthetic generator's as-of oracle (slow: 50,000 persons)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from riskstrat.modeling import load_model_config
from riskstrat.modeling._informed import informed_auroc
from riskstrat.modeling._train import splits_for_range
from riskstrat.synth import as_of_truth, synthesize

START, END = dt.date(2018, 1, 1), dt.date(2024, 1, 1)


@pytest.mark.slow
def test_given_the_state_the_learner_reaches_the_as_of_oracle(tmp_path) -> None:
    county = tmp_path / "county"
    synthesize(50_000, START, END, seed=11).write(county)
    config = load_model_config()
    config = dataclasses.replace(config, lightgbm=dataclasses.replace(config.lightgbm, n_jobs=2))
    split = splits_for_range(config, START, END)[0]
    truth = as_of_truth(county, [split.test_as_of], draws=32)
    auroc = informed_auroc(config, county, split, truth)
    history, informed, oracle = (auroc[k] for k in ("history", "informed", "oracle"))
    print(f"AUROC oracle {oracle:.4f}, informed {informed:.4f}, history {history:.4f}")
    # Measured 2026-11-23: oracle 0.828, informed 0.821, history 0.789. The learner's own
    # shortfall is small; most of the model's gap is state the records never show.
    assert oracle - informed <= 0.02, (oracle, informed)
    assert informed - history >= 0.01, (informed, history)
    assert oracle - history <= 0.06, (oracle, history)
