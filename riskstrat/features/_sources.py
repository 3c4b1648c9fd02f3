"""SQL for the normalised input tables and the derived interval sources.

Dates become integer day numbers (days since 1970-01-01) in the first CTEs, so everything
after them is integer arithmetic in standard SQL (CASE, window functions, GREATEST/LEAST)
that DuckDB and Spark SQL both run. Only :func:`day_number` and the type names depend on
the dialect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from riskstrat.data import _codes

DIALECTS = ("duckdb", "spark")
_TYPES = {
    "duckdb": {"str": "VARCHAR", "int": "INTEGER", "float": "DOUBLE", "bool": "BOOLEAN"},
    "spark": {"str": "STRING", "int": "INT", "float": "DOUBLE", "bool": "BOOLEAN"},
}
UNKNOWN_DIALECT = "dialect {dialect!r} is not supported; expected one of {expected}"


def sql_type(kind: str, dialect: str) -> str:
    """SQL type name of a contract column kind (``str``, ``int``, ``float``, ``bool``)."""
    return _TYPES[dialect][kind]


def day_number(expr: str, dialect: str) -> str:
    """Days since 1970-01-01 of a date (or timestamp, or ISO text) expression."""
    if dialect == "spark":
        return f"datediff(CAST({expr} AS DATE), DATE '1970-01-01')"
    return f"datediff('day', DATE '1970-01-01', CAST({expr} AS DATE))"


def _months_back(months: int) -> str:
    """The as-of date ``months`` calendar months earlier, the month's last day where it
    has no such day (as DuckDB's INTERVAL and Spark's add_months count), in SQL both
    engines read alike: year, month, make_date and last_day."""
    date = "CAST(as_of AS DATE)"
    ym = f"(EXTRACT(YEAR FROM {date}) * 12 + EXTRACT(MONTH FROM {date}) - 1 - {int(months)})"
    year = f"CAST(FLOOR({ym} / 12) AS INT)"
    month = f"CAST({ym} - 12 * FLOOR({ym} / 12) + 1 AS INT)"
    last = f"EXTRACT(DAY FROM last_day(make_date({year}, {month}, 1)))"
    day = f"CAST(LEAST(EXTRACT(DAY FROM {date}), {last}) AS INT)"
    return f"make_date({year}, {month}, {day})"


def literal(value: str) -> str:
    """A quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def in_list(expr: str, values: tuple[str, ...]) -> str:
    """``expr IN ('a', 'b')``; FALSE for an empty list."""
    if not values:
        return "1 = 0"
    return f"{expr} IN ({', '.join(literal(v) for v in values)})"


def _col(
    table: str, name: str, kind: str, present: set[str], dialect: str, default: str = "NULL"
) -> str:
    if kind == "date":
        expr = day_number(name, dialect) if name in present else "CAST(NULL AS INTEGER)"
        alias = name.removesuffix("_date") + "_day"
        return f"{expr} AS {alias}"
    typ = sql_type("str" if kind == "id" else kind, dialect)
    if name in present:
        value = f"CAST({name} AS {typ})"
        if kind == "int":
            # Text like '14.0' (pandas writes whole numbers with a missing value so) is a
            # number to DuckDB and an error to Spark's ANSI cast; through DECIMAL it is 14 on
            # both, ROUND takes halves away from zero on both, and text that is no number
            # ('30d') is an error on both (through DOUBLE, Java's parser would take it).
            value = f"CAST(ROUND(CAST({name} AS DECIMAL(38, 18))) AS {typ})"
        if default != "NULL":
            return f"COALESCE({value}, {default}) AS {name}"
        return f"{value} AS {name}"
    return f"CAST({default} AS {typ}) AS {name}"


