"""One reading of an as-of date for every API: a date, or text in ISO form only.

``pd.Timestamp`` reads almost any text: '01/07/2025' as 7 January, 'now' as today, '25Q3'
as a quarter. An as-of date read loosely moves every feature window without a word, so
text must be ISO 8601 (``YYYY-MM-DD``); date and timestamp objects keep their calendar day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

BAD_DATE = "{what}: expected a date YYYY-MM-DD, got {value!r}"
BAD_DATES = "{what}: expected a date (YYYY-MM-DD) or a sequence of dates, got {value!r}"
NO_DATES = "{what}: expected at least one date"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ONE_DATE = str | dt.date | pd.Timestamp | np.datetime64


def as_date(value: object, what: str = "as_of") -> dt.date:
    """The calendar day of ``value``: a date, datetime, Timestamp, datetime64 or ISO text.

    Raises
    ------
    ValueError
        Text that is not an ISO date, a missing value, or another type; the message
        names ``what``.
    """
    if isinstance(value, str):
        # fromisoformat also takes 20250701 and week dates (2025-W27-2): not what help says.
        if not _ISO_DAY.fullmatch(value.strip()):
            raise ValueError(BAD_DATE.format(what=what, value=value))
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(BAD_DATE.format(what=what, value=value)) from None
    if isinstance(value, dt.date | pd.Timestamp | np.datetime64):
        stamp = pd.Timestamp(value)
        if not pd.isna(stamp):
            return stamp.date()
    raise ValueError(BAD_DATE.format(what=what, value=value))


def as_dates(value: object, what: str = "as_of") -> list[dt.date]:
    """One date or a sequence of them (each as :func:`as_date` reads it), sorted, unique.

    Raises
    ------
    ValueError
        No date, a value that is neither a date nor a sequence, or an unreadable date;
        the message names ``what``.
    """
    values = [value] if isinstance(value, _ONE_DATE) else value
    if not isinstance(values, Iterable):
        raise ValueError(BAD_DATES.format(what=what, value=value))
    dates = {as_date(v, what) for v in values}
    if not dates:
        raise ValueError(NO_DATES.format(what=what))
    return sorted(dates)


# A reference date stands for today; in the future it lets future rows pass (and, in score,
# an as-of date in the future be scored). Each command says which of its options it was.
REFERENCE_AHEAD = (
    "{what} {reference} is after today ({today}): {lets}; expected today or an earlier day "
    "(a past run's, to reproduce it)"
)


def today_if_before(day: dt.date) -> dt.date | None:
    """Today (UTC) when ``day`` lies after it, else None: a reference date standing for
    "today" cannot be in the future. A day of grace, as somewhere on Earth it is already
    tomorrow."""
    today = dt.datetime.now(dt.UTC).date()
    return today if day > today + dt.timedelta(days=1) else None
