"""Poisson point events and death times against their closed forms."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from riskstrat.synth import BiasConfig
from riskstrat.synth._model import make_grid, make_population
from riskstrat.synth._rates import DEATH, rate
from riskstrat.synth._sampling import NO_DEATH, death_days, point_events, poisson_cells


def test_poisson_cells_match_the_poisson_law() -> None:
    rng = np.random.default_rng(3)
    lam = np.full((100_000, 3), 0.7, dtype=np.float32)
    flat, counts = poisson_cells(rng, lam)
    n_cells = lam.size
    assert len(flat) / n_cells == pytest.approx(1 - math.exp(-0.7), abs=0.004)
    assert counts.sum() / n_cells == pytest.approx(0.7, abs=0.01)
    assert (counts >= 1).all()
    p3 = math.exp(-0.7) * 0.7**3 / 6
    assert (counts == 3).sum() / n_cells == pytest.approx(p3, abs=0.002)


def test_zero_rates_give_no_events() -> None:
    flat, counts = poisson_cells(np.random.default_rng(0), np.zeros((100, 4), np.float32))
    assert len(flat) == 0 and len(counts) == 0


def test_point_events_fall_in_their_month_and_before_death() -> None:
    grid = make_grid(dt.date(2020, 1, 1), dt.date(2020, 4, 1))
    lam = np.full((2, grid.n_data), 3.0, dtype=np.float32)
    death = np.array([NO_DEATH, grid.first[1] + 9], dtype=np.int32)  # dies 2020-02-10
    ev = point_events(np.random.default_rng(0), lam, grid, death)
    assert (ev.day >= grid.first[ev.month]).all()
    assert (ev.day < grid.first[ev.month] + grid.length[ev.month]).all()
    assert (ev.day[ev.person == 1] <= death[1]).all()
    assert (ev.day < grid.end_day).all()


def test_death_days_follow_the_hazard() -> None:
    start, end = dt.date(2019, 1, 1), dt.date(2024, 1, 1)
    grid = make_grid(start, end)
    pop = make_population(50_000, grid, BiasConfig(), seed=2)
    death = death_days(np.random.default_rng(5), pop, grid)
    hazard = rate(pop, DEATH, slice(0, grid.n_data)).astype(np.float64)
    expected = (1 - np.exp(-hazard.sum(axis=1))).sum()
    observed = (death != NO_DEATH).sum()
    assert observed == pytest.approx(expected, abs=4 * math.sqrt(expected))
    died = death[death != NO_DEATH]
    assert (died >= grid.start_day).all() and (died < grid.end_day).all()
