"""Load-time checks of feature definitions: sources, filters, codes, aggregates, windows.

Each check raises :class:`riskstrat._config.ConfigError` naming the dotted path of the
offending key (``features.definitions[3].where.setting[0]``); the message templates below
are what tests match.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from riskstrat._config import config_error
from riskstrat.data import Conditions, _codes, load_conditions
from riskstrat.data._codes import TableName
from riskstrat.data._conditions import FAMILIES

if TYPE_CHECKING:
    from riskstrat.features._spec import Definition

Aggregate = Literal[
    "count",
    "sum",
    "count_distinct",
    "min",
    "max",
    "latest",
    "days_since",
    "any",
    "trend",
    "total_days",
    "open_now",
    "overlap_count",
    "age",
    "age_at_least",
    "hud_chronic",
    "hud_chronic_last_episode",
]
# The input tables plus the interval tables the engine derives from them.
Source = Literal[
    TableName,
    "incarcerations",
    "probation_spells",
    "homeless_episodes",
    "chronic_episodes",
]
# The input table each derived interval source is built from.
DERIVED_FROM: dict[str, str] = {
    "incarcerations": "justice",
    "probation_spells": "justice",
    "homeless_episodes": "homelessness",
    "chronic_episodes": "homelessness",
}

# Filterable coded columns of each source (derived interval sources have none).
SOURCE_FILTERS: dict[str, tuple[str, ...]] = {
    # Sensitive attributes: a model may use them only when its config opts in.
    "persons": ("sex", "race_ethnicity"),
    "encounters": ("setting", "dx_group", "avoidable"),
    "diagnoses": ("condition", "family", "chronic"),
    "pharmacy": ("drug_class",),
    "justice": ("event_type",),
    "homelessness": ("project_type",),
    "enrollments": ("program",),
    "assessments": ("instrument",),
    "incarcerations": (),
    "probation_spells": (),
    "homeless_episodes": (),
    "chronic_episodes": (),
}
# Sources whose rows are intervals [start, end); the others are dated point events.
INTERVAL_SOURCES = (
    "encounters",
    "pharmacy",
    "homelessness",
    "enrollments",
    "incarcerations",
    "probation_spells",
    "homeless_episodes",
    "chronic_episodes",
)
# Columns an aggregate may read (count_distinct: any; sum, min, max, latest: numeric).
VALUE_COLUMNS: dict[str, tuple[str, ...]] = {
    "encounters": ("paid_amount", "setting", "start_date", "end_date"),
    "diagnoses": ("condition", "dx_date"),
    "pharmacy": ("days_supply", "drug_class", "fill_date"),
    "justice": ("event_date",),
    "assessments": ("score", "assessed_date"),
    "enrollments": ("program",),
    "homelessness": ("project_type",),
}
NUMERIC_COLUMNS = ("paid_amount", "days_supply", "score")
COLUMN_CODES: dict[str, tuple[str, ...]] = {
    "setting": _codes.SETTINGS,
    "dx_group": _codes.DX_GROUPS,
    "event_type": _codes.JUSTICE_EVENT_TYPES,
    "project_type": _codes.HMIS_PROJECT_TYPES,
    "drug_class": _codes.DRUG_CLASSES,
    "program": _codes.PROGRAMS,
    "sex": _codes.SEXES,
    "race_ethnicity": _codes.RACE_ETHNICITIES,
}
# Named code sets a filter may give instead of repeating a list.
CODE_SETS: dict[str, tuple[str, ...]] = {
    "INPATIENT_SETTINGS": _codes.INPATIENT_SETTINGS,
    "INSTITUTIONAL_MH_SETTINGS": _codes.INSTITUTIONAL_MH_SETTINGS,
    "HOMELESS_PROJECT_TYPES": _codes.HOMELESS_PROJECT_TYPES,
    "SUPPORTED_HOUSING_PROJECT_TYPES": _codes.SUPPORTED_HOUSING_PROJECT_TYPES,
    "PSYCHOTROPIC_CLASSES": _codes.PSYCHOTROPIC_CLASSES,
}
FOR_EACH_CODES: dict[str, tuple[str, ...]] = {"program": _codes.PROGRAMS}
FILTER_KEYS = tuple(dict.fromkeys(k for keys in SOURCE_FILTERS.values() for k in keys))
INTERVAL_AGGREGATES = ("total_days", "open_now", "overlap_count")
HUD_AGGREGATES = ("hud_chronic", "hud_chronic_last_episode")
# Sources built per as-of date, whose rows carry their own as-of day (not the date table's).
PER_AS_OF_SOURCES = ("homeless_episodes", "chronic_episodes")
COLUMN_AGGREGATES = ("sum", "count_distinct", "min", "max", "latest")
# Aggregates that look at the state on as_of or at the last event: no window.
NO_WINDOW_AGGREGATES = (
    "days_since",
    "open_now",
    "latest",
    "age",
    "age_at_least",
    *HUD_AGGREGATES,
)
# A person's own attributes on the as-of date: age, or whether a recorded code matches.
PERSON_AGGREGATES = ("age", "age_at_least", "any")

UNKNOWN_CODE = "{path}: unknown code {value!r}; expected one of {expected}"
UNKNOWN_CODE_SET = "{path}: unknown code set {name!r}; expected a list or one of {expected}"
FILTER_NOT_FOR_SOURCE = (
    "{path}: source {source!r} has no filter {key!r}; expected one of {expected}"
)
AGGREGATE_NOT_FOR_SOURCE = "{path}: aggregate {aggregate!r} needs {needs}, not source {source!r}"
COLUMN_REQUIRED = "{path}: aggregate {aggregate!r} needs 'column', one of {expected}"
BAD_COLUMN = "{path}: source {source!r} has no value column {column!r}; expected one of {expected}"
BAD_WINDOW = (
    "{path}: window {value!r} must be a positive number of days, a number of calendar months "
    "such as '12m', or 'all'"
)
MONTHS_PER_DATE = (
    "{path}: source {source!r} is built per as-of date; give its window in days, not months"
)
WINDOW_NOT_ALLOWED = "{path}: aggregate {aggregate!r} takes no window"
WINDOW_AND_WINDOWS = "{path}: give 'window' (one, unsuffixed) or 'windows' (suffixed), not both"
BAD_FEATURE_NAME = "{path}: feature name {name!r} must be lower_snake_case"
DUPLICATE_FEATURE = "{path}: feature {name!r} is defined twice"
# A cohort's top_factors and reasons join phrases with "; ": one inside a phrase would
# split it in two for anyone reading the list by that separator.
LIST_SEPARATOR = "; "
SEPARATOR_IN_TEXT = (
    "{text!r} contains '; ', which separates a cohort's reasons and factors; "
    "use ', ' or ' - ' instead"
)
FOR_EACH_PLACEHOLDER = "{path}: with for_each, the name must contain '{{value}}'"
VALUE_REQUIRED = "{path}: aggregate {aggregate!r} needs 'value'"
TREND_WINDOW = "{path}: aggregate 'trend' needs one 'window' in days (last N days vs the N before)"
PERSON_AGGREGATE = "{path}: source 'persons' takes aggregate {expected}, not {aggregate!r}"
DATE_END_POINT = "{path}: date 'end' needs an interval source, not {source!r}"

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def codes_of(value: str | tuple[str, ...], path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        if value not in CODE_SETS:
            raise config_error(
                path, UNKNOWN_CODE_SET.format(path="", name=value, expected=sorted(CODE_SETS))[2:]
            )
        return CODE_SETS[value]
    return value


def _msg(template: str, **kwargs: object) -> str:
    # Templates start with "{path}: "; config_error adds the path itself.
    return template.format(path="", **kwargs)[2:]


def check_definition(d: Definition, path: str) -> None:
    if not _NAME.match(d.name.replace("{value}", "x")):
        raise config_error(f"{path}.name", _msg(BAD_FEATURE_NAME, name=d.name))
    if d.for_each and "{value}" not in d.name:
        raise config_error(f"{path}.name", _msg(FOR_EACH_PLACEHOLDER))
    if LIST_SEPARATOR in d.label:
        raise config_error(f"{path}.label", SEPARATOR_IN_TEXT.format(text=d.label))
    allowed = SOURCE_FILTERS[d.source]
    for key in FILTER_KEYS:
        value = getattr(d.where, key)
        if value in ((), None):
            continue
        kpath = f"{path}.where.{key}"
        if key not in allowed:
            raise config_error(
                kpath, _msg(FILTER_NOT_FOR_SOURCE, source=d.source, key=key, expected=list(allowed))
            )
        if isinstance(value, bool):
            continue
        expected = _expected_codes(key)
        codes = codes_of(value, kpath)
        for j, code in enumerate(codes):
            if expected is not None and code not in expected:
                raise config_error(
                    f"{kpath}[{j}]", _msg(UNKNOWN_CODE, value=code, expected=list(expected))
                )
    if d.aggregate in INTERVAL_AGGREGATES and d.source not in INTERVAL_SOURCES:
        raise config_error(
            f"{path}.aggregate",
            _msg(
                AGGREGATE_NOT_FOR_SOURCE, aggregate=d.aggregate, needs="intervals", source=d.source
            ),
        )
    if d.aggregate in ("age", "age_at_least") and d.source != "persons":
        raise config_error(
            f"{path}.aggregate",
            _msg(AGGREGATE_NOT_FOR_SOURCE, aggregate=d.aggregate, needs="persons", source=d.source),
        )
    if d.source == "persons" and d.aggregate not in PERSON_AGGREGATES:
        raise config_error(
            f"{path}.aggregate",
            _msg(PERSON_AGGREGATE, aggregate=d.aggregate, expected=list(PERSON_AGGREGATES)),
        )
    if d.aggregate in HUD_AGGREGATES and d.source != "chronic_episodes":
        raise config_error(
            f"{path}.aggregate",
            _msg(
                AGGREGATE_NOT_FOR_SOURCE,
                aggregate=d.aggregate,
                needs="chronic_episodes",
                source=d.source,
            ),
        )
    if d.aggregate in COLUMN_AGGREGATES:
        columns = VALUE_COLUMNS.get(d.source, ())
        if d.aggregate != "count_distinct":  # sums, extremes and latest values are numeric
            columns = tuple(c for c in columns if c in NUMERIC_COLUMNS)
        if d.column is None:
            raise config_error(path, _msg(COLUMN_REQUIRED, aggregate=d.aggregate, expected=columns))
        if d.column not in columns:
            raise config_error(
                f"{path}.column",
                _msg(BAD_COLUMN, source=d.source, column=d.column, expected=list(columns)),
            )
    if d.aggregate == "trend" and not isinstance(d.window, int):
        raise config_error(f"{path}.window", _msg(TREND_WINDOW))
    if d.aggregate == "age_at_least" and d.value is None:
        raise config_error(path, _msg(VALUE_REQUIRED, aggregate=d.aggregate))
    if d.date == "end" and d.source not in INTERVAL_SOURCES:
        raise config_error(f"{path}.date", _msg(DATE_END_POINT, source=d.source))
    if d.window is not None and d.windows:
        raise config_error(path, _msg(WINDOW_AND_WINDOWS))
    timeless = d.aggregate in NO_WINDOW_AGGREGATES or d.source == "persons"
    if timeless and (d.windows or d.window is not None):
        raise config_error(
            f"{path}.{'windows' if d.windows else 'window'}",
            _msg(WINDOW_NOT_ALLOWED, aggregate=d.aggregate),
        )
    for j, w in enumerate(d.windows):
        parse_window(w, f"{path}.windows[{j}]")
    parse_window(d.window, f"{path}.window")
    if d.source in PER_AS_OF_SOURCES and any(parse_months(w) for w in (*d.windows, d.window)):
        raise config_error(f"{path}.windows", _msg(MONTHS_PER_DATE, source=d.source))


def _expected_codes(key: str) -> tuple[str, ...] | None:
    if key in COLUMN_CODES:
        return COLUMN_CODES[key]
    if key == "family":
        return FAMILIES
    if key == "condition":
        return cached_conditions().names
    return None  # instruments: a county may add its own


# Days a window of N calendar months can span at most: the bound events are read within.
MONTH_DAYS = 31


def parse_months(value: int | str | None) -> int | None:
    """N of a calendar-month window ``"Nm"`` (``"12m"``), else None."""
    if isinstance(value, str):
        found = re.fullmatch(r"([1-9][0-9]*)m", value)
        if found:
            return int(found.group(1))
    return None


def parse_window(value: int | str | None, path: str) -> int | None:
    """Days a window reaches back at most (None: all history); ``"Nm"`` is N calendar
    months, which reach back at most ``MONTH_DAYS`` x N days."""
    if value is None or value == "all":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    months = parse_months(value)
    if months:
        return MONTH_DAYS * months
    raise config_error(path, _msg(BAD_WINDOW, value=value))


@lru_cache(maxsize=1)
def cached_conditions() -> Conditions:
    # Cached: the condition config is read once, and only when a spec filters on it.
    return load_conditions()
