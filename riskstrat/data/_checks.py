"""Row checks of the input data contract: one vectorised boolean mask per rule.

The pandera schemas (``_schemas.py``) and the loader (``_validate.py``) are both built
from :func:`row_checks`, so "what is a bad row" has exactly one definition. Checks are
listed in priority order: a row failing several is rejected once, for the first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import pandas as pd

from riskstrat.data._codes import (
    DRUG_CLASSES,
    DX_GROUPS,
    HMIS_PROJECT_TYPES,
    INSTRUMENT_RANGES,
    JUSTICE_EVENT_TYPES,
    PROGRAMS,
    RACE_ETHNICITIES,
    SETTINGS,
    SEXES,
    SPAS,
    TABLE_COLUMNS,
)

# Check names: the `check` column of quarantined rows and the keys of fault counts.
REPEATED_HEADER = "repeated_header"
EMPTY_ROW = "empty_row"
NULL_PERSON_ID = "null_person_id"
IDENTIFYING_PERSON_ID = "identifying_person_id"
UNPARSEABLE = "unparseable"
MISSING_VALUE = "missing_value"
UNKNOWN_CODE = "unknown_code"
END_BEFORE_START = "end_before_start"
NEGATIVE_VALUE = "negative_value"
IMPLAUSIBLE_VALUE = "implausible_value"
SCORE_OUT_OF_RANGE = "score_out_of_range"
FUTURE_DATE = "future_date"
IMPLAUSIBLE_BIRTH_DATE = "implausible_birth_date"
MISSING_DX_CODE = "missing_dx_code"
ORPHAN_PERSON_ID = "orphan_person_id"
BEFORE_BIRTH = "before_birth"
AFTER_DEATH = "after_death"
DUPLICATE_ROW = "duplicate_row"
DUPLICATE_PERSON_ID = "duplicate_person_id"

CHECK_NAMES: tuple[str, ...] = (
    REPEATED_HEADER,
    EMPTY_ROW,
    NULL_PERSON_ID,
    IDENTIFYING_PERSON_ID,
    UNPARSEABLE,
    MISSING_VALUE,
    UNKNOWN_CODE,
    END_BEFORE_START,
    NEGATIVE_VALUE,
    IMPLAUSIBLE_VALUE,
    SCORE_OUT_OF_RANGE,
    FUTURE_DATE,
    IMPLAUSIBLE_BIRTH_DATE,
    MISSING_DX_CODE,
    ORPHAN_PERSON_ID,
    BEFORE_BIRTH,
    AFTER_DEATH,
    DUPLICATE_ROW,
    DUPLICATE_PERSON_ID,
)

# Allowed codes per coded column (condition and instrument depend on configuration).
CODED_COLUMNS: dict[str, tuple] = {
    "sex": SEXES,
    "race_ethnicity": RACE_ETHNICITIES,
    "spa": SPAS,
    "setting": SETTINGS,
    "dx_group": DX_GROUPS,
    "drug_class": DRUG_CLASSES,
    "event_type": JUSTICE_EVENT_TYPES,
    "project_type": HMIS_PROJECT_TYPES,
    "program": PROGRAMS,
}
# Interval pairs (start, end) whose end may not precede the start.
DATE_PAIRS: dict[str, tuple[str, str]] = {
    "persons": ("birth_date", "death_date"),
    "encounters": ("start_date", "end_date"),
    "homelessness": ("start_date", "end_date"),
    "enrollments": ("start_date", "end_date"),
}
NON_NEGATIVE_COLUMNS: tuple[str, ...] = ("paid_amount", "days_supply")
# Above these a value is another field slid into the column (a claim or account number),
# not a bill or a supply: one encounter paid $10M or one fill lasting over a year. Summed,
# one such value outweighs a county's spending, and past about 9e14 it overflows the
# engine's exact (fixed-point) sums.
MAX_VALUES: dict[str, float] = {"paid_amount": 10_000_000.0, "days_supply": 366.0}
# A planned programme end date may legitimately lie in the future.
FUTURE_ALLOWED: frozenset[tuple[str, str]] = frozenset({("enrollments", "end_date")})
# Nobody on record has lived longer: an older birth date is a placeholder (1900-01-01), and
# every age, and every "adult" rule, computed from it would be wrong.
MAX_AGE_YEARS = 120
# Required columns whose values may be null (an unknown SPA).
NULLABLE_REQUIRED: frozenset[tuple[str, str]] = frozenset({("persons", "spa")})


@dataclasses.dataclass(frozen=True)
class RowCheck:
    """One rule of the contract.

    ``violated(df)`` returns a boolean Series, True for rows breaking the rule.
    ``shows_values`` says whether offending values may be printed: coded values may,
    person-level values (dates, amounts, scores) may not (row numbers are shown instead).
    """

    name: str
    column: str
    reason: str
    violated: Callable[[pd.DataFrame], pd.Series]
    shows_values: bool = False


# Rows that hold no record (see ``_layout_rows``): what they are and what to do about them.
NO_RECORD: frozenset[str] = frozenset({REPEATED_HEADER, EMPTY_ROW})
LAYOUT_REASONS: dict[str, str] = {
    REPEATED_HEADER: (
        "the row repeats the header, as where two exports were joined: expected the header "
        "on the first line only (cut the repeated one out)"
    ),
    EMPTY_ROW: (
        "every cell of the row is empty, as a spreadsheet saves its blank rows: expected a "
        "record (delete the blank rows)"
    ),
}

# A pseudonymous key is one token. Words apart, a comma or an @ are a name or an address,
# and 123-45-6789 a Social Security number: an extract keyed on those would carry them into
# every output, which must hold pseudonymous ids only.
_IDENTIFYING_ID = r"[\s,@]|(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)"
IDENTIFYING_ID_REASON = (
    "person_id looks identifying (words apart, a comma or an @, or an SSN-shaped number): "
    "expected the linkage's pseudonymous key"
)


def _identifying_id(df: pd.DataFrame) -> pd.Series:
    ids = df["person_id"]
    found = ids.astype("string").str.strip().str.contains(_IDENTIFYING_ID, regex=True)
    return found.fillna(False).astype(bool)


def _null(column: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: df[column].isna()


def _not_in(column: str, allowed: tuple) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: df[column].notna() & ~df[column].isin(list(allowed))


# ICD-10(-CM) shape, with or without the dot and in either case: F11.20, f1120, O9A.1, U07.1.
_ICD10 = r"^[A-Za-z][0-9][0-9A-Za-z](?:\.[0-9A-Za-z]{0,4}|[0-9A-Za-z]{1,4})?$"


def _not_icd10(df: pd.DataFrame) -> pd.Series:
    # A code of no known shape ('ZZZ.99', '250.00' from ICD-9) maps to no condition
    # silently, and the person reads as undiagnosed.
    codes = df["icd10"].astype("str").str.strip(" ")
    given = df["icd10"].notna() & (codes != "")  # a blank code is a missing one
    return given & ~codes.str.fullmatch(_ICD10).fillna(False).astype(bool)


def _before(start: str, end: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: (df[end] < df[start]).fillna(False).astype(bool)


def _negative(column: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: (df[column] < 0).fillna(False).astype(bool)


def _above(column: str, most: float) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: (df[column] > most).fillna(False).astype(bool)


def _after(column: str, limit: pd.Timestamp) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: (df[column] > limit).fillna(False).astype(bool)


def _mask(mask: pd.Series) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: mask.reindex(df.index, fill_value=False)


def _score_out_of_range(ranges: Mapping[str, tuple[float, float]]):
    lo = {k: v[0] for k, v in ranges.items()}
    hi = {k: v[1] for k, v in ranges.items()}

    def violated(df: pd.DataFrame) -> pd.Series:
        low = df["instrument"].map(lo).astype("float64")
        high = df["instrument"].map(hi).astype("float64")
        # Unknown instruments have no range here; they fail `unknown_code` instead.
        return ((df["score"] < low) | (df["score"] > high)).fillna(False).astype(bool)

    return violated


def _no_dx_code(columns: list[str]) -> Callable[[pd.DataFrame], pd.Series]:
    def violated(df: pd.DataFrame) -> pd.Series:
        missing = pd.Series(True, index=df.index)
        for column in columns:
            missing &= df[column].isna()
        return missing

    return violated


def instrument_ranges(
    extra: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, tuple[float, float]]:
    """Score ranges per instrument: the contract's plus those a county adds in config."""
    return {**INSTRUMENT_RANGES, **(extra or {})}


