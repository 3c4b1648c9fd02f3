"""Bring a table's columns to the contract's dtypes, remembering values that would not convert.

Dates become ``datetime64[us]`` at midnight, ``person_id`` a string, counts nullable
``Int64``, amounts and scores ``float64``, flags nullable ``boolean``. A value present in
the input but not convertible is not silently nulled: its row is flagged ``unparseable``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskstrat.data._codes import TABLE_COLUMNS

OPEN_END = pd.Timestamp("9999-12-31")
# "1.0" and "0.0": a 0/1 column with gaps, as pandas writes it to CSV (a float column).
_TRUE = frozenset({"true", "t", "1", "1.0", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "0.0", "no", "n"})


# An ISO date and time, with or without a UTC offset: its date part is the day recorded.
_ISO_DATE_TIME = (
    r"^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$"
)


# A whole day written out, year first (an ISO date, 2020/1/5 as well, with any time after
# it, or the basic form 20201124): ISO 8601's reduced forms ("1982", "2020-11") parse too, as the month's or
# year's first day, which would invent the day a birth or a booking happened.
WHOLE_DAY = r"^(?:\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:[T ].*)?|\d{8})$"


# A time of day after a whole day, as warehouses write it (13:45, 1:45 PM, with seconds, a
# fraction, Z or an offset): dropped, so the day is the one written, as an offset's is.
_TIME_AFTER_DAY = (
    r"^(\d{4}[-/]\d{1,2}[-/]\d{1,2})[T ](?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
    r"(?:\s?[AaPp]\.?[Mm]\.?)?(?:\s?(?:Z|UTC|[+-]\d{2}(?::?\d{2})?))?$"
)


def _to_date(s: pd.Series) -> pd.Series:
    # A time zone's own calendar day, not UTC's: 23:00 in Los Angeles converted to UTC is the
    # next day, which moved every evening event (and every feature window) by a day.
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    if pd.api.types.is_bool_dtype(s.dtype):
        s = pd.Series(pd.NA, index=s.index, dtype="string")
    elif pd.api.types.is_numeric_dtype(s.dtype):
        # A number is a date only as yyyymmdd (a CSV of them reads as integers).
        values = s.astype("float64")
        digits = (values >= 1e7) & (values < 1e8) & (np.floor(values) == values)
        s = values.where(digits).astype("Int64").astype("string")
    if not pd.api.types.is_datetime64_dtype(s.dtype):
        text = s.astype("string").str.strip()
        s = text.where(text.str.match(WHOLE_DAY).fillna(False).astype(bool))
        s = s.str.replace(_TIME_AFTER_DAY, r"\1", regex=True)
    if not pd.api.types.is_datetime64_dtype(s.dtype):
        try:
            s = pd.to_datetime(s, errors="coerce", format="ISO8601")
        except ValueError:
            # UTC offsets that change with daylight saving (-07:00, -08:00) do not parse in
            # one go: the time and offset go as text, and the day is the one written.
            text = s.astype("string").str.replace(_ISO_DATE_TIME, r"\1", regex=True)
            # Whatever still has a time or offset (a basic-format 20250101T2300-0800) is
            # no date this reads: flagged unparseable, not a failed load.
            text = text.mask(text.str.len() > 10)
            s = pd.to_datetime(text, errors="coerce", format="ISO8601")
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_localize(None)
    # Events are dates: a time of day would make "before as_of" depend on the clock.
    return s.astype("datetime64[us]").dt.normalize()


def _to_number(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        values = s.astype("float64")
    else:
        values = pd.to_numeric(s, errors="coerce").astype("float64")
    # An infinite amount ('inf' in a CSV) is no amount: flagged unparseable, as text is,
    # rather than summed into every total it touches.
    return values.mask(np.isinf(values))


# From 2**53 a float no longer holds every whole number, and past 2**63 no Int64 holds it:
# a count or a code that large is a value slid in from another column, not a count.
_LARGEST_WHOLE = 2.0**53


def _to_int(s: pd.Series) -> pd.Series:
    values = _to_number(s)
    whole = values.isna() | ((np.floor(values) == values) & (values.abs() < _LARGEST_WHOLE))
    return values.where(whole).astype("Int64")


def _to_bool(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean")
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.map({1: True, 0: False}).astype("boolean")
    lowered = s.astype("str").str.strip().str.lower()
    mapping = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
    return lowered.map(mapping).astype("boolean")


def _to_id(s: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(s.dtype):
        # Integer ids that went through a nullable float column must not become "12.0".
        whole = s.isna() | (np.floor(s) == s)
        if bool(whole.all()):
            s = s.astype("Int64")
    out = s.astype("str")
    return out.str.strip()


def _to_str(s: pd.Series) -> pd.Series:
    # Codes from fixed-width (CHAR(n)) columns arrive padded: "M " is the code "M".
    return s.astype("str").str.strip()


_CONVERTERS = {
    "id": _to_id,
    "date": _to_date,
    "int": _to_int,
    "float": _to_number,
    "bool": _to_bool,
    "str": _to_str,
}


# How exports spell an empty field (SQL Server's NULL, R's NA, Excel's #N/A), in upper,
# lower or title case: pandas' own readers take these as missing, and no date, number,
# code or id is written so.
NULL_SPELLINGS = ("NULL", "NA", "N/A", "#N/A", "NAN", "NONE")


_NULL_VARIANTS = pa.array(
    sorted({v for n in NULL_SPELLINGS for v in (n, n.lower(), n.capitalize(), "NaN", "#n/a")})
)


def _null_spellings_as_missing(s: pd.Series) -> pd.Series:
    if not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)):
        return s
    try:
        text = pa.array(s, from_pandas=True, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return s  # mixed values (numbers among text): none of them is a spelling of null
    # One pass over the column (it can hold tens of millions of ids): the spellings in
    # the cases exports write them, not every value trimmed and upper-cased first.
    spelled = pc.is_in(text, value_set=_NULL_VARIANTS)
    mask = spelled.to_numpy(zero_copy_only=False)
    return s.mask(mask) if mask.any() else s


def normalise_table(table: str, df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Convert the contract columns of ``table`` to their dtypes.

    Parameters
    ----------
    table : str
        A name of ``TABLE_NAMES``.
    df : DataFrame
        The table as read; columns outside the contract are dropped.

    Returns
    -------
    DataFrame
        Contract columns only, in contract order, with a fresh ``RangeIndex``.
    dict
        For each column with values that did not convert, a boolean mask of those rows.
    """
    df = df.reset_index(drop=True)
    out = {}
    unparseable = {}
    for column, kind, _required in TABLE_COLUMNS[table]:
        if column not in df.columns:
            continue
        raw = _null_spellings_as_missing(df[column])
        converted = _CONVERTERS[kind](raw)
        bad = raw.notna() & converted.isna()
        if column == "end_date":
            # Warehouses write an open episode's end as 9999-12-31: it is one still open
            # (the contract's empty end), not an end after the reference date.
            converted = converted.mask(converted == OPEN_END)
        if kind in ("id", "str"):
            # An empty id is no id at all, and empty text no value: a missing value, not an
            # unknown code ''.
            converted = converted.mask(converted == "")
        if kind in ("date", "int", "float", "bool") and bool(bad.any()):
            unparseable[column] = bad
        out[column] = converted
    # The converted columns are fresh: no need for the DataFrame constructor to copy them.
    return pd.DataFrame(out, index=df.index, copy=False), unparseable
