"""Small in-memory fixtures for the scorer: a tiny LightGBM bundle and a scoring config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskstrat.scoring import load_scoring_config

# The scored county of test_run, for the modules that check what a run wrote (each module
# scores it once: the fixtures are module-scoped).
from .test_run import county, first_run  # noqa: F401

FEATURES = ("psych_inpatient_admissions_365d", "homeless_now", "age")


@pytest.fixture(scope="session")
def tiny_bundle():
    """An uncalibrated LightGBM bundle on three features (fits in well under a second)."""
    import lightgbm as lgb

    from riskstrat.modeling import ModelBundle

    rng = np.random.default_rng(0)
    n = 400
    X = pd.DataFrame(
        {
            "psych_inpatient_admissions_365d": rng.poisson(1.5, n).astype(float),
            "homeless_now": rng.integers(0, 2, n).astype(float),
            "age": rng.integers(18, 80, n).astype(float),
        }
    )
    logit = -2 + 0.8 * X["psych_inpatient_admissions_365d"] + 1.0 * X["homeless_now"]
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    # Monotone constraints (more admissions, homeless, younger -> higher risk) make the
    # fixtures' risk order known without looking at the trees.
    model = lgb.LGBMClassifier(
        n_estimators=20,
        num_leaves=7,
        min_child_samples=10,
        monotone_constraints=[1, 1, -1],
        verbose=-1,
        n_jobs=1,
        random_state=0,
    ).fit(X, y)
    return ModelBundle.from_calibrated(
        model, "lightgbm", list(FEATURES), "psych_crisis", metadata={"version": "test-1"}
    )


@pytest.fixture
def scoring_config():
    return load_scoring_config(
        {
            "tiers": {
                "basis": "percentile",
                "levels": [
                    {"name": "high", "min": 80.0, "caseload": 20},
                    {"name": "moderate", "min": 50.0, "caseload": 30},
                    {"name": "low", "min": 0.0, "caseload": 40},
                ],
            },
            "explanations": {"top_k": 2, "min_contribution": 0.0},
        }
    )
