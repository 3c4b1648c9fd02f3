"""Precision at several capacities of one ranking, published without a step of 1 to 10 people.

Precision at k times k is the number of the top k who had the event. Given it at two
capacities of the same ranking (ISR's 255 and RBC's 225, or the model at the programme
rule's 271 places), a reader subtracts: 8 of the people ranked 226 to 255 did not have
the event. So, as the curves are drawn (:mod:`riskstrat.modeling._plots`), a capacity's
precision and recall are shown only when the people between it and the nearest capacity
shown, and those between it and everyone (the published totals), hold 0 or at least 11
events and as many non-events. A capacity's own count is its precision, the figure a
programme is judged by, and is published as such, unless the capacity itself is under 11
places (a county scaled down with ``capacity_scale``). Capacities are taken in the order given
(``model.metrics.capacity_programs``, ISR and TOC first), each shown if it keeps every
step safe: where two clash, the earlier one is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from riskstrat.modeling._disclosure import MIN_CELL, small_count
from riskstrat.modeling._plots import expected_hits
from riskstrat.modeling._programme_rule import (
    LIFT_SCORER,
    MODEL,
    MODEL_AT_RULE_PLACES,
    PROGRAMME_RULE,
)

AT_K = ("precision_at_k_{p}", "recall_at_k_{p}")
COMPARED = ("diff_precision_at_k_{p}", "diff_recall_at_k_{p}", "lift_precision_at_k_{p}")
# The model at a programme rule's places is a capacity of the model's own ranking.
PLACES = "places:"


def hidden_capacities(y: np.ndarray, ranking: np.ndarray, ks: Mapping[str, int]) -> set[str]:
    """The names in ``ks`` whose precision would give away 1 to 10 people's outcomes.

    Parameters
    ----------
    y : array of 0/1
        Outcomes of the ranked rows (all of them: their totals are published).
    ranking : array
        Higher ranks first; ties count at their expected value, as precision at k does.
    ks : mapping of name to k
        In order of priority: a capacity is shown when its steps to the nearest ones
        already shown (or everyone) are safe.

    Returns
    -------
    set of str
    """
    y = np.asarray(y, dtype=np.float64)
    n, events = len(y), float(y.sum())
    sizes = {name: min(int(k), n) for name, k in ks.items() if k > 0}
    at = sorted(set(sizes.values()))
    hits = dict(zip(at, expected_hits(y, np.asarray(ranking), np.array(at)), strict=True))
    hits[0], hits[n] = 0.0, events  # nobody and everyone: published anyway
    shown = [0, n]
    for k in sizes.values():  # in the order given: the first wins a clash
        if k in shown or k < MIN_CELL:  # fewer than 11 people's outcomes: never shown
            continue
        i = int(np.searchsorted(shown, k))
        below, above = shown[i - 1], shown[i]
        # A capacity's own count (from nobody) is its precision, the programme's figure,
        # published as such; the steps between capacities, and to everyone, are not.
        lower_ok = below == 0 or _shown_step(k - below, hits[k] - hits[below])
        if lower_ok and _shown_step(above - k, hits[above] - hits[k]):
            shown.insert(i, k)
    return {name for name, k in sizes.items() if k not in shown}


def _shown_step(people: float, events: float) -> bool:
    return not (small_count(events) or small_count(people - events))


def hide_capacity_steps(
    metrics: pd.DataFrame,
    y: np.ndarray,
    rankings: Mapping[str, np.ndarray],
    ks: Mapping[str, int],
) -> pd.DataFrame:
    """``metrics`` with each scorer's precision and recall at k hidden (NaN) where a step
    between its capacities would give away 1 to 10 people's outcomes, and every
    comparison that would give the hidden figure back.

    Parameters
    ----------
    metrics : DataFrame
        Long table (``scorer``, ``metric``, ``estimate``, ``lower``, ``upper``) of
        :func:`riskstrat.modeling.evaluate`, the programme rule's rows included.
    y : array of 0/1
    rankings : mapping of scorer to ranking key
    ks : mapping of programme to capacity

    Returns
    -------
    DataFrame
    """
    places = _rule_places(metrics)
    hide: set[tuple[str, str]] = set()
    for scorer, ranking in rankings.items():
        wanted = dict(ks)
        if scorer == MODEL:
            wanted.update({PLACES + p: k for p, k in places.items()})
        for name in hidden_capacities(y, ranking, wanted):
            if name.startswith(PLACES):
                p = name.removeprefix(PLACES)
                hide |= {(MODEL_AT_RULE_PLACES, m.format(p=p)) for m in AT_K}
                hide.add((LIFT_SCORER, f"lift_precision_at_k_{p}"))
                continue
            hide |= capacity_figures(scorer, name, list(rankings))
    if not hide:
        return metrics
    keys = pd.MultiIndex.from_frame(metrics[["scorer", "metric"]])
    hidden = keys.isin(list(hide))
    out = metrics.copy()
    out.loc[hidden, ["estimate", "lower", "upper"]] = np.nan
    return out


def capacity_figures(scorer: str, programme: str, scorers: Sequence[str]) -> set[tuple[str, str]]:
    """The rows (scorer, metric) that give a scorer's events at a capacity: its precision
    and recall, and every difference or ratio with a figure shown that would give them back
    (the model is compared with every other scorer, each other scorer with the model)."""
    out = {(scorer, m.format(p=programme)) for m in AT_K}
    others = [o for o in scorers if o != MODEL] if scorer == MODEL else [scorer]
    return out | {(f"{MODEL}_vs_{o}", m.format(p=programme)) for o in others for m in COMPARED}


def _rule_places(metrics: pd.DataFrame) -> dict[str, int]:
    """Each programme rule's places, where its precision is published (11 or more)."""
    rows = metrics[
        (metrics["scorer"] == PROGRAMME_RULE) & metrics["metric"].str.startswith("places_")
    ]
    return {
        m.removeprefix("places_"): int(v)
        for m, v in zip(rows["metric"], rows["estimate"], strict=True)
        if np.isfinite(v) and v > 0
    }


