"""The model against each programme's own rule, on the places that rule would fill.

A programme's rule lists the people eligible for it, and no one else: a county filling
Re-entry by its rule never offers a place to someone who does not meet it. So the rule
fills ``min(k, eligible)`` of the programme's ``k`` places, its eligible people first by
criteria met, and the model is compared on the same number of places (its own top of the
ranking, eligible or not). Filling the rest of ``k`` with ineligible people ranked by
partial criteria, as an earlier version did, compared the model with something no county
does: in a small county with few people eligible for RBC, most of the "rule's" places went
to people the rule turns away, and the lift read 3x.

Where the rule fills fewer than 11 places its precision would be a count of 1 to 10
people's outcomes: it is not published (NaN), and neither is the number eligible when it is
1 to 10.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from riskstrat.modeling._disclosure import MIN_CELL
from riskstrat.modeling._estimators import PROGRAMME_RULE_SCORE
from riskstrat.modeling._metrics import checked_capacities
from riskstrat.modeling._plots import expected_hits

MODEL = "model"
PROGRAMME_RULE = "programme_rule"
# The model's precision on the places the rule fills (which may be fewer than k).
MODEL_AT_RULE_PLACES = f"{MODEL}_at_{PROGRAMME_RULE}_places"
LIFT_SCORER = f"{MODEL}_vs_{PROGRAMME_RULE}"
SCORERS: tuple[str, ...] = (PROGRAMME_RULE, MODEL_AT_RULE_PLACES, LIFT_SCORER)
# A programme's own score is 1000 x eligible + criteria met (all_rule_scores).
ELIGIBLE_SCORE = 1000.0
NOT_FINITE_RULE = (
    "test rows: {column} has {count} missing or non-finite value(s); expected the programme "
    "rule score of every row (build_panel computes it)"
)


def programme_rule_metrics(
    y: np.ndarray, model_rank: np.ndarray, rows: pd.DataFrame, ks: Mapping[str, int]
) -> pd.DataFrame:
    """Each programme's own rule on the places it fills, and the model on as many.

    Point estimates only (no interval): a different number of places for every programme
    does not fit the paired bootstrap of one score per scorer. Ties at the cut-off count at
    their expected value, as in :func:`riskstrat.modeling.precision_at_k`.

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

    Returns
    -------
    DataFrame
        Metrics rows with ``lower`` and ``upper`` NaN, per programme:
        ``programme_rule``: ``eligible_<p>``, ``places_<p>`` (``min(k, eligible)``),
        ``precision_at_k_<p>`` and ``recall_at_k_<p>`` on those places;
        ``model_at_programme_rule_places``: ``precision_at_k_<p>`` and ``recall_at_k_<p>``
        on as many places; ``model_vs_programme_rule``: ``lift_precision_at_k_<p>``, NaN
        when the rule finds no event. Counts of 1 to 10, and every precision, recall and lift
        on fewer than 11 places, are NaN. Empty when no programme has a score column.
    """
    y = np.asarray(y, dtype=np.float64)
    events = float(y.sum())
    out: list[tuple[str, str, float]] = []
    for programme, k in checked_capacities(ks).items():
        column = PROGRAMME_RULE_SCORE.format(programme=programme)
        if column not in rows.columns:
            continue
        score = rows[column].to_numpy(dtype=np.float64)
        bad = int((~np.isfinite(score)).sum())
        if bad:
            raise ValueError(NOT_FINITE_RULE.format(column=column, count=bad))
        eligible = int((score >= ELIGIBLE_SCORE).sum())
        places = min(k, eligible)
        out += [
            (PROGRAMME_RULE, f"eligible_{programme}", _shown_count(eligible)),
            (PROGRAMME_RULE, f"places_{programme}", _shown_count(places)),
        ]
        precision, recall = f"precision_at_k_{programme}", f"recall_at_k_{programme}"
        if places < MIN_CELL:
            out += [(s, m, np.nan) for s in SCORERS[:2] for m in (precision, recall)]
            out.append((LIFT_SCORER, f"lift_{precision}", np.nan))
            continue
        # Eligible rows score 1000 or more, so the rule's top `places` are all eligible.
        rule_hits = float(expected_hits(y, score, np.array([places]))[0])
        model_hits = float(expected_hits(y, model_rank, np.array([places]))[0])
        out += [
            (PROGRAMME_RULE, precision, rule_hits / places),
            (PROGRAMME_RULE, recall, rule_hits / events if events else np.nan),
            (MODEL_AT_RULE_PLACES, precision, model_hits / places),
            (MODEL_AT_RULE_PLACES, recall, model_hits / events if events else np.nan),
            (LIFT_SCORER, f"lift_{precision}", model_hits / rule_hits if rule_hits else np.nan),
        ]
    frame = pd.DataFrame(out, columns=["scorer", "metric", "estimate"])
    return frame.assign(lower=np.nan, upper=np.nan)


def _shown_count(count: int) -> float:
    """``count``, or NaN for 1 to 10 people."""
    return float(count) if count == 0 or count >= MIN_CELL else np.nan


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
        Index ``programme``; columns ``k``, ``eligible``, ``places``, ``rule_precision``,
        ``model_precision``, ``lift``, ``rule_recall``, ``model_recall`` (NaN where not
        published). Programmes the evaluation did not compare are left out.
    """
    lookup = metrics.set_index(["scorer", "metric"])["estimate"]
    columns = {
        "eligible": (PROGRAMME_RULE, "eligible_{p}"),
        "places": (PROGRAMME_RULE, "places_{p}"),
        "rule_precision": (PROGRAMME_RULE, "precision_at_k_{p}"),
        "model_precision": (MODEL_AT_RULE_PLACES, "precision_at_k_{p}"),
        "lift": (LIFT_SCORER, "lift_precision_at_k_{p}"),
        "rule_recall": (PROGRAMME_RULE, "recall_at_k_{p}"),
        "model_recall": (MODEL_AT_RULE_PLACES, "recall_at_k_{p}"),
    }
    rows = {}
    for programme, k in capacities.items():
        if (PROGRAMME_RULE, f"places_{programme}") not in lookup.index:
            continue
        row: dict[str, float] = {"k": float(k)}
        for name, (scorer, metric) in columns.items():
            row[name] = float(lookup.get((scorer, metric.format(p=programme)), np.nan))
        rows[programme] = row
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["k", *columns])
    return table.rename_axis("programme")
