"""The compiled SQL: readable, portable (no DuckDB-only syntax), dialects differ only in dates."""

from __future__ import annotations

import re

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


def test_spark_dialect_differs_only_in_dates_and_types(sql: str) -> None:
    spark = compile_sql(load_feature_spec(), dialect="spark")
    assert "datediff(CAST(" in spark and "datediff('day'" not in spark
    assert "AS STRING)" in spark and "VARCHAR" not in spark
    neutral = re.sub(r"datediff\([^)]*\)[^)]*\)|VARCHAR|STRING|INTEGER|INT\b", "", sql)
    neutral_spark = re.sub(r"datediff\([^)]*\)[^)]*\)|VARCHAR|STRING|INTEGER|INT\b", "", spark)
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
