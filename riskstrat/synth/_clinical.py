"""Diagnoses (ICD-10 codes consistent with each person's conditions), pharmacy and assessments.

Codes arrive as counties send them: with or without the dot, mostly upper case, some lower.
"""

from __future__ import annotations

import numpy as np

from riskstrat.data._codes import DRUG_CLASSES, DX_GROUPS, INSTRUMENTS, SETTINGS
from riskstrat.synth._model import MEDICAL_CONDITIONS, MonthGrid, Population
from riskstrat.synth._sampling import point_events, sort_rows

# Base codes; index into this tuple is the code id before formatting.
SMI_CODES = ("F20.9", "F25.0", "F31.9", "F31.2", "F33.3")
MH_CODES = ("F32.9", "F41.1", "F43.10")
MH_GENERIC = "F43.20"  # adjustment disorder: no condition group
SUD_CODES = ("F10.20", "F11.20", "F15.20", "F12.20")  # alcohol, opioid, stimulant, cannabis
SUD_GENERIC = "R78.0"  # alcohol found in blood: intoxication without a diagnosed SUD
OVERDOSE_CODES = ("T40.1X1A", "T40.2X1A", "T40.4X1A")
MEDICAL_CODES = {
    "diabetes": "E11.9",
    "hypertension": "I10",
    "heart_failure": "I50.9",
    "copd": "J44.9",
    "asthma": "J45.909",
    "ckd": "N18.3",
    "liver_disease": "K70.30",
    "hiv": "B20",
    "hepatitis_c": "B18.2",
    "seizure": "G40.909",
}
MEDICAL_GENERIC = ("R07.9", "J06.9", "M54.50", "R10.9", "L03.90")
INJURY_CODES = ("S06.0X0A", "S52.501A", "T14.90XA", "S01.81XA")
OTHER_CODES = ("Z59.00", "R45.851", "Z09")
PREGNANCY_CODES = ("O09.90", "O99.89", "O26.891")

BASE_CODES: tuple[str, ...] = (
    SMI_CODES
    + MH_CODES
    + (MH_GENERIC,)
    + SUD_CODES
    + (SUD_GENERIC,)
    + OVERDOSE_CODES
    + tuple(MEDICAL_CODES.values())
    + MEDICAL_GENERIC
    + INJURY_CODES
    + OTHER_CODES
    + PREGNANCY_CODES
)


def code_variants() -> list[str]:
    """Every emitted code string: four spellings per base code (dot/no dot, upper/lower)."""
    out = []
    for code in BASE_CODES:
        out += [code, code.replace(".", ""), code.lower(), code.replace(".", "").lower()]
    return out


def _idx(codes: tuple[str, ...] | str) -> np.ndarray:
    codes = (codes,) if isinstance(codes, str) else codes
    return np.array([BASE_CODES.index(c) for c in codes], dtype=np.int32)


def _pick(
    rng: np.random.Generator, pool: np.ndarray, person: np.ndarray, fixed: bool
) -> np.ndarray:
    # A person keeps one code per family (their diagnosis) unless `fixed` is False.
    k = person % len(pool) if fixed else rng.integers(0, len(pool), len(person))
    return pool[k]


