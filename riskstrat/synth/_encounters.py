"""Encounters (one Poisson stream per setting) with lengths of stay, paid amounts and providers.

Arrays stay numeric (person index, day numbers, code indices) until the tables are built,
which keeps a million-person county within a few gigabytes.
"""

from __future__ import annotations

import numpy as np

from riskstrat.data._codes import DX_GROUPS, INPATIENT_SETTINGS, SETTINGS
from riskstrat.synth._model import MonthGrid, Population
from riskstrat.synth._parallel import ordered_map
from riskstrat.synth._rates import (
    ENCOUNTER_STREAMS,
    MEAN_LOS,
    PER_DIEM,
    PER_VISIT,
    SHOCKS,
    paid_multiplier,
    rate,
)
from riskstrat.synth._sampling import (
    NO_DEATH,
    NULL_DAY,
    Events,
    gamma_shock,
    point_events,
    row_order,
)

# Primary reason by setting; ED and inpatient medical mix reasons (drawn per person below).
_FIXED_DX = {
    "inpatient_psych": "mental_health",
    "psych_emergency": "mental_health",
    "crisis_residential": "mental_health",
    "imd": "mental_health",
    "enriched_residential": "mental_health",
    "outpatient_mh": "mental_health",
    "residential_sud": "substance_use",
    "detox": "substance_use",
    "sobering_center": "substance_use",
    "outpatient_sud": "substance_use",
    "recuperative_care": "medical",
}
# Provider pools: (prefix, size). Hospitals serve ED and inpatient stays.
_PROVIDER_POOLS = {
    "ed": ("HOSP", 70),
    "inpatient_medical": ("HOSP", 70),
    "inpatient_psych": ("PSYH", 25),
    "psych_emergency": ("PES", 12),
    "crisis_residential": ("CRT", 20),
    "imd": ("IMD", 15),
    "enriched_residential": ("ERS", 20),
    "residential_sud": ("RSUD", 40),
    "detox": ("DTX", 15),
    "sobering_center": ("SOB", 6),
    "recuperative_care": ("RCC", 10),
    "outpatient_mh": ("DMH", 196),  # 196 FSP clinics in the DMH outcomes contracts
    "outpatient_sud": ("SAPC", 120),
    "primary_care": ("CLIN", 400),
}


def provider_names() -> list[str]:
    """Every provider id the generator can emit, in code order."""
    seen: dict[str, None] = {}
    for prefix, size in _PROVIDER_POOLS.values():
        for i in range(1, size + 1):
            seen.setdefault(f"{prefix}{i:04d}", None)
    return list(seen)


def _provider_codes(rng: np.random.Generator, setting: str, person: np.ndarray) -> np.ndarray:
    names = provider_names()
    prefix, size = _PROVIDER_POOLS[setting]
    base = names.index(f"{prefix}0001")
    # People mostly return to "their" provider; a quarter of visits go elsewhere.
    usual = (person.astype(np.int64) * 2654435761 + len(prefix)) % size
    other = rng.integers(0, size, len(person))
    return (base + np.where(rng.random(len(person)) < 0.75, usual, other)).astype(np.int32)


def _dx_groups(rng: np.random.Generator, pop: Population, setting: str, ev: Events) -> np.ndarray:
    n = len(ev)
    if setting in _FIXED_DX:
        return np.full(n, DX_GROUPS.index(_FIXED_DX[setting]), dtype=np.int8)
    mh = pop.latent[0, ev.person, ev.month]
    sud = pop.latent[1, ev.person, ev.month]
    if setting == "primary_care":
        weights = [np.full(n, 0.05), np.full(n, 0.02), np.full(n, 0.83), np.full(n, 0.0)]
    else:
        # ED and medical admissions: the reason follows whichever need is flaring.
        share = 0.3 if setting == "ed" else 0.12
        weights = [
            share * np.exp(mh - 1.0) + 0.1 * pop.conditions["smi"][ev.person],
            share * np.exp(sud - 1.0) + 0.1 * pop.conditions["sud"][ev.person],
            np.full(n, 1.0),
            np.full(n, 0.25 if setting == "ed" else 0.1),
        ]
    w = np.column_stack([*weights, np.full(n, 0.1)])
    cum = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
    return (rng.random(n)[:, None] > cum).sum(axis=1).clip(0, 4).astype(np.int8)


