"""Small-cell suppression of counts by group, closed under the sums and differences a reader can take.

Hiding each count from 1 to 10 is not enough when totals and several counts per group are
published: with the total and every group but two shown, the two hidden ones add up to the
difference; with a group's people and events shown, its non-events are a subtraction
away. So the counts are treated as a system (the idea of CMS cell-size suppression with
complementary suppression, as statistical agencies apply it):

- base cells per group, such as people ``n``, events ``e``, selected ``s`` and selected
  with the event ``h``, each with a published total (the whole test quarter);
- derived cells, linear in the base cells (``n - e``, ``s - h``, ``n - s - e + h``, ...),
  each naming the base cell to hide when it would give the derived one away.

A cell is unsafe when its value is from 1 to ``min_cell - 1``. Starting from the unsafe
base cells (and every cell of a group under ``min_cell`` people), two rules repeat until
neither hides anything more: a derived cell that is unsafe while all its base cells show
hides its designated base cell; and in each column, when the cells hidden add up (total
minus those shown) to an unsafe value, the smallest shown non-zero cell is hidden too.
Each pass hides at least one cell, so it ends. A published total that is itself unsafe
cannot be protected by hiding groups and is left as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

MIN_CELL = 11


@dataclasses.dataclass(frozen=True)
class Derived:
    """A derived cell: ``sum(coefficient x base cell)``, and the base cell that hides it."""

    coefficients: Mapping[str, int]
    hide: str


def unsafe(values: pd.Series | np.ndarray, min_cell: int = MIN_CELL) -> np.ndarray:
    """Counts from 1 to ``min_cell - 1`` (zero is safe: there is nobody to single out)."""
    values = np.asarray(values, dtype=np.float64)
    return (values > 0) & (values < min_cell)


def suppress(
    cells: pd.DataFrame,
    totals: pd.Series,
    derived: Mapping[str, Derived],
    *,
    size: str = "n",
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Which base cells to hide (True) so no count from 1 to ``min_cell - 1`` can be read.

    Parameters
    ----------
    cells : DataFrame
        One row per group, one column per base cell (integer counts).
    totals : Series
        The published total of each base cell (index: the columns of ``cells``).
    derived : mapping of name to Derived
        The differences of base cells a reader can take within a group.
    size : str
        The base cell holding the group's people: a group under ``min_cell`` is hidden whole.
    min_cell : int
        Smallest count that may be shown.

    Returns
    -------
    DataFrame of bool
        Shaped like ``cells``.
    """
    hidden = pd.DataFrame(unsafe(cells, min_cell), index=cells.index, columns=cells.columns)
    hidden.loc[unsafe(cells[size], min_cell), :] = True
    columns = {name: Derived({name: 1}, name) for name in cells.columns} | dict(derived)
    changed = True
    while changed:
        changed = False
        for name, cell in columns.items():
            base = list(cell.coefficients)
            values = sum(c * cells[b] for b, c in cell.coefficients.items())
            shown = ~hidden[base].any(axis=1)
            if name not in cells.columns:  # a difference within each group
                exposed = shown & unsafe(values, min_cell)
                if exposed.any():
                    hidden.loc[exposed, cell.hide] = changed = True
                    shown &= ~exposed
            if shown.all():
                continue
            total = sum(c * totals[b] for b, c in cell.coefficients.items())
            rest = total - values[shown].sum()
            candidates = values[shown & (values > 0)]
            if unsafe([rest], min_cell)[0] and len(candidates):
                hidden.loc[candidates.idxmin(), cell.hide] = changed = True
    return hidden
