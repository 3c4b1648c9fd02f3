"""A small person x quarter panel from a known logistic data-generating process."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from riskstrat.modeling._estimators import RULE_SCORE
from riskstrat.modeling._panel import FEATURES_ATTR
from riskstrat.modeling._timechop import quarter_starts

DATA_END = dt.date(2024, 1, 1)
AS_OF = quarter_starts(dt.date(2020, 1, 1), dt.date(2023, 1, 2))  # 2020-01-01 .. 2023-01-01
FEATURES = [
    "age",
    "psych_inpatient_admissions_365d",
    "ed_visits_365d",
    "bookings_365d",
    "homeless_now",
    "has_smi",
    "has_sud",
    "days_since_release",
    "mcas_latest",
    "race_ethnicity_black",
]


def make_panel(n_persons: int = 2500, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Panel and truth: the true probability is a known logistic function with interactions.

    ``race_ethnicity_black`` drives the outcome too, so a model that used it would gain
    from it; the default config must still leave it out.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for as_of in AS_OF:
        n = n_persons
        psych = rng.poisson(0.3, n)
        ed = rng.poisson(1.2, n)
        bookings = rng.poisson(0.25, n)
        homeless = rng.random(n) < 0.12
        smi = rng.random(n) < 0.15
        sud = rng.random(n) < 0.2
        age = rng.integers(18, 85, n)
        release = np.where(rng.random(n) < 0.2, rng.integers(1, 400, n), 9999)
        mcas = np.where(rng.random(n) < 0.1, rng.integers(17, 86, n).astype(float), np.nan)
        black = rng.random(n) < 0.3
        logit = (
            -2.6
            + 0.55 * np.minimum(psych, 3)
            + 0.35 * np.minimum(ed, 5)
            + 0.5 * bookings
            + 0.7 * homeless
            + 0.4 * smi
            + 0.4 * sud
            + 0.9 * (smi & sud)  # interaction a tree model can find
            - 0.015 * (age - 45)
            + 0.6 * (release < 90)
            + 0.3 * black
        )
        p = 1 / (1 + np.exp(-logit))
        frames.append(
            pd.DataFrame(
                {
                    "person_id": [f"p{i:05d}" for i in range(n)],
                    "as_of": pd.Timestamp(as_of),
                    "age": age,
                    "psych_inpatient_admissions_365d": psych,
                    "ed_visits_365d": ed,
                    "bookings_365d": bookings,
                    "homeless_now": homeless,
                    "has_smi": smi,
                    "has_sud": sud,
                    "days_since_release": release,
                    "mcas_latest": mcas,
                    "race_ethnicity_black": black,
                    "composite_adverse": (rng.random(n) < p).astype(float),
                    "composite_adverse_censored": rng.random(n) < 0.02,
                    "_p": p,
                }
            )
        )
    panel = pd.concat(frames, ignore_index=True)
    panel["as_of"] = panel["as_of"].astype("datetime64[us]")
    truth = panel[["person_id", "as_of", "_p"]].rename(columns={"_p": "composite_adverse"})
    panel = panel.drop(columns="_p")
    # A county-style rule on these few columns: one point per acute-need flag.
    flags = (
        (panel["psych_inpatient_admissions_365d"] >= 1).astype(int)
        + (panel["ed_visits_365d"] >= 4)
        + (panel["bookings_365d"] >= 1)
        + panel["homeless_now"].astype(int)
        + panel["has_smi"].astype(int)
        + panel["has_sud"].astype(int)
    )
    panel[RULE_SCORE] = flags.astype("float64").to_numpy()
    panel.attrs[FEATURES_ATTR] = list(FEATURES)
    panel.attrs["data_end"] = DATA_END
    return panel, truth


@pytest.fixture(scope="session")
def dgp_panel() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_panel()
