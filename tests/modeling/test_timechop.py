"""Temporal splits: hand-picked boundary dates, rolling origin, and no leakage by property."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskstrat.modeling._timechop import (
    LEAKAGE,
    NO_TEST_DATE,
    NO_TRAINING_DATE,
    SplitRangeError,
    TemporalSplit,
    add_months,
    quarter_starts,
    temporal_splits,
)

D = dt.date
QUARTERS = quarter_starts(D(2020, 1, 1), D(2024, 1, 1))  # 2020-01-01 .. 2023-10-01


def test_quarter_starts_are_half_open_and_aligned() -> None:
    assert quarter_starts(D(2021, 2, 15), D(2021, 10, 1)) == [D(2021, 4, 1), D(2021, 7, 1)]
    assert quarter_starts(D(2021, 1, 1), D(2021, 1, 2)) == [D(2021, 1, 1)]
    assert quarter_starts(D(2021, 1, 1), D(2021, 1, 1)) == []
    assert len(QUARTERS) == 16


def test_add_months_is_calendar_months() -> None:
    assert add_months(D(2023, 1, 1), 12) == D(2024, 1, 1)
    assert add_months(D(2023, 1, 31), 1) == D(2023, 2, 28)


def test_latest_split_at_the_exact_boundary() -> None:
    (split,) = temporal_splits(QUARTERS, D(2024, 1, 1), horizon_months=12)
    # 2023-01-01 + 12 months == data_end: the test labels are just fully observed.
    assert split.test_as_of == D(2023, 1, 1)
    # 2022-01-01 + 12 months == the test date: the latest calibration date allowed.
    assert split.calibration_as_of == (D(2022, 1, 1),)
    # 2021-01-01 + 12 months == the calibration date: the latest training date allowed, so
    # no training label window overlaps the calibration slice's.
    assert split.train_as_of == tuple(QUARTERS[:5])  # 2020-01-01 .. 2021-01-01
    assert split.train_as_of[-1] == D(2021, 1, 1)


def test_one_day_less_of_data_moves_the_test_date_back() -> None:
    (split,) = temporal_splits(QUARTERS, D(2023, 12, 31), horizon_months=12)
    assert split.test_as_of == D(2022, 10, 1)
    assert split.calibration_as_of == (D(2021, 10, 1),)
    assert max(split.train_as_of) == D(2020, 10, 1)


def test_rolling_origin_steps_back_one_quarter_each() -> None:
    splits = temporal_splits(
        QUARTERS, D(2024, 1, 1), n_test=3, n_calibration=2, n_train=3, horizon_months=12
    )
    assert [s.test_as_of for s in splits] == [D(2023, 1, 1), D(2022, 10, 1), D(2022, 7, 1)]
    assert splits[0].calibration_as_of == (D(2021, 10, 1), D(2022, 1, 1))
    assert splits[0].train_as_of == (D(2020, 4, 1), D(2020, 7, 1), D(2020, 10, 1))
    assert splits[1].train_as_of == (D(2020, 1, 1), D(2020, 4, 1), D(2020, 7, 1))
    assert splits[2].calibration_as_of == (D(2021, 4, 1), D(2021, 7, 1))
    # Only two dates end their labels by 2021-04-01: fewer than n_train, still a split.
    assert splits[2].train_as_of == (D(2020, 1, 1), D(2020, 4, 1))


def test_rolling_origin_with_a_step_and_running_out_of_history() -> None:
    splits = temporal_splits(QUARTERS, D(2024, 1, 1), n_test=10, test_step_quarters=2)
    # Test dates every second quarter until no training date ends its labels by the
    # calibration date: for 2021-07-01 that would need a date on or before 2019-07-01.
    assert [s.test_as_of for s in splits] == [D(2023, 1, 1), D(2022, 7, 1), D(2022, 1, 1)]
    assert splits[-1].train_as_of == (D(2020, 1, 1),)
    assert splits[-1].calibration_as_of == (D(2021, 1, 1),)


def test_shorter_horizon_allows_later_dates() -> None:
    (split,) = temporal_splits(QUARTERS, D(2024, 1, 1), horizon_months=3)
    assert split.test_as_of == D(2023, 10, 1)
    assert split.calibration_as_of == (D(2023, 7, 1),)


def test_no_fully_observed_date_is_an_error() -> None:
    with pytest.raises(ValueError) as info:
        temporal_splits([D(2023, 7, 1)], D(2024, 1, 1))
    assert info.value.args[0] == NO_TEST_DATE.format(
        horizon=12, data_end=D(2024, 1, 1), latest=D(2023, 7, 1)
    )


def test_too_few_dates_before_the_test_date() -> None:
    with pytest.raises(ValueError, match="needs 2 as-of date"):
        temporal_splits([D(2022, 1, 1), D(2023, 1, 1)], D(2024, 1, 1))


@pytest.mark.parametrize(
    ("train", "calibration", "test", "which", "bad"),
    [
        # A training window 2022-04-01 .. 2023-04-01 reaches past the test date 2023-01-01.
        ((D(2021, 1, 1), D(2022, 4, 1)), (D(2022, 1, 1),), D(2023, 1, 1), "train", D(2022, 4, 1)),
        # Calibration one quarter too late.
        ((D(2021, 1, 1),), (D(2022, 4, 1),), D(2023, 1, 1), "calibration", D(2022, 4, 1)),
        # Test labels not fully observed before data_end 2024-01-01.
        ((D(2021, 1, 1),), (D(2022, 1, 1),), D(2023, 4, 1), "test", D(2023, 4, 1)),
    ],
)
def test_leaking_splits_are_refused(train, calibration, test, which, bad) -> None:
    with pytest.raises(ValueError) as info:
        TemporalSplit(train, calibration, test, 12, D(2024, 1, 1))
    limit = D(2024, 1, 1) if which == "test" else test
    assert info.value.args[0] == LEAKAGE.format(
        test=test, which=which, date=bad, horizon=12, limit=limit
    )


def test_training_labels_end_by_the_first_calibration_date() -> None:
    # Exactly at the boundary: 2021-01-01 + 12 months == 2022-01-01.
    TemporalSplit((D(2021, 1, 1),), (D(2022, 1, 1),), D(2023, 1, 1), 12, D(2024, 1, 1))
    # One quarter later overlaps the calibration window by three months.
    with pytest.raises(ValueError) as info:
        TemporalSplit((D(2021, 4, 1),), (D(2022, 1, 1),), D(2023, 1, 1), 12, D(2024, 1, 1))
    assert (
        info.value.args[0]
        == LEAKAGE.format(
            test=D(2023, 1, 1), which="train", date=D(2021, 4, 1), horizon=12, limit=D(2022, 1, 1)
        )
        + " (the first calibration as-of date)"
    )
    with pytest.raises(ValueError, match="train as-of 2021-04-01"):
        TemporalSplit((D(2021, 4, 1),), (D(2021, 1, 1),), D(2023, 1, 1), 12, D(2024, 1, 1))


def test_no_training_date_before_calibration_is_an_error() -> None:
    dates = quarter_starts(D(2021, 4, 1), D(2024, 1, 1))
    with pytest.raises(ValueError) as info:
        temporal_splits(dates, D(2024, 1, 1))
    assert info.value.args[0] == NO_TRAINING_DATE.format(
        test=D(2023, 1, 1),
        latest=D(2021, 1, 1),
        horizon=12,
        calibration=D(2022, 1, 1),
        first=D(2021, 4, 1),
    )
    # One more quarter of history is exactly enough.
    (split,) = temporal_splits([D(2021, 1, 1), *dates], D(2024, 1, 1))
    assert split.train_as_of == (D(2021, 1, 1),)


def test_bad_parameters_are_named() -> None:
    with pytest.raises(ValueError, match="n_calibration must be a whole number >= 1, got 0"):
        temporal_splits(QUARTERS, D(2024, 1, 1), n_calibration=0)


@settings(max_examples=150, deadline=None)
@given(
    start=st.integers(0, 15),
    count=st.integers(1, 16),
    end_offset_days=st.integers(-200, 800),
    horizon=st.sampled_from([1, 3, 6, 12, 24]),
    n_test=st.integers(1, 4),
    n_calibration=st.integers(1, 3),
    n_train=st.one_of(st.none(), st.integers(1, 5)),
)
def test_no_split_ever_leaks(
    start, count, end_offset_days, horizon, n_test, n_calibration, n_train
) -> None:
    dates = QUARTERS[start : start + count]
    data_end = dates[-1] + dt.timedelta(days=end_offset_days)
    try:
        splits = temporal_splits(
            dates,
            data_end,
            horizon_months=horizon,
            n_test=n_test,
            n_calibration=n_calibration,
            n_train=n_train,
        )
    except SplitRangeError:
        # Too few dates for a split. Any other error fails: a split that leaked would be
        # refused by TemporalSplit itself with a ValueError, and must not pass unseen.
        return
    assert 1 <= len(splits) <= n_test
    for s in splits:
        assert add_months(s.test_as_of, horizon) <= data_end
        for d in (*s.train_as_of, *s.calibration_as_of):
            assert add_months(d, horizon) <= s.test_as_of
        assert add_months(max(s.train_as_of), horizon) <= min(s.calibration_as_of)
        assert len(s.calibration_as_of) == n_calibration
        assert n_train is None or len(s.train_as_of) <= n_train
    tests = [s.test_as_of for s in splits]
    assert tests == sorted(tests, reverse=True)
