"""The model against each programme's own rule, on the places that rule would fill.

A programme's rule lists the people eligible for it, and no one else: a county filling
Re-entry by its rule never offers a place to someone who does not meet it. So the rule
fills ``min(k, eligible)`` of the programme's ``k`` places, its eligible people first by
criteria met, and the model is compared on the same number of places two ways: its own top
of the ranking, eligible or not (what the model would pick unconstrained), and its top among
the eligible (what ``riskstrat score`` picks: it differs from the rule only where more are
eligible than there are places). Filling the rest of ``k`` with ineligible people ranked by
partial criteria, as an earlier version did, compared the model with something no county
does: in a small county with few people eligible for RBC, most of the "rule's" places went
to people the rule turns away, and the lift read 3x.

A precision on a few places is a count of people's outcomes. None is published (NaN) where
the places hold 1 to 10 events or 1 to 10 non-events, nor the number eligible when it, or
the eligible left without a place, is 1 to 10.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from riskstrat.modeling._disclosure import MIN_CELL, small_count
from riskstrat.modeling._estimators import PROGRAMME_RULE_SCORE
from riskstrat.modeling._metrics import checked_capacities, percentile_interval
from riskstrat.modeling._plots import expected_hits
from riskstrat.modeling._programme_rule_intervals import resampled_programme_rules
from riskstrat.modeling._subgroup_names import (
    MODEL_WITHIN_ELIGIBLE,
    PROGRAMME_ELIGIBLE,
    PROGRAMME_RULE,
)
from riskstrat.modeling._subgroup_places import Places, expected_top, selected_rows

MODEL = "model"
# The model's precision on the places the rule fills (which may be fewer than k).
MODEL_AT_RULE_PLACES = f"{MODEL}_at_{PROGRAMME_RULE}_places"
LIFT_SCORER = f"{MODEL}_vs_{PROGRAMME_RULE}"
SCORERS: tuple[str, ...] = (
    PROGRAMME_RULE,
    MODEL_AT_RULE_PLACES,
    MODEL_WITHIN_ELIGIBLE,
    LIFT_SCORER,
)
# A programme's own score is 1000 x eligible + criteria met (all_rule_scores).
ELIGIBLE_SCORE = 1000.0
NOT_FINITE_RULE = (
    "test rows: {column} has {count} missing or non-finite value(s); expected the programme "
    "rule score of every row (build_panel computes it)"
)


def programme_rule_metrics(
    y: np.ndarray,
    model_rank: np.ndarray,
    rows: pd.DataFrame,
    ks: Mapping[str, int],
    *,
    n_bootstrap: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
    clusters: np.ndarray | None = None,
) -> pd.DataFrame:
    """Each programme's own rule on the places it fills, and the model on as many.

    Ties at the cut-off count at their expected value, as in
    :func:`riskstrat.modeling.precision_at_k`. With ``n_bootstrap`` resamples, every
    published precision, recall and lift gets a percentile interval, each resample
    filling its own number of places (:mod:`riskstrat.modeling._programme_rule_intervals`);
    the counts (eligible, places) get none.

    Parameters
    ----------
    y : array of 0/1
        Outcomes of ``rows``.
    model_rank : array
        The model's ranking key for ``rows`` (higher first; the calibrated risk with its
        raw score breaking ties, :func:`riskstrat.modeling.ranking_key`).
    rows : DataFrame
        The test rows; a programme without a ``rule_score_<programme>`` column is skipped.
    ks : mapping of programme to k
    n_bootstrap, seed, confidence, clusters
        As :func:`riskstrat.modeling.bootstrap_metrics` draws its resamples; 0 resamples:
        point estimates only.

    Returns
    -------
    DataFrame
        Metrics rows (``lower`` and ``upper`` NaN without resamples), per programme:
        ``programme_rule``: ``eligible_<p>``, ``places_<p>`` (``min(k, eligible)``),
        ``precision_at_k_<p>`` and ``recall_at_k_<p>`` on those places;
        ``model_at_programme_rule_places`` and ``model_within_eligible``:
        ``precision_at_k_<p>`` and ``recall_at_k_<p>`` on as many places, over everyone and
        over the eligible; ``model_vs_programme_rule``: ``lift_precision_at_k_<p>`` (the
        first over the rule), NaN when the rule finds no event. Counts of 1 to 10, and any
        precision, recall or lift whose places hold 1 to 10 events or non-events, are NaN.
        Empty when no programme has a score column.
    """
    y = np.asarray(y, dtype=np.float64)
    events = float(y.sum())
    out: list[tuple[str, str, float]] = []
    scores: dict[str, np.ndarray] = {}
    for programme, k in checked_capacities(ks).items():
        column = PROGRAMME_RULE_SCORE.format(programme=programme)
        if column not in rows.columns:
            continue
        score = rows[column].to_numpy(dtype=np.float64)
        bad = int((~np.isfinite(score)).sum())
        if bad:
            raise ValueError(NOT_FINITE_RULE.format(column=column, count=bad))
        scores[programme] = score
        is_eligible = score >= ELIGIBLE_SCORE
        eligible = int(is_eligible.sum())
        places = min(k, eligible)
        # The eligible left without a place are people too: 1 to 10 of them is not shown.
        shown_eligible = eligible if not small_count(eligible - places) else np.nan
        out += [
            (PROGRAMME_RULE, f"eligible_{programme}", _shown_count(shown_eligible)),
            (PROGRAMME_RULE, f"places_{programme}", _shown_count(places)),
        ]
        precision, recall = f"precision_at_k_{programme}", f"recall_at_k_{programme}"
        hits = {}
        if places >= MIN_CELL:
            at = np.array([places])
            # Eligible rows score 1000 or more, so the rule's top `places` are all eligible.
            hits[PROGRAMME_RULE] = float(expected_hits(y, score, at)[0])
            hits[MODEL_AT_RULE_PLACES] = float(expected_hits(y, model_rank, at)[0])
            hits[MODEL_WITHIN_ELIGIBLE] = float(
                expected_hits(y[is_eligible], model_rank[is_eligible], at)[0]
            )
        for scorer in (PROGRAMME_RULE, MODEL_AT_RULE_PLACES, MODEL_WITHIN_ELIGIBLE):
            got = hits.get(scorer, np.nan)
            # A precision is a count of people's outcomes: 1 to 10 events or non-events
            # among the places, or events over the published total, are not given.
            if not np.isfinite(got) or small_count(got) or small_count(places - got):
                got = np.nan
            hits[scorer] = got
            out += [
                (scorer, precision, got / places if places else np.nan),
                (scorer, recall, got / events if events else np.nan),
            ]
        rule, model = hits[PROGRAMME_RULE], hits[MODEL_AT_RULE_PLACES]
        out.append((LIFT_SCORER, f"lift_{precision}", model / rule if rule else np.nan))
    frame = pd.DataFrame(out, columns=["scorer", "metric", "estimate"])
    frame = frame.assign(lower=np.nan, upper=np.nan)
    if n_bootstrap > 0 and scores:
        samples = resampled_programme_rules(
            y,
            np.asarray(model_rank, dtype=np.float64),
            scores,
            ks,
            eligible_score=ELIGIBLE_SCORE,
            n_bootstrap=n_bootstrap,
            seed=seed,
            clusters=clusters,
        )
        _add_bounds(frame, samples, confidence)
    return frame


def programme_places(
    y: np.ndarray,
    rows: pd.DataFrame,
    model_rank: np.ndarray,
    model_risk: np.ndarray,
    ks: Mapping[str, int],
) -> list[Places]:
    """Who each programme's rule lists on the test rows (its eligible people), and where
    more are eligible than there are places, the model's places among them (ties at the
    cut-off to the earlier rows): for the subgroup table
    (:mod:`riskstrat.modeling._subgroup_places`).

    A programme is left out where nobody is eligible, or this table does not show how many
    are (1 to 10 of them, or 1 to 10 left without a place: the subgroup table's ``all`` row
    would give the number back, and a group's share of those left out could be narrowed
    beside the model's places), or the events or non-events among the eligible the rule's
    places leave out are (its precision there is published); a list is left out where the
    events or non-events in it are 1 to 10 (a count of people's outcomes the ``all`` row
    would publish), and the model's places with the rule's. The subgroup table drops more
    where a step between lists is small
    (:func:`riskstrat.modeling._subgroup_places.without_small_steps`). A programme without
    a ``rule_score_<programme>`` column is skipped.
    """
    y = np.asarray(y, dtype=np.float64)
    out = []
    for programme, k in checked_capacities(ks).items():
        column = PROGRAMME_RULE_SCORE.format(programme=programme)
        if column not in rows.columns:
            continue
        is_eligible = rows[column].to_numpy(dtype=np.float64) >= ELIGIBLE_SCORE
        eligible = int(is_eligible.sum())
        places = min(k, eligible)
        if eligible < MIN_CELL or small_count(eligible - places):
            continue
        chosen = {PROGRAMME_ELIGIBLE: is_eligible}
        if places < eligible:
            # metrics.csv gives the events on the rule's places (its precision): the list's
            # events less those are the events of the eligible it leaves out.
            score = rows[column].to_numpy(dtype=np.float64)
            left = y[is_eligible].sum() - expected_hits(y, score, np.array([places]))[0]
            if small_count(left) or small_count(eligible - places - left):
                continue
            within = np.where(is_eligible, np.asarray(model_rank, np.float64), -np.inf)
            chosen[MODEL_WITHIN_ELIGIBLE] = selected_rows(within, places)
        for scorer, given in chosen.items():
            hits = float(y[given].sum())
            if small_count(hits) or small_count(given.sum() - hits):
                # The model's places only beside the list they are drawn from: alone, a
                # group's eligible left without one would be bounded by the others' lists.
                break
            risk = model_risk if scorer == MODEL_WITHIN_ELIGIBLE else None
            out.append(Places(scorer, programme, given, risk))
    return out


def published_lists(
    rows: pd.DataFrame, rankings: Mapping[str, np.ndarray], ks: Mapping[str, int]
) -> dict[str, np.ndarray]:
    """The lists whose people and events ``metrics.csv`` publishes, as each row's share of
    a place (people tied at the cut-off at their expected share, as ``metrics.csv`` counts
    them): each scorer's top k at every capacity, and per programme with a rule score the
    rule's places, the model's top as many and its places among the eligible.
    :func:`~riskstrat.modeling._subgroup_places.without_small_steps` keeps the subgroup
    table's lists from standing 1 to 10 people, events or non-events from any of them."""
    out = {}
    for programme, k in checked_capacities(ks).items():
        for name, key in rankings.items():
            out[f"{name}@k_{programme}"] = expected_top(key, k)
        column = PROGRAMME_RULE_SCORE.format(programme=programme)
        if column in rows.columns and MODEL in rankings:
            score = rows[column].to_numpy(dtype=np.float64)
            is_eligible = score >= ELIGIBLE_SCORE
            places = min(k, int(is_eligible.sum()))
            model = np.asarray(rankings[MODEL], dtype=np.float64)
            out[f"{PROGRAMME_RULE}@{programme}"] = expected_top(score, places)
            out[f"{MODEL_AT_RULE_PLACES}@{programme}"] = expected_top(model, places)
            # Keyed as the subgroup table's own: its totals stay published when it is not.
            within = np.where(is_eligible, model, -np.inf)
            out[f"{MODEL_WITHIN_ELIGIBLE}@{programme}"] = expected_top(within, places)
    return out


# Which resampled figure bounds which row: (scorer, metric prefix) -> sample name.
_SAMPLED = {
    (PROGRAMME_RULE, "precision_at_k_"): "precision_rule",
    (PROGRAMME_RULE, "recall_at_k_"): "recall_rule",
    (MODEL_AT_RULE_PLACES, "precision_at_k_"): "precision_model",
    (MODEL_AT_RULE_PLACES, "recall_at_k_"): "recall_model",
    (MODEL_WITHIN_ELIGIBLE, "precision_at_k_"): "precision_model_within_eligible",
    (MODEL_WITHIN_ELIGIBLE, "recall_at_k_"): "recall_model_within_eligible",
    (LIFT_SCORER, "lift_precision_at_k_"): "lift",
}


def _add_bounds(
    frame: pd.DataFrame, samples: Mapping[str, Mapping[str, np.ndarray]], confidence: float
) -> None:
    """Fill ``lower`` and ``upper`` of each published figure (never of a hidden or undefined
    one: a bound would tell what the NaN hides)."""
    for i, row in enumerate(frame.itertuples(index=False)):
        if not np.isfinite(row.estimate):
            continue
        for (scorer, prefix), name in _SAMPLED.items():
            if row.scorer == scorer and row.metric.startswith(prefix):
                programme = row.metric.removeprefix(prefix)
                sample = samples.get(programme, {}).get(name)
                if sample is not None:
                    bounds = percentile_interval(sample, confidence, lift=scorer == LIFT_SCORER)
                    frame.loc[i, ["lower", "upper"]] = bounds


def _shown_count(count: float) -> float:
    """``count``, or NaN for 1 to 10 people."""
    return np.nan if not np.isfinite(count) or small_count(count) else float(count)


def programme_rule_table(metrics: pd.DataFrame, capacities: Mapping[str, int]) -> pd.DataFrame:
    """The rows of :func:`programme_rule_metrics` as one row per programme.

    Parameters
    ----------
    metrics : DataFrame
        Long metrics (``scorer``, ``metric``, ``estimate``), as an evaluation holds them.
    capacities : mapping of programme to k
        In table order.

    Returns
    -------
    DataFrame
        Index ``programme``; columns ``k`` (int), ``eligible`` and ``places`` (nullable
        Int64, ``<NA>`` where hidden), ``rule_precision``,
        ``model_precision``, ``lift``, ``model_within_eligible_precision``,
        ``rule_recall``, ``model_recall``, ``model_within_eligible_recall`` (NaN where not
        published, or not defined: no places, no events, a rule that found no event),
        ``lift_lower`` and ``lift_upper`` (the lift's bootstrap interval; NaN without
        resamples or a lift), and
        ``hidden``: the columns of the row that are NaN because a figure would give 1 to 10
        people's counts or outcomes, comma-separated ("" when none is). Programmes the
        evaluation did not compare are left out.
    """
    lookup = metrics.set_index(["scorer", "metric"])["estimate"]
    columns = {
        "eligible": (PROGRAMME_RULE, "eligible_{p}"),
        "places": (PROGRAMME_RULE, "places_{p}"),
        "rule_precision": (PROGRAMME_RULE, "precision_at_k_{p}"),
        "model_precision": (MODEL_AT_RULE_PLACES, "precision_at_k_{p}"),
        "lift": (LIFT_SCORER, "lift_precision_at_k_{p}"),
        "model_within_eligible_precision": (MODEL_WITHIN_ELIGIBLE, "precision_at_k_{p}"),
        "rule_recall": (PROGRAMME_RULE, "recall_at_k_{p}"),
        "model_recall": (MODEL_AT_RULE_PLACES, "recall_at_k_{p}"),
        "model_within_eligible_recall": (MODEL_WITHIN_ELIGIBLE, "recall_at_k_{p}"),
    }
    bounds = metrics.set_index(["scorer", "metric"])[["lower", "upper"]]
    rows = {}
    for programme, k in capacities.items():
        if (PROGRAMME_RULE, f"places_{programme}") not in lookup.index:
            continue
        row: dict[str, float] = {"k": float(k)}
        for name, (scorer, metric) in columns.items():
            row[name] = float(lookup.get((scorer, metric.format(p=programme)), np.nan))
        lift = (LIFT_SCORER, f"lift_precision_at_k_{programme}")
        found = bounds.loc[lift] if lift in bounds.index else None
        row["lift_lower"] = np.nan if found is None else float(found["lower"])
        row["lift_upper"] = np.nan if found is None else float(found["upper"])
        rows[programme] = row
    names = ["k", *columns, "lift_lower", "lift_upper"]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=names)
    hidden = [", ".join(hidden_figures(row)) for row in table.to_dict("records")]
    # People are counted in whole numbers: k is always known, eligible and places are
    # <NA> where hidden (a float column showed 60.0 people).
    table = table.astype({"k": "int64", "eligible": "Int64", "places": "Int64"})
    return table.assign(hidden=pd.Series(hidden, index=table.index, dtype="str")).rename_axis(
        "programme"
    )


def hidden_figures(row: Mapping[str, float]) -> list[str]:
    """The figures of one :func:`programme_rule_table` row that are NaN to protect small
    counts, told apart from those not defined by the rules of
    :func:`programme_rule_metrics`: places are NaN only when 1 to 10 (none is 0), the
    eligible only when hidden, and a precision only when hidden or on no places; a recall
    is NaN beside a shown precision only when the quarter has no event, and a lift beside
    two shown precisions only when the rule found no event."""
    out = [name for name in ("eligible", "places") if math.isnan(row[name])]
    some_places = math.isnan(row["places"]) or row["places"] > 0
    for who in ("rule", "model", "model_within_eligible"):
        if some_places and math.isnan(row[f"{who}_precision"]):
            out += [f"{who}_precision", f"{who}_recall"]
    if math.isnan(row["lift"]) and {"rule_precision", "model_precision"} & set(out):
        out.append("lift")
    return out
