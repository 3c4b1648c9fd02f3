"""BiasConfig validation, the monthly grid and the population's demographics."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from riskstrat._config import ConfigError, load_config
from riskstrat.synth import BiasConfig
from riskstrat.synth._model import BAD_ACCESS, BAD_RANGE, make_grid, make_population


def test_bias_config_defaults_and_yaml_mapping() -> None:
    assert BiasConfig() == BiasConfig(enabled=True, group="Black", access_factor=0.6)
    cfg = load_config(BiasConfig, {"group": "White", "access_factor": 0.5}, root="bias")
    assert (cfg.group, cfg.access_factor, cfg.enabled) == ("White", 0.5, True)


def test_bias_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^bias\.group: group 'black' is not"):
        BiasConfig(group="black")
    with pytest.raises(ConfigError, match=r"^bias\.access_factor: ") as info:
        BiasConfig(access_factor=1.5)
    assert BAD_ACCESS.format(value=1.5) in str(info.value)
    with pytest.raises(ConfigError, match=r"bias\.acces: unknown key"):
        load_config(BiasConfig, {"acces": 0.5}, root="bias")


def test_grid_months_and_quarters() -> None:
    grid = make_grid(dt.date(2019, 1, 1), dt.date(2024, 1, 1))
    assert grid.n_data == 60
    assert grid.n_months == 72  # 12 extra months so every quarter has a full window
    assert len(grid.quarters) == 20
    first = grid.first.astype("datetime64[D]")
    assert first[grid.quarters[0]] == np.datetime64("2019-01-01")
    assert first[grid.quarters[-1]] == np.datetime64("2023-10-01")
    assert grid.length[1] == 28  # February 2019
    # A start inside a quarter: the first truth date is the next quarter start.
    mid = make_grid(dt.date(2019, 2, 15), dt.date(2020, 1, 1))
    assert mid.first.astype("datetime64[D]")[mid.quarters[0]] == np.datetime64("2019-04-01")
    assert mid.n_data == 11


def test_grid_rejects_a_too_short_range() -> None:
    with pytest.raises(ValueError, match="must be at least one month after"):
        make_grid(dt.date(2020, 1, 1), dt.date(2020, 1, 10))
    assert "{end}" in BAD_RANGE


def test_population_demographics_and_latent_state() -> None:
    grid = make_grid(dt.date(2019, 1, 1), dt.date(2020, 1, 1))
    pop = make_population(20_000, grid, BiasConfig(), seed=1)
    assert pop.latent.shape == (4, 20_000, grid.n_months)
    assert pop.latent.dtype == np.float32
    assert pop.age0.min() >= 0 and pop.age0.max() < 90
    assert 0.7 < (pop.age0 >= 18).mean() < 0.9  # mostly adults
    assert 0.01 < (pop.spa == 0).mean() < 0.06  # some unknown SPAs
    assert (pop.biased == (pop.race == 0)).all()  # "Black" is code 0
    # Medi-Cal mix: Hispanic/Latino is the largest group.
    assert np.bincount(pop.race).argmax() == 1
    # Episodes: the monthly state moves, persistently (AR(1) with rho 0.8).
    step = np.diff(pop.latent[0], axis=1)
    assert 0.3 < step.std() < 0.6
    smi, sud = pop.conditions["smi"], pop.conditions["sud"]
    assert 0.03 < smi.mean() < 0.09
    # Co-occurring disorders: SUD is far more common among people with SMI.
    assert sud[smi].mean() > 2 * sud[~smi].mean()
    assert not pop.conditions["smi"][pop.age0 < 12].any()


def test_bias_disabled_marks_nobody() -> None:
    grid = make_grid(dt.date(2019, 1, 1), dt.date(2020, 1, 1))
    pop = make_population(1_000, grid, BiasConfig(enabled=False), seed=1)
    assert not pop.biased.any()
