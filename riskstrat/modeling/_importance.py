"""Which inputs drive a model: mean absolute contribution on the test quarter.

Global importance is the mean ``|contribution|`` of each feature to the raw score
(log-odds) over the test quarter's rows, from the bundle's own contributions (TreeSHAP for
LightGBM, coefficient times standardised value for logistic regression). Those are the
numbers the cohort's per-person reasons come from, so the evaluator's picture and the care
manager's reasons cannot disagree. Split-count or gain importance would rank features by
how often the trees use them, which says little about how far they move a score.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from riskstrat.modeling._direction import HIGHEST, LOWERS, LOWEST, MIXED, RAISES, UNUSED, direction

# TreeSHAP costs time linear in rows. With a seeded sample of this many rows, the mean
# |contribution| of a feature most people carry moves by about 1% between samples; that of
# a feature only a few hundred people carry by up to about 10%, not enough to reorder the top.
MAX_ROWS = 20_000
IMPORTANCE_COLUMNS: tuple[str, ...] = (
    "rank",
    "feature",
    "label",
    "mean_abs_contribution",
    "share",
    "mean_contribution",
    "direction",
)


def feature_importance(
    bundle: object,
    rows: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    *,
    max_rows: int = MAX_ROWS,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean absolute contribution per feature, largest first.

    Parameters
    ----------
    bundle : ModelBundle
        The trained model (anything with ``features`` and ``contributions(X)``).
    rows : DataFrame
        The rows to explain (the test quarter); must hold the bundle's features.
    labels : mapping of feature name to label, optional
        Human-readable labels (:func:`riskstrat.features.feature_labels`); the name is
        used where a feature has none.
    max_rows : int
        Explain a seeded random sample of at most this many rows.
    seed : int
        Seed of that sample.

    Returns
    -------
    DataFrame
        ``rank`` (1 = largest), ``feature``, ``label``, ``mean_abs_contribution`` (log-odds),
        ``share`` (of the sum over features, so the column sums to 1),
        ``mean_contribution`` and ``direction`` (:func:`riskstrat.modeling._direction.direction`):
        whether higher values raise or lower the score, or it is highest or lowest over a
        range of values in between, ``mixed``, or ``unused`` for a feature that never moves
        the score.
    """
    if len(rows) > max_rows:
        rows = rows.sample(n=max_rows, random_state=seed).sort_index()
    features = list(bundle.features)
    contributions = bundle.contributions(rows[features])[features]
    mean_abs = contributions.abs().mean()
    total = float(mean_abs.sum())
    values = rows[features].apply(pd.to_numeric, errors="coerce").astype(float)
    table = pd.DataFrame(
        {
            "feature": features,
            "label": [str((labels or {}).get(f, f)) for f in features],
            "mean_abs_contribution": mean_abs.to_numpy(),
            "share": mean_abs.to_numpy() / total if total > 0 else 0.0,
            "mean_contribution": contributions.mean().to_numpy(),
            "direction": [direction(values[f], contributions[f]) for f in features],
        }
    )
    # Ties (say, unused features at zero) in name order, so reruns write the same file.
    table = table.sort_values(
        ["mean_abs_contribution", "feature"], ascending=[False, True], kind="stable"
    )
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)[list(IMPORTANCE_COLUMNS)]


__all__ = [
    "HIGHEST",
    "IMPORTANCE_COLUMNS",
    "LOWERS",
    "LOWEST",
    "MAX_ROWS",
    "MIXED",
    "RAISES",
    "UNUSED",
    "feature_importance",
]