def shown_for_every_scorer(
    metrics: pd.DataFrame, scorers: Sequence[str], ks: Mapping[str, int]
) -> dict[str, int]:
    """The capacities whose precision every scorer shows in ``metrics``.

    The by-group table counts selections at one of these: its ``all`` row gives the
    hits at that capacity, which must not be a figure the metric tables hide.
    """
    point = metrics.set_index(["scorer", "metric"])["estimate"]
    return {
        p: k
        for p, k in ks.items()
        if all(np.isfinite(point.get((s, f"precision_at_k_{p}"), np.nan)) for s in scorers)
    }


def published_capacities(
    metrics: pd.DataFrame, scorers: Sequence[str], ks: Mapping[str, int], n: int
) -> dict[str, list[int]]:
    """Per scorer, the numbers of people at which ``metrics`` shows its precision.

    The curves are drawn clear of these (:func:`riskstrat.modeling._plots.selection_grid`):
    a curve's point a few people from a published capacity would give the difference away.
    """
    point = metrics.set_index(["scorer", "metric"])["estimate"]

    def shown(scorer: str, capacities: Mapping[str, int]) -> set[int]:
        return {
            min(int(k), n)
            for p, k in capacities.items()
            if k > 0 and np.isfinite(point.get((scorer, f"precision_at_k_{p}"), np.nan))
        }

    out = {scorer: shown(scorer, ks) for scorer in scorers}
    if MODEL in out:  # the model at each programme rule's places is the model's ranking too
        out[MODEL] |= shown(MODEL_AT_RULE_PLACES, _rule_places(metrics))
    return {scorer: sorted(found) for scorer, found in out.items()}
