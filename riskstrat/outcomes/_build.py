"""Outcome labels over a horizon after each as-of date, computed in DuckDB SQL.

The SQL is generated from :class:`~riskstrat.outcomes._spec.OutcomeSpec` and stays
portable (joins, ``NOT EXISTS``, ``CASE``, ``date + INTERVAL 'n' DAY``); the windows'
calendar-month ends are computed in Python and passed in as data, so the SQL never
needs a dialect's month arithmetic.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import duckdb
import pandas as pd

from riskstrat._dates import as_date, as_dates
from riskstrat._signals import interrupted, stop
from riskstrat.data import _codes
from riskstrat.data._absent import warn_absent
from riskstrat.data._coverage import last_covered_day
from riskstrat.outcomes._spec import EventDef, Filter, OutcomeSpec, load_outcome_spec

logger = logging.getLogger(__name__)

WINDOW_PAST_THE_DATA = (
    "outcomes as of %s: the data end (%s) falls inside the %d-month window%s, so every "
    "label of an outcome with that horizon without an event seen is censored (null under "
    "censoring: exclude) and a rate over the labels left reads high; expected an as-of "
    "date at least %d months before the data end for whole windows"
)
NO_END_DATES = (
    "{table}.end_date holds no value on the rows {outcomes} count: they cannot be told "
    "without it (a readmission is counted from a discharge, an entry from the end of the "
    "spell before), so they are left unknown (censored) where no other of their events was "
    "seen; expected the end dates in the extract"
)

NO_PERSONS = "tables: required table 'persons' is missing"
MISSING_COLUMN = "{table}.{column}: required column is missing (needed by outcome {outcome!r})"
NO_DATES = "tables: no event dates found to infer data_end; pass data_end explicitly"

_SQL_OPS = {"==": "=", "!=": "<>", ">=": ">=", ">": ">", "<=": "<=", "<": "<"}


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _filter_sql(flt: Filter, alias: str) -> str:
    column = f"{alias}.{flt.column}"
    values = flt.values()
    if flt.op in ("in", "not_in"):
        keyword = "IN" if flt.op == "in" else "NOT IN"
        return f"{column} {keyword} ({', '.join(_literal(v) for v in values)})"
    return f"{column} {_SQL_OPS[flt.op]} {_literal(values[0])}"


def _where(event: EventDef, alias: str) -> str:
    clauses = [f"{alias}.{event.date} IS NOT NULL"]
    clauses += [_filter_sql(f, alias) for f in event.filters]
    return " AND ".join(clauses)


def _event_sql(event: EventDef, window_end: str) -> str:
    """SQL giving (person_id, as_of, n) for one event over the window [as_of, window_end)."""
    t = f"t_{event.table}"
    d = event.date
    # A readmission is counted from its index stay's discharge, which may come after an
    # admission before as_of (a stay open on the as-of date: TOC's people).
    on = "end_date" if event.measure == "readmission" else d
    in_window = f"e.{on} >= a.as_of AND e.{on} < a.{window_end}"
    select = "COUNT(*)"
    if event.measure == "sum":
        # Exact integer ten-thousandths, as the feature engine sums: a float SUM adds in
        # the order rows arrive, so the same rows stored another way (hive partitions)
        # gave labels that differed in the last digit.
        cents = f"CAST(ROUND(e.{event.value_column} * 10000) AS BIGINT)"
        select = f"CAST(SUM({cents}) AS DOUBLE) / 10000"
    extra = ""
    if event.measure == "entry":
        # A spell starting fewer than entry_gap_days nights after an earlier one ended
        # continues its episode (HUD: a break of 7+ nights ends one, as the features'
        # episodes read it; end_date is the exit day, the first night away).
        extra = (
            f" AND NOT EXISTS (SELECT 1 FROM {t} p WHERE p.person_id = e.person_id"
            f" AND {_where(event, 'p')} AND p.{d} < e.{d}"
            f" AND (p.end_date IS NULL"
            f" OR p.end_date > e.{d} - INTERVAL '{event.entry_gap_days}' DAY))"
        )
    elif event.measure == "readmission":
        # By default the readmission must start inside the window (only in-window events).
        extra = (
            f" AND e.end_date IS NOT NULL AND EXISTS (SELECT 1 FROM {t} r"
            f" WHERE r.person_id = e.person_id AND {_where(event, 'r')}"
            f" AND r.{d} >= e.end_date + INTERVAL '{event.readmit_min_days}' DAY"
            f" AND r.{d} <= e.end_date + INTERVAL '{event.readmit_max_days}' DAY"
            + (f" AND r.{d} < a.{window_end}" if event.readmit_in_window else "")
            + ")"
        )
    return (
        f"SELECT e.person_id, a.as_of, {select} AS n FROM {t} e JOIN as_of_dates a ON {in_window}"
        f" WHERE {_where(event, 'e')}{extra} GROUP BY e.person_id, a.as_of"
    )


def _blind_events(frames: Mapping[str, pd.DataFrame], spec: OutcomeSpec) -> set[tuple[str, int]]:
    """(outcome, event index) of events the data cannot show, each named in a warning.

    A readmission is counted from a discharge and an entry from the end of the spell
    before; with ``end_date`` empty on every row of the event's kind (the stays it
    counts, say, while the ED visits beside them have end dates), neither can be told,
    and read as "no event" every such label would be a silent 0. They are left unknown
    (censored) instead, unless another of the outcome's events was seen. The rows are
    those the event's own SQL selects (``_where``), so the two never disagree.
    """
    blind: set[tuple[str, int]] = set()
    con = duckdb.connect()
    try:
        for name, outcome in spec.outcomes.items():
            for j, event in enumerate(outcome.events):
                if event.measure not in ("entry", "readmission"):
                    continue
                con.register("t_event", frames[event.table])
                rows, dated = con.execute(
                    f"SELECT count(*), count(e.end_date) FROM t_event e WHERE {_where(event, 'e')}"
                ).fetchall()[0]
                con.unregister("t_event")
                if rows and not dated:
                    blind.add((name, j))
    finally:
        con.close()
    for table in sorted({spec.outcomes[n].events[j].table for n, j in blind}):
        names = sorted({n for n, j in blind if spec.outcomes[n].events[j].table == table})
        logger.warning(NO_END_DATES.format(table=table, outcomes=", ".join(names)))
    return blind


def _needed_columns(spec: OutcomeSpec) -> dict[str, set[str]]:
    needed: dict[str, set[str]] = {"persons": {"person_id", "birth_date", "death_date"}}
    for outcome in spec.outcomes.values():
        for event in outcome.events:
            cols = needed.setdefault(event.table, {"person_id"})
            cols.add(event.date)
            cols.update(f.column for f in event.filters)
            if event.value_column:
                cols.add(event.value_column)
            if event.measure in ("entry", "readmission"):
                cols.add("end_date")
    return needed


def _prepare(tables: Mapping[str, pd.DataFrame], spec: OutcomeSpec) -> dict[str, pd.DataFrame]:
    """Only the needed columns; optional columns that are absent become nulls."""
    if "persons" not in tables:
        raise ValueError(NO_PERSONS)
    prepared = {}
    for table, cols in _needed_columns(spec).items():
        kinds = {name: (kind, req) for name, kind, req in _codes.TABLE_COLUMNS[table]}
        frame = tables.get(table)
        out = {}
        for col in sorted(cols):
            kind, required = kinds[col]
            if frame is not None and col in frame.columns:
                series = frame[col]
            elif frame is not None and required:
                owner = next(
                    (
                        n
                        for n, o in spec.outcomes.items()
                        if any(e.table == table for e in o.events)
                    ),
                    "?",
                )
                raise ValueError(MISSING_COLUMN.format(table=table, column=col, outcome=owner))
            else:
                length = 0 if frame is None else len(frame)
                series = pd.Series([None] * length, dtype="object")
            if kind == "date":
                series = pd.to_datetime(series)
                if isinstance(series.dtype, pd.DatetimeTZDtype):  # the zone's own day
                    series = series.dt.tz_localize(None)
                series = series.astype("datetime64[us]").dt.normalize()
            elif kind == "id":
                series = series.astype("str")
            elif kind == "float":
                series = pd.to_numeric(series).astype("float64")
            out[col] = series.reset_index(drop=True)
        prepared[table] = pd.DataFrame(out)
    return prepared


def latest_event_date(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp:
    """The latest occurrence date in ``tables``: the default last day of the data.

    Birth, death and end dates do not count (see ``riskstrat.data.last_covered_day``).

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Tables as in the input contract.

    Returns
    -------
    pandas.Timestamp
    """
    last = last_covered_day(tables)
    if last is None:
        raise ValueError(NO_DATES)
    return last


DATA_END_BEFORE_AS_OF = (
    "data_end {end} is before as-of {as_of}: no day of that window would be observed, and "
    "events the tables do hold after it would still be counted; expected the last day the "
    "data covers, on or after every as-of date"
)


def build_outcomes(
    tables: Mapping[str, pd.DataFrame] | str | Path,
    as_of: object,
    spec: OutcomeSpec | str | Path | Mapping | None = None,
    data_end: object | None = None,
    *,
    validate: bool = True,
) -> pd.DataFrame:
    """Outcome labels in ``[as_of, as_of + horizon)`` for the persons alive on ``as_of``.

    Parameters
    ----------
    tables : mapping of str to DataFrame, or str or Path
        Tables of the input contract (``persons`` is required; event tables that an
        outcome needs and that are absent count as having no events), or a folder of
        ``<table>.parquet`` / ``<table>.csv`` files, validated as
        :func:`riskstrat.data.load_checked` does (bad rows set aside and counted).
    as_of : date-like or sequence of date-like
        One or several as-of dates; each gives one row per person born before and alive
        on it (no ``death_date`` before ``as_of``; a death on it is the window's first day),
        as in the feature builder's population.
    spec : OutcomeSpec, path or mapping, optional
        Outcome definitions, or what :func:`load_outcome_spec` reads; default
        ``configs/outcomes.yaml``.
    data_end : date-like, optional
        Last day the data covers, on or after every ``as_of``; default the latest event
        date in ``tables``.
    validate : bool
        Hold tables in memory to the data contract as a folder is (default): those not
        from :func:`riskstrat.data.load_tables`, or changed since (a new frame), are
        validated here. False takes them as given.

    Returns
    -------
    DataFrame
        ``person_id``, ``as_of``, one column per outcome (binary: nullable ``Int8`` 0/1;
        continuous: ``Float64``), ``<outcome>_censored`` booleans, and ``followup_end``
        (last day observed: the window's last day, the death date or ``data_end``,
        whichever is first), sorted by (``as_of``, ``person_id``).

    Notes
    -----
    Follow-up ends early when the person dies, or the data ends, before the window's last
    day. A binary outcome is then censored unless its event was already seen;
    a continuous one is always censored; death is censored only by the data ending.
    Censored labels are null under policy ``exclude`` and the observed value under
    ``count``. A censored row is never silently "no event": the flag is always set.
    """
    if spec is None or isinstance(spec, str | Path | Mapping):
        spec = load_outcome_spec(spec)
    elif not isinstance(spec, OutcomeSpec):
        raise TypeError(
            f"spec: expected the OutcomeSpec load_outcome_spec returns (or a path or mapping "
            f"it reads), got a {type(spec).__name__}"
        )
    dates = [pd.Timestamp(d) for d in as_dates(as_of)]  # before the data is read
    if validate or isinstance(tables, str | Path):
        from riskstrat.data._checked import checked_tables

        tables = checked_tables(tables, required=("persons",))[0]
    _codes.check_table_names(tables)
    readers: dict[str, list[str]] = {}
    for name, outcome in spec.outcomes.items():
        for event in outcome.events:
            readers.setdefault(event.table, []).append(name)
    warn_absent(tables, {t: list(dict.fromkeys(n)) for t, n in readers.items()}, "outcomes")
    if data_end is None:
        end = latest_event_date(tables)
    else:
        end = pd.Timestamp(as_date(data_end, "data_end"))
        if end < max(dates):
            raise ValueError(DATA_END_BEFORE_AS_OF.format(end=end.date(), as_of=max(dates).date()))
    frames = _prepare(tables, spec)
    blind = _blind_events(frames, spec)

    horizons = sorted({spec.horizon(n) for n in spec.outcomes} | {spec.horizon_months})
    asof = pd.DataFrame({"as_of": pd.Series(dates, dtype="datetime64[us]")})
    for h in horizons:
        window_end = asof["as_of"] + pd.DateOffset(months=h)
        asof[f"we_{h}"] = window_end.astype("datetime64[us]")
        # Data must cover the window's last day, window_end - 1 day.
        asof[f"short_{h}"] = end < window_end - pd.Timedelta(days=1)
    asof["data_end"] = pd.Series([end] * len(asof), dtype="datetime64[us]")
    longest = max(horizons)
    for date, short in zip(dates, asof[f"short_{longest}"], strict=True):
        if short:
            after = " (the as-of date is after it)" if date > end else ""
            logger.warning(WINDOW_PAST_THE_DATA, date.date(), end.date(), longest, after, longest)

    ctes = [
        "base AS (SELECT p.person_id, p.death_date, a.* FROM t_persons p CROSS JOIN as_of_dates a"
        " WHERE (p.death_date IS NULL OR p.death_date >= a.as_of)"
        " AND (p.birth_date IS NULL OR p.birth_date < a.as_of))"
    ]
    joins, selects = [], []
    for i, (name, outcome) in enumerate(spec.outcomes.items()):
        h = spec.horizon(name)
        parts = []
        unseen = False  # an event kind the data cannot show
        for j, event in enumerate(outcome.events):
            if (name, j) in blind:
                unseen = True
                continue
            alias = f"o{i}_{j}"
            ctes.append(f"{alias} AS ({_event_sql(event, f'we_{h}')})")
            joins.append(
                f"LEFT JOIN {alias} ON {alias}.person_id = b.person_id AND {alias}.as_of = b.as_of"
            )
            if event.measure == "sum":
                parts.append(f"COALESCE({alias}.n, 0)")
            else:
                parts.append(f"(COALESCE({alias}.n, 0) >= {event.min_count})")
        short = "TRUE" if unseen else f"b.short_{h}"
        if not outcome.is_death and not unseen:
            # As with the data's end: follow-up that covers the window's last day is whole.
            last = f"b.we_{h} - INTERVAL '1' DAY"
            short = f"({short} OR (b.death_date IS NOT NULL AND b.death_date < {last}))"
        if outcome.kind == "continuous":
            value, censored = " + ".join(parts), short
        else:
            value = "(" + " OR ".join(parts) + ")" if parts else "FALSE"
            censored = f"({short} AND NOT {value})"
        if outcome.censoring == "exclude":
            label = f"CASE WHEN {censored} THEN NULL ELSE {value} END"
        else:
            label = value
        selects.append(f"{label} AS {name}")
        selects.append(f"{censored} AS {name}_censored")

    last_day = f"b.we_{spec.horizon_months} - INTERVAL '1' DAY"
    followup = f"LEAST({last_day}, COALESCE(b.death_date, {last_day}), b.data_end)"
    sql = (
        "WITH "
        + ",\n".join(ctes)
        + f"\nSELECT b.person_id, b.as_of, {', '.join(selects)}, {followup} AS followup_end"
        + "\nFROM base b\n"
        + "\n".join(joins)
        + "\nORDER BY b.as_of, b.person_id"
    )
    con = duckdb.connect()
    try:
        for table, frame in frames.items():
            con.register(f"t_{table}", frame)
        con.register("as_of_dates", asof)
        result = con.execute(sql).df()
    except (duckdb.InterruptException, RuntimeError) as exc:
        if interrupted(exc):  # Ctrl-C or SIGTERM: the run was stopped, the build did not fail
            stop()
        raise
    finally:
        con.close()
    return _typed(result, spec)


def _typed(result: pd.DataFrame, spec: OutcomeSpec) -> pd.DataFrame:
    result["person_id"] = result["person_id"].astype("str")
    for col in ("as_of", "followup_end"):
        result[col] = pd.to_datetime(result[col]).astype("datetime64[us]")
    for name, outcome in spec.outcomes.items():
        dtype = "Float64" if outcome.kind == "continuous" else "Int8"
        if outcome.kind == "binary":
            result[name] = result[name].astype("boolean").astype(dtype)
        else:
            result[name] = result[name].astype(dtype)
        result[f"{name}_censored"] = result[f"{name}_censored"].astype(bool)
    return result.reset_index(drop=True)
