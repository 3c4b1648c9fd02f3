"""A table the input lacks reads as no events; the Python API says so, as the commands do.

A county extract without its pharmacy file gave every person ``psychotropic_supply_now``
false, and one without encounters halved the composite outcome's rate, with no word from
:func:`~riskstrat.features.build_features` or :func:`~riskstrat.outcomes.build_outcomes`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from riskstrat.data._codes import TABLE_NAMES
from riskstrat.data._results import DataContractError, ValidationReport

logger = logging.getLogger("riskstrat.data")

MISSING_TABLE = "table {table!r} is missing from {source}; expected tables: {expected}"
# A county without the feed: a table with no rows is one with no events, and passes.
NO_SUCH_FEED = (
    "; an extract without this feed gives the table with no rows (a CSV of its header line "
    "alone), which reads as no events"
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
