"""Compile a :class:`FeatureSpec` to one SQL query (point in time, any number of dates).

Events are joined to the table of as-of dates with range predicates (``event_day <
as_of_day``) and every feature of a source is a conditional aggregate over that join, so
one pass over each table builds all of its features for every date in ``as_of_dates``.
(The DuckDB engine feeds it one date at a time, which measured faster; an engine that
shuffles, such as Spark, can run the whole panel in one query.)
"""

from __future__ import annotations

from collections.abc import Mapping

from riskstrat.data import _codes, conditions_case_sql
from riskstrat.features._aggregates import (
    COLUMN_SQL,
    SOURCES,
    and_,
    date_of,
    filter_sql,
    range_cte,
)
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
_FINAL_TYPES = {"int": "BIGINT", "float": "DOUBLE"}


def _latest_cte(f: Feature) -> str:
    src = SOURCES[f.source]
    col = f"s.{COLUMN_SQL.get(f.column or '', f.column)}"
    date = date_of(f, src, "s")
    filt = [*filter_sql(f, "s"), f"{col} IS NOT NULL"]
    if f.date == "end":
        filt.append(f"{date} < d.as_of_day")
    return f"""SELECT person_id, as_of_day, val AS {f.name} FROM (
    SELECT s.person_id, d.as_of_day, {col} AS val,
      ROW_NUMBER() OVER (PARTITION BY s.person_id, d.as_of_day
        ORDER BY {date} DESC, {col} DESC NULLS LAST) AS rn
    FROM {src.relation} s JOIN n_as_of d ON s.{src.start} < d.as_of_day
    WHERE {and_(filt)}
  ) t WHERE rn = 1"""


# Sources whose rows are contact with the linked systems. Not the justice table's custody
# and probation intervals: a booking or probation start whose close was never recorded
# (common in justice extracts) would hold a person in the population for good.
CONTACT_SOURCES = tuple(table for table in _codes.TABLE_NAMES if table != "persons")


def _contacts(lookback: int) -> str:
    selects = [_contact_select(source, lookback) for source in CONTACT_SOURCES]
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
    p.birth_y, p.birth_md, p.sex, p.race_ethnicity
  FROM n_persons p JOIN n_as_of d ON p.birth_day < d.as_of_day
    AND (p.death_day IS NULL OR p.death_day >= d.as_of_day)"""
    if population == "all":
        return [("pop", pop)]
    pop += "\n  JOIN contacts c ON c.person_id = p.person_id AND c.as_of_day = d.as_of_day"
    return [("contacts", _contacts(lookback)), ("pop", pop)]


def _with(ctes: list[tuple[str, str]]) -> str:
    return "WITH\n" + ",\n".join(f"{name} AS (\n  {sql}\n)" for name, sql in ctes)


def _person(f: Feature) -> str:
    if f.aggregate == "any":
        # A recorded attribute: true when every filter's column holds one of its codes.
        tests = [in_list(f"pop.{key}", codes) for key, codes in f.filters]
        # A missing value matches no code: false, like every other flag, never null.
        return "COALESCE(" + " AND ".join(tests or ["1 = 1"]) + ", FALSE)"
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
        as_of (a death before as_of excludes; one on as_of is unseen, an event of that day).
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
    months = sorted({f.months for f in feats if f.months})
    ctes = normalised_tables(columns, dialect, spec.default_days_supply, condition_sql, months)
    used = {f.source for f in feats}
    if "incarcerations" in used:
        ctes.append(paired_intervals("d_incarcerations", "booking", "release"))
    if "probation_spells" in used:
        ctes.append(paired_intervals("d_probation_spells", "probation_start", "probation_end"))
    if "homeless_episodes" in used:
        ctes += homeless_episodes(spec.episode_gap_days)
    if "chronic_episodes" in used:  # HUD's: without transitional housing
        ctes += homeless_episodes(
            spec.episode_gap_days, _codes.HUD_CHRONIC_PROJECT_TYPES, "chronic_episodes"
        )
    ctes += _population_ctes(population, spec.population_lookback_days)

    by_source: dict[str, list[Feature]] = {}
    for f in feats:
        if f.source != "persons" and f.aggregate != "latest":
            by_source.setdefault(f.source, []).append(f)
    relation: dict[str, str] = {}
    for source, group in by_source.items():
        ctes.append((f"f_{source}", range_cte(source, group, spec)))
        relation.update(dict.fromkeys((f.name for f in group), f"f_{source}"))
    for f in feats:
        if f.aggregate == "latest":
            ctes.append((f"l_{f.name}", _latest_cte(f)))
            relation[f.name] = f"l_{f.name}"
    selects = ["pop.person_id", "pop.as_of"]
    for f in feats:
        rel = relation.get(f.name)
        if f.source == "persons":
            selects.append(f"{_person(f)} AS {f.name}")
        elif f.dtype == "bool":
            selects.append(f"COALESCE({rel}.{f.name}, 0) > 0 AS {f.name}")
        elif f.aggregate in ("latest", "min", "max"):
            selects.append(f"CAST({rel}.{f.name} AS DOUBLE) AS {f.name}")
        else:
            empty = NEVER_DAYS if f.aggregate == "days_since" else 0
            typ = _FINAL_TYPES[f.dtype]
            selects.append(f"CAST(COALESCE({rel}.{f.name}, {empty}) AS {typ}) AS {f.name}")
    joins = list(dict.fromkeys(relation.values()))
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