def normalised_tables(
    columns: Mapping[str, set[str]],
    dialect: str,
    default_days_supply: int,
    condition_sql: str | None,
    months: Sequence[int] = (),
) -> list[tuple[str, str]]:
    """CTEs ``n_<table>`` with day numbers and every contract column (absent ones NULL).

    Parameters
    ----------
    columns : mapping
        Table name -> columns present in the input; absent tables give empty CTEs.
    dialect : str
        ``duckdb`` or ``spark``.
    default_days_supply : int
        Days of supply assumed when ``pharmacy.days_supply`` is missing or null.
    condition_sql : str or None
        ``CASE`` expression mapping ``icd10`` to a condition, used when ``diagnoses`` has
        ``icd10`` but no ``condition``.
    months : sequence of int
        Calendar-month windows in use: the date table gets ``lo_<N>m``, the day number of
        the same day N months before each as-of date (the month's last day where it has
        no such day, as both engines count months).

    Returns
    -------
    list of (name, sql)
    """
    ctes = []
    for table in _codes.TABLE_NAMES:
        present = columns.get(table)
        cols = []
        for name, kind, _required in _codes.TABLE_COLUMNS[table]:
            if table == "diagnoses" and name == "icd10":
                continue
            derive = present is not None and "condition" not in present and condition_sql
            if table == "diagnoses" and name == "condition" and derive:
                cols.append("m.condition AS condition")
                continue
            default = "NULL"
            if (table, name) == ("encounters", "avoidable"):
                default = "FALSE"
            elif (table, name) == ("encounters", "paid_amount"):
                default = "0"
            elif (table, name) == ("pharmacy", "days_supply"):
                default = str(int(default_days_supply))
            col = _col(table, name, kind, present or set(), dialect, default)
            if (table, name) == ("encounters", "end_date"):
                col = _visit_end(col, present or set(), dialect)
            cols.append(col)
        if table == "persons":
            cols.append(_year_md("birth_date", present or set()))
        select = ",\n    ".join(cols)
        if present is None:
            # No such table: an empty relation of the right shape keeps the SQL uniform.
            sql = f"SELECT\n    {select}\n  FROM as_of_dates WHERE 1 = 0"
        elif table == "diagnoses" and "condition" not in present and condition_sql:
            # Map each distinct code once (a few thousand), not every diagnosis row.
            ctes.append(
                (
                    "dx_codes",
                    f"SELECT icd10, {condition_sql} AS condition\n"
                    "  FROM (SELECT DISTINCT icd10 FROM diagnoses) c",
                )
            )
            sql = (
                f"SELECT\n    {select}\n  FROM diagnoses"
                "\n  LEFT JOIN dx_codes m ON m.icd10 = diagnoses.icd10"
            )
        else:
            sql = f"SELECT\n    {select}\n  FROM {table}"
        ctes.append((f"n_{table}", sql))
    # Supply is an interval [fill, fill + days_supply): "covers as_of - 1" is end >= as_of.
    ctes.append(
        (
            "n_pharmacy_iv",
            "SELECT person_id, fill_day AS start_day, fill_day + days_supply AS end_day,\n"
            "    drug_class, days_supply FROM n_pharmacy",
        )
    )
    dates = (
        f"SELECT DISTINCT CAST(as_of AS DATE) AS as_of, {day_number('as_of', dialect)} AS as_of_day,"
        "\n    EXTRACT(YEAR FROM CAST(as_of AS DATE)) AS as_of_y,"
        "\n    EXTRACT(MONTH FROM CAST(as_of AS DATE)) * 100"
        " + EXTRACT(DAY FROM CAST(as_of AS DATE)) AS as_of_md"
        + "".join(f",\n    {day_number(_months_back(n), dialect)} AS lo_{n}m" for n in months)
        + "\n  FROM as_of_dates"
    )
    ctes.insert(0, ("n_as_of", dates))
    return ctes


def _visit_end(column: str, present: set[str], dialect: str) -> str:
    """An encounter's end day; a visit's is the day it started, whatever its row says.

    Read as a stay still running, an ED visit without an end date counted as contact for
    ever after, and its paid amount as a bill still open. Taking the start for every visit,
    not only those without an end, keeps features blind to ends on or after as_of: a visit
    still going on then has no end in an extract of that day, and one in a later extract.
    """
    if "setting" not in present or "start_date" not in present:
        return column
    expr, alias = column.rsplit(" AS ", 1)
    visit = in_list("setting", _codes.VISIT_SETTINGS)
    start = day_number("start_date", dialect)
    return f"CASE WHEN {visit} THEN {start} ELSE {expr} END AS {alias}"


def _year_md(name: str, present: set[str]) -> str:
    if name not in present:
        return "CAST(NULL AS INTEGER) AS birth_y, CAST(NULL AS INTEGER) AS birth_md"
    d = f"CAST({name} AS DATE)"
    return (
        f"EXTRACT(YEAR FROM {d}) AS birth_y, "
        f"EXTRACT(MONTH FROM {d}) * 100 + EXTRACT(DAY FROM {d}) AS birth_md"
    )


