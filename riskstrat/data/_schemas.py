"""pandera schemas of the input data contract, built from the same rules as the loader.

Each schema holds the column/dtype contract (columns of ``TABLE_COLUMNS``) plus every row
check of ``_checks.py`` as a named pandera check, so ``schema.validate(df, lazy=True)``
reports the same violations :func:`riskstrat.data.validate_tables` would quarantine.
Schemas expect normalised frames (see :func:`riskstrat.data.validate_tables`).

pandera's own error messages quote the failing rows' values (a name in a coded column, a
date of birth): keep them out of logs and shared notebooks. ``validate_tables`` and the
command line say what failed by row number and code-shaped values only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd
import pandera.pandas as pa

from riskstrat.data._checks import (
    DUPLICATE_PERSON_ID,
    DUPLICATE_ROW,
    ORPHAN_PERSON_ID,
    RowCheck,
    instrument_ranges,
    row_checks,
)
from riskstrat.data._codes import TABLE_COLUMNS, TABLE_NAMES
from riskstrat.data._conditions import Conditions, load_conditions

UNKNOWN_TABLE = "table {table!r} is not in the contract; expected one of {expected}"

_DTYPES = {
    "id": "str",
    "str": "str",
    "int": "Int64",
    "float": "float64",
    "bool": "boolean",
}


def _is_datetime(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series.dtype)


def _column(kind: str, required: bool) -> pa.Column:
    # Nulls are judged by the row checks (with reasons), not by pandera's nullable flag.
    if kind == "date":
        return pa.Column(
            None,
            checks=pa.Check(_is_datetime, name="datetime64", error="expected datetime64"),
            nullable=True,
            required=required,
        )
    return pa.Column(_DTYPES[kind], nullable=True, required=required, coerce=False)


def _as_pandera(check: RowCheck) -> pa.Check:
    return pa.Check(
        lambda df, c=check: ~c.violated(df),
        name=f"{check.name}:{check.column}",
        description=check.reason,
    )


def table_schema(
    table: str,
    *,
    reference_date: dt.date | str | None = None,
    person_ids: pd.Series | None = None,
    extra_instruments: Mapping[str, tuple[float, float]] | None = None,
    conditions: Conditions | None = None,
    columns: tuple[str, ...] | None = None,
    rows: bool = True,
) -> pa.DataFrameSchema:
    """The pandera schema of one table of the contract.

    Parameters
    ----------
    table : str
        A name of ``TABLE_NAMES``.
    reference_date : date or str, optional
        Dates after it fail ``future_date`` (default: today, UTC).
    person_ids : Series, optional
        Known persons; when given, other tables get the ``orphan_person_id`` check.
    extra_instruments : mapping, optional
        Assessment instruments a county adds, with their (min, max) score range.
    conditions : Conditions, optional
        Allowed values of ``diagnoses.condition`` (default ``configs/conditions.yaml``).
    columns : tuple of str, optional
        Optional columns present in the frame to check (default: all the contract's).
    rows : bool
        False for the column/dtype contract only (no row checks).

    Returns
    -------
    pandera.DataFrameSchema
        Checks are named ``<check>:<column>``; failure cases carry the row index.
    """
    if table not in TABLE_COLUMNS:
        raise ValueError(UNKNOWN_TABLE.format(table=table, expected=list(TABLE_NAMES)))
    spec = TABLE_COLUMNS[table]
    present = columns or tuple(c for c, _k, _r in spec)
    columns_schema = {
        name: _column(kind, required) for name, kind, required in spec if name in present
    }
    if not rows:
        return pa.DataFrameSchema(columns_schema, name=table, strict=False)
    reference = pd.Timestamp(reference_date or dt.datetime.now(dt.UTC).date()).normalize()
    conditions = conditions or load_conditions()
    checks = [
        _as_pandera(c)
        for c in row_checks(
            table,
            present,
            reference_date=reference,
            instruments=instrument_ranges(extra_instruments),
            condition_names=conditions.names,
        )
    ]
    if person_ids is not None and table != "persons":
        ids = pd.Series(person_ids)
        checks.append(
            pa.Check(
                lambda df: df["person_id"].isna() | df["person_id"].isin(ids),
                name=f"{ORPHAN_PERSON_ID}:person_id",
                description="person_id not in persons",
            )
        )
    checks.append(pa.Check(lambda df: ~df.duplicated(), name=f"{DUPLICATE_ROW}:*"))
    if table == "persons":
        checks.append(
            pa.Check(
                lambda df: ~df["person_id"].duplicated(keep=False) | df["person_id"].isna(),
                name=f"{DUPLICATE_PERSON_ID}:person_id",
                description="person_id not unique",
            )
        )
    return pa.DataFrameSchema(
        columns_schema,
        checks=checks,
        name=table,
        strict=False,
    )
