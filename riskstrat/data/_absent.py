"""A table the input lacks reads as no events; the Python API says so, as the commands do.

A county extract without its pharmacy file gave every person ``psychotropic_supply_now``
false, and one without encounters halved the composite outcome's rate, with no word from
:func:`~riskstrat.features.build_features` or :func:`~riskstrat.outcomes.build_outcomes`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from riskstrat.data._codes import TABLE_NAMES
from riskstrat.data._results import DataContractError, ValidationReport

logger = logging.getLogger("riskstrat.data")

MISSING_TABLE = "table {table!r} is missing from {source}; expected tables: {expected}"
# A county without the feed: a table with no rows is one with no events, and passes.
NO_SUCH_FEED = (
    "; an extract without this feed gives the table with no rows (a CSV of its header line "
    "alone, or an empty database table), which reads as no events"
)

ABSENT = "no %s table in the input: read as no events by %s"
SHOWN = 5


def warn_absent(present: Iterable[str], readers: Mapping[str, Sequence[str]], what: str) -> None:
    """One warning per table some of ``readers`` (``what``: features, outcomes) read and
    ``present`` lacks, naming the first few of them."""
    present = set(present)
    for table, names in readers.items():
        if table in present or not names:
            continue
        if len(names) == 1:
            readers_text = f"{what.rstrip('s')} {names[0]}"
        else:
            more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
            readers_text = f"{len(names)} {what} ({', '.join(names[:SHOWN])}{more})"
        logger.warning(ABSENT, table, readers_text)


def refuse_missing_tables(report: ValidationReport, source: object) -> None:
    """Raise :class:`DataContractError` for the contract's tables ``report`` lacks: after the
    others are checked and counted, as ``riskstrat validate`` reports them."""
    missing = [t for t in TABLE_NAMES if t not in report.tables]
    if not missing:
        return
    also = f"; also missing: {missing[1:]}" if len(missing) > 1 else ""
    raise DataContractError(
        MISSING_TABLE.format(table=missing[0], source=source, expected=list(TABLE_NAMES))
        + also
        + NO_SUCH_FEED,
        table=missing[0],
        column=None,
        check="missing_table",
        count=0,
    )


def noting_missing(exc: DataContractError, missing: Sequence[str]) -> DataContractError:
    """Another failure that stopped ``riskstrat validate``, saying which tables are missing
    too: a county fixing it learns of them now, not on the next run."""
    missing = [t for t in missing if t != exc.table]
    if not missing or exc.check == "missing_table":
        return exc
    return exc.extended(f"; the input lacks tables {missing} too{NO_SUCH_FEED}")


def missing_tables(source: object) -> list[str]:
    """The contract's tables a folder or database file lacks, as far as can be told
    without reading them (none when the source itself cannot be listed: its reader says
    why)."""
    import duckdb

    from riskstrat.data._load import _LazyTables

    try:
        present = _LazyTables(Path(source))
    except (OSError, ValueError, duckdb.Error):  # its reader says why, when it reads it
        return []
    return [t for t in TABLE_NAMES if t not in present]
