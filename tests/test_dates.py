"""An as-of date is a date object or ISO text, never text read loosely."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskstrat._dates import as_date, as_dates
from riskstrat.features import build_features
from riskstrat.modeling import build_panel
from riskstrat.outcomes import build_outcomes
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
    "value",
    [
        "01/07/2025",
        "now",
        "2025Q3",
        "25Q3",
        "July 2025",
        "",
        None,
        pd.NaT,
        20250701.0,
        "20250701",
        "2025-W27-2",
        "2025-07-01T00:00",
    ],
)
def test_anything_else_is_refused_with_its_name(value) -> None:
    with pytest.raises(ValueError, match=r"^as_of: expected a date YYYY-MM-DD, got "):
        as_date(value)


def test_every_api_refuses_a_loose_date(tmp_path) -> None:
    with pytest.raises(ValueError, match="expected a date YYYY-MM-DD, got '01/07/2025'"):
        build_features({}, "01/07/2025")
    with pytest.raises(ScoringError, match="as_of: expected a date YYYY-MM-DD, got 'now'"):
        score_cohort(tmp_path, "now", "champion", tmp_path / "out")


def _tiny_tables() -> dict[str, pd.DataFrame]:
    persons = pd.DataFrame(
        {
            "person_id": ["p"],
            "birth_date": [pd.Timestamp("1980-05-05")],
            "sex": ["F"],
            "race_ethnicity": ["White"],
            "spa": [4],
        }
    )
    encounters = pd.DataFrame(
        {
            "person_id": ["p"],
            "start_date": [pd.Timestamp("2025-02-01")],
            "end_date": [pd.Timestamp("2025-02-01")],
            "setting": ["ed"],
        }
    )
    return {"persons": persons, "encounters": encounters}


@pytest.mark.parametrize(
    "value", [JULY, [JULY], ("2025-07-01", JULY), np.datetime64("2025-07-01"), pd.Timestamp(JULY)]
)
def test_one_date_or_a_sequence(value) -> None:
    assert as_dates(value) == [JULY]


def test_a_date_list_names_what_it_reads() -> None:
    with pytest.raises(ValueError, match=r"^as_of_dates: expected a date \(YYYY-MM-DD\) or a seq"):
        as_dates(20250701, "as_of_dates")
    with pytest.raises(ValueError, match="^as_of_dates: expected at least one date$"):
        as_dates([], "as_of_dates")
    with pytest.raises(ValueError, match="^as_of_dates: expected a date YYYY-MM-DD, got '07/01"):
        as_dates(["2025-04-01", "07/01/2025"], "as_of_dates")


def test_outcomes_read_data_end_and_as_of_as_every_api_does() -> None:
    tables = _tiny_tables()
    # A numpy date was "not iterable"; a day-first text was read as 10 January.
    by_numpy = build_outcomes(tables, np.datetime64("2025-01-01"), data_end="2026-06-30")
    by_text = build_outcomes(tables, "2025-01-01", data_end=dt.date(2026, 6, 30))
    pd.testing.assert_frame_equal(by_numpy, by_text)
    assert by_text["frequent_ed"].notna().all() and not by_text["frequent_ed_censored"].any()
    for bad in ("01/10/2025", 20241201, "garbage"):
        with pytest.raises(ValueError, match=r"^data_end: expected a date YYYY-MM-DD, got "):
            build_outcomes(tables, "2025-01-01", data_end=bad)


def test_the_panel_takes_one_date_as_a_date_not_as_characters() -> None:
    with pytest.raises(ValueError, match="^as_of_dates: expected a date YYYY-MM-DD, got '01/07"):
        build_panel(_tiny_tables(), "01/07/2025")


def test_tables_passed_as_a_load_result_are_named_without_their_rows() -> None:
    from riskstrat.data import load_tables

    loaded = load_tables(
        Path(__file__).parent / "data" / "fixtures" / "clean", reference_date="2025-01-01"
    )
    for build in (build_features, build_outcomes):
        with pytest.raises(
            ValueError, match=r"^tables: expected a mapping .*got a LoadResult"
        ) as info:
            build(loaded, "2022-06-01")
        assert "P01" not in str(info.value) and len(str(info.value)) < 300
