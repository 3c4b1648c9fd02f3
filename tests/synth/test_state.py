"""The hidden state on an as-of date: persistent levels and the episode of the month before."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pytest

from riskstrat.synth import STATE_COLUMNS, hidden_state, write_county
from riskstrat.synth._asof import CountyMismatchError
from riskstrat.synth._county import county_ids
from riskstrat.synth._model import FACTORS, BiasConfig, make_grid, make_population

START, END, SEED, N = dt.date(2019, 1, 1), dt.date(2021, 1, 1), 4, 1_500


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("state_county")
    write_county(out, N, START, END, seed=SEED)
    return out


@pytest.fixture(scope="module")
def population():
    grid = make_grid(START, END)
    pop = make_population(N, grid, BiasConfig(), SEED)
    return pop, grid, np.asarray(county_ids(N, SEED).to_pylist())


def test_state_is_the_level_and_the_episode_of_the_month_before(county_dir, population) -> None:
    pop, grid, ids = population
    state = hidden_state(county_dir, ["2019-10-01", "2019-04-01"])
    assert list(state.columns) == ["person_id", "as_of", *STATE_COLUMNS]
    assert list(state["as_of"].unique()) == [dt.date(2019, 4, 1), dt.date(2019, 10, 1)]
    assert len(state) == 2 * N
    index = {pid: i for i, pid in enumerate(ids)}
    for as_of, month in ((dt.date(2019, 4, 1), 3), (dt.date(2019, 10, 1), 9)):
        part = state[state["as_of"] == as_of]
        assert part["person_id"].is_monotonic_increasing
        rows = part["person_id"].map(index).to_numpy()
        for k, factor in enumerate(FACTORS):
            level = part[f"persistent_{factor}"].to_numpy()
            np.testing.assert_array_equal(level, pop.frailty[k, rows])
            # Level plus episode is the latent state of the month before as_of, never later.
            np.testing.assert_allclose(
                level + part[f"episode_{factor}"].to_numpy(), pop.latent[k, rows, month - 1]
            )


def test_the_first_quarter_has_no_earlier_episode(county_dir) -> None:
    state = hidden_state(county_dir, START)
    assert (state[[f"episode_{f}" for f in FACTORS]] == 0).all().all()


def test_a_county_of_another_seed_or_a_bad_date_is_refused(county_dir, tmp_path) -> None:
    with pytest.raises(ValueError, match="2019-02-01"):
        hidden_state(county_dir, "2019-02-01")
    out = tmp_path / "copy"
    out.mkdir()
    for name in ("synth_manifest.json", "persons.parquet"):
        shutil.copy(county_dir / name, out / name)
    manifest = json.loads((out / "synth_manifest.json").read_text())
    manifest["arguments"]["seed"] += 1
    (out / "synth_manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CountyMismatchError, match=r"persons\.parquet"):
        hidden_state(out, "2019-04-01")