def simulate_encounters(
    pop: Population,
    grid: MonthGrid,
    death_day: np.ndarray,
    access_factor: float,
    seed: int,
) -> dict[str, np.ndarray]:
    """Encounters of every setting as numeric columns, sorted by person and start day."""

    def one(code: int) -> dict[str, np.ndarray]:
        return _setting_encounters(pop, grid, death_day, access_factor, seed, code)

    parts = ordered_map(one, range(len(SETTINGS)))
    enc = {}
    for key in list(parts[0]):  # column by column, releasing the parts (peak memory)
        enc[key] = np.concatenate([p.pop(key) for p in parts])
    order = row_order([enc["person"], enc["start"], enc["setting"]])
    for key in enc:
        enc[key] = enc[key][order]
    return _drop_overlapping_stays(enc)


def _setting_encounters(
    pop: Population,
    grid: MonthGrid,
    death_day: np.ndarray,
    access_factor: float,
    seed: int,
    code: int,
) -> dict[str, np.ndarray]:
    setting = SETTINGS[code]
    rng = np.random.default_rng([seed, 10, code])
    stream = ENCOUNTER_STREAMS[setting]
    lam = rate(pop, stream, slice(0, grid.n_data), access_factor)
    if stream.shock:
        # Streams of one shock group share the draw (both kinds of hospital stay): the
        # group's generator is re-created, so each stream sees the same shocks.
        group_rng = np.random.default_rng([seed, 20, list(SHOCKS).index(stream.shock)])
        lam *= gamma_shock(group_rng, lam.shape, SHOCKS[stream.shock])
    ev = point_events(rng, lam, grid, death_day)
    del lam
    n = len(ev)
    mult = paid_multiplier(pop, setting, access_factor)[ev.person]
    if setting in PER_DIEM:
        los = rng.geometric(1.0 / MEAN_LOS[setting], n).astype(np.int32)
        noise = rng.lognormal(-0.5 * 0.3**2, 0.3, n)
        paid = PER_DIEM[setting] * los * noise * mult
        end = ev.day + los
    else:
        noise = rng.lognormal(-0.5 * 0.5**2, 0.5, n)
        paid = PER_VISIT[setting] * noise * mult
        end = ev.day.copy()
    end = np.minimum(end, death_day[ev.person])
    end[(end >= grid.end_day) & (death_day[ev.person] == NO_DEATH)] = NULL_DAY
    dx = _dx_groups(rng, pop, setting, ev)
    medical = dx == DX_GROUPS.index("medical")
    if setting == "ed":
        avoidable = medical & (rng.random(n) < 0.3)
    elif setting == "inpatient_medical":
        chronic = pop.conditions["diabetes"] | pop.conditions["heart_failure"]
        chronic = chronic | pop.conditions["copd"] | pop.conditions["asthma"]
        avoidable = medical & chronic[ev.person] & (rng.random(n) < 0.35)
    else:
        avoidable = np.zeros(n, dtype=bool)
    return {
        "person": ev.person,
        "start": ev.day,
        "end": end.astype(np.int32),
        "month": ev.month,
        "setting": np.full(n, code, dtype=np.int8),
        "dx_group": dx,
        "avoidable": avoidable,
        "paid": np.round(paid, 2),
        "provider": _provider_codes(rng, setting, ev.person),
    }


def _drop_overlapping_stays(enc: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Drop a hospital stay that starts while another of the same person is still open.

    Independent Poisson streams can overlap in time; a county would never see two
    concurrent admissions. This thins the inpatient streams slightly (documented as an
    approximation of the oracle; the calibration tests bound it).
    """
    inpatient = np.isin(enc["setting"], [SETTINGS.index(s) for s in INPATIENT_SETTINGS])
    idx = np.flatnonzero(inpatient)
    person = enc["person"][idx].astype(np.int64)
    end = np.where(enc["end"][idx] == NULL_DAY, np.iinfo(np.int32).max, enc["end"][idx])
    key = (person << 32) + end.astype(np.int64)
    running = np.maximum.accumulate(key)
    prev = np.concatenate([[-1], running[:-1]])
    same = (prev >> 32) == person
    overlap = same & ((prev & 0xFFFFFFFF) >= enc["start"][idx])
    keep = np.ones(len(enc["person"]), dtype=bool)
    keep[idx[overlap]] = False
    return {key: value[keep] for key, value in enc.items()}
