"""A folder read for analysis: validated, bad rows set aside and counted, never silently.

The Python API's stages (features, outcomes, the training panel) accept a folder as
well as tables already loaded. Read as stored, one bad date (a visit keyed in 2125) moved
the inferred data end and turned censored labels into "no event"; so a folder is read
through the data contract in quarantine mode, as ``riskstrat train`` reads one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from riskstrat.data._codes import TABLE_NAMES
from riskstrat.data._load import load_tables
from riskstrat.data._results import ValidationReport
from riskstrat.data._whole_tables import refuse_rejected_whole

logger = logging.getLogger(__name__)


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
    refuse_rejected_whole(result.report)  # an analysis without a table, unsaid, misleads
    for table, report in result.report.tables.items():
        rejected = getattr(report, "rejected", 0)
        if rejected:
            logger.warning("%s: %d row(s) rejected by the data contract, left out", table, rejected)
    return dict(result.tables), result.report