def diagnoses(
    rng: np.random.Generator, pop: Population, enc: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """One diagnosis per encounter (its primary reason), plus pregnancy codes at some visits."""
    person, dx = enc["person"], enc["dx_group"]
    n = len(person)
    code = np.empty(n, dtype=np.int32)
    mh = dx == DX_GROUPS.index("mental_health")
    smi = pop.conditions["smi"][person]
    other_mh = pop.conditions["mh_other"][person]
    code[mh] = _idx(MH_GENERIC)[0]
    sel = mh & other_mh
    code[sel] = _pick(rng, _idx(MH_CODES), person[sel], True)
    sel = mh & smi
    code[sel] = _pick(rng, _idx(SMI_CODES), person[sel], True)
    su = dx == DX_GROUPS.index("substance_use")
    sud_type = pop.sud_type[person]
    code[su] = _idx(SUD_GENERIC)[0]
    sel = su & (sud_type > 0)
    code[sel] = _idx(SUD_CODES)[sud_type[sel] - 1]
    # Overdoses among people with opioid or stimulant use seen in the ED.
    ed = enc["setting"] == SETTINGS.index("ed")
    sel = su & ed & np.isin(sud_type, [2, 3]) & (rng.random(n) < 0.25)
    code[sel] = _pick(rng, _idx(OVERDOSE_CODES), person[sel], False)
    med = dx == DX_GROUPS.index("medical")
    code[med] = _pick(rng, _idx(MEDICAL_GENERIC), person[med], False)
    med_idx = np.flatnonzero(med)
    names = list(MEDICAL_CONDITIONS)
    for lo in range(0, len(med_idx), 2_000_000):
        chunk = med_idx[lo : lo + 2_000_000]
        flags = np.column_stack([pop.conditions[c][person[chunk]] for c in names])
        score = rng.random(flags.shape, dtype=np.float32) * flags
        has = flags.any(axis=1)
        chosen = _idx(tuple(MEDICAL_CODES[c] for c in names))[score.argmax(axis=1)]
        code[chunk[has]] = chosen[has]
    sel = dx == DX_GROUPS.index("injury")
    code[sel] = _pick(rng, _idx(INJURY_CODES), person[sel], False)
    sel = dx == DX_GROUPS.index("other")
    code[sel] = _pick(rng, _idx(OTHER_CODES), person[sel], False)
    preg = (
        (enc["setting"] == SETTINGS.index("primary_care"))
        & pop.conditions["can_be_pregnant"][person]
        & (rng.random(n) < 0.05)
    )
    p_person, p_day = person[preg], enc["start"][preg]
    p_code = _pick(rng, _idx(PREGNANCY_CODES), p_person, False)
    all_person = np.concatenate([person, p_person])
    all_day = np.concatenate([enc["start"], p_day])
    all_code = np.concatenate([code, p_code])
    # Spelling: half without the dot, one in ten in lower case.
    has_dot = np.array(["." in c for c in BASE_CODES])[all_code]  # "I10" has one spelling
    variant = (has_dot & (rng.random(len(all_code)) < 0.5)) + 2 * (rng.random(len(all_code)) < 0.1)
    all_code = all_code * 4 + variant.astype(np.int32)
    return sort_rows({"person": all_person, "day": all_day, "code": all_code})


# Monthly fill rates by drug class: (condition flag, base rate). Adherence falls as the
# mental-health factor flares (people in crisis fill less regularly).
_FILLS = (
    ("antipsychotic", "smi", 0.85),
    ("mood_stabilizer", "bipolar", 0.6),
    ("antidepressant", "mh_other", 0.45),
    ("anxiolytic", "mh_other", 0.12),
    ("moud", "opioid", 0.55),
    ("naloxone", "opioid", 0.07),
    ("insulin", "insulin", 0.8),
    ("other", "everyone", 0.06),
)


def pharmacy(
    pop: Population, grid: MonthGrid, death_day: np.ndarray, seed: int
) -> dict[str, np.ndarray]:
    """Pharmacy fills (person, day, drug_class code, days_supply)."""
    rng = np.random.default_rng([seed, 50])
    person_idx = np.arange(pop.n)
    flags = {
        "smi": pop.conditions["smi"],
        "bipolar": pop.conditions["smi"] & (person_idx % 5 >= 2),
        "mh_other": pop.conditions["mh_other"],
        "opioid": pop.sud_type == 2,
        "insulin": pop.conditions["diabetes"] & (person_idx % 5 < 2),
        "everyone": np.ones(pop.n, dtype=bool),
    }
    cols: dict[str, list[np.ndarray]] = {"person": [], "day": [], "drug": [], "supply": []}
    for drug, flag, base in _FILLS:
        who = np.flatnonzero(flags[flag])
        mh = pop.latent[0, who, : grid.n_data]
        lam = np.float32(base) / (np.float32(1.0) + np.exp(mh - np.float32(2.0)))
        ev = point_events(rng, lam, grid, death_day[who])
        del lam, mh
        n = len(ev)
        supply = rng.choice([30, 14, 7, 90], size=n, p=[0.7, 0.1, 0.05, 0.15])
        cols["person"].append(who[ev.person].astype(np.int32))
        cols["day"].append(ev.day)
        cols["drug"].append(np.full(n, DRUG_CLASSES.index(drug), dtype=np.int8))
        cols["supply"].append(supply.astype(np.int32))
    return sort_rows({key: np.concatenate(val) for key, val in cols.items()})


def assessments(
    rng: np.random.Generator,
    pop: Population,
    enc: dict[str, np.ndarray],
    spells: dict[str, np.ndarray],
    grid: MonthGrid,
    death_day: np.ndarray,
) -> dict[str, np.ndarray]:
    """MCAS in mental-health care, VI-SPDAT at homeless spells, PHQ-9 in primary care."""
    setting = enc["setting"]
    person, day, month = enc["person"], enc["start"], enc["month"]
    mh_care = np.isin(setting, [SETTINGS.index(s) for s in ("outpatient_mh", "inpatient_psych")])
    mcas = mh_care & (rng.random(len(person)) < 0.12)
    # MCAS: 17-85, higher is more independent; falls with mental-health severity.
    mh = pop.latent[0, person[mcas], month[mcas]]
    mcas_score = np.clip(np.round(66 - 9 * mh + rng.normal(0, 7, int(mcas.sum()))), 17, 85)
    phq = (setting == SETTINGS.index("primary_care")) & pop.conditions["mh_other"][person]
    phq &= rng.random(len(person)) < 0.05
    phq_score = np.clip(np.round(9 + 4 * pop.latent[0, person[phq], month[phq]]), 0, 27)
    s_person, s_start = spells["person"], spells["start"]
    vi = (rng.random(len(s_person)) < 0.5) & (s_start >= grid.start_day)
    vi_day = s_start[vi] + rng.integers(0, 21, int(vi.sum())).astype(np.int32)
    vi_month = np.clip(np.searchsorted(grid.first, vi_day, side="right") - 1, 0, None)
    need = pop.latent[:, s_person[vi], vi_month].mean(axis=0)
    vi_score = np.clip(np.round(7 + 2.5 * need + rng.normal(0, 2, int(vi.sum()))), 0, 17)
    # A VI-SPDAT falls up to three weeks into a spell: none once the person has died.
    keep_vi = (vi_day < grid.end_day) & (vi_day <= death_day[s_person[vi]])
    out = {
        "person": np.concatenate([person[mcas], person[phq], s_person[vi][keep_vi]]),
        "day": np.concatenate([day[mcas], day[phq], vi_day[keep_vi]]),
        "instrument": np.concatenate(
            [
                np.full(int(mcas.sum()), INSTRUMENTS.index("MCAS"), dtype=np.int8),
                np.full(int(phq.sum()), INSTRUMENTS.index("PHQ-9"), dtype=np.int8),
                np.full(int(keep_vi.sum()), INSTRUMENTS.index("VI-SPDAT"), dtype=np.int8),
            ]
        ),
        "score": np.concatenate([mcas_score, phq_score, vi_score[keep_vi]]).astype(np.float64),
    }
    return sort_rows(out)
