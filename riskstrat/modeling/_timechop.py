"""Temporal train / calibration / test splits in pure date logic (no data access).

A split has three sets of quarterly as-of dates. For a test as-of date ``T`` with a
label horizon of ``h`` months (calendar months, as in the outcome windows
``[D, D + h months)``):

- ``T + h <= data_end``: the test labels are fully observed;
- every calibration date ``C`` has ``C + h <= T``: no calibration label window reaches
  past the test as-of date;
- every training date ``R`` has ``R + h <= C`` for the first calibration date ``C``, hence
  also ``R + h <= T``: the model never sees a label from on or after the test date, and
  it is calibrated on a slice whose outcomes it never saw. Without that gap a training
  label window would cover months of the same people's calibration window, the model
  would look better on the calibration slice than it is, and the calibrator would make
  it overconfident.

Rolling-origin evaluation (as in triage's timechop) repeats this for several test
quarters, stepping the test date back one or more quarters each time. The latest split
comes first: it is the one a deployed model is trained on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import pandas as pd

NO_TEST_DATE = (
    "no as-of date has a fully observed {horizon}-month horizon before data_end {data_end} "
    "(latest as-of date given: {latest}); expected an as-of date D with D + {horizon} months "
    "<= data_end"
)
TOO_FEW_DATES = (
    "test as-of date {test}: needs {needed} as-of date(s) whose {horizon}-month label window "
    "ends on or before it ({n_cal} calibration + at least 1 training), found {found}"
)
NO_TRAINING_DATE = (
    "test as-of date {test}: no training as-of date on or before {latest} (its "
    "{horizon}-month label window must end by the first calibration date {calibration}); "
    "the as-of dates start {first}"
)
LEAKAGE = (
    "split for test as-of {test}: {which} as-of {date} + {horizon} months reaches past {limit}"
)
BAD_PARAMETER = "{name} must be {expected}, got {value!r}"


class SplitRangeError(ValueError):
    """The as-of dates cannot hold a train / calibration / test split (too few, too late)."""


@dataclasses.dataclass(frozen=True)
class TemporalSplit:
    """One train / calibration / test split of quarterly as-of dates.

    Attributes
    ----------
    train_as_of, calibration_as_of : tuple of datetime.date
        As-of dates whose rows train, then calibrate, the model (ascending).
    test_as_of : datetime.date
        The single as-of date the model is evaluated on.
    horizon_months : int
        Label window length in calendar months.
    data_end : datetime.date
        First date after the observed data (labels need ``as_of + horizon <= data_end``).
    """

    train_as_of: tuple[dt.date, ...]
    calibration_as_of: tuple[dt.date, ...]
    test_as_of: dt.date
    horizon_months: int
    data_end: dt.date

    def __post_init__(self) -> None:
        check_no_leakage(self)

    @property
    def as_of_dates(self) -> tuple[dt.date, ...]:
        """All as-of dates the split uses, ascending."""
        return tuple(sorted({*self.train_as_of, *self.calibration_as_of, self.test_as_of}))

    def to_dict(self) -> dict[str, object]:
        """ISO-formatted dates, for metadata and tracking."""
        return {
            "train_as_of": [d.isoformat() for d in self.train_as_of],
            "calibration_as_of": [d.isoformat() for d in self.calibration_as_of],
            "test_as_of": self.test_as_of.isoformat(),
            "horizon_months": self.horizon_months,
            "data_end": self.data_end.isoformat(),
        }


def add_months(date: dt.date, months: int) -> dt.date:
    """``date`` plus calendar months, like ``pandas.DateOffset(months=...)``.

    Parameters
    ----------
    date : datetime.date
    months : int

    Returns
    -------
    datetime.date
    """
    return (pd.Timestamp(date) + pd.DateOffset(months=months)).date()


def label_end(as_of: dt.date, horizon_months: int) -> dt.date:
    """First day after the label window ``[as_of, as_of + horizon)``."""
    return add_months(as_of, horizon_months)


def quarter_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    """Quarter start dates (1 Jan, 1 Apr, 1 Jul, 1 Oct) in ``[start, end)``.

    Parameters
    ----------
    start, end : datetime.date

    Returns
    -------
    list of datetime.date
        Ascending; empty when ``end <= start``.
    """
    first = dt.date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    if first < start:
        first = add_months(first, 3)
    dates = []
    current = first
    while current < end:
        dates.append(current)
        current = add_months(current, 3)
    return dates


def check_no_leakage(split: TemporalSplit) -> None:
    """Raise ``ValueError`` if any label window reaches past where it may.

    Parameters
    ----------
    split : TemporalSplit

    Raises
    ------
    ValueError
        Naming the offending date and the limit it crosses.
    """
    h, test = split.horizon_months, split.test_as_of
    if label_end(test, h) > split.data_end:
        raise ValueError(
            LEAKAGE.format(test=test, which="test", date=test, horizon=h, limit=split.data_end)
        )
    for which, dates in (("calibration", split.calibration_as_of), ("train", split.train_as_of)):
        if not dates:
            raise ValueError(f"split for test as-of {test}: no {which} as-of dates")
        for date in dates:
            if label_end(date, h) > test:
                raise ValueError(
                    LEAKAGE.format(test=test, which=which, date=date, horizon=h, limit=test)
                )
    first_calibration = min(split.calibration_as_of)
    for date in split.train_as_of:
        if label_end(date, h) > first_calibration:
            raise ValueError(
                LEAKAGE.format(
                    test=test, which="train", date=date, horizon=h, limit=first_calibration
                )
                + " (the first calibration as-of date)"
            )


def _positive(name: str, value: int | None, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            BAD_PARAMETER.format(name=name, expected="a whole number >= 1", value=value)
        )


def temporal_splits(
    as_of_dates: Sequence[dt.date],
    data_end: dt.date,
    *,
    horizon_months: int = 12,
    n_test: int = 1,
    test_step_quarters: int = 1,
    n_calibration: int = 1,
    n_train: int | None = None,
) -> list[TemporalSplit]:
    """Rolling-origin train / calibration / test splits, latest test date first.

    Parameters
    ----------
    as_of_dates : sequence of datetime.date
        Candidate as-of dates (normally quarter starts), in any order.
    data_end : datetime.date
        First date after the observed data.
    horizon_months : int
        Label window in calendar months.
    n_test : int
        Number of test quarters (rolling origins).
    test_step_quarters : int
        How many candidate dates to step back between consecutive test dates.
    n_calibration : int
        Calibration as-of dates per split: the latest dates whose label window ends on or
        before the test date.
    n_train : int or None
        Training as-of dates per split: the latest whose label window ends on or before
        the first calibration date; None uses all.

    Returns
    -------
    list of TemporalSplit
        Fewer than ``n_test`` if the data run out of history for older test dates.

    Raises
    ------
    ValueError
        If not even the latest split can be formed.
    """
    _positive("horizon_months", horizon_months)
    _positive("n_test", n_test)
    _positive("test_step_quarters", test_step_quarters)
    _positive("n_calibration", n_calibration)
    _positive("n_train", n_train, allow_none=True)
    dates = sorted(set(as_of_dates))
    if not dates:
        raise SplitRangeError(
            BAD_PARAMETER.format(name="as_of_dates", expected="non-empty", value=[])
        )
    testable = [d for d in dates if label_end(d, horizon_months) <= data_end]
    if not testable:
        raise SplitRangeError(
            NO_TEST_DATE.format(horizon=horizon_months, data_end=data_end, latest=dates[-1])
        )
    splits: list[TemporalSplit] = []
    for test in testable[::-test_step_quarters][:n_test]:
        usable = [d for d in dates if label_end(d, horizon_months) <= test]
        if len(usable) < n_calibration + 1:
            if not splits:
                raise SplitRangeError(
                    TOO_FEW_DATES.format(
                        test=test,
                        needed=n_calibration + 1,
                        horizon=horizon_months,
                        n_cal=n_calibration,
                        found=len(usable),
                    )
                )
            break
        calibration = usable[-n_calibration:]
        train = [d for d in usable if label_end(d, horizon_months) <= calibration[0]]
        if n_train is not None:
            train = train[-n_train:]
        if not train:
            if not splits:
                raise SplitRangeError(
                    NO_TRAINING_DATE.format(
                        test=test,
                        latest=add_months(calibration[0], -horizon_months),
                        horizon=horizon_months,
                        calibration=calibration[0],
                        first=dates[0],
                    )
                )
            break
        splits.append(
            TemporalSplit(
                train_as_of=tuple(train),
                calibration_as_of=tuple(calibration),
                test_as_of=test,
                horizon_months=horizon_months,
                data_end=data_end,
            )
        )
    return splits


def date_span(dates: Sequence[dt.date]) -> str:
    """``first to last`` of some quarters' dates (one date alone as it is)."""
    ordered = sorted(dates)
    first, last = ordered[0].isoformat(), ordered[-1].isoformat()
    return first if first == last else f"{first} to {last}"
