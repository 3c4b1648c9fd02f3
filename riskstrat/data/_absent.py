"""A table the input lacks reads as no events; the Python API says so, as the commands do.

A county extract without its pharmacy file gave every person ``psychotropic_supply_now``
false, and one without encounters halved the composite outcome's rate, with no word from
:func:`~riskstrat.features.build_features` or :func:`~riskstrat.outcomes.build_outcomes`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

logger = logging.getLogger("riskstrat.data")

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
