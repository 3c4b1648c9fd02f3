"""Each pandera schema accepts the clean fixture and rejects each kind of violation, counted."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest

from riskstrat.data import table_schema
from riskstrat.data._codes import TABLE_NAMES

from .conftest import REFERENCE


def _failures(schema: pa.DataFrameSchema, df: pd.DataFrame) -> dict[str, int]:
    """Distinct failing rows per check name (dataframe checks list one case per column)."""
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        return {
            str(check): int(group["index"].nunique())
            for check, group in cases.groupby("check", sort=True)
        }
    return {}


def _schema(table: str, clean: dict[str, pd.DataFrame], **kwargs) -> pa.DataFrameSchema:
    return table_schema(
        table,
        reference_date=REFERENCE,
        person_ids=clean["persons"]["person_id"],
        columns=tuple(clean[table].columns),
        **kwargs,
    )


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_schema_accepts_clean_table(table: str, clean: dict[str, pd.DataFrame]) -> None:
    assert _failures(_schema(table, clean), clean[table]) == {}


@pytest.mark.parametrize(
    ("table", "column", "value", "rows", "check"),
    [
        ("persons", "sex", "Male", [0, 3], "unknown_code:sex"),
        ("persons", "race_ethnicity", "Latino", [1], "unknown_code:race_ethnicity"),
        ("persons", "spa", 9, [2, 4, 5], "unknown_code:spa"),
        ("persons", "death_date", pd.Timestamp("1950-01-01"), [0], "end_before_start:death_date"),
        ("persons", "birth_date", pd.Timestamp("2030-01-01"), [5, 6], "future_date:birth_date"),
        ("persons", "person_id", None, [9], "null_person_id:person_id"),
        ("encounters", "setting", "urgent_care", [0, 5, 11], "unknown_code:setting"),
        ("encounters", "dx_group", "behavioral", [2], "unknown_code:dx_group"),
        ("encounters", "end_date", pd.Timestamp("2019-01-01"), [1, 2], "end_before_start:end_date"),
        ("encounters", "paid_amount", -5.0, [3], "negative_value:paid_amount"),
        ("encounters", "start_date", None, [4, 6], "missing_value:start_date"),
        ("encounters", "person_id", "P99", [7], "orphan_person_id:person_id"),
        ("diagnoses", "condition", "obesity", [0, 1], "unknown_code:condition"),
        ("diagnoses", "dx_date", pd.Timestamp("2026-06-01"), [2], "future_date:dx_date"),
        ("pharmacy", "drug_class", "opioid", [6], "unknown_code:drug_class"),
        ("pharmacy", "days_supply", -30, [0, 1], "negative_value:days_supply"),
        ("justice", "event_type", "arrest", [0, 1, 2], "unknown_code:event_type"),
        ("homelessness", "project_type", "motel", [3], "unknown_code:project_type"),
        ("homelessness", "end_date", pd.Timestamp("2020-01-01"), [0], "end_before_start:end_date"),
        ("enrollments", "program", "wpc", [1, 2], "unknown_code:program"),
        ("assessments", "instrument", "ACUITY", [4], "unknown_code:instrument"),
        ("assessments", "score", 99.0, [3], "score_out_of_range:score"),  # MCAS 17-85
        ("assessments", "score", 28.0, [1], "score_out_of_range:score"),  # PHQ-9 0-27
    ],
)
def test_schema_rejects_violation_with_exact_count(
    clean: dict[str, pd.DataFrame], table: str, column: str, value, rows: list[int], check: str
) -> None:
    df = clean[table]
    df.loc[rows, column] = value
    assert _failures(_schema(table, clean), df) == {check: len(rows)}


def test_exact_duplicate_rows_are_counted_once_per_extra_copy(
    clean: dict[str, pd.DataFrame],
) -> None:
    df = clean["justice"]
    dirty = pd.concat([df, df.iloc[[1, 1, 4]]], ignore_index=True)
    # The first copy is accepted; 2 + 1 extra copies are rejected.
    assert _failures(_schema("justice", clean), dirty) == {"duplicate_row:*": 3}


def test_shared_person_id_rejects_every_row_sharing_it(clean: dict[str, pd.DataFrame]) -> None:
    df = clean["persons"]
    df.loc[[1, 2], "person_id"] = "P01"
    # The link is ambiguous: P01's original row and both copies fail.
    assert _failures(_schema("persons", clean), df) == {"duplicate_person_id:person_id": 3}


def test_extra_instrument_allowed_only_when_configured(clean: dict[str, pd.DataFrame]) -> None:
    df = clean["assessments"]
    df.loc[[0], "instrument"] = "ACUITY"
    df.loc[[0], "score"] = 40.0
    assert _failures(_schema("assessments", clean), df) == {"unknown_code:instrument": 1}
    extra = {"ACUITY": (0.0, 30.0)}
    assert _failures(_schema("assessments", clean, extra_instruments=extra), df) == {
        "score_out_of_range:score": 1
    }


def test_diagnoses_row_without_any_code_is_rejected(clean: dict[str, pd.DataFrame]) -> None:
    df = clean["diagnoses"]
    df.loc[[3], ["icd10", "condition"]] = None
    assert _failures(_schema("diagnoses", clean), df) == {"missing_dx_code:icd10/condition": 1}


def test_date_column_must_be_datetime(clean: dict[str, pd.DataFrame]) -> None:
    df = clean["justice"]
    df["event_date"] = df["event_date"].dt.strftime("%Y-%m-%d")
    with pytest.raises(pa.errors.SchemaError, match="datetime64"):
        table_schema("justice", reference_date=REFERENCE).validate(df)