# What a value that did not convert should have looked like, by column kind.
SERIAL_DAY_REASON = (
    "{column} is a number of days, as Excel writes a date once the column loses its date "
    "format (45000 is 2023-03-15): expected a date YYYY-MM-DD (format the column as "
    "YYYY-MM-DD before saving)"
)
EXPECTED_FORM = {
    "date": "a date YYYY-MM-DD",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
}


def row_checks(
    table: str,
    columns: list[str] | tuple[str, ...],
    *,
    reference_date: pd.Timestamp,
    instruments: Mapping[str, tuple[float, float]],
    condition_names: tuple[str, ...],
    unparseable: Mapping[str, pd.Series] | None = None,
    layout: Mapping[str, pd.Series] | None = None,
    serial_days: Mapping[str, pd.Series] | None = None,
) -> list[RowCheck]:
    """The single-row checks of ``table`` in priority order, for the columns present.

    Parameters
    ----------
    table : str
        A name of ``TABLE_NAMES``.
    columns : sequence of str
        Columns present in the frame (absent optional columns get no checks).
    reference_date : Timestamp
        Dates after it are in the future.
    instruments : mapping
        Allowed assessment instruments and their score ranges.
    condition_names : tuple of str
        Allowed values of ``diagnoses.condition``.
    unparseable : mapping, optional
        Per column, a mask of values that could not be converted to the column's type.
    layout : mapping, optional
        Per check of ``LAYOUT_REASONS``, a mask of rows that hold no record; checked first,
        since every other check would misname them.
    serial_days : mapping, optional
        Per date column, the unparseable values that are Excel serial days: their reason
        says so.

    Returns
    -------
    list of RowCheck
    """
    present = set(columns)
    spec = [c for c in TABLE_COLUMNS[table] if c[0] in present]
    kinds = {column: kind for column, kind, _required in TABLE_COLUMNS[table]}
    checks = [
        RowCheck(name, "*", LAYOUT_REASONS[name], _mask(mask))
        for name, mask in (layout or {}).items()
    ]
    checks.append(RowCheck(NULL_PERSON_ID, "person_id", "null person_id", _null("person_id")))
    if table == "persons":
        # Checked on persons only: the events of a person it rejects are orphaned with them.
        checks.append(
            RowCheck(IDENTIFYING_PERSON_ID, "person_id", IDENTIFYING_ID_REASON, _identifying_id)
        )
    for column, mask in (serial_days or {}).items():
        checks.append(
            RowCheck(UNPARSEABLE, column, SERIAL_DAY_REASON.format(column=column), _mask(mask))
        )
    for column, mask in (unparseable or {}).items():
        expected = EXPECTED_FORM.get(kinds.get(column, ""), "a value of the column's type")
        reason = f"{column} is not a valid value: expected {expected}"
        checks.append(RowCheck(UNPARSEABLE, column, reason, _mask(mask)))
    for column, _kind, required in spec:
        if required and column != "person_id" and (table, column) not in NULLABLE_REQUIRED:
            checks.append(RowCheck(MISSING_VALUE, column, f"null {column}", _null(column)))
    allowed = dict(CODED_COLUMNS)
    allowed["instrument"] = tuple(instruments)
    allowed["condition"] = condition_names
    for column, _kind, _required in spec:
        if column in allowed:
            checks.append(
                RowCheck(
                    UNKNOWN_CODE,
                    column,
                    f"unknown {column}",
                    _not_in(column, allowed[column]),
                    shows_values=True,
                )
            )
    if table == "diagnoses" and "icd10" in present:
        checks.append(
            RowCheck(
                UNKNOWN_CODE,
                "icd10",
                "icd10 is not an ICD-10 code (letter, digit, letter or digit, then up to 4 "
                "more after an optional dot)",
                _not_icd10,
                shows_values=True,
            )
        )
    if table in DATE_PAIRS and set(DATE_PAIRS[table]) <= present:
        start, end = DATE_PAIRS[table]
        checks.append(RowCheck(END_BEFORE_START, end, f"{end} before {start}", _before(start, end)))
    for column in NON_NEGATIVE_COLUMNS:
        if column in present:
            checks.append(RowCheck(NEGATIVE_VALUE, column, f"negative {column}", _negative(column)))
    for column, most in MAX_VALUES.items():
        if column in present:
            reason = f"{column} above {most:,.0f} (another field's value?)"
            checks.append(RowCheck(IMPLAUSIBLE_VALUE, column, reason, _above(column, most)))
    if table == "assessments":
        checks.append(
            RowCheck(
                SCORE_OUT_OF_RANGE,
                "score",
                "score outside the instrument's range",
                _score_out_of_range(instruments),
            )
        )
    for column, kind, _required in spec:
        if kind == "date" and (table, column) not in FUTURE_ALLOWED:
            checks.append(
                RowCheck(
                    FUTURE_DATE,
                    column,
                    f"{column} after the reference date {reference_date.date()}",
                    _after(column, reference_date),
                )
            )
    if table == "persons" and "birth_date" in present:
        oldest = reference_date - pd.DateOffset(years=MAX_AGE_YEARS)
        checks.append(
            RowCheck(
                IMPLAUSIBLE_BIRTH_DATE,
                "birth_date",
                f"birth_date more than {MAX_AGE_YEARS} years before the reference date "
                "(a placeholder such as 1900-01-01 is not a birth date)",
                lambda df: (df["birth_date"] < oldest).fillna(False).astype(bool),
            )
        )
    if table == "diagnoses":
        code_columns = [c for c in ("icd10", "condition") if c in present]
        checks.append(
            RowCheck(
                MISSING_DX_CODE,
                "/".join(code_columns),
                "neither icd10 nor condition given",
                _no_dx_code(code_columns),
            )
        )
    return checks


def expected_codes(check: RowCheck, shown: Sequence[str], unshown: pd.Series | None = None) -> str:
    """The codes a coded column allows, and which values differ from one in case only.

    ``shown`` values may be named; of ``unshown`` ones (too rare to show), only how many
    rows differ in case only is said.
    """
    allowed = CODED_COLUMNS.get(check.column) if check.name == UNKNOWN_CODE else None
    if not allowed:
        return ""
    text = f"; expected one of {[str(a) for a in allowed]}"
    by_case = {str(a).lower(): str(a) for a in allowed}
    cased = [f"{v!r} is {by_case[v.lower()]!r}" for v in shown if v.lower() in by_case]
    if cased:
        text += f" (codes are matched exactly: {', '.join(cased[:5])})"
    n_cased = 0 if unshown is None else int(unshown.str.lower().isin(list(by_case)).sum())
    if n_cased:
        text += f" ({n_cased:,} of these rows differ from a code in case only: codes are matched exactly)"
    return text
