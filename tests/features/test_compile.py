"""The compiled SQL: readable, portable (no DuckDB-only syntax), dialects differ only in dates."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from riskstrat.features import compile_sql, load_feature_spec
from riskstrat.features._compile import UNKNOWN_POPULATION
from riskstrat.features._sources import UNKNOWN_DIALECT

# DuckDB extensions with a standard form: casts, interval literals, arg_max, QUALIFY,
# FILTER clauses, list/struct functions, EXCLUDE/REPLACE star modifiers.
DUCKDB_ONLY = (
    r"::",
    r"\bINTERVAL\b",
    r"\barg_max\b",
    r"\bQUALIFY\b",
    r"\bFILTER\s*\(",
    r"\blist_",
    r"\bstruct_",
    r"\bEXCLUDE\b",
    r"\bdate_diff\b",
    r"\bepoch",
)


@pytest.fixture(scope="module")
def sql() -> str:
    return compile_sql(load_feature_spec())


@pytest.mark.parametrize("pattern", DUCKDB_ONLY)
def test_no_duckdb_only_syntax(sql: str, pattern: str) -> None:
    assert not re.search(pattern, sql, flags=re.IGNORECASE)


def test_every_feature_is_a_column(sql: str) -> None:
    final = sql.rsplit("\nSELECT\n", 1)[1]
    assert "AS psych_inpatient_admissions_365d" in final
    assert "AS enrolled_fsp_now" in final
    assert final.rstrip().endswith("ORDER BY pop.as_of, pop.person_id")


def _day_numbers_named(sql: str) -> str:
    """Each ``datediff(...)`` call as ``DAY(<its date>)``, whichever order its arguments
    take (DuckDB's ``'day', epoch, date``; Spark's ``date, epoch``)."""
    out, i = [], 0
    while (start := sql.find("datediff(", i)) >= 0:
        depth, j, args, arg_start = 0, start + len("datediff("), [], start + len("datediff(")
        while True:
            c = sql[j]
            if c == "(":
                depth += 1
            elif c == ")" and depth:
                depth -= 1
            elif c == ")" or (c == "," and not depth):
                args.append(sql[arg_start:j].strip())
                arg_start = j + 1
                if c == ")":
                    break
            j += 1
        (date,) = [a for a in args if a not in ("'day'", "DATE '1970-01-01'")]
        out += [sql[i:start], f"DAY({_day_numbers_named(date)})"]
        i = j + 1
    return "".join(out) + sql[i:]


def test_spark_dialect_differs_only_in_dates_and_types(sql: str) -> None:
    spark = compile_sql(load_feature_spec(), dialect="spark")
    assert "datediff(CAST(" in spark and "datediff('day'" not in spark
    assert "AS STRING)" in spark and "VARCHAR" not in spark
    types = r"VARCHAR|STRING|INTEGER|INT\b"
    neutral = re.sub(types, "", _day_numbers_named(sql))
    neutral_spark = re.sub(types, "", _day_numbers_named(spark))
    assert neutral == neutral_spark


def test_icd10_diagnoses_use_the_condition_case(sql: str) -> None:
    columns = {
        "persons": {"person_id", "birth_date"},
        "diagnoses": {"person_id", "dx_date", "icd10"},
    }
    with_icd = compile_sql(load_feature_spec(), columns)
    assert "WHEN substr(upper(replace(trim(icd10)" in with_icd
    assert "trim(icd10)" not in sql


def test_unknown_dialect_and_population() -> None:
    spec = load_feature_spec()
    with pytest.raises(ValueError, match=re.escape(UNKNOWN_DIALECT.split("{")[0])):
        compile_sql(spec, dialect="oracle")
    with pytest.raises(ValueError, match="population 'everyone' is not supported"):
        compile_sql(spec, population="everyone")
    assert "population" in UNKNOWN_POPULATION


def test_windowed_sources_skip_old_events() -> None:
    spec = load_feature_spec(
        {
            "definitions": [
                {
                    "name": "ed",
                    "label": "ED visits",
                    "source": "encounters",
                    "aggregate": "count",
                    "windows": [30, 90],
                    "where": {"setting": ["ed"]},
                }
            ]
        }
    )
    text = compile_sql(spec)
    # Only the 90-day window is ever read: older events are cut at the join.
    assert "s.start_day >= d.as_of_day - 90" in text


def test_one_multi_date_query_equals_the_engine() -> None:
    # The engine feeds one date at a time; the same SQL over a table of several dates
    # (as an engine like Spark would run a panel) must give the same rows.
    import duckdb
    import pandas as pd

    from riskstrat.features import build_features

    from .conftest import make_tables

    tables = make_tables(
        encounters=[
            {"person_id": p, "start_date": d, "end_date": d + 2, "setting": s}
            for p, d, s in [("a", -10, "ed"), ("a", -200, "inpatient_psych"), ("b", -400, "ed")]
        ],
        homelessness=[
            {"person_id": "b", "start_date": -500, "end_date": None, "project_type": "safe_haven"}
        ],
        justice=[
            {"person_id": "a", "event_date": -300, "event_type": "booking"},
            {"person_id": "a", "event_date": -150, "event_type": "release"},
        ],
    )
    dates = pd.to_datetime(["2023-10-01", "2024-01-01", "2024-07-01"])
    con = duckdb.connect()
    for name, frame in tables.items():
        con.register(name, frame)
    con.register("as_of_dates", pd.DataFrame({"as_of": dates}))
    columns = {name: set(frame.columns) for name, frame in tables.items()}
    one_pass = con.sql(compile_sql(load_feature_spec(), columns)).df()
    one_pass["as_of"] = pd.to_datetime(one_pass["as_of"]).astype("datetime64[us]")
    engine = build_features(tables, dates)
    pd.testing.assert_frame_equal(one_pass, engine, check_dtype=False)
    assert one_pass["as_of"].nunique() == 3


def test_spark_sql_means_the_same_as_the_engine() -> None:
    # The Spark text is read with a Spark grammar and translated to DuckDB by sqlglot, then
    # run on a synthetic county: it must give the engine's table. This catches what a
    # string comparison cannot, e.g. Spark's datediff(end, start) argument order.
    import sqlglot

    from riskstrat.features import build_features
    from riskstrat.features._engine import run_sql
    from riskstrat.synth import synthesize

    tables = synthesize(3_000, "2021-01-01", "2024-01-01", seed=3).tables
    spec = load_feature_spec()
    dates = ["2023-01-01", "2023-07-01"]

    def via_spark(columns: dict[str, set[str]]) -> str:
        spark = compile_sql(spec, columns, population="all", dialect="spark")
        return sqlglot.transpile(spark, read="spark", write="duckdb")[0]

    engine = build_features(tables, dates, spec, population="all")
    spark = run_sql(tables, dates, via_spark)
    assert len(engine) > 5_000
    pd.testing.assert_frame_equal(spark, engine, check_dtype=False)
