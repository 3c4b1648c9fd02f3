"""Tables read for analysis: validated, bad rows set aside and counted, never silently.

The Python API's stages (features, outcomes, the training panel) accept a folder as
well as tables already loaded. Read as stored, one bad date (a visit keyed in 2125) moved
the inferred data end and turned censored labels into "no event"; so a folder is read
through the data contract in quarantine mode, as ``riskstrat train`` reads one.

Tables given in memory are held to the same contract, on every call: a frame edited
in place (``df["setting"] = ...``) looks like the one validated, and an upper-cased
setting code otherwise counted no ED visit at all, without a word. Events of people the
persons table leaves out are set aside as orphans but do not refuse a table in memory: a
persons table filtered to one SPA is an analysis, not a broken link.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from riskstrat.data._checks import ORPHAN_PERSON_ID
from riskstrat.data._codes import TABLE_NAMES, check_table_names
from riskstrat.data._crossrow import NOT_IN_PERSONS
from riskstrat.data._load import load_tables
from riskstrat.data._results import ValidationReport
from riskstrat.data._whole_tables import refuse_rejected_whole

logger = logging.getLogger(__name__)


def checked_tables(
    tables: Mapping[str, pd.DataFrame] | str | Path,
    required: Sequence[str] = ("persons",),
    as_of: dt.date | None = None,
) -> tuple[dict[str, pd.DataFrame], ValidationReport]:
    """``tables`` held to the data contract, and the report of their validation.

    A folder is read by :func:`load_checked`; a mapping of tables is validated in
    quarantine mode: bad rows set aside and counted, a table rejected whole or mostly
    (orphaned events aside) refused. ``as_of``: the (latest) date they will be read as of,
    for the warnings of terms nothing closes (:func:`riskstrat.data.validate_tables`).
    """
    if isinstance(tables, str | Path):
        return load_checked(tables, required=required, as_of=as_of)
    check_table_names(tables)  # validation ignores other keys: "encounter" read as none
    from riskstrat.data._validate import validate_tables

    result = validate_tables(tables, mode="quarantine", required=required, as_of=as_of)
    # Events of ids in no persons row: a filter's doing, not a broken link (those of a
    # rejected persons row still count).
    ignore = (f"{NOT_IN_PERSONS} ({ORPHAN_PERSON_ID})",)
    kept = _refused_or_warned(result.tables, result.report, ignore=ignore)
    return kept, result.report


def _refused_or_warned(
    tables: Mapping[str, pd.DataFrame], report: ValidationReport, ignore: Sequence[str] = ()
) -> dict[str, pd.DataFrame]:
    refuse_rejected_whole(report, ignore=ignore)  # an analysis without a table, unsaid, misleads
    for table, r in report.tables.items():
        if r.rejected:
            logger.warning(
                "%s: %d row(s) rejected by the data contract, left out", table, r.rejected
            )
    return dict(tables)


def load_checked(
    path: str | Path, required: Sequence[str] = TABLE_NAMES, as_of: dt.date | None = None
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
    as_of : datetime.date, optional
        The (latest) date the tables will be read as of, for the warnings of terms nothing
        closes.

    Returns
    -------
    tables : dict of table name to DataFrame
    report : ValidationReport
    """
    result = load_tables(path, mode="quarantine", required=required, as_of=as_of)
    return _refused_or_warned(result.tables, result.report), result.report
