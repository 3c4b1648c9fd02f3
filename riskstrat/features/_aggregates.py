"""SQL expressions of the aggregates: one conditional aggregate per feature.

Rows of a source are joined to the as-of dates (``d.as_of_day``) with ``event_day <
as_of_day``; each feature is then ``COUNT/SUM/MAX(CASE WHEN <filters and window> ...)``
over its (person, as_of) group, so one pass over a table builds all of its features.
"""

from __future__ import annotations

from dataclasses import dataclass

from riskstrat.features._checks import cached_conditions
from riskstrat.features._sources import in_list
from riskstrat.features._spec import Feature, FeatureSpec


@dataclass(frozen=True)
class Src:
    """Where a source's rows live after normalisation and which columns are its dates."""

    relation: str
    start: str
    end: str | None = None
    per_as_of: bool = False  # rows already carry as_of_day (built per date)


# Amounts settled when their row ends (a stay's paid amount, at discharge).
SETTLED_AT_END = frozenset({"paid_amount"})

SOURCES: dict[str, Src] = {
    "encounters": Src("n_encounters", "start_day", "end_day"),
    "diagnoses": Src("n_diagnoses", "dx_day"),
    "pharmacy": Src("n_pharmacy_iv", "start_day", "end_day"),
    "justice": Src("n_justice", "event_day"),
    "homelessness": Src("n_homelessness", "start_day", "end_day"),
    "enrollments": Src("n_enrollments", "start_day", "end_day"),
    "assessments": Src("n_assessments", "assessed_day"),
    "incarcerations": Src("d_incarcerations", "start_day", "end_day"),
    "probation_spells": Src("d_probation_spells", "start_day", "end_day"),
    "homeless_episodes": Src("homeless_episodes", "start_day", "end_day", per_as_of=True),
    "chronic_episodes": Src("chronic_episodes", "start_day", "end_day", per_as_of=True),
}
# Value columns as named in the normalised tables.
COLUMN_SQL = {
    "start_date": "start_day",
    "end_date": "end_day",
    "dx_date": "dx_day",
    "fill_date": "start_day",
    "event_date": "event_day",
    "assessed_date": "assessed_day",
}


def filter_sql(f: Feature, s: str) -> list[str]:
    """The feature's filters as SQL conditions on alias ``s`` (families resolved to names)."""
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


def and_(parts: list[str]) -> str:
    """Conditions joined with AND (always true when there are none)."""
    return " AND ".join(f"({p})" for p in parts) if parts else "1 = 1"


def date_of(f: Feature, src: Src, s: str) -> str:
    """The day column a feature dates its rows by (start, or end with ``date: end``)."""
    return f"{s}.{src.end if f.date == 'end' else src.start}"


def aggregate(f: Feature, src: Src, s: str, d: str, spec: FeatureSpec) -> str:
    """The aggregate expression of one feature over rows of ``src`` joined to dates.

    Counts and flags use ``COUNT(CASE ... END)``: cheaper than summing 0/1 (DuckDB sums
    integers into 128-bit accumulators) and the same in every SQL engine.
    """
    filt = filter_sql(f, s)
    date = date_of(f, src, s)
    if f.date == "end":
        filt.append(f"{date} < {d}")
    # A calendar-month window starts on the date table's day N months back (per as-of date).
    lo = f"d.lo_{f.months}m" if f.months else f"{d} - {f.window}" if f.window else None
    win = [*filt, f"{date} >= {lo}"] if lo else filt
    col = f"{s}.{COLUMN_SQL.get(f.column or '', f.column)}"
    a = f.aggregate
    if a == "count":
        return f"COUNT(CASE WHEN {and_(win)} THEN 1 END)"
    if a == "any":
        return f"COUNT(CASE WHEN {and_(win)} THEN 1 END)"
    if f.column in SETTLED_AT_END and src.end:
        # A stay's bill covers every day of it: one still open on as_of would tell how long
        # it goes on after. It counts once the stay has ended, before as_of (a visit's end
        # is its start: see _sources._visit_end), in any aggregate that reads it.
        filt.append(f"{s}.{src.end} < {d}")
        win.append(f"{s}.{src.end} < {d}")
    if a == "sum":
        # Exact integer addition of ten-thousandths: a parallel float SUM adds in thread
        # order, so reruns could differ in the last bits (outputs must be byte-identical).
        # ROUND of a double agrees on DuckDB and Spark, where a cast to DECIMAL does not
        # (Spark rounds the double's shortest decimal text: 0.00015 -> 0.0002, not 0.0001).
        term = f"CAST(ROUND(COALESCE({col}, 0) * 10000) AS BIGINT)"
        total = f"SUM(CASE WHEN {and_(win)} THEN {term} ELSE 0 END)"
        return f"CAST({total} AS DOUBLE) / 10000"
    if a == "count_distinct":
        return f"COUNT(DISTINCT CASE WHEN {and_(win)} THEN {col} END)"
    if a in ("min", "max"):
        return f"{a.upper()}(CASE WHEN {and_(win)} THEN {col} END)"
    if a == "days_since":
        return f"{d} - MAX(CASE WHEN {and_(filt)} THEN {date} END)"
    if a == "trend":
        w = f.window or 180
        before = [*filt, f"{date} >= {d} - {2 * w}", f"{date} < {d} - {w}"]
        recent = [*filt, f"{date} >= {d} - {w}"]
        return (
            f"COUNT(CASE WHEN {and_(recent)} THEN 1 END)"
            f" - COUNT(CASE WHEN {and_(before)} THEN 1 END)"
        )
    start, end = f"{s}.{src.start}", f"{s}.{src.end}"
    if a == "total_days":
        # Days of [start, end) inside [window start, as_of); an unknown end runs to as_of.
        clip_end = f"LEAST(COALESCE({end}, {d}), {d})"
        clip_start = f"GREATEST({start}, {lo})" if lo else start
        return f"SUM(CASE WHEN {and_(filt)} THEN GREATEST(0, {clip_end} - {clip_start}) ELSE 0 END)"
    if a == "open_now":
        return f"COUNT(CASE WHEN {and_([*filt, f'{end} IS NULL OR {end} >= {d}'])} THEN 1 END)"
    if a == "overlap_count":
        cond = [*filt, f"{start} >= {lo} OR {end} IS NULL OR {end} > {lo}"] if lo else filt
        return f"COUNT(CASE WHEN {and_(cond)} THEN 1 END)"
    if a == "hud_chronic":
        return _hud_chronic(spec, start, end, d)
    if a == "hud_chronic_last_episode":
        # HUD's test on the last day of the latest episode: the status a person now housed
        # (supportive housing) left homelessness with; for one homeless now, as of today.
        return _hud_chronic(spec, start, end, f"{s}.last_end_day")
    raise ValueError(f"aggregate {a!r} has no SQL form here")  # pragma: no cover


