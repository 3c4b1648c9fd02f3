"""The declarative feature spec (``configs/features.yaml``) as frozen dataclasses.

A definition names a source, filters on coded columns, an aggregate and lookback windows;
:func:`expand_features` turns each definition into one :class:`Feature` per window (and per
programme for ``for_each: program``). Every coded value is checked against
:mod:`riskstrat.data._codes` at load time so a typo fails with its dotted path before any
data is touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from riskstrat._config import config_error, default_config_path, load_config
from riskstrat.features._checks import (
    DERIVED_FROM,
    DUPLICATE_FEATURE,
    FOR_EACH_CODES,
    Aggregate,
    Source,
    check_definition,
    codes_of,
    parse_months,
    parse_window,
)

NEVER_DAYS = 9999
"""Value of a days-since feature when the event never happened before ``as_of``."""


_WINDOW_PHRASES = {
    180: "last 6 months",
    365: "last 12 months",
    730: "last 2 years",
    1095: "last 3 years",
}


def window_phrase(window: int | None, months: int | None = None) -> str:
    """Readable window: 365 -> ``last 12 months``, None -> ``all history``; a window of
    calendar months -> ``last 6 calendar months``."""
    if months:
        return f"last {months} calendar month{'s' if months > 1 else ''}"
    if window is None:
        return "all history"
    return _WINDOW_PHRASES.get(window, f"last {window} days")


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
    sex: str | tuple[str, ...] = ()
    race_ethnicity: str | tuple[str, ...] = ()


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
    # A programme rule's input, not a model input by default (configs/model.yaml
    # features: null leaves it out): calendar-month counts the rules word, beside the day
    # windows the models were measured with.
    rule_only: bool = False


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
            check_definition(definition, f"features.definitions[{i}]")
        seen: set[str] = set()
        for feature in expand_features(self):
            if feature.name in seen:
                raise config_error(
                    f"features.definitions[{feature.index}].name",
                    DUPLICATE_FEATURE.format(path="", name=feature.name)[2:],
                )
            seen.add(feature.name)

    def __repr__(self) -> str:
        n = len(expand_features(self))
        return f"FeatureSpec(definitions={len(self.definitions)}, features={n})"


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
    note: str = ""
    # A window of calendar months (``window`` then holds the most days they can span).
    months: int | None = None
    rule_only: bool = False

    @property
    def window_text(self) -> str:
        """``last 12 months`` (365 days), ``last 6 calendar months``, ``all history``."""
        return window_phrase(self.window, self.months)

    @property
    def dtype(self) -> str:
        """``bool``, ``int`` or ``float``."""
        if self.aggregate in (
            "any",
            "open_now",
            "age_at_least",
            "hud_chronic",
            "hud_chronic_last_episode",
        ):
            return "bool"
        if self.aggregate in ("sum", "min", "max", "latest"):
            return "float"
        return "int"

    @property
    def empty(self) -> str:
        """The value a person with no matching events gets (documented per feature)."""
        if self.source == "persons":
            return "never empty"
        if self.aggregate == "days_since":
            return str(NEVER_DAYS)
        if self.aggregate in ("min", "max", "latest"):
            return "null"
        if self.dtype == "bool":
            return "false"
        return "0"


def _resolve_filters(d: Definition, value: str | None) -> tuple:
    out = []
    for key in Filters.__dataclass_fields__:
        raw = getattr(d.where, key)
        if raw in ((), None):
            continue
        out.append((key, raw if isinstance(raw, bool) else tuple(codes_of(raw, key))))
    if value is not None:
        out.append((d.for_each, (value,)))
    return tuple(out)


def _suffix(window: int | None, months: int | None = None) -> str:
    if months:
        return f"{months}m"
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
                windows = [(w, True) for w in d.windows]
            else:
                windows = [(d.window, False)]
            for given, suffixed in windows:
                window, months = parse_window(given, ""), parse_months(given)
                full = f"{label}, {window_phrase(window, months)}" if suffixed else label
                out.append(
                    Feature(
                        name=f"{name}_{_suffix(window, months)}" if suffixed else name,
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
                        note=d.note,
                        months=months,
                        rule_only=d.rule_only,
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


def tables_read(spec: FeatureSpec) -> dict[str, list[str]]:
    """Each input table and the features read from it (derived sources by their table)."""
    readers: dict[str, list[str]] = {}
    for f in expand_features(spec):
        if f.source != "persons":
            readers.setdefault(DERIVED_FROM.get(f.source, f.source), []).append(f.name)
    return readers
