"""Generate the feature reference (``docs/features.md``) from the spec, so it cannot drift."""

from __future__ import annotations

from riskstrat.data._codes import HOMELESS_PROJECT_TYPES, HUD_CHRONIC_PROJECT_TYPES, VISIT_SETTINGS
from riskstrat.features._spec import (
    NEVER_DAYS,
    Feature,
    FeatureSpec,
    expand_features,
    load_feature_spec,
)

_AGGREGATES = {
    "count": "count of events",
    "sum": "sum of {column}",
    "count_distinct": "distinct {column}",
    "min": "minimum {column}",
    "max": "maximum {column}",
    "latest": "{column} at the last date",
    "days_since": "days since the last {date}",
    "any": "any event",
    "trend": "count in the last {window} days minus the {window} before",
    "total_days": "days inside the window (intervals clipped)",
    "open_now": "interval open on as_of",
    "overlap_count": "intervals overlapping the window",
    "age": "whole years from birth to as_of",
    "age_at_least": "age >= {value:g}",
    "hud_chronic": "HUD chronic homelessness (see below)",
    "hud_chronic_last_episode": "HUD chronic homelessness at the latest episode's end (see below)",
}

_CONVENTIONS = """\
Conventions (docs/architecture.md, "Time conventions"):

- A feature as of D sees only events dated strictly before D. A window of N days covers
  `[D - N days, D)`: an event exactly N days before D is in, an event on D is out.
- Intervals (stays, spells, enrolments, medication supply, incarcerations) are `[start, end)`.
  An interval that started before D and has no end, or an end on or after D, is open on D
  (its end is unknown at D). `total_days` counts the days of `[start, end)` inside
  `[D - N, D)`. An encounter in a visit setting
  ({visits}) is an event of the day it
  started, whatever its `end_date`; in any other setting, one without `end_date` is a stay
  still running.
- Paid amounts count a stay once it has ended before D (a bill is settled at discharge, and
  one still open would tell how long the stay goes on after D), in the window of its start;
  a visit's count on its day.
- Medication supply is `[fill_date, fill_date + days_supply)`; a fill without `days_supply`
  gets {supply} days. "Supply now" means the supply covers D - 1.
- Incarcerations run from a booking to the first release on or after it; a booking with no
  release before the next booking ends at that booking. Probation runs from
  `probation_start` to the next `probation_end` in the same way. On a day with both, a
  release ends a stay already running and the booking starts the next (released and booked
  again; a new probation term); with nothing running before, they are one 0-day stay.
- Homeless episodes merge spells of the homeless project types ({homeless}) that started
  before D, clipped at D, when the next spell starts fewer than {gap} days after the end of the earlier ones
  (HUD: a break is at least 7 nights). Merged gaps count as homeless days.
- `chronic_homeless` (HUD, without the disability condition): over the episodes of HUD's
  literal homelessness ({chronic}: no transitional housing), homeless on D and either the
  current episode has lasted at least {cont} days, or at least {eps} episodes overlap the
  last {lb} days and their days inside that window total at least {tot}.
  `chronic_homeless_last_episode` is the same test on the last day of the latest episode
  (D for one still open): whether a person now housed was chronically homeless when housed.
- Empty values: counts and day totals 0, flags false, days-since {never} (never), latest
  values and min/max null (each paired with a `has_` or count feature).
- Population: persons born before D and alive on D (a death before D excludes; one on D is an event of D, unseen) with
  any event, or an interval running, in the {pop} days before D (`population="all"`: everyone).
"""


def _filters(f: Feature) -> str:
    parts = []
    for key, value in f.filters:
        shown = str(value).lower() if isinstance(value, bool) else ", ".join(value)
        parts.append(f"{key}: {shown}")
    return "; ".join(parts)


def _aggregate(f: Feature) -> str:
    if f.source == "persons" and f.aggregate == "any":
        return "recorded value matches"
    date = "end" if f.date == "end" else "event"
    return _AGGREGATES[f.aggregate].format(
        column=f.column, window=f.window, value=f.value or 0, date=date
    )


def _window(f: Feature) -> str:
    if f.source == "persons" or f.aggregate in ("open_now", "hud_chronic"):
        return "on as_of"
    if f.aggregate == "hud_chronic_last_episode":
        return "latest episode"
    if f.aggregate in ("days_since", "latest"):
        return "all history"
    if f.aggregate == "trend":
        return f"last {2 * (f.window or 0)} days"
    return f.window_text


def features_markdown(spec: FeatureSpec | None = None) -> str:
    """The feature reference as markdown: one table row per feature, then the conventions.

    Parameters
    ----------
    spec : FeatureSpec, optional
        Defaults to :func:`load_feature_spec`.

    Returns
    -------
    str
    """
    spec = spec or load_feature_spec()
    c = spec.chronic_homeless
    lines = [
        "# Features",
        "",
        "Generated from `configs/features.yaml` by `riskstrat.features.features_markdown()`;"
        " do not edit by hand.",
        "",
        "A model input is any feature but a `rule_only` one (the rules' calendar-month counts,"
        " which a model leaves out unless its config lists them); sensitive attributes and"
        " their proxies also need the model config's opt-in.",
        "",
        "| name | label | source | filters | window | aggregate | empty value | model input |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in expand_features(spec):
        cells = [f"`{f.name}`", f.label, f.source, _filters(f), _window(f), _aggregate(f)]
        cells.append(f"{f.empty} ({f.note})" if f.note else f.empty)
        cells.append("no (`rule_only`)" if f.rule_only else "yes")
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    lines += [
        "",
        _CONVENTIONS.format(
            supply=spec.default_days_supply,
            gap=spec.episode_gap_days,
            cont=c.continuous_days,
            eps=c.min_episodes,
            lb=c.lookback_days,
            tot=c.total_days,
            never=NEVER_DAYS,
            pop=spec.population_lookback_days,
            homeless=", ".join(HOMELESS_PROJECT_TYPES),
            chronic=", ".join(HUD_CHRONIC_PROJECT_TYPES),
            visits=", ".join(VISIT_SETTINGS),
        ),
    ]
    return "\n".join(lines)
