"""One rolling-origin test quarter's point metrics, per scorer."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from riskstrat.modeling._capacity_steps import hidden_capacities
from riskstrat.modeling._evaluate import positive_proba, tie_break
from riskstrat.modeling._list_steps import hidden_lists, list_order, split_key
from riskstrat.modeling._metrics import point_metrics, ranking_key
from riskstrat.modeling._model_config import ModelConfig
from riskstrat.modeling._panel import feature_matrix
from riskstrat.modeling._subgroup_places import expected_top
from riskstrat.modeling._timechop import TemporalSplit, date_span
from riskstrat.modeling._truth import covered_truth


def rolling_rows(
    config: ModelConfig,
    test: pd.DataFrame,
    split: TemporalSplit,
    scorers: Mapping[str, tuple[object, list[str]]],
    ks: Mapping[str, int],
    truth: pd.DataFrame | None,
) -> list[dict[str, object]]:
    """A row per scorer of its point metrics on ``test``, the rows of ``split.test_as_of``.

    Precision and recall at a capacity whose step from another of the same ranking, or
    from a list of another scorer that holds it or that it holds, holds 1 to 10 people,
    events or non-events are left out (NaN), as in the evaluation.
    """
    y = test[config.outcome].to_numpy(dtype=float)
    scores, ties = {}, {}
    for name, (model, columns) in scorers.items():
        X = feature_matrix(test, columns)
        scores[name], ties[name] = positive_proba(model, X), tie_break(model, X)
    if truth is not None:
        when = f" on {split.test_as_of}"
        scores["oracle"], ties["oracle"] = covered_truth(test, truth, config.outcome, when), None
    values, lists = {}, {}
    for name, s in scores.items():
        # Every scorer on every row, as on the latest quarter: a missing score is refused
        # there, and dropping it here would compare scorers on different people.
        found = point_metrics(y, s, ks=ks, n_bins=config.metrics.ece_bins, tie_break=ties[name])
        key = ranking_key(s, ties[name])
        for p in hidden_capacities(y, key, ks):
            found[f"precision_at_k_{p}"] = found[f"recall_at_k_{p}"] = np.nan
        values[name] = found
        lists |= {f"{name}@k_{p}": expected_top(key, k) for p, k in ks.items() if k > 0}
    # Capacities of different scorers hold one another too (as in the evaluation).
    shown = [k for k in list_order(list(lists), list(scores), list(ks)) if _is_shown(values, k)]
    for key in hidden_lists(y, lists, shown):
        name, p = split_key(key)
        values[name][f"precision_at_k_{p}"] = values[name][f"recall_at_k_{p}"] = np.nan
    out = []
    for name in scores:
        out.append(
            {
                "test_as_of": split.test_as_of,
                # Each origin's own model, fitted and calibrated on the quarters before it.
                "train_as_of": date_span(split.train_as_of),
                "calibration_as_of": date_span(split.calibration_as_of),
                "scorer": name,
                "n": len(y),
                **values[name],
            }
        )
    return out


def _is_shown(values: Mapping[str, Mapping[str, float]], key: str) -> bool:
    name, programme = split_key(key)
    return bool(np.isfinite(values[name][f"precision_at_k_{programme}"]))
