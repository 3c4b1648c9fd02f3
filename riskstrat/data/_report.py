"""Render a :class:`ValidationReport` for people (rich table) and machines (JSON)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from rich.table import Table

from riskstrat._atomic import atomic_file
from riskstrat.data._results import ValidationReport


def report_table(report: ValidationReport) -> Table:
    """A rich table: one row per table with rows in, accepted, rejected and counts per check.

    Parameters
    ----------
    report : ValidationReport

    Returns
    -------
    rich.table.Table
    """
    table = Table(
        "table",
        "rows in",
        "accepted",
        "rejected",
        "rejected by check",
        title=f"Validation ({report.mode}, reference date {report.reference_date})",
    )
    for name, t in report.tables.items():
        checks = "\n".join(f"{check}: {n:,}" for check, n in t.by_check.items()) or "-"
        table.add_row(name, f"{t.rows_in:,}", f"{t.accepted:,}", f"{t.rejected:,}", checks)
    return table


def write_report_json(
    report: ValidationReport, path: str | Path, failed: Exception | None = None
) -> None:
    """Write ``report.to_dict()`` as JSON, atomically (temporary file, then ``os.replace``).

    Parameters
    ----------
    report : ValidationReport
    path : str or Path
    failed : Exception, optional
        What refused the run after its report (a quarantine that emptied a table), added
        under ``failed`` as :func:`write_failure_json` writes it.
    """
    content = report.to_dict()
    if failed is not None:
        content["failed"] = _failure(failed)
    _write_json(content, path)


def write_failure_json(
    error: Exception, path: str | Path, *, mode: str, reference_date: dt.date
) -> None:
    """Write what stopped a validation as JSON, for a batch job that reads no terminal.

    Parameters
    ----------
    error : Exception
        What stopped it: a :class:`DataContractError` names the table, column and check and
        how many rows failed it; another error (two files of one table, an unreadable
        folder) gives its kind as the check.
    path : str or Path
    mode : str
        ``strict`` or ``quarantine``.
    reference_date : date
        The reference date the run used (today when none was given).

    Strict mode stops at the first violation, so there are no per-table counts. The JSON
    holds counts and names only; the message, which may show a common value, stays on the
    terminal.
    """
    content = {"mode": mode, "reference_date": reference_date.isoformat()}
    _write_json({**content, "failed": _failure(error)}, path)


def _failure(error: Exception) -> dict:
    return {
        "table": getattr(error, "table", None),
        "column": getattr(error, "column", None),
        "check": getattr(error, "check", type(error).__name__),
        "rows": getattr(error, "count", None),
    }


def _write_json(content: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2)
