"""Monthly event rates, death hazard and housing-chain probabilities from the latent state.

One table of coefficients per event stream. The generator draws Poisson counts from these
rates and the oracle integrates the same rates, so the two cannot disagree.

Paid amounts per setting follow the orders of magnitude in the seed facts (inpatient stays
thousands of dollars a day, ED visits 1-2 thousand, outpatient visits 100-300; a typical
homeless person costs public systems about $3,000 a month, the top 10% over $8,000 --
WPC-LA application, citing the Economic Roundtable and the 2016 CEO cost study).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from riskstrat.synth._model import Population


@dataclasses.dataclass(frozen=True)
class Stream:
    """Log-rate coefficients of one Poisson event stream (events per person-month)."""

    b0: float
    mh: float = 0.0
    sud: float = 0.0
    med: float = 0.0
    soc: float = 0.0
    smi: float = 0.0  # static serious mental illness
    sud_dx: float = 0.0  # static substance use disorder
    age: float = 0.0  # per decade from 40
    male: float = 0.0
    min_age: float = 0.0  # rate is zero below this age
    access: bool = False  # access-sensitive (reduced for the bias group)
    shock: str = ""  # monthly gamma shock group (SHOCKS), "" for a plain Poisson stream
    race: tuple[float, ...] = ()  # per RACE_ETHNICITIES code, added to the predictor


# Unobserved monthly shocks: crises come in bursts. In a shock group every person-month draws
# G ~ Gamma(shape 1/theta, scale theta) (mean 1, variance theta) that multiplies the rates of
# the group's streams. The oracle integrates G out (negative binomial counts), so it knows
# the latent factors but not the bursts -- they are part of the irreducible noise.
SHOCKS: dict[str, float] = {"ed": 20.0, "inpatient": 14.0, "psych_emergency": 2.0, "booking": 1.0}


# Encounter settings. Crisis settings are need-driven (never access-sensitive).
ENCOUNTER_STREAMS: dict[str, Stream] = {
    "ed": Stream(-3.05, mh=0.36, sud=0.36, med=0.36, soc=0.36, age=0.04, shock="ed"),
    "inpatient_medical": Stream(-5.55, sud=0.2, med=0.48, soc=0.2, age=0.14, shock="inpatient"),
    "inpatient_psych": Stream(
        -5.95, mh=0.6, sud=0.2, soc=0.2, smi=0.95, min_age=10, shock="inpatient"
    ),
    "psych_emergency": Stream(
        -6.4, mh=0.85, sud=0.25, soc=0.3, smi=1.4, min_age=8, shock="psych_emergency"
    ),
    "crisis_residential": Stream(-8.4, mh=1.0, sud=0.3, soc=0.3, smi=1.5, min_age=18),
    "imd": Stream(-10.6, mh=1.1, soc=0.3, smi=2.2, min_age=18),
    "enriched_residential": Stream(-10.3, mh=1.0, soc=0.3, smi=2.0, min_age=18),
    "residential_sud": Stream(-8.8, sud=1.1, soc=0.3, sud_dx=1.5, min_age=16),
    "detox": Stream(-8.4, sud=1.2, soc=0.3, sud_dx=1.6, min_age=16),
    "sobering_center": Stream(-8.8, sud=1.2, soc=0.8, sud_dx=1.5, male=0.4, min_age=18),
    "recuperative_care": Stream(-10.2, med=0.8, soc=1.3, min_age=18),
    "outpatient_mh": Stream(-3.9, mh=0.9, smi=1.6, access=True),
    "outpatient_sud": Stream(-5.6, sud=0.9, sud_dx=1.8, min_age=14, access=True),
    "primary_care": Stream(-2.0, med=0.45, mh=0.1, age=0.06, access=True),
}
# Jail bookings: young adult men with substance use and unstable housing.
BOOKING = Stream(
    -6.0, mh=0.3, sud=0.6, soc=0.55, sud_dx=0.4, age=-0.25, male=0.9, min_age=14, shock="booking"
)

# Mean paid per encounter (USD); stays are per diem times length of stay.
PER_VISIT = {
    "ed": 1500.0,
    "psych_emergency": 1200.0,
    "sobering_center": 250.0,
    "outpatient_mh": 220.0,
    "outpatient_sud": 150.0,
    "primary_care": 160.0,
}
PER_DIEM = {
    "inpatient_medical": 3200.0,
    "inpatient_psych": 1500.0,
    "crisis_residential": 520.0,
    "imd": 400.0,
    "enriched_residential": 250.0,
    "residential_sud": 210.0,
    "detox": 650.0,
    "recuperative_care": 150.0,
}
MEAN_LOS = {  # days; geometric lengths of stay with this mean
    "inpatient_medical": 5.0,
    "inpatient_psych": 9.0,
    "crisis_residential": 10.0,
    "imd": 60.0,
    "enriched_residential": 45.0,
    "residential_sud": 28.0,
    "detox": 4.0,
    "recuperative_care": 70.0,  # 10-12 weeks in the WPC-LA budget justification
}
# Amounts of non-crisis care are lowered for the bias group, as are access-sensitive rates.
ACCESS_PAID_SETTINGS = ("inpatient_medical", "outpatient_mh", "outpatient_sud", "primary_care")

# Death: Gompertz in age (doubling about every 8 years) times latent risk.
DEATH = Stream(-8.7, mh=0.1, sud=0.3, med=0.4, soc=0.2, age=0.55)
# Housing chain: monthly logit of entering homelessness, and of leaving it.
# Entry also carries a direct effect of race/ethnicity and sex (structural barriers to
# housing) so that the homeless subset matches the LAHSA count: 66% male, 39% Black,
# 27% Hispanic/Latino, 26% White.
HOMELESS_ENTER = Stream(
    -7.6,
    mh=0.35,
    sud=0.3,
    soc=1.0,
    male=0.7,
    race=(1.6, -0.45, 0.55, -0.6, 0.8, 0.2, 0.0),
)
HOMELESS_EXIT = Stream(-0.9, mh=-0.15, sud=-0.2, soc=-0.55)


def mean_paid(setting: str) -> float:
    """Mean paid amount of one encounter in ``setting`` before any access adjustment."""
    if setting in PER_VISIT:
        return PER_VISIT[setting]
    return PER_DIEM[setting] * MEAN_LOS[setting]


def linear_predictor(pop: Population, stream: Stream, months: slice) -> np.ndarray:
    """The stream's linear predictor, shape (n, months), float32."""
    lat = pop.latent[:, :, months]
    eta = np.full(lat.shape[1:], np.float32(stream.b0), dtype=np.float32)
    for k, coef in enumerate((stream.mh, stream.sud, stream.med, stream.soc)):
        if coef:
            eta += np.float32(coef) * lat[k]
    static = (
        np.float32(stream.smi) * pop.conditions["smi"]
        + np.float32(stream.sud_dx) * pop.conditions["sud"]
    )
    static = static + np.float32(stream.male) * (pop.sex == 1)
    if stream.race:
        static = static + np.asarray(stream.race, dtype=np.float32)[pop.race]
    eta += static.astype(np.float32)[:, None]
    if stream.age or stream.min_age:
        age = pop.age(months)
        if stream.age:
            eta += np.float32(stream.age / 10.0) * (age - np.float32(40.0))
        if stream.min_age:
            eta[age < stream.min_age] = -np.inf
    return eta


