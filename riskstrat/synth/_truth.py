"""The oracle: per person and quarter start, the true 12-month probability of each outcome.

"True" means the data-generating probability given the person's latent trajectory (the
monthly factors, drawn before any event) and the housing state on the day before ``as_of``
(with whether a spell ended in the month before, not on which day): the monthly rates the
generator sampled from are integrated over ``[as_of, as_of + 12 months)`` with death as a
competing risk, and the unobserved monthly shocks are integrated
out (see ``_oracle``). Forward recursions over the 12 months give psych_crisis,
jail_booking, frequent_ed (4+ ED visits) and composite_adverse (independent shock groups
given the latent path); homeless_entry runs over the housing chain (a return within the
outcome's 7-night gap of the last exit is the same episode, not counted); death is
``1 - exp(-sum h)``; total_cost is the expected paid amount, ``sum(rate * mean paid *
E[time alive in the month])``, and ``need`` the same under equal access (no planted bias).

Approximations, bounded by the calibration tests (tests/synth/test_truth.py): the
month-of-death integral uses two-point quadrature; readmission_30d comes from
``_oracle.readmission_month`` (thinned pairs given the monthly shock); hospital stays the
generator drops for overlapping an open stay are allowed for in readmissions and cost
(``_rates.inpatient_kept``) but not in psych_crisis; events on the day of death count.
Not modelled (so not in the truth either): events are not suppressed while a person is in
jail, and enrolment in a programme does not change later risk.
"""

from __future__ import annotations

import numpy as np

from riskstrat.synth._model import FACTORS, MonthGrid, Population
from riskstrat.synth._oracle import (
    fraction_alive,
    gap_merge_share,
    homeless_entry,
    month_terms,
    passage,
    readmission_month,
)
from riskstrat.synth._parallel import ordered_map
from riskstrat.synth._rates import (
    BOOKING,
    DEATH,
    ENCOUNTER_STREAMS,
    HOMELESS_ENTER,
    HOMELESS_EXIT,
    MEAN_LOS,
    SHOCKS,
    expected_cost_rate,
    logistic,
    rate,
)

OUTCOMES: tuple[str, ...] = (
    "psych_crisis",
    "jail_booking",
    "homeless_entry",
    "frequent_ed",
    "readmission_30d",
    "death",
    "total_cost",
    "composite_adverse",
)
ED_THRESHOLD = 4
# homeless_entry's entry_gap_days in configs/outcomes.yaml: a return sooner is one episode.
ENTRY_GAP_NIGHTS = 7
CHUNK = 20_000  # people per block: bounds the memory of the per-month terms


def truth_table(
    pop: Population,
    grid: MonthGrid,
    death_day: np.ndarray,
    chain: np.ndarray,
    access_factor: float,
) -> dict[str, np.ndarray]:
    """Truth columns (person index in ``person``, as_of in days) for every quarter start
    and person alive then, ordered by quarter, then person index.
    """
    per_quarter: dict[int, list[dict[str, np.ndarray]]] = {int(q): [] for q in grid.quarters}

    def block(lo: int) -> list[tuple[int, dict[str, np.ndarray]]]:
        idx = np.arange(lo, min(lo + CHUNK, pop.n))
        return list(_chunk(pop, grid, idx, death_day, chain, access_factor))

    for results in ordered_map(block, range(0, pop.n, CHUNK)):
        for q, part in results:
            per_quarter[q].append(part)
    parts = [p for q in sorted(per_quarter) for p in per_quarter[q]]
    del per_quarter
    cols = {}
    for key in list(parts[0]):
        # Column by column, releasing the parts as they are joined (peak memory).
        cols[key] = np.concatenate([p.pop(key) for p in parts])
    return cols


