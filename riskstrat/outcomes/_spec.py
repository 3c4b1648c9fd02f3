"""Outcome definitions: ``configs/outcomes.yaml`` as frozen dataclasses.

An outcome is structured data (source table, filters, measure, threshold), never code:
the SQL is generated from it by :mod:`riskstrat.outcomes._build`. Every column and coded
value is checked against the input contract in :mod:`riskstrat.data._codes` at load time,
so a typo fails with its dotted path before any data is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from riskstrat._config import config_error, default_config_path, load_config
from riskstrat.data import _codes

# Default event date of each table (the date an event "happens" on).
DEFAULT_DATE_COLUMN: dict[str, str] = {"persons": "death_date", **_codes.EVENT_DATES}

# Vocabulary of the coded columns, so filter values are checked at load time.
COLUMN_CODES: dict[str, tuple[Any, ...]] = {
    "setting": _codes.SETTINGS,
    "dx_group": _codes.DX_GROUPS,
    "event_type": _codes.JUSTICE_EVENT_TYPES,
    "project_type": _codes.HMIS_PROJECT_TYPES,
    "drug_class": _codes.DRUG_CLASSES,
    "program": _codes.PROGRAMS,
    "instrument": _codes.INSTRUMENTS,
    "sex": _codes.SEXES,
    "race_ethnicity": _codes.RACE_ETHNICITIES,
}

# Named code sets a filter may use instead of repeating a list (fixed lookup, never getattr).
CODE_SETS: dict[str, tuple[str, ...]] = {
    "INPATIENT_SETTINGS": _codes.INPATIENT_SETTINGS,
    "INSTITUTIONAL_MH_SETTINGS": _codes.INSTITUTIONAL_MH_SETTINGS,
    "HOMELESS_PROJECT_TYPES": _codes.HOMELESS_PROJECT_TYPES,
    "SUPPORTED_HOUSING_PROJECT_TYPES": _codes.SUPPORTED_HOUSING_PROJECT_TYPES,
    "PSYCHOTROPIC_CLASSES": _codes.PSYCHOTROPIC_CLASSES,
}

FILTER_OPS = ("==", "!=", "in", "not_in", ">=", ">", "<=", "<")

UNKNOWN_COLUMN = "{path}: unknown column {column!r} of table {table!r}; expected one of {expected}"
NOT_A_DATE = "{path}: column {column!r} of table {table!r} is not a date column"
UNKNOWN_CODE = "{path}: unknown code {value!r} for column {column!r}; expected one of {expected}"
UNKNOWN_CODE_SET = "{path}: unknown code set {name!r}; expected one of {expected}"
FILTER_VALUE = (
    "{path}: give exactly one of 'value' or 'codes' (codes only with op 'in' or 'not_in')"
)
IN_NEEDS_LIST = "{path}: op {op!r} needs a list value, got {value!r}"
EVENT_XOR_ANY = "{path}: give exactly one of 'event' or 'any_of'"
SUM_NEEDS_VALUE = "{path}: measure 'sum' needs value_column"
SUM_NOT_BINARY = "{path}: measure 'sum' needs kind 'continuous' (a binary outcome counts events)"
BAD_NAME = "{path}: outcome name {name!r} must be lower_snake_case"
READMIT_RANGE = "{path}: need 0 <= readmit_min_days <= readmit_max_days, got {lo}..{hi}"


def _columns(table: str) -> dict[str, str]:
    return {name: kind for name, kind, _required in _codes.TABLE_COLUMNS[table]}


@dataclass(frozen=True)
class Filter:
    """One row filter: ``column op value`` (or ``column in <named code set>``)."""

    column: str
    op: Literal["==", "!=", "in", "not_in", ">=", ">", "<=", "<"]
    value: Any = None
    codes: str | None = None

    def values(self) -> tuple[Any, ...]:
        """The literal values compared against (a named code set expanded)."""
        if self.codes is not None:
            return CODE_SETS[self.codes]
        if isinstance(self.value, list | tuple):
            return tuple(self.value)
        return (self.value,)


@dataclass(frozen=True)
class EventDef:
    """Which rows of which table make an event, and how they are measured."""

    table: _codes.TableName
    date_column: str | None = None
    filters: tuple[Filter, ...] = ()
    measure: Literal["count", "sum", "entry", "readmission"] = "count"
    min_count: int = 1
    value_column: str | None = None
    readmit_min_days: int = 1
    readmit_max_days: int = 30
    # Labels use only in-window events by default; false lets a readmission that starts
    # after the window end (within readmit_max_days of an in-window discharge) count.
    readmit_in_window: bool = True
    # entry: nights away that end a homeless episode (HUD's 7); a spell starting sooner
    # after the last one ended is a return within the episode, not an entry.
    entry_gap_days: int = 7

    @property
    def date(self) -> str:
        """The event date column (explicit or the table's default)."""
        return self.date_column or DEFAULT_DATE_COLUMN[self.table]

    @property
    def is_death(self) -> bool:
        """True for the death event itself (not censored by death)."""
        return self.table == "persons" and self.date == "death_date"


@dataclass(frozen=True)
class OutcomeDef:
    """One outcome: its event(s), kind, censoring policy and horizon."""

    kind: Literal["binary", "continuous"]
    censoring: Literal["exclude", "count"] = "exclude"
    event: EventDef | None = None
    any_of: tuple[EventDef, ...] = ()
    horizon_months: int | None = None
    description: str = ""

    @property
    def events(self) -> tuple[EventDef, ...]:
        """The event definitions (one, or the alternatives of ``any_of``)."""
        return (self.event,) if self.event is not None else self.any_of

    @property
    def is_death(self) -> bool:
        """True when the outcome is death itself."""
        return all(e.is_death for e in self.events)


@dataclass(frozen=True)
class OutcomeSpec:
    """All outcome definitions with the default horizon (months)."""

    outcomes: dict[str, OutcomeDef]
    horizon_months: int = 12

    def __repr__(self) -> str:
        return f"OutcomeSpec({list(self.outcomes)}, horizon_months={self.horizon_months})"

    def horizon(self, name: str) -> int:
        """Horizon in calendar months of outcome ``name``."""
        return self.outcomes[name].horizon_months or self.horizon_months


def load_outcome_spec(path: str | Path | dict | None = None) -> OutcomeSpec:
    """Load and check outcome definitions.

    Parameters
    ----------
    path : str, Path, dict or None
        A YAML file, an already-parsed mapping, or None for ``configs/outcomes.yaml``.

    Returns
    -------
    OutcomeSpec

    Raises
    ------
    riskstrat._config.ConfigError
        With the dotted path of the first bad key (for example
        ``outcomes.frequent_ed.event.filters[0].column: unknown column ...``).
    """
    source = default_config_path("outcomes.yaml") if path is None else path
    spec = load_config(OutcomeSpec, source, root="outcomes")
    if spec.horizon_months < 1:
        raise config_error("outcomes.horizon_months", "must be at least 1 month")
    for name, outcome in spec.outcomes.items():
        _check_outcome(name, outcome, f"outcomes.outcomes.{name}")
    return spec


def _check_outcome(name: str, outcome: OutcomeDef, path: str) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        _raise(BAD_NAME, path=path, name=name)
    if (outcome.event is None) == (not outcome.any_of):
        _raise(EVENT_XOR_ANY, path=path)
    if outcome.horizon_months is not None and outcome.horizon_months < 1:
        raise config_error(f"{path}.horizon_months", "must be at least 1 month")
    if outcome.event is not None:
        pairs = [(outcome.event, f"{path}.event")]
    else:
        pairs = [(e, f"{path}.any_of[{i}]") for i, e in enumerate(outcome.any_of)]
    for event, epath in pairs:
        _check_event(event, epath, outcome.kind)


def _raise(template: str, **kwargs: Any) -> None:
    path, message = template.format(**kwargs).split(": ", 1)
    raise config_error(path, message)


def _check_event(event: EventDef, path: str, kind: str) -> None:
    columns = _columns(event.table)
    if event.date not in columns:
        _raise(
            UNKNOWN_COLUMN,
            path=f"{path}.date_column",
            column=event.date,
            table=event.table,
            expected=sorted(columns),
        )
    if columns[event.date] != "date":
        _raise(NOT_A_DATE, path=f"{path}.date_column", column=event.date, table=event.table)
    if event.measure == "sum":
        if event.value_column is None:
            _raise(SUM_NEEDS_VALUE, path=path)
        if kind != "continuous":
            _raise(SUM_NOT_BINARY, path=f"{path}.measure")
    if event.value_column is not None and event.value_column not in columns:
        _raise(
            UNKNOWN_COLUMN,
            path=f"{path}.value_column",
            column=event.value_column,
            table=event.table,
            expected=sorted(columns),
        )
    if event.min_count < 1:
        raise config_error(f"{path}.min_count", "must be at least 1")
    if not 0 <= event.readmit_min_days <= event.readmit_max_days:
        _raise(READMIT_RANGE, path=path, lo=event.readmit_min_days, hi=event.readmit_max_days)
    if event.entry_gap_days < 1:
        raise config_error(f"{path}.entry_gap_days", "must be at least 1 night")
    for i, flt in enumerate(event.filters):
        _check_filter(flt, f"{path}.filters[{i}]", event.table, columns)


def _check_filter(flt: Filter, path: str, table: str, columns: dict[str, str]) -> None:
    if flt.column not in columns:
        _raise(
            UNKNOWN_COLUMN,
            path=f"{path}.column",
            column=flt.column,
            table=table,
            expected=sorted(columns),
        )
    has_value = flt.value is not None
    has_codes = flt.codes is not None
    if has_value == has_codes or (has_codes and flt.op not in ("in", "not_in")):
        _raise(FILTER_VALUE, path=path)
    if has_codes and flt.codes not in CODE_SETS:
        _raise(UNKNOWN_CODE_SET, path=f"{path}.codes", name=flt.codes, expected=sorted(CODE_SETS))
    if has_value:
        is_list = isinstance(flt.value, list | tuple)
        if (flt.op in ("in", "not_in")) != is_list:
            _raise(IN_NEEDS_LIST, path=f"{path}.value", op=flt.op, value=flt.value)
        for value in flt.values():
            if not isinstance(value, str | int | float | bool):
                _raise(IN_NEEDS_LIST, path=f"{path}.value", op=flt.op, value=value)
    vocabulary = COLUMN_CODES.get(flt.column)
    if vocabulary is not None:
        for value in flt.values():
            if value not in vocabulary:
                _raise(
                    UNKNOWN_CODE,
                    path=f"{path}.value",
                    value=value,
                    column=flt.column,
                    expected=list(vocabulary),
                )
