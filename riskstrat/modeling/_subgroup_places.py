"""People chosen outright, by group: who each programme's rule lists, and the model's
places among them.

The subgroup table's capacity figures rank the whole test quarter (the k highest risks, no
eligibility rule), which no county does: ``riskstrat score`` offers a programme's places
only to the people its rule lists. So the table also gives, per group, who each
programme's rule lists on the test quarter (``programme_eligible``: everyone eligible)
and, where more are eligible than there are places, the model's places among them
(``model_within_eligible``: what ``score`` would offer), with the same figures: the share
of the group on the list or given a place, recall, precision and false-positive rate, their
ratios to the reference group, and the O/E among the model's places. A rule that lists one
group's people with the outcome more readily than another's shows as a recall ratio,
before any model ranks anyone.

Metric names carry the programme (``selection_rate_at_k_<programme>``; for a rule's list,
``selected_at_k_<programme>`` counts the people on it). Their counts join the table's
disclosure system (:mod:`riskstrat.modeling._subgroups`), with the differences between two
selections when one holds the other on the test quarter (the model's places within the
rule's list; one rule's eligible all among another's), which a reader who knows the rules
can take. The model's places are shown only beside the list they are drawn from: alone,
those of a group left without one would be bounded by what other lists hold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from riskstrat.modeling._disclosure import small_count
from riskstrat.modeling._group_selection import selection_figures
from riskstrat.modeling._subgroup_names import ALL, PROGRAMME_ELIGIBLE


@dataclasses.dataclass(frozen=True, eq=False)
class Places:
    """One scorer's people at one programme: ``chosen`` marks the test rows it lists or
    gives a place.

    ``risk``: the calibrated risks the O/E among them is taken against (None: no O/E, as
    for a rule, which predicts no probability)."""

    scorer: str
    programme: str
    chosen: np.ndarray
    risk: np.ndarray | None = None

    @property
    def key(self) -> str:
        """The name of its counts in the disclosure system."""
        return f"{self.scorer}@{self.programme}"


def grouped_sums(columns: Mapping[str, np.ndarray], groups: np.ndarray) -> pd.DataFrame:
    """Sums per group, then an ``all`` row of the totals; groups in sorted order."""
    sums = pd.DataFrame(columns).groupby(groups, sort=True).sum()
    sums.loc[ALL] = sums.sum()
    sums.index = sums.index.astype("str").rename("group")
    return sums


def expected_top(key: np.ndarray, k: int) -> np.ndarray:
    """Each row's share of a place among the ``k`` highest ``key``: 1 above the cut-off,
    the places left over the people tied at it, 0 below (metrics.csv's expected value)."""
    key = np.asarray(key, dtype=np.float64)
    k = max(0, min(int(k), len(key)))
    if k == 0:
        return np.zeros(len(key))
    cut = np.sort(key)[::-1][k - 1]
    above, tied = key > cut, key == cut
    return np.where(above, 1.0, np.where(tied, (k - above.sum()) / tied.sum(), 0.0))


def selected_rows(key: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` rows with the highest ``key``; ties at the cut-off go to the earlier rows."""
    order = np.argsort(-np.asarray(key, dtype=np.float64), kind="stable")
    chosen = np.zeros(len(order), dtype=bool)
    chosen[order[: max(0, min(int(k), len(order)))]] = True
    return chosen


def place_figures(
    y: np.ndarray, places: Places, groups: np.ndarray, z: float
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Per group (then ``all``): those given a place and those of them with the event
    (``selected_at_k_<p>``, ``selected_events_at_k_<p>``), the four rates with Wilson
    intervals and, with a risk, the O/E among them (:func:`selection_figures`)."""
    chosen = np.asarray(places.chosen, dtype=np.float64)
    risk = np.zeros(len(y)) if places.risk is None else np.asarray(places.risk, np.float64)
    columns = {"n": np.ones(len(y)), "events": y, "selected": chosen, "hits": chosen * y}
    sums = grouped_sums(columns | {"selected_risk": chosen * risk}, groups)
    programme = places.programme
    table = pd.DataFrame(
        {
            f"selected_at_k_{programme}": sums["selected"],
            f"selected_events_at_k_{programme}": sums["hits"],
        }
    )
    figures, bounds = selection_figures(y, chosen, groups, sums, programme, z)
    table[list(figures.columns)] = figures
    if places.risk is None:
        oe = f"observed_to_expected_at_k_{programme}"
        table = table.drop(columns=oe)
        bounds.pop(oe)
    return table, bounds


def nested(selections: Mapping[str, np.ndarray]) -> list[tuple[str, str]]:
    """(inner, outer) pairs of selections, the first wholly within the second on the test
    quarter (equal ones both ways): the people of the outer not in the inner are a count a
    reader can take, and so are their events."""
    chosen = {key: np.asarray(rows, dtype=bool) for key, rows in selections.items()}
    return [
        (inner, outer)
        for inner, a in chosen.items()
        for outer, b in chosen.items()
        if inner != outer and a.any() and not (a & ~b).any()
    ]


def without_small_steps(
    y: np.ndarray, places: Sequence[Places], ranked: Mapping[str, np.ndarray]
) -> list[Places]:
    """The places to show: none with a step of 1 to 10 people, events or non-events to a
    list that holds it or that it holds (another place, one of ``ranked``: lists whose
    totals are published, such as each scorer's top k, as weights where people tied at the
    cut-off count at their share of the places left, or everyone).

    Those steps are county-wide counts the ``all`` rows would publish, of the kind
    ``metrics.csv`` never shows (a precision on 1 to 10 places more than another of the
    same ranking, :mod:`riskstrat.modeling._capacity_steps`), and beside them every group's
    share of such a step is open to narrowing. A place is dropped until no step is small:
    a rule's list before the model's places (whose totals ``metrics.csv`` publishes, so the
    step stays readable without them), the inner of two lists; dropping a rule's list drops
    the model's places drawn from it. Steps are taken between two lists only: a list
    holding two others that the rules keep apart is not checked.
    """
    y = np.asarray(y, dtype=np.float64)
    everyone = {"everyone": np.ones(len(y))}
    kept = list(places)
    while True:
        shown = {p.key: np.asarray(p.chosen, dtype=np.float64) for p in kept}
        weights = {k: np.asarray(w, dtype=np.float64) for k, w in ranked.items()}
        weights |= everyone | shown
        masks = {key: w > 0 for key, w in weights.items()}
        dropped = None
        for inner, outer in nested(masks):
            # As a reader takes it from the published totals: a list with people tied at
            # its cut-off counts them at their expected share, as metrics.csv does.
            people = weights[outer].sum() - weights[inner].sum()
            events = weights[outer] @ y - weights[inner] @ y
            if any(small_count(c) for c in (people, events, people - events)):
                # A rule's list first: the model's places are published in metrics.csv
                # anyway (its precision there), so the step stays readable without them.
                ours = [k for k in (inner, outer) if k in shown]
                ours.sort(key=lambda k: k.split("@")[0] != PROGRAMME_ELIGIBLE)
                if ours:
                    dropped = ours[0]
                    break
        if dropped is None:
            return kept
        gone = next(p for p in kept if p.key == dropped)
        kept = [
            p
            for p in kept
            if p.key != dropped
            and not (gone.scorer == PROGRAMME_ELIGIBLE and p.programme == gone.programme)
        ]
