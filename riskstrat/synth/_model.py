"""The latent model of the synthetic county: calendar grid, people, latent state, monthly rates.

Everything the generator samples and everything the oracle computes comes from the monthly
rates built here, so the truth is the data-generating probability by construction.

Latent state per person-month: four factors (``mh`` mental-health severity, ``sud`` substance
use, ``med`` medical complexity, ``soc`` social/housing instability), each a persistent person
frailty plus an AR(1) monthly component (episodes that rise and fall, never observed directly).
Event rates are ``exp(linear predictor)`` of the factors, static conditions and age: a
log-normal frailty, hence the heavy tail of high utilisers the county describes (WPC-LA
application: "high-utilizers of acute care services").
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from riskstrat._config import config_error
from riskstrat.data._codes import RACE_ETHNICITIES, SEXES

FACTORS: tuple[str, ...] = ("mh", "sud", "med", "soc")
BAD_GROUP = "group {value!r} is not a race_ethnicity code; expected one of {allowed}"
BAD_ACCESS = "access_factor must be in (0, 1]; got {value!r}"
BAD_RANGE = "synthesize: end ({end}) must be at least one month after start ({start})"

_EPOCH = np.datetime64("1970-01-01", "D")
AR_RHO = 0.8  # monthly persistence of the episodic component
AR_SD = 0.7  # its stationary standard deviation (the frailty has sd 1)


@dataclasses.dataclass(frozen=True)
class BiasConfig:
    """Planted label-choice bias (the mechanism of Obermeyer et al., Science 2019).

    For people of ``group`` the same latent need produces fewer paid elective, outpatient
    and primary-care encounters (rates times ``access_factor``) and lower paid amounts for
    non-crisis care (amounts times ``access_factor``), while need-driven crisis events
    (psychiatric crisis, jail booking, ED) are unchanged. A cost label then under-ranks the
    group at equal need.

    Parameters
    ----------
    enabled : bool
        Plant the bias (``False`` gives everybody the same access).
    group : str
        A ``race_ethnicity`` code.
    access_factor : float
        Multiplier in (0, 1] on access-sensitive rates and amounts.
    """

    enabled: bool = True
    group: str = "Black"
    access_factor: float = 0.6

    def __post_init__(self) -> None:
        if self.group not in RACE_ETHNICITIES:
            raise config_error(
                "bias.group", BAD_GROUP.format(value=self.group, allowed=list(RACE_ETHNICITIES))
            )
        if not 0 < self.access_factor <= 1:
            raise config_error("bias.access_factor", BAD_ACCESS.format(value=self.access_factor))


@dataclasses.dataclass(frozen=True)
class MonthGrid:
    """Calendar months from the month of ``start`` to the last outcome window's end.

    ``n_data`` months carry events (up to ``end``); months after that exist only so the
    oracle can look 12 months ahead of every quarter start in ``[start, end)``.
    """

    start_day: int  # days since 1970-01-01 of `start` (events on or after)
    end_day: int  # days since 1970-01-01 of `end` (events strictly before)
    first: np.ndarray  # first day of each month (days since epoch), int32
    length: np.ndarray  # days in each month, int32
    n_data: int
    quarters: np.ndarray  # month indices of quarter starts in [start, end)

    @property
    def n_months(self) -> int:
        return len(self.first)


def make_grid(start: dt.date, end: dt.date) -> MonthGrid:
    """Build the monthly grid for data in ``[start, end)`` plus 12 months of outcome windows."""
    if end < start + dt.timedelta(days=28):
        raise ValueError(BAD_RANGE.format(start=start, end=end))
    m0 = np.datetime64(f"{start.year:04d}-{start.month:02d}", "M")
    m_end = np.datetime64(f"{end.year:04d}-{end.month:02d}", "M")
    n_data = int(m_end - m0) + (1 if end.day > 1 else 0)
    months = np.arange(m0, m0 + n_data + 13, dtype="datetime64[M]")
    first_days = (months.astype("datetime64[D]") - _EPOCH).astype(np.int64)
    start_day = int((np.datetime64(start, "D") - _EPOCH).astype(np.int64))
    end_day = int((np.datetime64(end, "D") - _EPOCH).astype(np.int64))
    month_no = months.astype(np.int64) % 12
    is_quarter = (month_no % 3 == 0) & (first_days >= start_day) & (first_days < end_day)
    quarters = np.flatnonzero(is_quarter)
    return MonthGrid(
        start_day=start_day,
        end_day=end_day,
        first=first_days[:-1].astype(np.int32),
        length=np.diff(first_days).astype(np.int32),
        n_data=n_data,
        quarters=quarters[quarters + 12 <= len(first_days) - 1],
    )


@dataclasses.dataclass
class Population:
    """People, their static conditions and their latent monthly state (float32 arrays)."""

    age0: np.ndarray  # age in years at the first month
    sex: np.ndarray  # index into SEXES
    race: np.ndarray  # index into RACE_ETHNICITIES
    spa: np.ndarray  # 1-8, 0 = unknown
    conditions: dict[str, np.ndarray]  # static condition flags (bool)
    sud_type: np.ndarray  # 0 none, 1 alcohol, 2 opioid, 3 stimulant, 4 cannabis
    latent: np.ndarray  # (4, n, n_months) float32, factors as in FACTORS
    biased: np.ndarray  # bool: person in the bias group while the bias is enabled
    # (4, n) float32: the persistent part of ``latent``; the as-of oracle needs it to split
    # the latent state into what persists and the episode it rolls forward.
    frailty: np.ndarray

    @property
    def n(self) -> int:
        return len(self.age0)

    def age(self, months: np.ndarray | slice) -> np.ndarray:
        """Age in years in the given months, shape (n, len(months))."""
        m = np.arange(self.latent.shape[2], dtype=np.float32)[months]
        return self.age0[:, None] + m[None, :] / np.float32(12)


# Medi-Cal mix in LA County is mostly Hispanic/Latino; the homeless count is 39% Black,
# 27% Hispanic/Latino, 26% White (2016 LAHSA count, WPC-LA application). The social factor is
# shifted by group and sex (below) so that the homeless subset reproduces that skew.
RACE_SHARES = (0.11, 0.52, 0.16, 0.12, 0.01, 0.04, 0.04)
RACE_SOCIAL_SHIFT = np.array([0.4, 0.0, 0.15, -0.2, 0.4, 0.1, 0.0], dtype=np.float32)
SEX_SHARES = (0.52, 0.46, 0.01, 0.01)
SEX_SOCIAL_SHIFT = np.array([0.0, 0.3, 0.3, 0.0], dtype=np.float32)
# SPA populations, roughly proportional to LA County's eight service planning areas.
SPA_SHARES = (0.04, 0.21, 0.17, 0.12, 0.06, 0.12, 0.13, 0.12, 0.03)  # last = unknown
# Factor correlation: mental illness, substance use and housing instability co-occur.
FACTOR_CORR = np.array(
    [
        [1.0, 0.45, 0.2, 0.45],
        [0.45, 1.0, 0.2, 0.4],
        [0.2, 0.2, 1.0, 0.25],
        [0.45, 0.4, 0.25, 1.0],
    ]
)
# Chronic medical conditions: (intercept, per-unit med factor, per-year age) on the logit scale.
MEDICAL_CONDITIONS: dict[str, tuple[float, float, float]] = {
    "diabetes": (-2.6, 0.9, 0.045),
    "hypertension": (-1.9, 0.8, 0.06),
    "heart_failure": (-5.0, 1.1, 0.07),
    "copd": (-4.4, 1.0, 0.05),
    "asthma": (-2.8, 0.6, -0.005),
    "ckd": (-4.6, 1.0, 0.06),
    "liver_disease": (-5.0, 0.9, 0.03),
    "hiv": (-5.2, 0.6, 0.0),
    "hepatitis_c": (-5.0, 0.6, 0.01),
    "seizure": (-4.6, 0.6, 0.0),
}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def make_population(n: int, grid: MonthGrid, bias: BiasConfig, seed: int) -> Population:
    """Draw demographics, static conditions and the latent monthly state of ``n`` people."""
    rng = np.random.default_rng([seed, 1])
    # Ages 0-90, mostly adults (Medi-Cal members in contact with county systems).
    band = rng.choice(3, size=n, p=[0.2, 0.68, 0.12])
    lo = np.array([0.0, 18.0, 65.0])[band]
    hi = np.array([18.0, 65.0, 90.0])[band]
    age0 = (lo + (hi - lo) * rng.random(n)).astype(np.float32)
    sex = rng.choice(len(SEXES), size=n, p=SEX_SHARES).astype(np.int8)
    race = rng.choice(len(RACE_ETHNICITIES), size=n, p=RACE_SHARES).astype(np.int8)
    spa = rng.choice(9, size=n, p=SPA_SHARES).astype(np.int8) + 1
    spa[spa == 9] = 0
    frailty = rng.standard_normal((n, 4)) @ np.linalg.cholesky(FACTOR_CORR).T
    child = age0 < 15
    frailty[:, 0] -= 0.4 * child
    frailty[:, 1] -= 1.5 * child
    frailty[:, 2] += 0.035 * (age0 - 45.0)
    frailty[:, 3] += RACE_SOCIAL_SHIFT[race] + SEX_SOCIAL_SHIFT[sex] - 0.35
    conditions = _conditions(rng, frailty, age0, sex)
    sud_type = np.where(
        conditions["sud"], rng.choice(4, size=n, p=[0.35, 0.3, 0.25, 0.1]) + 1, 0
    ).astype(np.int8)
    latent = np.empty((4, n, grid.n_months), dtype=np.float32)
    persistent = np.ascontiguousarray(frailty.T, dtype=np.float32)
    rho = np.float32(AR_RHO)
    innov_sd = np.float32(AR_SD * np.sqrt(1 - AR_RHO**2))
    step = np.empty(n, dtype=np.float32)
    for k in range(4):
        base = persistent[k]
        ar = rng.standard_normal(n, dtype=np.float32) * np.float32(AR_SD)  # stationary start
        for t in range(grid.n_months):
            if t:
                rng.standard_normal(n, dtype=np.float32, out=step)
                step *= innov_sd
                ar *= rho
                ar += step
            np.add(base, ar, out=latent[k, :, t])
    biased = (race == RACE_ETHNICITIES.index(bias.group)) & bias.enabled
    return Population(age0, sex, race, spa, conditions, sud_type, latent, biased, persistent)


def _conditions(
    rng: np.random.Generator, frailty: np.ndarray, age0: np.ndarray, sex: np.ndarray
) -> dict[str, np.ndarray]:
    adult = age0 >= 12
    noise = rng.standard_normal((len(age0), 2)) * 0.5
    conditions = {
        # Persistent severity decides who carries a serious mental illness or an SUD diagnosis.
        "smi": (frailty[:, 0] + noise[:, 0] > 1.7) & adult,
        "mh_other": (frailty[:, 0] + noise[:, 0] > 0.8) & (frailty[:, 0] + noise[:, 0] <= 1.7),
        "sud": (frailty[:, 1] + noise[:, 1] > 1.45) & adult,
    }
    for name, (b0, b_med, b_age) in MEDICAL_CONDITIONS.items():
        logit = b0 + b_med * frailty[:, 2] + b_age * (age0 - 45.0)
        conditions[name] = rng.random(len(age0)) < _sigmoid(logit)
    conditions["hiv"] &= adult
    # Pregnancy episodes are drawn per encounter; here only who can be pregnant.
    conditions["can_be_pregnant"] = (sex == 0) & (age0 >= 15) & (age0 < 44)
    return conditions
