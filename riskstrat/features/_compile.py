"""Compile a :class:`FeatureSpec` to one SQL query (point in time, many as-of dates).

Events are joined once to the table of as-of dates with range predicates
(``event_day < as_of_day``) and every feature of a source is a conditional aggregate over
that join, so a person x quarter panel reads each event table once, not once per date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from riskstrat.data import conditions_case_sql
from riskstrat.features._checks import cached_conditions
from riskstrat.features._sources import (
    DIALECTS,
    UNKNOWN_DIALECT,
    homeless_episodes,
    in_list,
    normalised_tables,
    paired_intervals,
)
from riskstrat.features._spec import (
    NEVER_DAYS,
    Feature,
    FeatureSpec,
    expand_features,
)

POPULATIONS = ("contact", "all")
UNKNOWN_POPULATION = "population {value!r} is not supported; expected one of {expected}"


@dataclass(frozen=True)
class _Src:
    relation: str
    start: str
    end: str | None = None
    per_as_of: bool = False  # rows already carry as_of_day (built per date)


SOURCES: dict[str, _Src] = {
    "encounters": _Src("n_encounters", "start_day", "end_day"),
    "diagnoses": _Src("n_diagnoses", "dx_day"),
    "pharmacy": _Src("n_pharmacy_iv", "start_day", "end_day"),
    "justice": _Src("n_justice", "event_day"),
    "homelessness": _Src("n_homelessness", "start_day", "end_day"),
    "enrollments": _Src("n_enrollments", "start_day", "end_day"),
    "assessments": _Src("n_assessments", "assessed_day"),
    "incarcerations": _Src("d_incarcerations", "start_day", "end_day"),
    "probation_spells": _Src("d_probation_spells", "start_day", "end_day"),
    "homeless_episodes": _Src("homeless_episodes", "start_day", "end_day", per_as_of=True),
}
# Value columns as named in the normalised tables.
_COLUMN_SQL = {
    "start_date": "start_day",
    "end_date": "end_day",
    "dx_date": "dx_day",
    "fill_date": "start_day",
    "event_date": "event_day",
    "assessed_date": "assessed_day",
}
_FINAL_TYPES = {"int": "BIGINT", "float": "DOUBLE"}


def _filter_sql(f: Feature, s: str) -> list[str]:
    parts = []
    for key, value in f.filters:
        if key == "avoidable":
            parts.append(f"{s}.avoidable = {'TRUE' if value else 'FALSE'}")
        elif key == "family":
            names = tuple(n for fam in value for n in cached_conditions().in_family(fam))
            parts.append(in_list(f"{s}.condition", names))
        elif key == "chronic":
            expr = in_list(f"{s}.condition", cached_conditions().chronic())
            parts.append(expr if value else f"NOT ({expr})")
        else:
            parts.append(in_list(f"{s}.{key}", value))
    return parts


def _and(parts: list[str]) -> str:
    return " AND ".join(f"({p})" for p in parts) if parts else "1 = 1"


def _date(f: Feature, src: _Src, s: str) -> str:
    return f"{s}.{src.end if f.date == 'end' else src.start}"


def _aggregate(f: Feature, src: _Src, s: str, d: str, spec: FeatureSpec) -> str:
    """The aggregate expression of one feature over rows of ``src`` joined to dates.

    Counts and flags use ``COUNT(CASE ... END)``: cheaper than summing 0/1 (DuckDB sums
    integers into 128-bit accumulators) and the same in every SQL engine.
    """
    filt = _filter_sql(f, s)
    date = _date(f, src, s)
    if f.date == "end":
        filt.append(f"{date} < {d}")
    lo = f"{d} - {f.window}" if f.window else None
    win = [*filt, f"{date} >= {lo}"] if lo else filt
    col = f"{s}.{_COLUMN_SQL.get(f.column or '', f.column)}"
    a = f.aggregate
    if a == "count":
        return f"COUNT(CASE WHEN {_and(win)} THEN 1 END)"
    if a == "any":
        return f"COUNT(CASE WHEN {_and(win)} THEN 1 END)"
    if a == "sum":
        return f"SUM(CASE WHEN {_and(win)} THEN COALESCE({col}, 0) ELSE 0 END)"
    if a == "count_distinct":
        return f"COUNT(DISTINCT CASE WHEN {_and(win)} THEN {col} END)"
    if a in ("min", "max"):
        return f"{a.upper()}(CASE WHEN {_and(win)} THEN {col} END)"
    if a == "days_since":
        return f"{d} - MAX(CASE WHEN {_and(filt)} THEN {date} END)"
    if a == "trend":
        w = f.window or 180
        before = [*filt, f"{date} >= {d} - {2 * w}", f"{date} < {d} - {w}"]
        recent = [*filt, f"{date} >= {d} - {w}"]
        return (
            f"COUNT(CASE WHEN {_and(recent)} THEN 1 END)"
            f" - COUNT(CASE WHEN {_and(before)} THEN 1 END)"
        )
    start, end = f"{s}.{src.start}", f"{s}.{src.end}"
    if a == "total_days":
        # Days of [start, end) inside [window start, as_of); an unknown end runs to as_of.
        clip_end = f"LEAST(COALESCE({end}, {d}), {d})"
        clip_start = f"GREATEST({start}, {lo})" if lo else start
        return f"SUM(CASE WHEN {_and(filt)} THEN GREATEST(0, {clip_end} - {clip_start}) ELSE 0 END)"
    if a == "open_now":
        return f"COUNT(CASE WHEN {_and([*filt, f'{end} IS NULL OR {end} >= {d}'])} THEN 1 END)"
    if a == "overlap_count":
        cond = [*filt, f"{start} >= {lo} OR {end} IS NULL OR {end} > {lo}"] if lo else filt
        return f"COUNT(CASE WHEN {_and(cond)} THEN 1 END)"
    if a == "hud_chronic":
        c = spec.chronic_homeless
        lb = f"{d} - {c.lookback_days}"
        now = f"{end} >= {d}"
        return (
            f"CASE WHEN MAX(CASE WHEN {now} AND {d} - {start} >= {c.continuous_days}"
            f" THEN 1 ELSE 0 END) = 1"
            f" OR (MAX(CASE WHEN {now} THEN 1 ELSE 0 END) = 1"
            f" AND SUM(CASE WHEN {end} > {lb} OR {start} >= {lb} THEN 1 ELSE 0 END)"
            f" >= {c.min_episodes}"
            f" AND SUM(GREATEST(0, LEAST({end}, {d}) - GREATEST({start}, {lb})))"
            f" >= {c.total_days}) THEN 1 ELSE 0 END"
        )
    raise ValueError(f"aggregate {a!r} has no SQL form here")  # pragma: no cover


def _lookback(f: Feature) -> int | None:
    """Days before as_of this feature can look at (None: all history)."""
    if f.aggregate in ("days_since", "latest", "min", "max") and f.window is None:
        return None
    if f.aggregate == "open_now":
        return 0
    if f.date == "end" or f.window is None:
        return None
    return 2 * f.window if f.aggregate == "trend" else f.window


def _source_cte(source: str, feats: list[Feature], spec: FeatureSpec) -> str:
    src = SOURCES[source]
    cols = ",\n    ".join(
        f"{_aggregate(f, src, 's', 's.as_of_day' if src.per_as_of else 'd.as_of_day', spec)}"
        f" AS {f.name}"
        for f in feats
    )
    if src.per_as_of:
        return (
            f"SELECT s.person_id, s.as_of_day,\n    {cols}\n  FROM {src.relation} s"
            "\n  GROUP BY s.person_id, s.as_of_day"
        )
    join = f"s.{src.start} < d.as_of_day"
    bounds = [_lookback(f) for f in feats]
    if all(b is not None for b in bounds):
        # Every feature is windowed: skip events older than the longest window.
        lo = f"d.as_of_day - {max(bounds)}"  # type: ignore[type-var]
        join += f" AND (s.{src.start} >= {lo}"
        join += f" OR s.{src.end} IS NULL OR s.{src.end} >= {lo})" if src.end else ")"
    return (
        f"SELECT s.person_id, d.as_of_day,\n    {cols}\n  FROM {src.relation} s"
        f"\n  JOIN n_as_of d ON {join}\n  GROUP BY s.person_id, d.as_of_day"
    )


def _latest_cte(f: Feature) -> str:
    src = SOURCES[f.source]
    col = f"s.{_COLUMN_SQL.get(f.column or '', f.column)}"
    date = _date(f, src, "s")
    filt = [*_filter_sql(f, "s"), f"{col} IS NOT NULL"]
    if f.date == "end":
        filt.append(f"{date} < d.as_of_day")
    return f"""SELECT person_id, as_of_day, val AS {f.name} FROM (
    SELECT s.person_id, d.as_of_day, {col} AS val,
      ROW_NUMBER() OVER (PARTITION BY s.person_id, d.as_of_day
        ORDER BY {date} DESC, {col} DESC NULLS LAST) AS rn
    FROM {src.relation} s JOIN n_as_of d ON s.{src.start} < d.as_of_day
    WHERE {_and(filt)}
  ) t WHERE rn = 1"""


def _contacts(lookback: int) -> str:
    selects = []
    for source in ("encounters", "diagnoses", "pharmacy", "justice", "homelessness"):
        selects.append(_contact_select(source, lookback))
    selects += [_contact_select(s, lookback) for s in ("enrollments", "assessments")]
    return (
        "SELECT person_id, as_of_day FROM (\n    "
        + "\n    UNION ALL ".join(selects)
        + "\n  ) c GROUP BY person_id, as_of_day"
    )


def _contact_select(source: str, lookback: int) -> str:
    src = SOURCES[source]
    lo = f"d.as_of_day - {lookback}"
    cond = f"s.{src.start} >= {lo}"
    if src.end:
        # An interval still running inside the window is contact too.
        cond = f"({cond} OR s.{src.end} IS NULL OR s.{src.end} >= {lo})"
    return (
        f"SELECT s.person_id, d.as_of_day FROM {src.relation} s"
        f" JOIN n_as_of d ON s.{src.start} < d.as_of_day AND {cond}"
    )


def _population_ctes(population: str, lookback: int) -> list[tuple[str, str]]:
    if population not in POPULATIONS:
        raise ValueError(UNKNOWN_POPULATION.format(value=population, expected=list(POPULATIONS)))
    pop = """SELECT p.person_id, d.as_of, d.as_of_day, d.as_of_y, d.as_of_md,
    p.birth_y, p.birth_md
  FROM n_persons p JOIN n_as_of d ON p.birth_day < d.as_of_day
    AND (p.death_day IS NULL OR p.death_day > d.as_of_day)"""
    if population == "all":
        return [("pop", pop)]
    pop += "\n  JOIN contacts c ON c.person_id = p.person_id AND c.as_of_day = d.as_of_day"
    return [("contacts", _contacts(lookback)), ("pop", pop)]


def _with(ctes: list[tuple[str, str]]) -> str:
    return "WITH\n" + ",\n".join(f"{name} AS (\n  {sql}\n)" for name, sql in ctes)


def _age(f: Feature) -> str:
    age = "pop.as_of_y - pop.birth_y - CASE WHEN pop.as_of_md < pop.birth_md THEN 1 ELSE 0 END"
    return f"{age} >= {f.value:g}" if f.aggregate == "age_at_least" else f"CAST({age} AS BIGINT)"


def compile_sql(
    spec: FeatureSpec,
    columns: Mapping[str, set[str]] | None = None,
    population: str = "contact",
    dialect: str = "duckdb",
) -> str:
    """The SQL that builds the feature table, for reading or for running elsewhere.

    The query reads relations named after the input tables (``persons``, ``encounters``,
    ...) and ``as_of_dates`` (one column ``as_of``), and returns ``person_id``, ``as_of``
    and one column per feature, ordered by (``as_of``, ``person_id``).

    Parameters
    ----------
    spec : FeatureSpec
        From :func:`load_feature_spec`.
    columns : mapping, optional
        Table name -> column names present. Absent tables read as empty and absent
        optional columns as NULL. Defaults to every table with every contract column
        (``diagnoses`` with ``condition``).
    population : {"contact", "all"}
        ``contact``: persons with any event in the ``population_lookback_days`` before
        as_of; ``all``: everyone in ``persons``. Both require born before and alive on
        as_of (a death on or before as_of excludes).
    dialect : {"duckdb", "spark"}
        Only the date-to-day-number function and type names differ.

    Returns
    -------
    str
    """
    if dialect not in DIALECTS:
        raise ValueError(UNKNOWN_DIALECT.format(dialect=dialect, expected=list(DIALECTS)))
    if columns is None:
        from riskstrat.data._codes import TABLE_COLUMNS

        columns = {t: {c for c, _k, _r in cols} - {"icd10"} for t, cols in TABLE_COLUMNS.items()}
    condition_sql = None
    diag = columns.get("diagnoses")
    if diag is not None and "condition" not in diag and "icd10" in diag:
        condition_sql = conditions_case_sql("icd10", cached_conditions())
    feats = expand_features(spec)
    ctes = normalised_tables(columns, dialect, spec.default_days_supply, condition_sql)
    used = {f.source for f in feats}
    if "incarcerations" in used:
        ctes.append(paired_intervals("d_incarcerations", "booking", "release"))
    if "probation_spells" in used:
        ctes.append(paired_intervals("d_probation_spells", "probation_start", "probation_end"))
    if "homeless_episodes" in used:
        ctes += homeless_episodes(spec.episode_gap_days)
    ctes += _population_ctes(population, spec.population_lookback_days)

    selects, joins = ["pop.person_id", "pop.as_of"], []
    by_source: dict[str, list[Feature]] = {}
    for f in feats:
        if f.source != "persons" and f.aggregate != "latest":
            by_source.setdefault(f.source, []).append(f)
    for source, group in by_source.items():
        ctes.append((f"f_{source}", _source_cte(source, group, spec)))
        joins.append(f"f_{source}")
    for f in feats:
        if f.aggregate == "latest":
            ctes.append((f"l_{f.name}", _latest_cte(f)))
            joins.append(f"l_{f.name}")
    for f in feats:
        rel = "l_" + f.name if f.aggregate == "latest" else "f_" + f.source
        if f.source == "persons":
            selects.append(f"{_age(f)} AS {f.name}")
        elif f.dtype == "bool":
            selects.append(f"COALESCE({rel}.{f.name}, 0) > 0 AS {f.name}")
        elif f.aggregate in ("latest", "min", "max"):
            selects.append(f"CAST({rel}.{f.name} AS DOUBLE) AS {f.name}")
        else:
            empty = NEVER_DAYS if f.aggregate == "days_since" else 0
            typ = _FINAL_TYPES[f.dtype]
            selects.append(f"CAST(COALESCE({rel}.{f.name}, {empty}) AS {typ}) AS {f.name}")
    join_sql = "".join(
        f"\nLEFT JOIN {r} ON {r}.person_id = pop.person_id AND {r}.as_of_day = pop.as_of_day"
        for r in joins
    )
    return (
        _with(ctes)
        + "\nSELECT\n  "
        + ",\n  ".join(selects)
        + "\nFROM pop"
        + join_sql
        + "\nORDER BY pop.as_of, pop.person_id"
    )
