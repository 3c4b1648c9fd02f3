"""Programme enrolments, triggered by the events that make people eligible.

Enrolment has no effect on later rates (the synthetic county has no treatment effect), so
the oracle stays exact. Durations follow the programme caps (Table 2.3b of the WPC-LA
application): recuperative care up to 3 months, re-entry 90 days, RBC 2 months, ISR 3 months,
SUD-ENS 2 months, TOC 1 month; HCSS, tenancy support and FSP are ongoing.
"""

from __future__ import annotations

import numpy as np

from riskstrat.data._codes import HMIS_PROJECT_TYPES as _H
from riskstrat.data._codes import JUSTICE_EVENT_TYPES, PROGRAMS, SETTINGS
from riskstrat.synth._model import MonthGrid, Population
from riskstrat.synth._sampling import NULL_DAY

# programme -> (trigger, probability, duration days; 0 = ongoing, median about a year)
_RULES = {
    "fsp": ("psych_crisis_smi", 0.12, 0),
    "hcss": ("homeless_start", 0.15, 0),
    "recuperative_care": ("recuperative_care", 0.9, 90),
    "tenancy_support": ("supported_housing", 0.5, 0),
    "reentry": ("release", 0.1, 90),
    "rbc": ("institution_discharge", 0.05, 60),
    "isr": ("psych_admit_cooccurring", 0.04, 90),
    "sud_ens": ("sud_episode", 0.06, 60),
    "toc": ("medical_discharge", 0.03, 30),
}


def enrollments(
    rng: np.random.Generator,
    pop: Population,
    grid: MonthGrid,
    death_day: np.ndarray,
    enc: dict[str, np.ndarray],
    justice: dict[str, np.ndarray],
    homeless: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Enrolments (person, programme code, provider number, start day, end day)."""
    setting = enc["setting"]
    discharge = np.where(enc["end"] != NULL_DAY, enc["end"], enc["start"])

    def enc_trigger(names: tuple[str, ...], extra: np.ndarray | None = None):
        mask = np.isin(setting, [SETTINGS.index(s) for s in names])
        if extra is not None:
            mask &= extra
        return enc["person"][mask], discharge[mask]

    smi = pop.conditions["smi"][enc["person"]]
    cooccurring = smi & pop.conditions["sud"][enc["person"]]
    release = justice["event_type"] == JUSTICE_EVENT_TYPES.index("release")
    h_type = homeless["type"]
    triggers = {
        "psych_crisis_smi": enc_trigger(("inpatient_psych", "psych_emergency"), smi),
        "homeless_start": (
            homeless["person"][h_type == _H.index("street_outreach")],
            homeless["start"][h_type == _H.index("street_outreach")],
        ),
        "recuperative_care": enc_trigger(("recuperative_care",)),
        "supported_housing": (
            homeless["person"][np.isin(h_type, [_H.index("permanent_supportive_housing")])],
            homeless["start"][np.isin(h_type, [_H.index("permanent_supportive_housing")])],
        ),
        "release": (justice["person"][release], justice["day"][release]),
        "institution_discharge": enc_trigger(("inpatient_psych", "imd", "enriched_residential")),
        "psych_admit_cooccurring": enc_trigger(("inpatient_psych",), cooccurring),
        "sud_episode": enc_trigger(("detox", "sobering_center", "residential_sud")),
        "medical_discharge": enc_trigger(("inpatient_medical",)),
    }
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("person", "start", "program", "end")}
    for code, program in enumerate(PROGRAMS):
        trigger, prob, duration = _RULES[program]
        person, day = triggers[trigger]
        take = rng.random(len(person)) < prob
        person, day = person[take], day[take]
        # One enrolment per person and trigger month at most: keep the first.
        start = day + rng.integers(1, 15, len(day)).astype(np.int32)
        key = person.astype(np.int64) * 100_000 + start // 30
        _, first = np.unique(key, return_index=True)
        person, start = person[first], start[first]
        if duration:
            end = start + rng.integers(duration // 2, duration + 1, len(start)).astype(np.int32)
        else:
            end = start + rng.exponential(500, len(start)).astype(np.int32)
        dead = death_day[person]
        end = np.minimum(end, dead)
        end = np.where(end >= grid.end_day, NULL_DAY, end)
        keep = (start >= grid.start_day) & (start < grid.end_day) & (start <= dead)
        cols["person"].append(person[keep].astype(np.int32))
        cols["program"].append(np.full(int(keep.sum()), code, dtype=np.int8))
        cols["start"].append(start[keep].astype(np.int32))
        cols["end"].append(end[keep].astype(np.int32))
    out = {key: np.concatenate(val) for key, val in cols.items()}
    out["provider"] = ((out["person"].astype(np.int64) * 40503 + out["program"]) % 60).astype(
        np.int32
    )
    order = np.lexsort((out["program"], out["start"], out["person"]))
    return {key: val[order] for key, val in out.items()}
