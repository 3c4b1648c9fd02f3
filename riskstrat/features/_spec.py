"""The declarative feature spec (``configs/features.yaml``) as frozen dataclasses.

A definition names a source, filters on coded columns, an aggregate and lookback windows;
:func:`expand_features` turns each definition into one :class:`Feature` per window (and per
programme for ``for_each: program``). Every coded value is checked against
:mod:`riskstrat.data._codes` at load time so a typo fails with its dotted path before any
data is touched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from riskstrat._config import config_error, default_config_path, load_config
from riskstrat.data import _codes
from riskstrat.data._conditions import Conditions, load_conditions

NEVER_DAYS = 9999
"""Value of a days-since feature when the event never happened before ``as_of``."""

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
]
Source = Literal[
    "persons",
    "encounters",
    "diagnoses",
    "pharmacy",
    "justice",
    "homelessness",
    "enrollments",
    "assessments",
    "incarcerations",
    "probation_spells",
    "homeless_episodes",
]

# Filterable coded columns of each source (derived interval sources have none).
SOURCE_FILTERS: dict[str, tuple[str, ...]] = {
    "persons": (),
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
)
# Numeric columns an aggregate may read (sum, min, max, latest, count_distinct).
VALUE_COLUMNS: dict[str, tuple[str, ...]] = {
    "encounters": ("paid_amount", "setting", "start_date", "end_date"),
    "diagnoses": ("condition", "dx_date"),
    "pharmacy": ("days_supply", "drug_class", "fill_date"),
    "justice": ("event_date",),
    "assessments": ("score", "assessed_date"),
    "enrollments": ("program",),
    "homelessness": ("project_type",),
}
COLUMN_CODES: dict[str, tuple[str, ...]] = {
    "setting": _codes.SETTINGS,
    "dx_group": _codes.DX_GROUPS,
    "event_type": _codes.JUSTICE_EVENT_TYPES,
    "project_type": _codes.HMIS_PROJECT_TYPES,
    "drug_class": _codes.DRUG_CLASSES,
    "program": _codes.PROGRAMS,
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
INTERVAL_AGGREGATES = ("total_days", "open_now", "overlap_count")
COLUMN_AGGREGATES = ("sum", "count_distinct", "min", "max", "latest")
# Aggregates that look at the state on as_of or at the last event: no window.
NO_WINDOW_AGGREGATES = ("days_since", "open_now", "latest", "age", "age_at_least", "hud_chronic")
FAMILIES = ("smi", "mental_health", "sud", "overdose", "chronic_medical", "pregnancy")

UNKNOWN_CODE = "{path}: unknown code {value!r}; expected one of {expected}"
UNKNOWN_CODE_SET = "{path}: unknown code set {name!r}; expected a list or one of {expected}"
FILTER_NOT_FOR_SOURCE = (
    "{path}: source {source!r} has no filter {key!r}; expected one of {expected}"
)
AGGREGATE_NOT_FOR_SOURCE = "{path}: aggregate {aggregate!r} needs {needs}, not source {source!r}"
COLUMN_REQUIRED = "{path}: aggregate {aggregate!r} needs 'column', one of {expected}"
BAD_COLUMN = "{path}: source {source!r} has no value column {column!r}; expected one of {expected}"
BAD_WINDOW = "{path}: window {value!r} must be a positive number of days or 'all'"
WINDOW_NOT_ALLOWED = "{path}: aggregate {aggregate!r} takes no window"
WINDOW_AND_WINDOWS = "{path}: give 'window' (one, unsuffixed) or 'windows' (suffixed), not both"
BAD_FEATURE_NAME = "{path}: feature name {name!r} must be lower_snake_case"
DUPLICATE_FEATURE = "{path}: feature {name!r} is defined twice"
FOR_EACH_PLACEHOLDER = "{path}: with for_each, the name must contain '{{value}}'"
VALUE_REQUIRED = "{path}: aggregate {aggregate!r} needs 'value'"
TREND_WINDOW = "{path}: aggregate 'trend' needs one 'window' in days (last N days vs the N before)"
DATE_END_POINT = "{path}: date 'end' needs an interval source, not {source!r}"

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_WINDOW_PHRASES = {
    180: "last 6 months",
    365: "last 12 months",
    730: "last 2 years",
    1095: "last 3 years",
}


@dataclass(frozen=True)
class Filters:
    """Row filters of one definition; a list of codes or the name of a code set."""

    setting: str | tuple[str, ...] = ()
    dx_group: str | tuple[str, ...] = ()
    avoidable: bool | None = None
    condition: str | tuple[str, ...] = ()
    family: str | tuple[str, ...] = ()
    chronic: bool | None = None
    event_type: str | tuple[str, ...] = ()
    drug_class: str | tuple[str, ...] = ()
    project_type: str | tuple[str, ...] = ()
    program: str | tuple[str, ...] = ()
    instrument: str | tuple[str, ...] = ()


@dataclass(frozen=True)
class Definition:
    """One entry of ``definitions``: expands to one feature per window."""

    name: str
    label: str
    source: Source
    aggregate: Aggregate
    where: Filters = field(default_factory=Filters)
    windows: tuple[int | str, ...] = ()
    window: int | str | None = None
    column: str | None = None
    date: Literal["start", "end"] = "start"
    value: float | None = None
    for_each: Literal["program"] | None = None
    note: str = ""


@dataclass(frozen=True)
class ChronicHomeless:
    """HUD chronic homelessness thresholds (episodes are merged homeless spells)."""

    continuous_days: int = 365
    min_episodes: int = 4
    lookback_days: int = 1095
    total_days: int = 365


@dataclass(frozen=True)
class FeatureSpec:
    """The whole feature spec; build with :func:`load_feature_spec`."""

    definitions: tuple[Definition, ...]
    population_lookback_days: int = 1095
    default_days_supply: int = 30
    episode_gap_days: int = 7
    chronic_homeless: ChronicHomeless = field(default_factory=ChronicHomeless)

    def __post_init__(self) -> None:
        for i, definition in enumerate(self.definitions):
            _check_definition(definition, f"features.definitions[{i}]")
        seen: set[str] = set()
        for feature in expand_features(self):
            if feature.name in seen:
                raise config_error(
                    f"features.definitions[{feature.index}].name",
                    DUPLICATE_FEATURE.format(path="", name=feature.name)[2:],
                )
            seen.add(feature.name)


@dataclass(frozen=True)
class Feature:
    """One output column: a definition at one window with filters resolved to code lists."""

    name: str
    label: str
    base_label: str
    source: str
    aggregate: str
    filters: tuple[tuple[str, tuple[str, ...] | bool], ...]
    window: int | None
    column: str | None
    date: str
    value: float | None
    index: int

    @property
    def dtype(self) -> str:
        """``bool``, ``int`` or ``float``."""
        if self.aggregate in ("any", "open_now", "age_at_least", "hud_chronic"):
            return "bool"
        if self.aggregate in ("sum", "min", "max", "latest"):
            return "float"
        return "int"

    @property
    def empty(self) -> str:
        """The value a person with no matching events gets (documented per feature)."""
        if self.aggregate == "days_since":
            return str(NEVER_DAYS)
        if self.aggregate in ("min", "max", "latest"):
            return "null"
        if self.dtype == "bool":
            return "false"
        return "0"


def window_phrase(window: int | None) -> str:
    """Readable window: 365 -> ``last 12 months``, None -> ``all history``."""
    if window is None:
        return "all history"
    return _WINDOW_PHRASES.get(window, f"last {window} days")


def _codes_of(value: str | tuple[str, ...], path: str) -> tuple[str, ...]:
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


def _check_definition(d: Definition, path: str) -> None:
    if not _NAME.match(d.name.replace("{value}", "x")):
        raise config_error(f"{path}.name", _msg(BAD_FEATURE_NAME, name=d.name))
    if d.for_each and "{value}" not in d.name:
        raise config_error(f"{path}.name", _msg(FOR_EACH_PLACEHOLDER))
    allowed = SOURCE_FILTERS[d.source]
    for key in Filters.__dataclass_fields__:
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
        codes = _codes_of(value, kpath)
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
    if (d.aggregate in ("age", "age_at_least")) != (d.source == "persons"):
        raise config_error(
            f"{path}.aggregate",
            _msg(AGGREGATE_NOT_FOR_SOURCE, aggregate=d.aggregate, needs="persons", source=d.source),
        )
    if d.aggregate == "hud_chronic" and d.source != "homeless_episodes":
        raise config_error(
            f"{path}.aggregate",
            _msg(
                AGGREGATE_NOT_FOR_SOURCE,
                aggregate=d.aggregate,
                needs="homeless_episodes",
                source=d.source,
            ),
        )
    if d.aggregate in COLUMN_AGGREGATES:
        columns = VALUE_COLUMNS.get(d.source, ())
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
    if d.aggregate in NO_WINDOW_AGGREGATES and (d.windows or d.window is not None):
        raise config_error(
            f"{path}.{'windows' if d.windows else 'window'}",
            _msg(WINDOW_NOT_ALLOWED, aggregate=d.aggregate),
        )
    for j, w in enumerate(d.windows):
        _parse_window(w, f"{path}.windows[{j}]")
    _parse_window(d.window, f"{path}.window")


def _expected_codes(key: str) -> tuple[str, ...] | None:
    if key in COLUMN_CODES:
        return COLUMN_CODES[key]
    if key == "family":
        return FAMILIES
    if key == "condition":
        return _conditions().names
    return None  # instruments: a county may add its own


def _parse_window(value: int | str | None, path: str) -> int | None:
    if value is None or value == "all":
        return None
    if isinstance(value, int) and value > 0:
        return value
    raise config_error(path, _msg(BAD_WINDOW, value=value))


@lru_cache(maxsize=1)
def _conditions() -> Conditions:
    # Cached: the condition config is read once, and only when a spec filters on it.
    return load_conditions()


def _resolve_filters(d: Definition, value: str | None) -> tuple:
    out = []
    for key in Filters.__dataclass_fields__:
        raw = getattr(d.where, key)
        if raw in ((), None):
            continue
        out.append((key, raw if isinstance(raw, bool) else tuple(_codes_of(raw, key))))
    if value is not None:
        out.append((d.for_each, (value,)))
    return tuple(out)


def _suffix(window: int | None) -> str:
    return "all" if window is None else f"{window}d"


@lru_cache(maxsize=32)
def expand_features(spec: FeatureSpec) -> tuple[Feature, ...]:
    """One :class:`Feature` per output column, in spec order.

    Parameters
    ----------
    spec : FeatureSpec

    Returns
    -------
    tuple of Feature
    """
    out: list[Feature] = []
    for index, d in enumerate(spec.definitions):
        values = FOR_EACH_CODES[d.for_each] if d.for_each else (None,)
        for value in values:
            name = d.name.replace("{value}", value or "")
            label = d.label.replace("{value}", value or "")
            filters = _resolve_filters(d, value)
            if d.windows:
                windows = [(_parse_window(w, ""), True) for w in d.windows]
            else:
                windows = [(_parse_window(d.window, ""), False)]
            for window, suffixed in windows:
                full = f"{label}, {window_phrase(window)}" if suffixed else label
                out.append(
                    Feature(
                        name=f"{name}_{_suffix(window)}" if suffixed else name,
                        label=full,
                        base_label=label,
                        source=d.source,
                        aggregate=d.aggregate,
                        filters=filters,
                        window=window,
                        column=d.column,
                        date=d.date,
                        value=d.value,
                        index=index,
                    )
                )
    return tuple(out)


def load_feature_spec(path: str | Path | Mapping | None = None) -> FeatureSpec:
    """Load the feature spec (default ``configs/features.yaml``).

    Parameters
    ----------
    path : str, Path or mapping, optional
        A YAML file whose top-level keys are the :class:`FeatureSpec` fields, or such a
        mapping already parsed.

    Returns
    -------
    FeatureSpec
        Frozen; unknown keys and unknown codes raise ``ConfigError`` naming the dotted
        path (for example ``features.definitions[3].where.setting[0]``).
    """
    source = path if path is not None else default_config_path("features.yaml")
    return load_config(
        FeatureSpec, dict(source) if isinstance(source, Mapping) else source, root="features"
    )


def feature_labels(spec: FeatureSpec | None = None) -> dict[str, str]:
    """Human-readable label of every feature, for explanations and reports.

    Parameters
    ----------
    spec : FeatureSpec, optional
        Defaults to :func:`load_feature_spec`.

    Returns
    -------
    dict
        ``{"psych_inpatient_admissions_365d": "psychiatric inpatient admissions, last 12
        months", ...}``
    """
    spec = spec or load_feature_spec()
    return {f.name: f.label for f in expand_features(spec)}


def describe_value(name: str, value: object, spec: FeatureSpec | None = None) -> str:
    """A sentence for one feature value, such as ``7 ED visits in the last 12 months``.

    Parameters
    ----------
    name : str
        A feature name of ``spec``.
    value : object
        The feature's value for one person.
    spec : FeatureSpec, optional
        Defaults to :func:`load_feature_spec`.

    Returns
    -------
    str
    """
    spec = spec or load_feature_spec()
    features = {f.name: f for f in expand_features(spec)}
    if name not in features:
        raise KeyError(f"unknown feature {name!r}; expected one of the spec's feature names")
    f = features[name]
    if value is None or value != value:  # None or NaN
        return f"{f.label}: not recorded"
    if f.dtype == "bool":
        return f"{f.label}: {'yes' if value else 'no'}"
    if f.aggregate == "days_since":
        return f"{f.label}: never" if value == NEVER_DAYS else f"{f.label}: {int(value)} days"
    if f.aggregate in ("count", "count_distinct", "total_days", "overlap_count") and f.window:
        return f"{_fmt(value)} {f.base_label} in the {window_phrase(f.window)}"
    if f.aggregate == "count" and f.window is None and f.label == f.base_label:
        return f"{_fmt(value)} {f.base_label}"
    return f"{f.label}: {_fmt(value)}"


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)
