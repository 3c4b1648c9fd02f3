"""No list ``metrics.csv`` publishes stands 1 to 10 people's outcomes from one that holds it.

A precision (with the published number of places) is the count of the list's people who had
the event. :mod:`riskstrat.modeling._capacity_steps` keeps the steps between capacities of
one ranking safe; lists drawn from different rankings can hold one another too. Where the
model's 255 highest risks (ISR's capacity) are all eligible for Re-entry, they lie within its
271 places among Re-entry's eligible (``model_within_eligible``), and the two precisions give
the outcomes of the 16 people between; the rule's places can hold another scorer's top k in
the same way, and any list is held by everyone (the quarter's published totals). So, after
the capacity steps are hidden, a list's figures are hidden while it and another published
list that holds it (or that it holds) differ by 1 to 10 people, events or non-events,
counted as ``metrics.csv`` counts them (people tied at a cut-off at their expected share; a
list holds another where it gives every person at least the other's share).
Of two such lists the later in :func:`list_order` goes: each scorer's capacities before the
programme rules' own places, the model's before the others', ISR and TOC first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from riskstrat.modeling._capacity_steps import AT_K, capacity_figures
from riskstrat.modeling._disclosure import small_count
from riskstrat.modeling._programme_rule import LIFT_SCORER, MODEL_AT_RULE_PLACES
from riskstrat.modeling._subgroup_names import MODEL_WITHIN_ELIGIBLE, PROGRAMME_RULE

EVERYONE = "everyone"
TOLERANCE = 1e-9
# The programme rules' own lists, in the order they are kept: the rule's, then the model's.
OWN_LISTS = (PROGRAMME_RULE, MODEL_AT_RULE_PLACES, MODEL_WITHIN_ELIGIBLE)


def list_figures(key: str, scorers: Sequence[str]) -> set[tuple[str, str]]:
    """The ``metrics.csv`` rows (scorer, metric) that give a list's events: its precision
    and recall, and every comparison with a figure shown that would give them back.

    ``key`` is a :func:`riskstrat.modeling._programme_rule.published_lists` name:
    ``<scorer>@k_<programme>`` for a scorer's top k, ``<own list>@<programme>`` for a
    programme rule's places and the model's places beside them."""
    name, programme = split_key(key)
    if name in OWN_LISTS:
        out = {(name, m.format(p=programme)) for m in AT_K}
        if name != MODEL_WITHIN_ELIGIBLE:  # the lift is the model's precision over the rule's
            out.add((LIFT_SCORER, f"lift_precision_at_k_{programme}"))
        return out
    return capacity_figures(name, programme, scorers)


def list_order(keys: Sequence[str], scorers: Sequence[str], programmes: Sequence[str]) -> list:
    """``keys`` from the one kept first to the one hidden first: the model's capacities,
    then each other scorer's (in ``scorers`` order), then per programme the rule's places,
    the model's top as many and its places among the eligible; capacities in
    ``programmes`` order."""

    def rank(key: str) -> tuple[int, int]:
        name, programme = split_key(key)
        if name in OWN_LISTS:
            who = len(scorers) + OWN_LISTS.index(name)
        else:
            who = list(scorers).index(name)  # the model first, as given
        return who, list(programmes).index(programme)

    return sorted(keys, key=rank)


def hide_list_steps(
    metrics: pd.DataFrame,
    y: np.ndarray,
    lists: Mapping[str, np.ndarray],
    scorers: Sequence[str],
    programmes: Sequence[str],
) -> pd.DataFrame:
    """``metrics`` with the figures of a list hidden (NaN, with their bounds) until no
    published list stands 1 to 10 people, events or non-events from one that holds it.

    Parameters
    ----------
    metrics : DataFrame
        Long table of :func:`riskstrat.modeling.evaluate`, capacity steps already hidden
        (:func:`riskstrat.modeling._capacity_steps.hide_capacity_steps`).
    y : array of 0/1
    lists : mapping of list name to each row's share of a place
        :func:`riskstrat.modeling._programme_rule.published_lists`; a list is published
        where its precision is shown in ``metrics``.
    scorers : sequence of str
        The ranked scorers, the model first.
    programmes : sequence of str
        The capacities' programmes, in order of priority.

    Returns
    -------
    DataFrame
    """
    point = metrics.set_index(["scorer", "metric"])["estimate"]
    shown = [
        key
        for key in list_order(list(lists), scorers, programmes)
        if np.isfinite(point.get(_precision(key), np.nan))
    ]
    hide = {f for key in hidden_lists(y, lists, shown) for f in list_figures(key, scorers)}
    if not hide:
        return metrics
    hidden = pd.MultiIndex.from_frame(metrics[["scorer", "metric"]]).isin(list(hide))
    out = metrics.copy()
    out.loc[hidden, ["estimate", "lower", "upper"]] = np.nan
    return out


def hidden_lists(y: np.ndarray, lists: Mapping[str, np.ndarray], shown: Sequence[str]) -> list[str]:
    """The lists of ``shown`` (published, the one kept first first) to hide so that no two
    left, nor one and everyone, differ by 1 to 10 people, events or non-events where one
    holds the other: of two such, the later goes, until no step is small."""
    y = np.asarray(y, dtype=np.float64)
    weights = {key: np.asarray(lists[key], dtype=np.float64) for key in shown}
    weights[EVERYONE] = np.ones(len(y))
    hidden = []
    while (step := _first_small_step(y, weights)) is not None:
        # Everyone is published whatever is hidden: the other list goes.
        later = max((k for k in step if k != EVERYONE), key=list(shown).index)
        hidden.append(later)
        del weights[later]
    return hidden


def split_key(key: str) -> tuple[str, str]:
    """(scorer, programme) of a list name."""
    name, _, rest = key.partition("@")
    return name, rest if name in OWN_LISTS else rest.removeprefix("k_")


def _precision(key: str) -> tuple[str, str]:
    """The row whose figure says a list is published: its precision."""
    name, programme = split_key(key)
    return name, f"precision_at_k_{programme}"


def _first_small_step(y: np.ndarray, weights: Mapping[str, np.ndarray]) -> tuple | None:
    for inner, a in weights.items():
        for outer, b in weights.items():
            # One holds the other where it gives every row at least the other's share: a
            # top k cutting into a block of ties (a baseline's many zeros) holds only part
            # of each person in it, and the difference is no set of people.
            if inner == outer or not a.any() or (a > b + TOLERANCE).any():
                continue
            people, events = b.sum() - a.sum(), b @ y - a @ y
            if any(small_count(c) for c in (people, events, people - events)):
                return inner, outer
    return None
