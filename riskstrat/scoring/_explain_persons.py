"""SHAP explanations of chosen persons, checked to add up to the model's raw score.

Kept apart from cohort selection (:mod:`riskstrat.scoring._cohort`): explaining needs only
the features, the model and the texts, and is also called on its own from a notebook.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from riskstrat.scoring._explain import top_factors
from riskstrat.scoring._ids import isin
from riskstrat.scoring._schemas import EXPLANATION_COLUMNS
from riskstrat.scoring._tiers import ScoringConfig, load_scoring_config

if TYPE_CHECKING:
    from riskstrat.scoring._cohort import RiskModel

logger = logging.getLogger(__name__)

SHAP_MISMATCH = (
    "model {version}: SHAP contributions plus base value differ from the raw score by up to "
    "{gap:.3g} (tolerance {tol:.0e}) for {count} person(s); the bundle is inconsistent"
)

# Contributions are float64 sums of a few hundred terms; 1e-6 leaves room for rounding.
SHAP_TOLERANCE = 1e-6


class ModelConsistencyError(RuntimeError):
    """The model's explanations do not add up to its own scores."""


def explain_persons(
    features: pd.DataFrame,
    person_ids: np.ndarray | Sequence[str] | str,
    model: RiskModel,
    labels: Mapping[str, str] | None = None,
    config: ScoringConfig | None = None,
    selected_ids: np.ndarray | None = None,
    describe: Callable[[str, object], str] | None = None,
) -> pd.DataFrame:
    """SHAP top factors for the given persons, verified to add up to the raw score.

    Parameters
    ----------
    features : DataFrame
        With ``person_id`` and the model's features.
    person_ids : ndarray or sequence of str, or one str
        Persons to explain; ids not in ``features`` are counted in a logged warning.
    model : RiskModel
    labels : mapping of feature name to label, optional
        Default: the labels of ``configs/features.yaml``, and factor texts worded by its
        :func:`riskstrat.features.value_describer`, as ``riskstrat score`` words them.
    config : ScoringConfig, optional
        Default: ``configs/tiers.yaml``.
    selected_ids : ndarray of str, optional
        Persons not in this set are flagged ``audit_sample``.
    describe : callable, optional
        ``describe(feature, value) -> phrase`` for factor texts; with ``labels`` given and
        no ``describe``, :func:`riskstrat.scoring.describe_with_label` words them from the labels.

    Returns
    -------
    DataFrame
        ``EXPLANATION_COLUMNS``, sorted by (person_id, factor_rank).

    Raises
    ------
    ModelConsistencyError
        Contributions plus base value differ from ``model.raw_score``.
    """
    if labels is None:
        from riskstrat.features import feature_labels, load_feature_spec, value_describer

        spec = load_feature_spec()
        labels = feature_labels(spec)
        # Worded as `riskstrat score` words them, when the spec knows every input.
        if describe is None and set(model.features) <= set(labels):
            describe = value_describer(spec)
    config = config if config is not None else load_scoring_config()
    if isinstance(person_ids, str):
        person_ids = [person_ids]
    person_ids = pd.unique(pd.Series(person_ids, dtype="object").astype("str")).astype(object)
    ids = features["person_id"].astype("str")
    rows = features.loc[isin(ids, person_ids)]
    # Counted on the rows found, not by a second lookup over every feature row.
    unknown = len(person_ids) - rows["person_id"].astype("str").nunique()
    if unknown:  # counted, never named: ids are person-level data
        logger.warning(
            "%d of the %d person_id(s) to explain are not in features", unknown, len(person_ids)
        )
    rows = rows.assign(person_id=rows["person_id"].astype("str")).sort_values(
        "person_id", kind="mergesort"
    )
    if rows.empty:
        return _empty_explanations()
    contrib = model.contributions(rows)
    raw = np.asarray(model.raw_score(rows), dtype="float64")
    total = contrib.to_numpy(dtype="float64").sum(axis=1)
    gap = np.abs(total - raw)
    bad = gap > SHAP_TOLERANCE * np.maximum(1.0, np.abs(raw))
    if bad.any():
        raise ModelConsistencyError(
            SHAP_MISMATCH.format(
                version=model.version,
                gap=float(gap.max()),
                tol=SHAP_TOLERANCE,
                count=int(bad.sum()),
            )
        )
    per_feature = contrib.drop(columns=["base_value"], errors="ignore")
    factors = top_factors(
        per_feature.reset_index(drop=True),
        rows.reset_index(drop=True),
        labels,
        top_k=config.explanations.top_k,
        min_contribution=config.explanations.min_contribution,
        describe=describe,
    )
    person = rows["person_id"].to_numpy(dtype=object)[factors["row"].to_numpy()]
    if selected_ids is None:
        audit = np.zeros(len(factors), dtype=bool)
    else:
        audit = ~isin(person, selected_ids)
    out = factors.assign(person_id=person, audit_sample=audit)
    out = out.loc[:, list(EXPLANATION_COLUMNS)].astype({"person_id": "str", "text": "str"})
    return out.sort_values(["person_id", "factor_rank"], kind="mergesort").reset_index(drop=True)


def _empty_explanations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": pd.Series(dtype="str"),
            "audit_sample": pd.Series(dtype=bool),
            "factor_rank": pd.Series(dtype="int64"),
            "feature": pd.Series(dtype="str"),
            "value": pd.Series(dtype="str"),
            "contribution": pd.Series(dtype="float64"),
            "text": pd.Series(dtype="str"),
        }
    )
