"""Jail booking -> release cycles, probation, diversion and drug-court referrals.

Bookings are a Poisson stream (need-driven, never access-sensitive). The other events are
marks of a booking: LA County's jail releases 350-500 people a day, most after short stays
(WPC-LA application), so the length of stay is a same-day release for a quarter of bookings
and log-normal (median about two weeks) otherwise.
"""

from __future__ import annotations

import numpy as np

from riskstrat.data._codes import JUSTICE_EVENT_TYPES
from riskstrat.synth._model import MonthGrid, Population
from riskstrat.synth._rates import BOOKING, SHOCKS, rate
from riskstrat.synth._sampling import gamma_shock, point_events, sort_rows


def simulate_justice(
    pop: Population, grid: MonthGrid, death_day: np.ndarray, seed: int
) -> dict[str, np.ndarray]:
    """Justice events as numeric columns (person, day, event_type code), sorted."""
    rng = np.random.default_rng([seed, 30])
    lam = rate(pop, BOOKING, slice(0, grid.n_data))
    lam *= gamma_shock(np.random.default_rng([seed, 20, 3]), lam.shape, SHOCKS["booking"])
    book = point_events(rng, lam, grid, death_day)
    del lam
    n = len(book)
    stay = np.where(
        rng.random(n) < 0.25, 0, np.ceil(rng.lognormal(np.log(14.0), 1.2, n)).astype(np.int64)
    )
    release = book.day + np.minimum(stay, 3650).astype(np.int32)
    sud = pop.conditions["sud"][book.person]
    diversion = book.day + rng.integers(1, 30, n).astype(np.int32)
    drug_court = book.day + rng.integers(7, 60, n).astype(np.int32)
    probation = release + rng.integers(0, 15, n).astype(np.int32)
    probation_end = probation + rng.integers(365, 3 * 365, n).astype(np.int32)
    has_diversion = rng.random(n) < 0.08 + 0.08 * pop.conditions["smi"][book.person]
    has_drug_court = sud & (rng.random(n) < 0.15)
    has_probation = rng.random(n) < 0.3
    code = JUSTICE_EVENT_TYPES.index
    parts = [
        (book.person, book.day, code("booking"), np.ones(n, dtype=bool)),
        (book.person, release, code("release"), np.ones(n, dtype=bool)),
        (book.person, diversion, code("diversion_referral"), has_diversion),
        (book.person, drug_court, code("drug_court_referral"), has_drug_court),
        (book.person, probation, code("probation_start"), has_probation),
        (book.person, probation_end, code("probation_end"), has_probation),
    ]
    person = np.concatenate([p[0][p[3]] for p in parts])
    day = np.concatenate([p[1][p[3]] for p in parts]).astype(np.int32)
    etype = np.concatenate([np.full(int(p[3].sum()), p[2], dtype=np.int8) for p in parts])
    keep = (day < grid.end_day) & (day <= death_day[person])
    person, day, etype = person[keep], day[keep], etype[keep]
    return sort_rows({"person": person, "day": day, "event_type": etype})
