"""Sampling primitives: Poisson point events per person-month, and the death time.

Counts are drawn in two steps: a cell is empty when a unit exponential exceeds its rate
(exact: P = exp(-rate)); the few non-empty cells then invert the zero-truncated Poisson CDF. Events are then placed on uniform days of their month, which makes each
stream a Poisson process with a piecewise-constant monthly rate.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from riskstrat.synth._model import MonthGrid, Population
from riskstrat.synth._rates import DEATH, rate

NO_DEATH = np.iinfo(np.int32).max
NULL_DAY = np.iinfo(np.int32).min  # a missing date (open stay, unknown end)


@dataclasses.dataclass
class Events:
    """Point events of one stream: person index, day (days since epoch), month index."""

    person: np.ndarray
    day: np.ndarray
    month: np.ndarray

    def __len__(self) -> int:
        return len(self.person)

    def take(self, mask: np.ndarray) -> Events:
        return Events(self.person[mask], self.day[mask], self.month[mask])


def poisson_cells(rng: np.random.Generator, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draw Poisson counts for every cell of ``lam``; return (flat index, count) of non-zero cells.

    A cell has no event when a unit exponential exceeds its rate (``u = exp(-E)`` is the
    uniform of CDF inversion), so the common empty cells cost no logarithm or exponential.
    """
    e = rng.standard_exponential(lam.size, dtype=np.float32)
    flat = np.flatnonzero(e < lam.ravel())
    del e
    lam_nz = lam.ravel()[flat].astype(np.float64)
    u_nz = np.exp(-rng.standard_exponential(len(flat)))  # fresh uniform given "not empty"
    # Given N >= 1, walk the CDF of N from 1 on: P(N <= k | N >= 1) for k = 1, 2, ...
    p0 = np.exp(-lam_nz)
    pk = p0 * lam_nz
    tail = -np.expm1(-lam_nz)  # P(N >= 1)
    cdf = pk / tail
    counts = np.ones(len(flat), dtype=np.int32)
    active = np.flatnonzero(u_nz > cdf)
    k = 1
    while len(active) and k < 500:
        k += 1
        counts[active] += 1
        pk[active] *= lam_nz[active] / k
        cdf[active] += pk[active] / tail[active]
        still = (u_nz[active] > cdf[active]) & (pk[active] > 0)
        active = active[still]
    return flat, counts


def gamma_shock(rng: np.random.Generator, shape: tuple[int, int], theta: float) -> np.ndarray:
    """Monthly multiplicative shocks with mean 1 and variance ``theta`` (float32)."""
    return rng.gamma(1.0 / theta, theta, size=shape).astype(np.float32)


def point_events(
    rng: np.random.Generator, lam: np.ndarray, grid: MonthGrid, death_day: np.ndarray
) -> Events:
    """Sample Poisson events from monthly rates ``lam`` (n, n_data) on uniform days.

    Events outside ``[start, end)`` or after the person's death are dropped.
    """
    flat, counts = poisson_cells(rng, lam)
    flat = np.repeat(flat, counts)
    n_months = lam.shape[1]
    person = (flat // n_months).astype(np.int32)
    month = (flat % n_months).astype(np.int32)
    day = grid.first[month] + (rng.random(len(flat)) * grid.length[month]).astype(np.int32)
    keep = (day >= grid.start_day) & (day < grid.end_day) & (day <= death_day[person])
    return Events(person[keep], day[keep], month[keep])


def death_days(rng: np.random.Generator, pop: Population, grid: MonthGrid) -> np.ndarray:
    """Day of death (days since epoch) per person, ``NO_DEATH`` when alive at ``end``.

    The hazard is constant within a month, so the death time is exact in continuous
    time: the first time the cumulative hazard passes a unit exponential draw.
    """
    data = slice(0, grid.n_data)
    hazard = rate(pop, DEATH, data).astype(np.float64)
    cum = np.cumsum(hazard, axis=1)
    target = rng.exponential(size=pop.n)
    passed = cum > target[:, None]
    dies = passed[:, -1]
    month = passed.argmax(axis=1)
    idx = np.flatnonzero(dies)
    m = month[idx]
    before = np.where(m > 0, cum[idx, np.maximum(m - 1, 0)], 0.0)
    frac = (target[idx] - before) / hazard[idx, m]
    day = grid.first[m] + np.minimum(frac * grid.length[m], grid.length[m] - 1).astype(np.int32)
    out = np.full(pop.n, NO_DEATH, dtype=np.int32)
    out[idx] = np.maximum(day, grid.start_day)
    out[out >= grid.end_day] = NO_DEATH
    return out


def sort_rows(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rows sorted by every column in dict order (stable; ties keep their order)."""
    order = row_order(list(cols.values()))
    return {key: values[order] for key, values in cols.items()}


def row_order(columns: list[np.ndarray]) -> np.ndarray:
    """Stable order by the columns; integer columns packed into one int64 key when they fit.

    Event arrays arrive in runs already sorted by person, which a stable (adaptive) sort of
    one key exploits; ``np.lexsort`` is the fallback.
    """
    if all(c.dtype.kind in "iub" for c in columns) and len(columns[0]):
        key = np.zeros(len(columns[0]), dtype=np.int64)
        bits = 0
        for col in columns:
            lo, hi = int(col.min()), int(col.max())
            width = max(hi - lo, 1).bit_length()
            bits += width
            if bits > 62:
                break
            key <<= width
            key |= col.astype(np.int64) - lo
        else:
            return np.argsort(key, kind="stable")
    return np.lexsort(tuple(reversed(columns)))
