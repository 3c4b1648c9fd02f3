"""Validate linked tables against the contract: raise on the first violation, or quarantine.

Row checks (``_checks.py``) run vectorised over whole columns. Cross-row checks run after
them on the rows still accepted, in this order: orphan ``person_id`` (not among the
*accepted* persons), an event dated before its person's birth or after their death, exact
duplicate rows (the first copy is kept) and, in ``persons``, duplicate ``person_id``
(every row sharing the id is rejected: the link is ambiguous).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from pandera import errors as pa_errors

from riskstrat._args import as_path, check_frame
from riskstrat._atomic import atomic_file, owner_only_folder
from riskstrat._dates import as_date
from riskstrat.data._absent import MISSING_TABLE, NO_SUCH_FEED
from riskstrat.data._checks import (
    NO_RECORD,
    UNPARSEABLE,
    RowCheck,
    instrument_ranges,
    row_checks,
)
from riskstrat.data._codes import TABLE_COLUMNS, TABLE_NAMES, contract_columns
from riskstrat.data._conditions import (
    Conditions,
    add_conditions,
    load_conditions,
    warn_conditions_left_empty,
)
from riskstrat.data._contract_config import default_extra_instruments
from riskstrat.data._crossrow import (
    Lifespans,
    cross_checks,
    orphan_ids,
    orphans_written_alike,
    with_id_hint,
)
from riskstrat.data._csv_faults import refuse_line_breaks
from riskstrat.data._hints import (
    Outside,
    delimiter_hint,
    serial_days,
    warn_alike_for_want_of_columns,
    warn_alike_outside,
    warn_case_slips,
    with_outside_hint,
)
from riskstrat.data._layout_rows import layout_rows
from riskstrat.data._normalise import normalise_table
from riskstrat.data._results import DataContractError, LoadResult, TableReport, ValidationReport
from riskstrat.data._row_places import Sources
from riskstrat.data._schemas import table_schema
from riskstrat.data._unclosed import warn_unclosed
from riskstrat.data._violation import raise_violation
from riskstrat.data._whole_tables import (
    check_rejected_dir,
    column_names,
    outside_columns,
    refuse_empty_persons,
    warn_extra_columns,
    warn_missing_optional,
    warn_parts_missing_columns,
    warn_thin_tables,
)

logger = logging.getLogger(__name__)

MISSING_COLUMN = "table {table!r}: required column {column!r} is missing; columns found: {found}"
NO_DX_CODE_COLUMN = "table 'diagnoses': needs column 'icd10' or 'condition'; columns found: {found}"
DUPLICATE_COLUMN = (
    "table {table!r}: the header names column {column!r} more than once; expected each column once"
)
BAD_DTYPE = "table {table!r}: column/dtype contract failed after normalisation: {error}"
UNKNOWN_MODE = "mode: expected 'strict' or 'quarantine', got {mode!r}"


def _reference(reference_date: dt.date | str | None) -> pd.Timestamp:
    if reference_date is None:
        return pd.Timestamp(dt.datetime.now(dt.UTC).date())
    return pd.Timestamp(as_date(reference_date, "reference_date"))


def _check_columns(table: str, df: pd.DataFrame) -> None:
    found = column_names(df.columns)
    names = [str(c) for c in df.columns]
    contract = contract_columns(table)
    twice = [c for c in dict.fromkeys(names) if names.count(c) > 1 and c in contract]
    if twice:
        # Which of the two holds the contract's values would be a guess.
        raise DataContractError(
            DUPLICATE_COLUMN.format(table=table, column=twice[0]),
            table=table,
            column=twice[0],
            check="duplicate_column",
            count=0,
        )
    for column, _kind, required in TABLE_COLUMNS[table]:
        if required and column not in df.columns:
            cased = [n for n in names if n.strip().lower() == column]
            raise DataContractError(
                MISSING_COLUMN.format(table=table, column=column, found=found)
                + (
                    f" ({cased[0]!r} differs in case or spaces only: names are matched exactly)"
                    if cased
                    else ""
                )
                + delimiter_hint(df.columns),
                table=table,
                column=column,
                check="missing_column",
                count=0,
            )
    if table == "diagnoses" and not {"icd10", "condition"} & set(df.columns):
        raise DataContractError(
            NO_DX_CODE_COLUMN.format(found=found),
            table=table,
            column="icd10",
            check="missing_column",
            count=0,
        )


def _check_dtypes(table: str, df: pd.DataFrame) -> None:
    # pandera holds the column/dtype contract; the row rules run vectorised below.
    try:
        table_schema(table, columns=tuple(df.columns), rows=False).validate(df)
    except pa_errors.SchemaError as exc:
        raise DataContractError(
            BAD_DTYPE.format(table=table, error=exc),
            table=table,
            column=getattr(exc.schema, "name", None),
            check="dtype",
            count=0,
        ) from None


def _take_rows(df: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """``df.loc[keep].reset_index(drop=True)``, emptying ``df`` one column at a time.

    Only one column is ever held twice, instead of the whole table.
    """
    columns = {name: df.pop(name)[keep].reset_index(drop=True) for name in list(df.columns)}
    return pd.DataFrame(columns, copy=False)


def _validate_one(
    table: str,
    df: pd.DataFrame,
    checks: list[RowCheck],
    cross: list[RowCheck],
    strict: bool,
    files: Sources | None = None,
    originals: Mapping[str, pd.Series] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, TableReport]:
    # The first failed check per row, as a position in `every` (-1: none); strings are
    # only built for rejected rows.
    every = [*checks, *cross]
    first = np.full(len(df), -1, dtype=np.int16)
    for position, check in enumerate(every):
        keep = first < 0
        if position < len(checks):
            violated = check.violated(df)
            mask = violated.to_numpy(dtype=bool, na_value=False) & keep
            del violated
        else:
            # Cross-row checks only see rows still accepted: a corrupt row cannot make
            # a clean one look like a duplicate.
            mask = check.violated(df, keep)
        if bool(mask.any()):
            if strict:
                raise_violation(table, check, df, pd.Series(mask, index=df.index), files)
            first[mask] = position
    bad = first >= 0
    rejected = df.loc[bad].copy()
    # Nothing rejected: the normalised frame is already fresh, with a RangeIndex.
    accepted = _take_rows(df, ~bad) if bool(bad.any()) else df
    rejected.insert(0, "row_number", rejected.index.astype("int64"))
    if files:
        names, positions = files.locate(rejected["row_number"].to_numpy())
        rejected.insert(1, "source_file", pd.Series(names, index=rejected.index, dtype="str"))
        rejected.insert(2, "file_row_number", positions.astype("int64"))
        rejected.insert(3, "file_line", files.lines(names, positions).set_axis(rejected.index))
    first_bad = first[bad]
    names = np.array([c.name for c in every], dtype=object)
    reasons = np.array([c.reason for c in every], dtype=object)
    check_of = pd.Series(names[first_bad], index=rejected.index, dtype="str")
    reason_of = pd.Series(reasons[first_bad], index=rejected.index, dtype="str")
    rejected["check"] = check_of
    rejected["reason"] = pd.Series(
        [f"{r} ({c})" for r, c in zip(reason_of, check_of, strict=True)],
        index=rejected.index,
        dtype="str",  # text even when empty, so quarters' files stack
    )
    rejected["original_value"] = _original_values(rejected.index, first_bad, every, originals)
    rejected = rejected.reset_index(drop=True)
    report = TableReport(
        table=table,
        rows_in=len(df),
        accepted=len(accepted),
        rejected=len(rejected),
        by_check={k: int(v) for k, v in rejected["check"].value_counts().sort_index().items()},
        by_reason={k: int(v) for k, v in rejected["reason"].value_counts().sort_index().items()},
    )
    return accepted, rejected, report


def _original_values(
    rows: pd.Index,
    first_bad: np.ndarray,
    every: Sequence[RowCheck],
    originals: Mapping[str, pd.Series] | None,
) -> pd.Series:
    """The text as read of the value that failed to convert, for rows rejected unparseable.

    The converted column holds a null there, so without it a quarantined '2023-13-45'
    could not be traced back to what the source system sent.
    """
    values = pd.Series(None, index=rows, dtype="str")
    for position in np.unique(first_bad):
        check = every[position]
        if check.name == UNPARSEABLE and originals and check.column in originals:
            where = rows[first_bad == position]
            values.loc[where] = originals[check.column].reindex(where).to_numpy()
    return values


def write_parquet_atomic(df: pd.DataFrame, path: str | Path) -> None:
    """Write ``df`` to ``path`` through a temporary file and ``os.replace``."""
    check_frame(df, "df")
    path = as_path(path, "path", "the Parquet file to write (str or Path)")
    if path.is_dir():  # found by os.replace only once the whole file was written
        raise IsADirectoryError(errno.EISDIR, A_FOLDER_NOT_A_FILE, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        df.to_parquet(tmp, index=False)


A_FOLDER_NOT_A_FILE = "is a folder, not a file"
A_FOLDER = (
    "tables: expected a mapping of table name to DataFrame, got the path {path!s}; "
    "for a folder or database file, use riskstrat.data.load_tables(path, mode=...), which "
    "reads and validates it"
)


def validate_tables(
    tables: Mapping[str, pd.DataFrame],
    mode: Literal["strict", "quarantine"] = "strict",
    reference_date: dt.date | str | None = None,
    rejected_dir: str | Path | None = None,
    *,
    required: Sequence[str] = TABLE_NAMES,
    extra_instruments: Mapping[str, tuple[float, float]] | None = None,
    conditions: Conditions | None = None,
    source: str = "the input",
    as_of: dt.date | str | None = None,
) -> LoadResult:
    """Validate in-memory tables against the input data contract.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Keyed by table name; names outside ``TABLE_NAMES`` are ignored.
    mode : {"strict", "quarantine"}
        ``strict`` raises :class:`DataContractError` at the first violation; ``quarantine``
        drops bad rows (written to ``rejected_dir/<table>.parquet`` with ``row_number``,
        the 0-based position in the input table, ``check`` and ``reason``) and returns
        the rest. A table whose ``attrs["riskstrat_source_files"]`` lists its files in
        reading order with their row counts (as :func:`load_tables` sets it) also gets
        ``source_file`` and ``file_row_number``, the 0-based position in that file;
        strict errors then name the file of each row when there are several.
    reference_date : date or str, optional
        Dates after it are rejected as in the future (default: today, UTC).
    rejected_dir : str or Path, optional
        Where quarantined rows go; nothing is written when None.
    required : sequence of str
        Tables that must be present (default: all eight).
    extra_instruments : mapping, optional
        Assessment instruments a county adds, with their (min, max) score range (default
        those of ``configs/contract.yaml``).
    conditions : Conditions, optional
        Condition groups for ``diagnoses`` (default ``configs/conditions.yaml``).
    source : str
        How error messages name the input.
    as_of : date or str, optional
        The date the tables will be read as of, when there is one: a booking or probation
        start that nothing closes is then warned of as the features read it then, from the
        events before it (default: at the reference date, from every event).

    Returns
    -------
    LoadResult
        ``tables`` (normalised dtypes, accepted rows) and ``report``.
    """
    if isinstance(tables, str | os.PathLike):
        # A folder named here read as a mapping without 'persons' ("table 'persons' is
        # missing"), or not at all.
        raise TypeError(A_FOLDER.format(path=tables))
    if mode not in ("strict", "quarantine"):
        raise ValueError(UNKNOWN_MODE.format(mode=mode))
    strict = mode == "strict"
    reference = _reference(reference_date)
    read_as_of = None if as_of is None else pd.Timestamp(as_date(as_of, "as_of"))
    conditions = conditions or load_conditions()
    if extra_instruments is None:  # the county's configs/contract.yaml, as every command reads
        extra_instruments = default_extra_instruments()
    instruments = instrument_ranges(extra_instruments)
    names = [t for t in TABLE_NAMES if t in tables]
    for table in required:
        if table not in tables:
            others = [t for t in TABLE_NAMES if t not in tables and t != table]
            raise DataContractError(
                MISSING_TABLE.format(table=table, source=source, expected=list(TABLE_NAMES))
                + (f"; also missing: {others}" if others else "")
                + ("" if table == "persons" else NO_SUCH_FEED),
                table=table,
                column=None,
                check="missing_table",
                count=0,
            )
    if "persons" not in tables:
        raise DataContractError(
            MISSING_TABLE.format(table="persons", source=source, expected=["persons"]),
            table="persons",
            column=None,
            check="missing_table",
            count=0,
        )
    accepted_tables: dict[str, pd.DataFrame] = {}
    rejected_tables: dict[str, pd.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    lifespans: Lifespans | None = None
    alike: dict[str, int] = {}  # rows per table naming a persons id written differently
    rejected_ids: pd.Series | None = None
    for table in names:  # persons comes first in TABLE_NAMES: orphans need its result
        raw = tables[table]  # read once: a lazy source reads the table on each access
        files = Sources.of(raw)
        left_out = tuple(warn_extra_columns(table, raw))
        outside = Outside.of(raw, outside_columns(table, raw), left_out)
        refuse_line_breaks(table, raw)
        _check_columns(table, raw)
        # After the required columns are known to be there: a file read with the wrong
        # separator lacks every column, and only its refusal is worth reading.
        absent = warn_missing_optional(table, raw)
        warn_parts_missing_columns(table, raw, files)
        df, unparseable = normalise_table(table, raw)
        layout = layout_rows(table, raw, df["person_id"])
        # The text of the values that did not convert, kept for the quarantine file only.
        originals = {
            column: raw[column].reset_index(drop=True)[mask].astype("str")
            for column, mask in unparseable.items()
        }
        del raw
        if table == "diagnoses" and "icd10" in df.columns and "condition" not in df.columns:
            df = add_conditions(df, conditions)
        elif table == "diagnoses" and {"icd10", "condition"} <= set(df.columns):
            warn_conditions_left_empty(df, conditions)
        _check_dtypes(table, df)
        checks = row_checks(
            table,
            list(df.columns),
            reference_date=reference,
            instruments=instruments,
            condition_names=conditions.names,
            unparseable=unparseable,
            layout=layout,
            serial_days=serial_days(table, originals, unparseable),
        )
        cross = cross_checks(table, lifespans, rejected_ids, outside)
        try:
            accepted, rejected, report = _validate_one(
                table, df, checks, cross, strict, files, originals
            )
        except DataContractError as exc:
            raise with_id_hint(with_outside_hint(exc, outside), df, lifespans) from None
        alike[table] = orphans_written_alike(rejected, lifespans)
        reports[table] = dataclasses.replace(
            report, columns_left_out=left_out, columns_absent=absent
        )
        warn_alike_for_want_of_columns(table, accepted, report)  # df is emptied by now
        warn_alike_outside(table, outside)
        warn_case_slips(table, rejected)
        accepted_tables[table], rejected_tables[table] = accepted, rejected
        # Counts only: never a row, an id or a value.
        logger.info(
            "%s: %d row(s) in, %d accepted, %d rejected %s",
            table,
            reports[table].rows_in,
            reports[table].accepted,
            reports[table].rejected,
            reports[table].by_check or "",
        )
        if table == "persons":
            # Before the other tables: in strict mode their rows would fail as orphans first.
            refuse_empty_persons(reports)
            lifespans = Lifespans.of(accepted)
            # A repeated header's "person_id" is no person: not counted as one rejected.
            records = rejected.loc[~rejected["check"].isin(NO_RECORD), "person_id"]
            ids = pd.Series(records.dropna().unique(), dtype="str")
            # Arrow's lookup: Series.isin against a million ids builds a Python list of them.
            rejected_ids = ids[orphan_ids(ids, lifespans.ids).to_numpy()] if len(ids) else ids
        del df, accepted, rejected, cross, outside
        # Arrow keeps freed buffers for reuse; hand them back before the next table.
        pa.default_memory_pool().release_unused()
    if rejected_dir is not None and not strict:
        check_rejected_dir(rejected_dir)
        owner_only_folder(Path(rejected_dir))  # the input's records as they came
        for table, rejected in rejected_tables.items():
            write_parquet_atomic(rejected, Path(rejected_dir) / f"{table}.parquet")
    warn_thin_tables(reports, alike)
    warn_unclosed(
        accepted_tables.get("justice"),
        reference,
        accepted_tables.get("persons"),
        as_of=read_as_of,
    )
    report = ValidationReport(
        mode=mode,
        reference_date=reference.date(),
        tables=reports,
        persons_rejected=0 if rejected_ids is None else len(rejected_ids),
    )
    return LoadResult(accepted_tables, report)
