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
minus those shown) to an unsafe value, a shown non-zero cell of the smallest group is hidden
too (chosen by size, so every scorer's columns give up the same group where they show a
count there). Each pass hides at least one cell, so it ends. A published total that is itself unsafe
cannot be protected by hiding groups and is left as it is.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

MIN_CELL = 11
UNSETTLED = (
    "disclosure audit: the solver settled no range for {count} count(s) of a table by "
    "group; they are treated as narrow and hidden with more cells than may be needed"
)
logger = logging.getLogger(__name__)
# Expected counts are fractions where scores tie; this close to a whole number is it.
_WHOLE = 1e-9


def small_count(count: float | np.ndarray) -> bool | np.ndarray:
    """Whether a count of people (or each of an array of them) is 1 to 10: from above 0 to
    below ``MIN_CELL``, for expected counts too. The cells no published figure may give."""
    count = np.asarray(count, dtype=np.float64)
    small = (count > _WHOLE) & (count < MIN_CELL - _WHOLE)
    return bool(small) if small.ndim == 0 else small


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
    under_small_totals: bool = False,
) -> pd.DataFrame:
    """Which base cells to hide (True) so no count from 1 to ``min_cell - 1`` can be read.

    The sum and difference rules of the module docstring first; then an audit
    (:func:`narrow_cells`) works out, with an integer program, the range each hidden
    count and each difference can take given everything shown, and while some range
    lies within 1 to ``min_cell - 1`` (a reader would know it is small, or exactly which
    small count), one more cell of its column is hidden (with none left there, of a column
    tied to it by a difference).

    Parameters
    ----------
    cells : DataFrame
        One row per group, one column per base cell (integer counts).
    totals : Series
        The published total of each base cell (index: the columns of ``cells``).
    derived : mapping of name to Derived
        The differences of base cells a reader can take within a group; each is a count
        (never negative), which the audit uses as a constraint.
    size : str
        The base cell holding the group's people: a group under ``min_cell`` is hidden whole.
    min_cell : int
        Smallest count that may be shown.
    under_small_totals : bool
        Protect the groups' counts under a total of 1 to ``min_cell - 1`` too
        (:func:`narrow_cells`).

    Returns
    -------
    DataFrame of bool
        Shaped like ``cells``.
    """
    hidden = pd.DataFrame(unsafe(cells, min_cell), index=cells.index, columns=cells.columns)
    hidden.loc[unsafe(cells[size], min_cell), :] = True
    columns = {name: Derived({name: 1}, name) for name in cells.columns} | dict(derived)
    while True:
        _by_sums_and_differences(cells, totals, columns, hidden, min_cell, cells[size])
        more = False
        pinned = list(narrow_cells(cells, totals, derived, hidden, min_cell, under_small_totals))
        if not pinned:
            return hidden  # every hidden count and difference is open enough
        for _group, name in pinned:
            # Widen it: hide a shown cell of its column, else of another column it is made
            # of: the smallest non-zero one, as for sums, failing that a zero of the
            # largest group (a known 0 pins the others as surely as any count).
            cell = columns[name]
            own = [cell.hide, *cell.coefficients]
            # With nothing left to hide there, a column tied to it by a difference: a group
            # whose people are all selected has as many selected events as events.
            related = [
                c
                for d in derived.values()
                if set(d.coefficients) & set(own)
                for c in d.coefficients
            ]
            for column in dict.fromkeys(own + related):
                shown = cells.loc[~hidden[column], column]
                if shown.empty:
                    continue
                nonzero = shown[shown > 0]
                if column not in own and _group in shown.index:
                    pick = _group  # its own cell first: the least hidden (a review measured)
                elif len(nonzero):
                    pick = _smallest_group(nonzero, cells[size])
                else:
                    pick = cells.loc[shown.index, size].idxmax()
                hidden.loc[pick, column] = more = True
                break
            if more:
                break
        if not more:
            # Pinned, with nothing left in its columns or those tied to it to hide: hide
            # everything rather than publish a count of 1 to 10.
            hidden.loc[:, :] = True
            return hidden


def _smallest_group(candidates: pd.Series, sizes: pd.Series) -> object:
    """The group to hide one more cell of: the smallest group (then the smallest count).

    Chosen by the group's size, which is the same in every scorer's columns, rather than by
    the count, which is not: by the count, one scorer's selections hid F's and another's M's,
    so no group could be compared across scorers. The smallest group's figures are also the
    least precise, so hiding them loses the least."""
    order = sorted(candidates.index, key=lambda g: (sizes[g], candidates[g], str(g)))
    return order[0]


def _by_sums_and_differences(
    cells: pd.DataFrame,
    totals: pd.Series,
    columns: Mapping[str, Derived],
    hidden: pd.DataFrame,
    min_cell: int,
    sizes: pd.Series,
) -> None:
    """The two rules of the module docstring, applied to ``hidden`` in place until stable
    (``sizes``: each group's people, which orders the cells a sum hides)."""
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
                hidden.loc[_smallest_group(candidates, sizes), cell.hide] = changed = True


