"""pandera contracts of the scorer's output tables (checked before anything is written)."""

from __future__ import annotations

import pandera.pandas as pa

from riskstrat.data._codes import PROGRAMS
from riskstrat.scoring._selection import STATUSES

COHORT_COLUMNS: tuple[str, ...] = (
    "as_of",
    "person_id",
    "spa",
    "program",
    "eligible",
    "criteria_met",
    "reasons",
    "risk",
    "percentile",
    "tier",
    "rank",
    "selected",
    "status",
    "last_offered",
    "held_by",
    "top_factors",
    "model_version",
)

EXPLANATION_COLUMNS: tuple[str, ...] = (
    "person_id",
    "audit_sample",
    "factor_rank",
    "feature",
    "value",
    "contribution",
    "text",
)


def cohort_schema(tier_names: tuple[str, ...]) -> pa.DataFrameSchema:
    """Schema of ``cohort.parquet`` / ``cohort.csv`` for the configured tier names."""
    return pa.DataFrameSchema(
        {
            # The date scored, on every row, so cohorts of several quarters can be stacked.
            "as_of": pa.Column(pa.Date),
            "person_id": pa.Column("str", pa.Check.str_length(min_value=1)),
            # Service Planning Area, "1"-"8" or "unknown" (regional teams take their rows);
            # "" when the caller gave none (build_cohort without spa).
            "spa": pa.Column("str"),
            "program": pa.Column("str", pa.Check.isin(PROGRAMS)),
            "eligible": pa.Column(bool),
            "criteria_met": pa.Column("str"),
            # The met criteria's texts with the person's values, as configs/programs.yaml
            # words them: "7 psychiatric inpatient admissions in the last 12 months (needs 6+)".
            "reasons": pa.Column("str"),
            "risk": pa.Column("float64", pa.Check.in_range(0.0, 1.0)),
            "percentile": pa.Column("float64", pa.Check.in_range(0.0, 100.0, include_max=False)),
            "tier": pa.Column("str", pa.Check.isin(tier_names)),
            "rank": pa.Column("Int64", pa.Check.ge(1), nullable=True),
            "selected": pa.Column(bool),
            "status": pa.Column("str", pa.Check.isin(STATUSES)),
            # The pair's earlier offer (riskstrat score --previous); null if none is known.
            "last_offered": pa.Column(pa.Date, nullable=True),
            # What holds an eligible row back: "offer isr 2025-07-01" (offered_recently),
            # "enrolled sud_ens" (already_enrolled), "selected reentry" (assigned_other).
            "held_by": pa.Column("str"),
            "top_factors": pa.Column("str"),
            "model_version": pa.Column("str", pa.Check.str_length(min_value=1)),
        },
        checks=[
            # Care coordination is never held twice (configs/programs.yaml): at most one selected
            # row per person among them is checked in the scorer; here, no duplicate rows.
            pa.Check(
                lambda df: ~df.duplicated(["person_id", "program"]),
                error="duplicate (person_id, program) rows",
            ),
            pa.Check(
                lambda df: ~df["selected"] | df["eligible"],
                error="a selected row must be eligible",
            ),
        ],
        strict=True,
        ordered=True,
        coerce=False,
        name="cohort",
    )


SCORE_COLUMNS: tuple[str, ...] = ("person_id", "risk", "percentile", "tier")


def scores_schema(tier_names: tuple[str, ...]) -> pa.DataFrameSchema:
    """Schema of ``scores.parquet``: every scored person, eligible for a programme or not."""
    return pa.DataFrameSchema(
        {
            "person_id": pa.Column("str", pa.Check.str_length(min_value=1), unique=True),
            "risk": pa.Column("float64", pa.Check.in_range(0.0, 1.0)),
            "percentile": pa.Column("float64", pa.Check.in_range(0.0, 100.0, include_max=False)),
            "tier": pa.Column("str", pa.Check.isin(tier_names)),
        },
        strict=True,
        ordered=True,
        coerce=False,
        name="scores",
    )


EXPLANATION_SCHEMA = pa.DataFrameSchema(
    {
        "person_id": pa.Column("str", pa.Check.str_length(min_value=1)),
        "audit_sample": pa.Column(bool),
        "factor_rank": pa.Column("int64", pa.Check.ge(1)),
        "feature": pa.Column("str"),
        "value": pa.Column("str"),
        "contribution": pa.Column("float64"),
        "text": pa.Column("str"),
    },
    checks=[
        pa.Check(
            lambda df: ~df.duplicated(["person_id", "factor_rank"]),
            error="duplicate (person_id, factor_rank) rows",
        )
    ],
    strict=True,
    ordered=True,
    name="explanations",
)
