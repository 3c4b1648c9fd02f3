"""An as-of date is a date object or ISO text, never text read loosely."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from riskstrat._dates import as_date
from riskstrat.features import build_features
from riskstrat.scoring import ScoringError, score_cohort

JULY = dt.date(2025, 7, 1)


@pytest.mark.parametrize(
    "value",
    [
        "2025-07-01",
        " 2025-07-01 ",
        JULY,
        dt.datetime(2025, 7, 1, 13, 5),
        pd.Timestamp(JULY),
        np.datetime64("2025-07-01"),
    ],
)
def test_dates_and_iso_text_are_read(value) -> None:
    assert as_date(value) == JULY


@pytest.mark.parametrize(
    "value", ["01/07/2025", "now", "2025Q3", "25Q3", "July 2025", "", None, pd.NaT, 20250701.0]
)
def test_anything_else_is_refused_with_its_name(value) -> None:
    with pytest.raises(ValueError, match=r"^as_of: expected a date YYYY-MM-DD, got "):
        as_date(value)


def test_every_api_refuses_a_loose_date(tmp_path) -> None:
    with pytest.raises(ValueError, match="expected a date YYYY-MM-DD, got '01/07/2025'"):
        build_features({}, "01/07/2025")
    with pytest.raises(ScoringError, match="as_of: expected a date YYYY-MM-DD, got 'now'"):
        score_cohort(tmp_path, "now", "champion", tmp_path / "out")
