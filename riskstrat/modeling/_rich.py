"""Rich tables of text cells, as `riskstrat train` prints its evaluation."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text


def text_table(
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    left: Sequence[str] = (),
    caption: str = "",
) -> Table:
    """A table of ``rows`` under ``header``: the ``left`` columns left-aligned, the rest
    right-aligned. Cells are Text, so brackets in a group name or a label are never read as
    rich markup."""
    table = Table(title=Text(title), caption=Text(caption) if caption else None)
    for column in header:
        table.add_column(column, justify="left" if column in left else "right")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table