def _chunk(pop, grid, idx, death_day, chain, access_factor, exits_before=None):
    """Per quarter month of ``grid``, the truth columns of the people ``idx``.

    ``chain[:, q]`` is the housing state at the end of month ``q - 1``. ``exits_before``
    (exited, share), for a grid cut out of a longer one, gives who left homelessness in the
    month before the grid's first and the chance that a return in the first month falls
    within the gap (``gap_merge_share``); without it nobody is known to have.
    """
    sub = _subset(pop, idx)
    every = slice(0, grid.n_months)

    def r(stream):
        # (months, people): people last keeps the recursions on contiguous vectors.
        return np.ascontiguousarray(rate(sub, stream, every, access_factor).T)

    th_ed, th_ip = SHOCKS["ed"], SHOCKS["inpatient"]
    th_pe, th_b = SHOCKS["psych_emergency"], SHOCKS["booking"]
    h, psych, book, ed = (
        r(DEATH),
        r(ENCOUNTER_STREAMS["inpatient_psych"]),
        r(BOOKING),
        r(ENCOUNTER_STREAMS["ed"]),
    )
    pe, medical = r(ENCOUNTER_STREAMS["psych_emergency"]), r(ENCOUNTER_STREAMS["inpatient_medical"])
    terms = {
        "psych_crisis": month_terms(h, [(psych, th_ip), (pe, th_pe)]),
        "jail_booking": month_terms(h, [(book, th_b)]),
        "frequent_ed": month_terms(h, [], (ed, th_ed), ED_THRESHOLD),
        "composite_adverse": month_terms(h, [(psych, th_ip), (book, th_b)], (ed, th_ed), 4),
    }
    ip = psych + medical
    los = (psych * MEAN_LOS["inpatient_psych"] + medical * MEAN_LOS["inpatient_medical"]) / (
        np.maximum(ip, 1e-300)
    )
    ip_next = np.concatenate([ip[1:], ip[-1:]], axis=0)
    readmit = readmission_month(ip, ip_next, los, th_ip)
    del pe, medical, ip, ip_next, los
    cost, need = (np.ascontiguousarray(a.T) for a in expected_cost_rate(sub, every, access_factor))
    p_in = np.ascontiguousarray(logistic(sub, HOMELESS_ENTER, every).T)
    p_out = np.ascontiguousarray(logistic(sub, HOMELESS_EXIT, every).T)
    merged = gap_merge_share(grid.length, ENTRY_GAP_NIGHTS)
    exited_first = np.zeros(len(idx), dtype=bool)
    if exits_before is not None:
        exited_first, merged[0] = exits_before
    for q in grid.quarters:
        q = int(q)
        # Everybody in the block is computed (month slices are views); rows of people who
        # died before as_of are dropped at the end, cheaper than gathering the alive ones.
        rows = np.flatnonzero(death_day[idx] >= grid.first[q])
        months = slice(q, q + 12)
        hw = h[months]
        alive_start = np.exp(-(np.cumsum(hw, axis=0) - hw))
        frac = fraction_alive(hw) * alive_start
        out = {
            "person": idx.astype(np.int32),
            "as_of": np.full(len(idx), grid.first[q], dtype=np.int32),
            "alive": np.ones(len(idx), dtype=bool),
        }
        for name, (stay, die) in terms.items():
            out[name] = passage(stay[:, months], die[:, months])
        homeless = chain[idx, q]
        exited = chain[idx, q - 1] & ~homeless if q > 0 else exited_first
        out["homeless_entry"] = homeless_entry(
            hw, p_in[months], p_out[months], homeless, exited, merged[months]
        )
        out["readmission_30d"] = 1.0 - np.prod(1.0 - frac * readmit[months], axis=0)
        out["death"] = -np.expm1(-hw.sum(axis=0))
        out["total_cost"] = (cost[months] * frac).sum(axis=0, dtype=np.float64)
        out["need"] = (need[months] * frac).sum(axis=0, dtype=np.float64)
        for k, name in enumerate(FACTORS):
            out[f"latent_{name}"] = sub.latent[k][:, months].mean(axis=1)
        keys = ("person", "as_of", "alive", *OUTCOMES, *_EXTRA)
        yield q, {key: _narrow(key, out[key][rows]) for key in keys}


def _narrow(key: str, values: np.ndarray) -> np.ndarray:
    # Probabilities and latent means in float32; dollars in float64.
    if key in ("total_cost", "need"):
        return values.astype(np.float64)
    return values.astype(np.float32) if values.dtype.kind == "f" else values


_EXTRA = ("need", *(f"latent_{name}" for name in FACTORS))


def _subset(pop: Population, idx: np.ndarray) -> Population:
    """The people ``idx`` (a contiguous block) with all their months."""
    return Population(
        age0=pop.age0[idx],
        sex=pop.sex[idx],
        race=pop.race[idx],
        spa=pop.spa[idx],
        conditions={k: v[idx] for k, v in pop.conditions.items()},
        sud_type=pop.sud_type[idx],
        latent=pop.latent[:, idx[0] : idx[-1] + 1, :],
        biased=pop.biased[idx],
        frailty=pop.frailty[:, idx[0] : idx[-1] + 1],
    )
