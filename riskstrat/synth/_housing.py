"""Homelessness: a monthly housed/homeless Markov chain, written out as HMIS records.

``state[:, t]`` is the state at the end of month ``t`` (column 0 is the month before the
grid, drawn from the chain's stationary share). An entry or exit happens on a uniform day
of the month of the transition, so a spell may start a few nights after the last one ended
(an exit late in one month, an entry early in the next): homeless_entry reads a return
within 7 nights as the same episode, and the oracle allows for it. A spell is
one to three contiguous HMIS records of homeless project types; some people are later
housed in permanent supportive housing or rapid rehousing (the county's Coordinated Entry
System matches people to housing resources).
"""

from __future__ import annotations

import numpy as np

from riskstrat.data._codes import HMIS_PROJECT_TYPES
from riskstrat.synth._model import MonthGrid, Population
from riskstrat.synth._rates import HOMELESS_ENTER, HOMELESS_EXIT, logistic
from riskstrat.synth._sampling import NULL_DAY

_SPELL_TYPES = (
    "street_outreach",
    "emergency_shelter",
    "interim_housing",
    "transitional_housing",
    "safe_haven",
)
_SPELL_SHARES = (0.35, 0.3, 0.15, 0.12, 0.08)


def simulate_chain(pop: Population, grid: MonthGrid, seed: int) -> np.ndarray:
    """Monthly homeless state, shape (n, n_months + 1): column ``t + 1`` is month ``t``."""
    rng = np.random.default_rng([seed, 40])
    # Months first, so that each step of the chain reads contiguous vectors.
    p_in = np.ascontiguousarray(logistic(pop, HOMELESS_ENTER, slice(0, grid.n_months)).T)
    p_out = np.ascontiguousarray(logistic(pop, HOMELESS_EXIT, slice(0, grid.n_months)).T)
    state = np.empty((grid.n_months + 1, pop.n), dtype=bool)
    state[0] = rng.random(pop.n) < p_in[0] / (p_in[0] + p_out[0])
    for t in range(grid.n_months):
        u = rng.random(pop.n, dtype=np.float32)
        state[t + 1] = np.where(state[t], u >= p_out[t], u < p_in[t])
    return np.ascontiguousarray(state.T)


