"""The splits a training run uses, from ``model.split`` and the data's dates.

:mod:`riskstrat.modeling._timechop` is the pure date logic; this module chooses its inputs
(the first as-of date from the config or the earliest event, the data end, or a prebuilt
panel's own dates) and, when they cannot hold a split, says where they came from and how
much history a split needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pandas as pd

from riskstrat._config import ConfigError
from riskstrat._dates import as_date
from riskstrat.data._coverage import STALE_DAYS, lagging_sources, occurrences
from riskstrat.modeling._model_config import ModelConfig
from riskstrat.modeling._panel import infer_data_end, infer_data_start
from riskstrat.modeling._timechop import (
    SplitRangeError,
    TemporalSplit,
    quarter_starts,
    temporal_splits,
)

SPLIT_RANGE = (
    "model.split: {reason}. The as-of dates run from {source} to the data end {data_end} "
    "(first day after the data); a train / calibration / test split with {n_cal} "
    "calibration quarter(s) needs at least {needed} months between them (three "
    "{horizon}-month label windows in a row, plus 3 months per extra calibration quarter): "
    "give more history, {knobs}, or a lower horizon_months or n_calibration"
)


CONFIGURED_END_LAGS = (
    "{table} ends {day}, {lag} days before the data end {end} (model.split.data_end, the first "
    "day after the data): outcomes that count its events see none in those days"
)
AFTER_EVERY_SOURCE = (
    "model.split.data_end (or --data-end) {end}: every source ends more than {days} days before "
    "it (the latest, "
    "{table}, on {day}); the test quarter's outcomes would be read as no events. Expected the "
    "first day after the data, {expected}"
)


def coverage_warnings(data_end: dt.date, tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """What a configured data end leaves uncovered: a line per source ending a quarter before.

    Raises ConfigError (a ValueError) when even the latest source ends a quarter before: such
    an end is past the data, not a late source.
    """
    found = occurrences(tables)
    last_day = pd.Timestamp(data_end) - pd.Timedelta(days=1)
    lagging = lagging_sources(found, last_day)
    latest = {t: o.last for t, o in found.items()}
    table = max(latest, key=latest.__getitem__) if latest else None
    if table is not None and (last_day - latest[table]).days > STALE_DAYS:
        raise ConfigError(
            AFTER_EVERY_SOURCE.format(
                end=data_end,
                days=STALE_DAYS,
                table=table,
                day=latest[table].date(),
                expected=(latest[table] + pd.Timedelta(days=1)).date(),
            )
        )
    return [
        CONFIGURED_END_LAGS.format(table=t, day=day.date(), lag=lag, end=data_end)
        for t, day, lag in lagging
    ]


def plan_splits(config: ModelConfig, tables: Mapping[str, pd.DataFrame]) -> list[TemporalSplit]:
    """Rolling-origin splits for the data's date range (see ``model.split``)."""
    s = config.split
    return splits_for_range(
        config,
        infer_data_start(tables) if s.first_as_of is None else None,
        s.data_end or infer_data_end(tables),
    )


def splits_for_range(
    config: ModelConfig, data_start: dt.date | None, data_end: dt.date
) -> list[TemporalSplit]:
    """Rolling-origin splits for data covering ``[data_start, data_end)`` (``model.split``).

    The first as-of date is ``split.first_as_of``, else ``data_start`` plus
    ``split.min_history_days``.
    """
    s = config.split
    first = s.first_as_of or (data_start + dt.timedelta(days=s.min_history_days))
    dates = quarter_starts(first, data_end)
    if s.first_as_of:
        source, knobs = f"model.split.first_as_of {first}", "an earlier first_as_of"
    else:
        source = (
            f"the earliest event {data_start} + model.split.min_history_days "
            f"{s.min_history_days} = {first}"
        )
        knobs = "a lower min_history_days"
    try:
        if not dates:
            raise SplitRangeError("no quarter start lies between these dates")
        return _configured_splits(config, dates, data_end)
    except SplitRangeError as exc:
        # The date logic knows only dates; say where they came from and how much is needed.
        raise ValueError(_range_message(config, exc, source, data_end, knobs)) from exc


NOT_QUARTER_STARTS = (
    "panel: {count} as-of date(s) are not quarter starts ({dates}); expected as-of dates on "
    "YYYY-01-01, -04-01, -07-01 or -10-01, since the splits step by quarters (build_panel "
    "with quarter starts)"
)


def splits_for_panel(config: ModelConfig, panel: pd.DataFrame) -> list[TemporalSplit]:
    s = config.split
    dates = sorted({pd.Timestamp(d).date() for d in panel["as_of"].unique()})
    if off := [d for d in dates if d.day != 1 or d.month not in (1, 4, 7, 10)]:
        # The splits step by quarters from the data's end: another day would read as a
        # panel too short, which it is not.
        raise ValueError(
            NOT_QUARTER_STARTS.format(count=len(off), dates=", ".join(map(str, off[:3])))
        )
    data_end = s.data_end or panel.attrs.get("data_end")
    if data_end is None:
        raise ValueError(
            "model.split.data_end: required when training on a prebuilt panel without "
            "attrs['data_end'] (build_panel sets it); expected the day after the last day "
            "the data covers"
        )
    # Text as build_panel writes it, or a date a caller set.
    data_end = as_date(data_end, "panel.attrs['data_end']")
    try:
        return _configured_splits(config, dates, data_end)
    except SplitRangeError as exc:
        source = f"the panel's first as-of date {dates[0]}" if dates else "an empty panel"
        raise ValueError(
            _range_message(config, exc, source, data_end, "a panel with earlier as-of dates")
        ) from exc


def _range_message(
    config: ModelConfig, exc: Exception, source: str, data_end: dt.date, knobs: str
) -> str:
    s = config.split
    return SPLIT_RANGE.format(
        reason=exc,
        source=source,
        data_end=data_end,
        # Training date + h <= first calibration date; the calibration dates are one
        # quarter apart; the last calibration date + h <= test date; test date + h <= end.
        needed=3 * s.horizon_months + 3 * (s.n_calibration - 1),
        horizon=s.horizon_months,
        n_cal=s.n_calibration,
        knobs=knobs,
    )


def _configured_splits(
    config: ModelConfig, dates: Sequence[dt.date], data_end: dt.date
) -> list[TemporalSplit]:
    s = config.split
    return temporal_splits(
        dates,
        data_end,
        horizon_months=s.horizon_months,
        n_test=s.n_test,
        test_step_quarters=s.test_step_quarters,
        n_calibration=s.n_calibration,
        n_train=s.n_train,
    )