def rate(pop: Population, stream: Stream, months: slice, access_factor: float = 1.0) -> np.ndarray:
    """Events per person-month, shape (n, months), float32.

    ``access_factor`` multiplies the rate of biased people when the stream is access-sensitive.
    """
    lam = np.exp(linear_predictor(pop, stream, months))
    if stream.access and access_factor != 1.0:
        lam[pop.biased] *= np.float32(access_factor)
    return lam


def logistic(pop: Population, stream: Stream, months: slice) -> np.ndarray:
    """Monthly probability from a logit-scale stream (housing chain), float32."""
    eta = linear_predictor(pop, stream, months)
    return (1.0 / (1.0 + np.exp(-eta))).astype(np.float32)


def paid_multiplier(pop: Population, setting: str, access_factor: float) -> np.ndarray:
    """Per-person multiplier of mean paid amounts in ``setting`` (bias on non-crisis care)."""
    mult = np.ones(pop.n, dtype=np.float32)
    if setting in ACCESS_PAID_SETTINGS:
        mult[pop.biased] = np.float32(access_factor)
    return mult


def inpatient_kept(pop: Population, months: slice) -> np.ndarray:
    """Share of hospital admissions kept: the generator drops one starting during an open stay.

    Approximation: an admission is dropped when another starts in the preceding mean length
    of stay, under the size-biased monthly shock, ``(1 + theta lam los / month)^-(1/theta + 1)``.
    """
    medical = rate(pop, ENCOUNTER_STREAMS["inpatient_medical"], months)
    psych = rate(pop, ENCOUNTER_STREAMS["inpatient_psych"], months)
    total = medical + psych
    los = (medical * MEAN_LOS["inpatient_medical"] + psych * MEAN_LOS["inpatient_psych"]) / (
        np.maximum(total, np.float32(1e-30))
    )
    theta = SHOCKS["inpatient"]
    return (1 + theta * total * los / np.float32(30.44)) ** np.float32(-(1 / theta + 1))


def expected_cost_rate(
    pop: Population, months: slice, access_factor: float
) -> tuple[np.ndarray, np.ndarray]:
    """Expected paid amount per person-month (USD), with and without the planted bias.

    Returns ``(cost, need)``, each (n, months) float32: ``need`` is the cost everybody
    would generate under equal access (the latent need, in dollars).
    """
    cost = need = None
    kept = inpatient_kept(pop, months)
    for setting, stream in ENCOUNTER_STREAMS.items():
        lam = rate(pop, stream, months)
        if setting in ("inpatient_medical", "inpatient_psych"):
            lam *= kept
        mean = np.float32(mean_paid(setting))
        need = lam * mean if need is None else need + lam * mean
        if stream.access:
            lam[pop.biased] *= np.float32(access_factor)
        mult = paid_multiplier(pop, setting, access_factor)[:, None]
        cost = lam * mean * mult if cost is None else cost + lam * mean * mult
    return cost, need
