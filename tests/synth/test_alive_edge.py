"""Who the oracles hold a row for: a death on the as-of date is still alive on it.

The generator keeps events on the day of death (``point_events``: ``day <= death_day``),
so a person who dies on the as-of date can still have outcome events that day; both
oracles give them a row, as ``observed_outcomes`` in conftest does (``death >= as_of``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from riskstrat.synth._asof import as_of_probabilities
from riskstrat.synth._housing import simulate_chain
from riskstrat.synth._model import BiasConfig, make_grid, make_population
from riskstrat.synth._sampling import NO_DEATH
from riskstrat.synth._truth import truth_table

ACCESS = 1.0
DIES = ("the day before as_of", "on as_of", "the day after as_of", "never")


@pytest.fixture(scope="module")
def world():
    """Four people whose deaths sit around the quarter start 2019-07-01, one per ``DIES``."""
    grid = make_grid(dt.date(2019, 1, 1), dt.date(2020, 1, 1))
    pop = make_population(len(DIES), grid, BiasConfig(), seed=3)
    chain = simulate_chain(pop, grid, 3)
    q = int(grid.quarters[2])
    as_of = int(grid.first[q])
    assert as_of == (dt.date(2019, 7, 1) - dt.date(1970, 1, 1)).days
    death = np.array([as_of - 1, as_of, as_of + 1, NO_DEATH], dtype=np.int32)
    return pop, grid, death, chain, q


def test_the_as_of_oracle_keeps_a_person_who_dies_on_as_of(world) -> None:
    pop, grid, death, chain, q = world
    cols = as_of_probabilities(pop, grid, death, chain, ACCESS, [q], draws=2, seed=0)
    # Only the death the day before as_of excludes.
    assert cols["person"].tolist() == [1, 2, 3]
    assert cols["alive"].all()
    assert (cols["as_of"] == grid.first[q]).all()


def test_the_path_oracle_keeps_a_person_who_dies_on_as_of(world) -> None:
    pop, grid, death, chain, q = world
    cols = truth_table(pop, grid, death, chain, ACCESS)
    at_q = cols["as_of"] == grid.first[q]
    assert cols["person"][at_q].tolist() == [1, 2, 3]
    assert cols["alive"][at_q].all()
    # A quarter earlier all four were alive.
    earlier = cols["as_of"] == grid.first[int(grid.quarters[1])]
    assert cols["person"][earlier].tolist() == [0, 1, 2, 3]