def narrow_cells(
    cells: pd.DataFrame,
    totals: pd.Series,
    derived: Mapping[str, Derived],
    hidden: pd.DataFrame,
    min_cell: int = MIN_CELL,
    under_small_totals: bool = False,
) -> list[tuple[object, str]]:
    """(group, cell) pairs a reader can pin within 1 to ``min_cell - 1``.

    ``under_small_totals``: also a cell whose column (or difference) totals 1 to
    ``min_cell - 1``, which is otherwise left out as the published total gives it. A table
    that does not publish such totals, or whose totals a reader may work out only as a
    county-wide count, wants it: its groups' shares of a small total are then kept open
    (one group shown as the only one that could hold them would be a group's count).

    A reader knows every shown count, each column's total, and that every count and every
    difference is at least zero. For each hidden count, and each difference with a hidden
    part, the least and greatest whole value it can take under those constraints come from
    two integer programs (HiGHS, through scipy); a range inside 1 to ``min_cell - 1`` is
    narrow. Cells nobody can pin (a range reaching 0 or ``min_cell``) are safe. Only a
    solution checked against every constraint makes a cell safe (:func:`_solve`); a
    cell no solution settles is narrow, and a warning counts them.
    """
    unknown = [(g, c) for c in cells.columns for g in cells.index if hidden.loc[g, c]]
    if not unknown:
        return []
    index = {key: i for i, key in enumerate(unknown)}
    rows, lower, upper = [], [], []

    def linear(terms: Mapping[tuple[object, str], int]) -> tuple[np.ndarray, float]:
        """Coefficients on the unknowns, and the part the shown cells make up."""
        row, constant = np.zeros(len(unknown)), 0.0
        for key, coefficient in terms.items():
            if key in index:
                row[index[key]] += coefficient
            else:
                constant += coefficient * cells.loc[key]
        return row, constant

    def constraint(terms: Mapping[tuple[object, str], int], low: float, high: float) -> None:
        row, constant = linear(terms)
        if row.any():
            rows.append(row)
            lower.append(low - constant)
            upper.append(high - constant)

    for column in cells.columns:
        total = float(totals[column])
        constraint({(g, column): 1 for g in cells.index}, total, total)
    # A column whose published total is itself under min_cell bounds every cell in it
    # below min_cell: nothing hidden can widen that, and the total says it already.
    column_totals = {c: float(totals[c]) for c in cells.columns}
    floor = 1 if under_small_totals else min_cell
    targets = {(g, c): {(g, c): 1} for g, c in unknown if column_totals[c] >= floor}
    for name, cell in derived.items():
        total = sum(c * float(totals[b]) for b, c in cell.coefficients.items())
        for g in cells.index:
            terms = {(g, b): c for b, c in cell.coefficients.items()}
            constraint(terms, 0.0, np.inf)
            if any(key in index for key in terms) and total >= floor:
                targets[(g, name)] = terms
    problem = {
        "constraints": LinearConstraint(np.array(rows), lower, upper) if rows else (),
        "bounds": Bounds(0, float(totals.max())),
        "integrality": np.ones(len(unknown)),
    }
    # Any whole solution a reader cannot rule out in which a target is 0, or min_cell or
    # more, shows that target is not narrow: the solutions found so far are tried first,
    # and most targets need no program of their own.
    witnesses = [
        w
        for w in (_solve(np.ones(len(unknown)), problem), _solve(-np.ones(len(unknown)), problem))
        if w is not None
    ]
    narrow, unsettled = [], 0
    for key, terms in targets.items():
        objective, constant = linear(terms)
        if any(not 1 <= objective @ w + constant < min_cell for w in witnesses):
            continue
        most = _solve(-objective, problem)
        if most is None:  # not settled: hidden more, never published on a guess
            narrow.append(key)
            unsettled += 1
            continue
        witnesses.append(most)
        if not 1 <= objective @ most + constant < min_cell:
            continue  # can reach min_cell, or is 0
        least = _solve(objective, problem)
        unsettled += least is None
        if least is None or objective @ least + constant >= 1:
            narrow.append(key)
    if unsettled:
        # Counts only: which cells, never their values.
        logger.warning(UNSETTLED.format(count=unsettled))
    return narrow


def _solve(objective: np.ndarray, problem: Mapping[str, object]) -> np.ndarray | None:
    """A whole solution the solver reports as minimising ``objective``, checked against
    every constraint, or None when none checks out.

    HiGHS's presolve (in scipy's ``milp``) has called feasible problems infeasible and
    reported wrong optima (HiGHS issues #1710, #1959, #2402): so a failure is solved again
    without it, and only a solution that meets every constraint is returned. Its value is
    then one a reader cannot rule out, which is all the audit passes a target on; an optimum
    the solver gets wrong can only make a range look narrower, and hide more.
    """
    for options in ({}, {"presolve": False}):
        result = milp(objective, options=options, **problem)
        if result.success:
            solution = np.round(result.x)
            if _meets(solution, problem):
                return solution
    return None


def _meets(x: np.ndarray, problem: Mapping[str, object]) -> bool:
    bounds, constraints = problem["bounds"], problem["constraints"]
    if (x < bounds.lb - _WHOLE).any() or (x > bounds.ub + _WHOLE).any():
        return False
    if not isinstance(constraints, LinearConstraint):
        return True  # no constraint rows
    values = constraints.A @ x
    return bool(((values >= constraints.lb - 1e-6) & (values <= constraints.ub + 1e-6)).all())