def _hud_chronic(spec: FeatureSpec, start: str, end: str, day: str) -> str:
    """HUD chronic homelessness on ``day`` over episodes [start, end) clipped at as_of:
    homeless on it, and either continuously for ``continuous_days`` or in
    ``min_episodes`` episodes of the lookback totalling ``total_days``."""
    c = spec.chronic_homeless
    lb = f"{day} - {c.lookback_days}"
    now = f"{end} >= {day}"
    return (
        f"CASE WHEN MAX(CASE WHEN {now} AND {day} - {start} >= {c.continuous_days}"
        f" THEN 1 ELSE 0 END) = 1"
        f" OR (MAX(CASE WHEN {now} THEN 1 ELSE 0 END) = 1"
        f" AND SUM(CASE WHEN {end} > {lb} OR {start} >= {lb} THEN 1 ELSE 0 END)"
        f" >= {c.min_episodes}"
        f" AND SUM(GREATEST(0, LEAST({end}, {day}) - GREATEST({start}, {lb})))"
        f" >= {c.total_days}) THEN 1 ELSE 0 END"
    )


def lookback(f: Feature) -> int | None:
    """Days before as_of this feature can look at (None: all history)."""
    if f.aggregate in ("days_since", "latest", "min", "max") and f.window is None:
        return None
    if f.aggregate == "open_now":
        return 0
    if f.date == "end" or f.window is None:
        return None
    return 2 * f.window if f.aggregate == "trend" else f.window


def range_cte(source: str, feats: list[Feature], spec: FeatureSpec) -> str:
    """One CTE with every feature of ``source``: one row per person and as-of date."""
    src = SOURCES[source]
    cols = ",\n    ".join(
        f"{aggregate(f, src, 's', 's.as_of_day' if src.per_as_of else 'd.as_of_day', spec)}"
        f" AS {f.name}"
        for f in feats
    )
    if src.per_as_of:
        return (
            f"SELECT s.person_id, s.as_of_day,\n    {cols}\n  FROM {src.relation} s"
            "\n  GROUP BY s.person_id, s.as_of_day"
        )
    join = f"s.{src.start} < d.as_of_day"
    bounds = [lookback(f) for f in feats]
    if all(b is not None for b in bounds):
        # Every feature is windowed: skip events older than the longest window.
        lo = f"d.as_of_day - {max(bounds)}"  # type: ignore[type-var]
        join += f" AND (s.{src.start} >= {lo}"
        join += f" OR s.{src.end} IS NULL OR s.{src.end} >= {lo})" if src.end else ")"
    return (
        f"SELECT s.person_id, d.as_of_day,\n    {cols}\n  FROM {src.relation} s"
        f"\n  JOIN n_as_of d ON {join}\n  GROUP BY s.person_id, d.as_of_day"
    )