def homeless_records(
    state: np.ndarray, grid: MonthGrid, birth_day: np.ndarray, death_day: np.ndarray, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """HMIS records from the chain, and the spells (person, start, end) they came from."""
    rng = np.random.default_rng([seed, 41])
    data = state[:, : grid.n_data + 1].astype(np.int8)
    step = np.diff(data, axis=1)  # +1 entry in month t, -1 exit in month t
    e_person, e_month = np.nonzero(step == 1)
    x_person, x_month = np.nonzero(step == -1)
    first = grid.first[: grid.n_data]
    length = grid.length[: grid.n_data]
    e_day = first[e_month] + (rng.random(len(e_month)) * length[e_month]).astype(np.int32)
    x_day = first[x_month] + (rng.random(len(x_month)) * length[x_month]).astype(np.int32)
    # Spells ongoing before the grid started earlier (HMIS enrolments predate the data).
    o_person = np.flatnonzero(data[:, 0] == 1)
    o_day = grid.first[0] - rng.integers(1, 365, len(o_person)).astype(np.int32)
    # An infant's spell began no earlier than the birth (HMIS enrols a newborn on that day).
    o_day = np.maximum(o_day, birth_day[o_person])
    s_person = np.concatenate([o_person, e_person]).astype(np.int32)
    s_start = np.concatenate([o_day, e_day]).astype(np.int32)
    order = np.lexsort((s_start, s_person))
    s_person, s_start = s_person[order], s_start[order]
    # The k-th exit of a person closes the k-th spell; spells without one are still open.
    x_order = np.lexsort((x_day, x_person))
    x_person, x_day = x_person[x_order], x_day[x_order]
    s_rank = _rank_within(s_person)
    x_rank = _rank_within(x_person)
    s_end = np.full(len(s_person), NULL_DAY, dtype=np.int32)
    pos = np.searchsorted(
        s_person.astype(np.int64) * 10_000 + s_rank, x_person.astype(np.int64) * 10_000 + x_rank
    )
    s_end[pos] = np.where(x_day < grid.end_day, np.maximum(x_day, s_start[pos]), NULL_DAY)
    dead = death_day[s_person]
    keep = (s_start <= dead) & (s_start < grid.end_day)
    s_person, s_start, s_end, dead = s_person[keep], s_start[keep], s_end[keep], dead[keep]
    died_in_spell = (dead < grid.end_day) & ((s_end == NULL_DAY) | (s_end > dead))
    s_end[died_in_spell] = dead[died_in_spell]
    spells = {"person": s_person, "start": s_start, "end": s_end}
    return _records(rng, spells, grid, death_day), spells


def _rank_within(person: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within runs of equal (sorted) person indices."""
    if not len(person):
        return np.zeros(0, dtype=np.int64)
    idx = np.arange(len(person))
    new = np.concatenate([[True], person[1:] != person[:-1]])
    return idx - np.maximum.accumulate(np.where(new, idx, 0))


def _records(
    rng: np.random.Generator, spells: dict[str, np.ndarray], grid: MonthGrid, death_day: np.ndarray
) -> dict[str, np.ndarray]:
    person, start, end = spells["person"], spells["start"], spells["end"]
    n = len(person)
    nominal_end = np.where(end == NULL_DAY, grid.end_day - 1, end)
    span = nominal_end - start
    # One to three contiguous records per spell (outreach, then a shelter, then interim...).
    n_rec = rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15])
    n_rec = np.minimum(n_rec, np.maximum(span, 0) + 1)
    cuts = np.sort(rng.random((n, 2)), axis=1)
    c1 = start + 1 + (cuts[:, 0] * np.maximum(span - 1, 0)).astype(np.int32)
    c2 = np.maximum(c1 + 1, start + 1 + (cuts[:, 1] * np.maximum(span - 1, 0)).astype(np.int32))
    starts = [start, c1, c2]
    ends = [
        np.where(n_rec == 1, end, c1 - 1),
        np.where(n_rec == 2, end, c2 - 1),
        end,
    ]
    types = rng.choice(len(_SPELL_TYPES), size=(n, 3), p=_SPELL_SHARES)
    code = np.array([HMIS_PROJECT_TYPES.index(t) for t in _SPELL_TYPES], dtype=np.int8)
    cols: dict[str, list[np.ndarray]] = {"person": [], "start": [], "end": [], "type": []}
    for k in range(3):
        mask = n_rec > k
        cols["person"].append(person[mask])
        cols["start"].append(starts[k][mask])
        cols["end"].append(ends[k][mask])
        cols["type"].append(code[types[mask, k]])
    # A coordinated-entry assessment for half of the spells (a point event, not a spell).
    ces = rng.random(n) < 0.5
    ces_day = start + rng.integers(0, 30, n).astype(np.int32)
    ces = ces & (ces_day <= nominal_end)
    _append(cols, person[ces], ces_day[ces], ces_day[ces], "ces_assessment")
    # Some exits are into housing: permanent supportive housing or rapid rehousing.
    closed = (end != NULL_DAY) & (end < death_day[person])
    next_start = np.concatenate([start[1:], [0]])
    same_next = np.concatenate([person[1:] == person[:-1], [False]])
    house_end = np.where(same_next, next_start - 1, NULL_DAY)
    house_end = np.where(
        (death_day[person] < grid.end_day) & (house_end == NULL_DAY), death_day[person], house_end
    )
    roll = rng.random(n)
    psh = closed & (roll < 0.2)
    rrh = closed & (roll >= 0.2) & (roll < 0.32)
    rrh_end = end + 1 + rng.integers(90, 365, n).astype(np.int32)
    rrh_end = np.where((house_end != NULL_DAY) & (house_end < rrh_end), house_end, rrh_end)
    rrh_end = np.where(rrh_end >= grid.end_day, NULL_DAY, rrh_end)
    for mask, stop, name in (
        (psh, house_end, "permanent_supportive_housing"),
        (rrh, rrh_end, "rapid_rehousing"),
    ):
        mask = mask & (end + 1 < grid.end_day) & ((stop == NULL_DAY) | (stop >= end + 1))
        _append(cols, person[mask], end[mask] + 1, stop[mask], name)
    out = {key: np.concatenate(val) for key, val in cols.items()}
    order = np.lexsort((out["type"], out["start"], out["person"]))
    return {key: val[order] for key, val in out.items()}


def _append(cols: dict, person: np.ndarray, start: np.ndarray, end: np.ndarray, name: str) -> None:
    cols["person"].append(person)
    cols["start"].append(start.astype(np.int32))
    cols["end"].append(end.astype(np.int32))
    cols["type"].append(np.full(len(person), HMIS_PROJECT_TYPES.index(name), dtype=np.int8))
