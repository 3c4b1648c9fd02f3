"""The cohort folder's files, each checked against its schema before anything is written."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.errors
import pyarrow as pa

from riskstrat._html import markdown_html
from riskstrat.scoring._cohort import ScoredCohort
from riskstrat.scoring._errors import ScoringDataError
from riskstrat.scoring._groups import COUNTS, GROUP_COLUMNS
from riskstrat.scoring._report import summary_markdown
from riskstrat.scoring._schemas import (
    EXPLANATION_SCHEMA,
    SCORE_COLUMNS,
    cohort_schema,
    scores_schema,
)
from riskstrat.scoring._write import write_csv, write_json, write_parquet, write_text

OUTPUT_FILES: tuple[str, ...] = (
    "cohort.parquet",
    "cohort.csv",
    "scores.parquet",
    "explanations.parquet",
    "offers.parquet",
    "summary.json",
    "summary.md",
    "groups.csv",
    "summary.html",
)
OUTPUT_INVALID = "output {table} failed its schema: {problem}"
# cohort.csv is read by people, in a spreadsheet: a risk of 0.9814814814814815 claims a
# precision the model does not have. Four places keep nearly every calibrated level apart
# (two levels closer than 0.0001 may read the same), and `rank` keeps the order exactly.
# cohort.parquet keeps full precision for analysts.
CSV_DECIMALS: dict[str, int] = {"risk": 4, "percentile": 1}


def write_outputs(
    tmp: Path, scored: ScoredCohort, summary: Mapping[str, Any], tier_names: tuple[str, ...]
) -> None:
    """Write the cohort, scores, explanations and summaries of ``scored`` into ``tmp``.

    ``offers.parquet`` and ``manifest.json`` are the caller's. Raises ScoringDataError,
    naming the table, when an output fails its schema (nothing of it is written).
    """
    try:
        cohort = cohort_schema(tier_names).validate(scored.cohort)
        # Everyone scored, so the summary's counts by tier can be checked person by person.
        persons = scored.persons.sort_values("person_id", kind="stable", ignore_index=True)
        scores = scores_schema(tier_names).validate(persons[list(SCORE_COLUMNS)])
        explanations = EXPLANATION_SCHEMA.validate(scored.explanations)
    except pandera.errors.SchemaError as exc:
        table = getattr(exc.schema, "name", "output")
        raise ScoringDataError(OUTPUT_INVALID.format(table=table, problem=exc.reason_code)) from exc
    dates = {"as_of": pa.date32(), "last_offered": pa.date32()}
    write_parquet(cohort, tmp / "cohort.parquet", types=dates)
    write_csv(cohort.round(CSV_DECIMALS), tmp / "cohort.csv")
    write_parquet(scores, tmp / "scores.parquet")
    write_parquet(explanations, tmp / "explanations.parquet")
    write_json(summary, tmp / "summary.json")
    # The by-group counts, hidden ones empty: the one table of the folder to share.
    groups = pd.DataFrame.from_records(summary.get("by_group", []), columns=list(GROUP_COLUMNS))
    write_csv(groups.astype(dict.fromkeys(COUNTS, "Int64")), tmp / "groups.csv")
    text = summary_markdown(summary)
    write_text(text, tmp / "summary.md")
    # The same page for a browser: programme staff without a Markdown viewer read this one.
    title = f"Cohort summary, as of {summary.get('as_of', '?')}"
    write_text(markdown_html(text, title), tmp / "summary.html")
