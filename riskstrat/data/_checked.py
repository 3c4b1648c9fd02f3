"""Tables read for analysis: validated, bad rows set aside and counted, never silently.

The Python API's stages (features, outcomes, the training panel) accept a folder as
well as tables already loaded. Read as stored, one bad date (a visit keyed in 2125) moved
the inferred data end and turned censored labels into "no event"; so a folder is read
through the data contract in quarantine mode, as ``riskstrat train`` reads one.

Tables given in memory are held to the same contract. The frames validation returns
are remembered (by identity, weakly), so tables from :func:`load_tables` pass straight
through; any other frame, including one derived from them (``.assign``, a filter), is
validated on the way in. An upper-cased setting code otherwise counted no ED visit at
all, without a word.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from riskstrat.data._codes import TABLE_NAMES, check_table_names
from riskstrat.data._load import load_tables
from riskstrat.data._results import ValidationReport
from riskstrat.data._whole_tables import refuse_rejected_whole

logger = logging.getLogger(__name__)
# id -> weak reference of each frame validation returned; an entry dies with its frame.
_VALIDATED: dict[int, weakref.ref] = {}


def mark_validated(frames: Iterable[object]) -> None:
    """Remember ``frames`` as returned by validation (their later in-place edits are not seen)."""
    for frame in frames:
        if isinstance(frame, pd.DataFrame):
            key = id(frame)
            _VALIDATED[key] = weakref.ref(frame, lambda _ref, key=key: _VALIDATED.pop(key, None))


def is_validated(frame: object) -> bool:
    """Whether ``frame`` is itself a frame validation returned."""
    ref = _VALIDATED.get(id(frame))
    return ref is not None and ref() is frame


def checked_tables(
    tables: Mapping[str, pd.DataFrame] | str | Path,
    required: Sequence[str] = ("persons",),
) -> tuple[dict[str, pd.DataFrame], ValidationReport | None]:
    """``tables`` held to the data contract, and the report of a validation this made.

    A folder is read by :func:`load_checked`; a mapping of frames validation returned
    passes as it is (report None); any other mapping is validated now in quarantine
    mode: bad rows set aside and counted, a table rejected whole or mostly refused.
    """
    if isinstance(tables, str | Path):
        return load_checked(tables, required=required)
    if isinstance(tables, Mapping):
        check_table_names(tables)  # validation ignores other keys: "encounter" read as none
    if not isinstance(tables, Mapping) or all(
        is_validated(frame) for name, frame in tables.items() if name in TABLE_NAMES
    ):
        return tables, None  # type: ignore[return-value]
    from riskstrat.data._validate import validate_tables

    result = validate_tables(tables, mode="quarantine", required=required)
    return _refused_or_warned(result.tables, result.report), result.report


def _refused_or_warned(
    tables: Mapping[str, pd.DataFrame], report: ValidationReport
) -> dict[str, pd.DataFrame]:
    refuse_rejected_whole(report)  # an analysis without a table, unsaid, misleads
    for table, r in report.tables.items():
        if r.rejected:
            logger.warning(
                "%s: %d row(s) rejected by the data contract, left out", table, r.rejected
            )
    return dict(tables)


def load_checked(
    path: str | Path, required: Sequence[str] = TABLE_NAMES
) -> tuple[dict[str, pd.DataFrame], ValidationReport]:
    """Read and validate a folder of linked tables, setting bad rows aside.

    Quarantine mode: rows breaking the contract are left out and the rest is used, so a
    handful of bad rows does not stop an analysis; the rejected counts per table are
    logged (counts only) and returned in the report. A table rejected whole, or mostly,
    is refused. Run ``riskstrat validate`` for the reasons row by row.

    Parameters
    ----------
    path : str or Path
        Folder of ``<table>.parquet`` / ``<table>.csv`` files or ``<table>/`` datasets,
        or a DuckDB database file.
    required : sequence of str
        Tables that must be present (default all of the contract's).

    Returns
    -------
    tables : dict of table name to DataFrame
    report : ValidationReport
    """
    result = load_tables(path, mode="quarantine", required=required)
    return _refused_or_warned(result.tables, result.report), result.report