def paired_intervals(name: str, opening: str, closing: str) -> tuple[str, str]:
    """Intervals from an opening justice event to the next closing (or opening) event.

    An opening event whose closing event is missing ends at the next opening event, so
    intervals never overlap; one with neither stays open (end NULL). A day with both an
    opening and a closing event is read by what ran before it: if an interval was running,
    the closing event ends it and the opening one starts the next (released and booked
    again, a new probation term as the old one ends); otherwise the opening event sorts
    first and the closing one ends it that day (a same-day booking and release is a 0-day
    stay). Either way such a day leaves running what ran before it, so "running before" is
    decided by the last earlier day with only opening or only closing events.
    """
    is_open = f"event_type = {literal(opening)}"
    is_close = f"event_type = {literal(closing)}"
    earlier_days = (
        "OVER (PARTITION BY person_id ORDER BY event_day "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
    )
    sql = f"""SELECT person_id, start_day,
    CASE WHEN next_close IS NULL THEN next_open
         WHEN next_open IS NULL OR next_close <= next_open THEN next_close
         ELSE next_open END AS end_day
  FROM (
    SELECT person_id, event_day AS start_day, event_type,
      MIN(CASE WHEN {is_close} THEN event_day END) OVER (
        PARTITION BY person_id ORDER BY event_day, ord
        ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS next_close,
      MIN(CASE WHEN {is_open} THEN event_day END) OVER (
        PARTITION BY person_id ORDER BY event_day, ord
        ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_open
    FROM (
      SELECT ev.person_id, ev.event_day, ev.event_type,
        CASE WHEN ev.{is_open} THEN 1
             WHEN st.last_open IS NOT NULL
               AND (st.last_close IS NULL OR st.last_open > st.last_close) THEN 0
             ELSE 2 END AS ord
      FROM n_justice ev
      JOIN (
        SELECT person_id, event_day,
          MAX(CASE WHEN opens = 1 AND closes = 0 THEN event_day END)
            {earlier_days} AS last_open,
          MAX(CASE WHEN closes = 1 AND opens = 0 THEN event_day END)
            {earlier_days} AS last_close
        FROM (
          SELECT person_id, event_day,
            MAX(CASE WHEN {is_open} THEN 1 ELSE 0 END) AS opens,
            MAX(CASE WHEN {is_close} THEN 1 ELSE 0 END) AS closes
          FROM n_justice WHERE {in_list("event_type", (opening, closing))}
          GROUP BY person_id, event_day
        ) dy
      ) st ON st.person_id = ev.person_id AND st.event_day = ev.event_day
      WHERE {in_list("ev.event_type", (opening, closing))}
    ) ev
  ) iv
  WHERE {is_open}"""
    return name, sql


def homeless_episodes(
    gap_days: int,
    project_types: tuple[str, ...] = _codes.HOMELESS_PROJECT_TYPES,
    name: str = "homeless_episodes",
) -> list[tuple[str, str]]:
    """Merged homeless spells per (person, as_of): the episodes of HUD's definition.

    Spells of a homeless project type that started before as_of are clipped at as_of (an
    end on or after as_of is unknown then), sorted, and merged when the next spell starts
    fewer than ``gap_days`` days after the end of all earlier ones (HUD: a break is at
    least 7 nights not homeless). Built per as_of so a later spell can never bridge two
    earlier episodes. ``last_end_day`` is the end of the person's latest episode (as_of
    for one still open): the day HUD's test reads for the status they left it with.
    ``project_types`` are the spells that count, ``name`` the relation (its steps are
    named after it): HUD's chronic test counts no transitional housing.
    """
    homeless = in_list("h.project_type", project_types)
    return [
        (
            f"{name}_spells",
            f"""SELECT h.person_id, d.as_of_day, h.start_day,
    CASE WHEN h.end_day IS NULL OR h.end_day > d.as_of_day THEN d.as_of_day
         ELSE h.end_day END AS end_day
  FROM n_homelessness h JOIN n_as_of d ON h.start_day < d.as_of_day
  WHERE {homeless}""",
        ),
        (
            f"{name}_flagged",
            f"""SELECT person_id, as_of_day, start_day, end_day,
    CASE WHEN prev_end IS NULL OR start_day - prev_end >= {int(gap_days)} THEN 1 ELSE 0 END
      AS new_episode
  FROM (
    SELECT person_id, as_of_day, start_day, end_day,
      MAX(end_day) OVER (PARTITION BY person_id, as_of_day ORDER BY start_day, end_day
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
    FROM {name}_spells
  ) s""",
        ),
        (
            f"{name}_numbered",
            f"""SELECT person_id, as_of_day, start_day, end_day,
    SUM(new_episode) OVER (PARTITION BY person_id, as_of_day ORDER BY start_day, end_day
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS episode
  FROM {name}_flagged""",
        ),
        (
            name,
            f"""SELECT person_id, as_of_day, episode, MIN(start_day) AS start_day,
    MAX(end_day) AS end_day,
    MAX(MAX(end_day)) OVER (PARTITION BY person_id, as_of_day) AS last_end_day
  FROM {name}_numbered GROUP BY person_id, as_of_day, episode""",
        ),
    ]
