"""Evaluate calibrated scorers on a test quarter, with baselines and the oracle.

The oracle is the synthetic generator's true probability of the outcome for the same
test rows, from a state the records show only in part: a bound, not a level any model
reading the records is expected to reach. The gap (model minus oracle) says how much of
it the model reaches.
"""

from __future__ import annotations

import dataclasses
import html
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from riskstrat.modeling._bundle import ModelBundle
from riskstrat.modeling._capacity_steps import (
    hide_capacity_steps,
    published_capacities,
    shown_for_every_scorer,
)
from riskstrat.modeling._fairness_plot import by_group_plots
from riskstrat.modeling._list_steps import hide_list_steps
from riskstrat.modeling._metrics import bootstrap_metrics, ranking_key
from riskstrat.modeling._panel import KEYS, feature_matrix
from riskstrat.modeling._plots import evaluation_figures, evaluation_plots
from riskstrat.modeling._programme_rule import (
    MODEL,
    programme_places,
    programme_rule_metrics,
    programme_rule_table,
    published_lists,
)
from riskstrat.modeling._programme_rule import SCORERS as PROGRAMME_RULE_SCORERS
from riskstrat.modeling._subgroup_places import without_small_steps
from riskstrat.modeling._subgroups import subgroup_capacity, subgroup_metrics
from riskstrat.modeling._truth import covered_truth

logger = logging.getLogger(__name__)

ORACLE = "oracle"
COMPARED = "_vs_"
COMPARISON_MEASURES = ("diff", "lift")
NOT_COMPARED = ("calibration_slope", "calibration_intercept")
UNKNOWN_MEASURE = "measure: {measure!r} is not known; expected one of {expected}"


def notebook_html(result: object) -> str:
    """What a notebook shows of a result: its one-line repr and its metrics table."""
    return f"<p>{html.escape(repr(result))}</p>" + result.table()._repr_html_()


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Metrics of every scorer on one set of test rows.

    Attributes
    ----------
    metrics : DataFrame
        Long format: ``scorer``, ``metric``, ``estimate``, ``lower``, ``upper``. Scorers are
        ``model``, each baseline, ``oracle`` (with truth) and comparisons
        ``model_vs_<other>`` (``diff_<metric>`` = model minus other; ``lift_precision_at_k_*``
        = model / other); ``programme_rule``, ``model_at_programme_rule_places`` and
        ``model_vs_programme_rule`` hold each programme's own rule on the places it fills and
        the model on as many (intervals on the same resamples, each filling its own
        places; see :func:`riskstrat.modeling._programme_rule.programme_rule_metrics`).
    predictions : DataFrame
        ``person_id``, ``as_of``, the label and one probability column per scorer.
        Person-level: keep in memory, never log it.
    capacities : dict
        k per programme used for precision and recall at k.
    plots : dict of name to Path
    subgroups : DataFrame or None
        Every scorer's figures per group of each sensitive attribute, counts of 1 to 10
        suppressed (:func:`riskstrat.modeling.subgroup_metrics`); None without groups.
    """

    metrics: pd.DataFrame
    predictions: pd.DataFrame
    capacities: dict[str, int]
    plots: dict[str, Path]
    subgroups: pd.DataFrame | None = None
    # What figures() needs beyond the predictions: each scorer's ranking (its probability,
    # equal ones ordered as cohorts order them) and the calibration curve's bins.
    rankings: Mapping[str, np.ndarray] | None = dataclasses.field(default=None, repr=False)
    ece_bins: int = 10

    def figures(self) -> dict[str, Figure]:
        """The calibration, ROC, precision-recall and precision-at-k plots as matplotlib
        figures, as ``riskstrat train`` draws them (a notebook shows one as it is; ``.savefig``
        writes it). Drawn from the predictions in memory: no plot folder is needed.
        """
        outcome = str(self.predictions.columns[len(KEYS)])
        scorers = [c for c in self.predictions.columns[len(KEYS) + 1 :]]
        # The capacities the tables show, as train's plots have them.
        shown = published_capacities(self.metrics, scorers, self.capacities, len(self.predictions))
        return evaluation_figures(
            self.predictions[outcome].to_numpy(dtype=np.float64),
            {name: self.predictions[name].to_numpy(dtype=np.float64) for name in scorers},
            ks=self.capacities,
            n_bins=self.ece_bins,
            title=outcome,
            rankings=self.rankings,
            published=shown,
        )

    def __repr__(self) -> str:
        # The default printed the predictions: person-level rows in a notebook's output.
        point = self.metrics.set_index(["scorer", "metric"])["estimate"]
        scorers = [s for s in dict.fromkeys(self.metrics["scorer"]) if "_vs_" not in s]
        auroc = ", ".join(
            f"{s}={point[(s, 'auroc')]:.3f}" for s in scorers if (s, "auroc") in point.index
        )
        return (
            f"Evaluation(rows={len(self.predictions):,}, scorers={scorers}, auroc: {auroc}, "
            f"capacities={self.capacities}, plots={len(self.plots)}, "
            f"subgroups={'yes' if self.subgroups is not None else 'no'})"
        )

    def _repr_html_(self) -> str:
        return notebook_html(self)

    @property
    def oracle_gap(self) -> pd.DataFrame | None:
        """Rows comparing the model with the oracle, or None without truth."""
        gap = self.metrics[self.metrics["scorer"] == f"{MODEL}_vs_{ORACLE}"]
        return None if gap.empty else gap.reset_index(drop=True)

    def table(self) -> pd.DataFrame:
        """Wide view: one row per metric, ``estimate`` / ``lower`` / ``upper`` per scorer."""
        return metrics_table(self.metrics)

    def comparisons(self, measure: str = "diff") -> pd.DataFrame:
        """The model against each other scorer (:func:`comparison_table`)."""
        return comparison_table(self.metrics, measure)

    def programme_rules(self) -> pd.DataFrame:
        """Each programme's own rule on the places it fills, against the model on as many."""
        return programme_rule_table(self.metrics, self.capacities)


def metrics_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per metric and a column block per scorer; comparisons are left out.

    Parameters
    ----------
    metrics : DataFrame
        Columns ``scorer``, ``metric``, ``estimate``, ``lower``, ``upper``.

    Returns
    -------
    DataFrame
        Index ``metric``, columns (``scorer``, ``estimate|lower|upper``), the scorers in
        the order they were evaluated. The differences and lifts are in
        :func:`comparison_table`, each programme's own rule in ``programme_rule_table``.
    """
    # One table of scorers and comparisons was half empty: diff_* rows had no
    # scorer figures and metric rows had no comparison figures. Each programme's own rule
    # is measured on other places than k: its own table (programme_rule_table).
    scorers = metrics[
        ~metrics["scorer"].str.contains(COMPARED, regex=False)
        & ~metrics["scorer"].isin(PROGRAMME_RULE_SCORERS)
    ]
    return _wide(scorers, scorers["metric"])


def comparison_table(metrics: pd.DataFrame, measure: str = "diff") -> pd.DataFrame:
    """The model against each other scorer: differences or precision lifts, per metric.

    Parameters
    ----------
    metrics : DataFrame
        Columns ``scorer``, ``metric``, ``estimate``, ``lower``, ``upper``.
    measure : {"diff", "lift"}
        ``"diff"``: model minus the other scorer, every metric but the calibration slope
        and intercept (each is judged against 1 or 0). ``"lift"``: model's
        precision at each capacity divided by the other's.

    Returns
    -------
    DataFrame
        Index ``metric`` (named as in :func:`metrics_table`), columns (``against``,
        ``estimate|lower|upper``).
    """
    if measure not in COMPARISON_MEASURES:
        raise ValueError(
            UNKNOWN_MEASURE.format(measure=measure, expected=", ".join(COMPARISON_MEASURES))
        )
    prefix = f"{measure}_"
    rows = metrics[
        metrics["scorer"].str.contains(COMPARED, regex=False)
        & ~metrics["scorer"].isin(PROGRAMME_RULE_SCORERS)
        & metrics["metric"].str.startswith(prefix)
    ]
    rows = rows.assign(
        scorer=rows["scorer"].str.split(COMPARED, n=1).str[1],
        metric=rows["metric"].str.removeprefix(prefix),
    )
    # A slope or intercept is judged against 1 or 0, not against another scorer's.
    rows = rows[~rows["metric"].isin(NOT_COMPARED)]
    wide = _wide(rows, rows["metric"])
    wide.columns = wide.columns.set_names(["against", None])
    return wide


def _wide(metrics: pd.DataFrame, metric_order: pd.Series) -> pd.DataFrame:
    scorers = list(dict.fromkeys(metrics["scorer"]))
    wide = metrics.pivot(index="metric", columns="scorer", values=["estimate", "lower", "upper"])
    wide = wide.swaplevel(axis=1).reindex(columns=scorers, level=0)
    wide = wide.reindex(columns=["estimate", "lower", "upper"], level=1)
    return wide.reindex(list(dict.fromkeys(metric_order)))


def positive_proba(model: object, X: pd.DataFrame) -> np.ndarray:
    """Probability of the positive class from a fitted classifier (or a model bundle,
    whose ``predict_proba`` gives it alone, one value per row)."""
    proba = np.asarray(model.predict_proba(X))
    return proba if proba.ndim == 1 else proba[:, 1]


def tie_break(model: object, X: pd.DataFrame) -> np.ndarray | None:
    """The uncalibrated score a calibrated classifier's calibrator was fed, else None.

    Cohort selection orders equal calibrated risks by the raw score (``riskstrat.scoring``:
    highest risk first, ties by ``raw_score``); the ranking metrics do the same with this.
    It is the response scikit-learn calibrates: ``decision_function`` where the model has
    one (unbounded, so it never saturates the way a squashed probability does), otherwise
    ``predict_proba[:, 1]``. A cross-validated ensemble of calibrators averages several
    models and has no single raw score: None, as for any model that is not calibrated.
    """
    if isinstance(model, ModelBundle):
        return np.asarray(model.raw_score(X), dtype=np.float64)
    fitted = getattr(model, "calibrated_classifiers_", None)
    if fitted is None or len(fitted) != 1:
        return None
    inner = fitted[0].estimator
    if hasattr(inner, "decision_function"):
        return np.asarray(inner.decision_function(X), dtype=np.float64)
    return positive_proba(inner, X)


def _check_labels(rows: pd.DataFrame, outcome: str) -> None:
    """Refuse test rows without the outcome's labels, naming what is wrong with them."""
    if outcome not in rows.columns:
        labels = [c for c in rows.columns if f"{c}_censored" in rows.columns]
        raise ValueError(
            f"rows: no label column {outcome!r}; expected one of the outcomes in the rows: {labels}"
        )
    missing = int(rows[outcome].isna().sum())
    if missing:
        raise ValueError(
            f"rows: {missing:,} label(s) of {outcome!r} are null: censored rows, whose window "
            "the data does not cover whole (a death, or the data ending inside it); expected "
            f"labelled rows only: those whose {outcome}_censored is False"
        )


def evaluate(
    model: object,
    rows: pd.DataFrame,
    *,
    outcome: str | None = None,
    feature_names: Sequence[str] | None = None,
    baselines: Mapping[str, tuple[object, Sequence[str]]] | None = None,
    truth: pd.DataFrame | None = None,
    capacities: Mapping[str, int] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    ece_bins: int = 10,
    confidence: float = 0.95,
    plots_dir: str | Path | None = None,
    groups: pd.DataFrame | None = None,
) -> Evaluation:
    """Metrics with bootstrap intervals for a calibrated model, its baselines and the oracle.

    Parameters
    ----------
    model : TrainResult, ModelBundle or fitted classifier
        A :class:`~riskstrat.modeling.TrainResult` supplies ``outcome``,
        ``feature_names``, baselines, capacities and metric settings itself, a
        :class:`~riskstrat.modeling.ModelBundle` (a reloaded model) its ``outcome`` and
        features (explicit arguments still win).
    rows : DataFrame
        Labelled test rows (``person_id``, ``as_of``, features, ``outcome``, and
        ``rule_score`` for the rule baseline), e.g. one as-of date of a panel.
    outcome : str, optional
    feature_names : sequence of str, optional
    baselines : mapping of name to (fitted calibrated classifier, input columns), optional
    truth : DataFrame, optional
        Synthetic truth; adds the ``oracle`` scorer and the ``model_vs_oracle`` gap.
        Test rows without a true probability are an error.
    capacities : mapping of programme to k, optional
    n_bootstrap, seed, ece_bins, confidence
        See :func:`riskstrat.modeling.bootstrap_metrics`.
    plots_dir : str or Path, optional
        Where to write the PNG plots; no plots when None.
    groups : DataFrame, optional
        Each row's sensitive attributes, one column each, aligned with ``rows``
        (:func:`riskstrat.modeling.sensitive_groups`); adds ``subgroups``.

    Returns
    -------
    Evaluation
    """
    if hasattr(model, "calibrated") and hasattr(model, "config"):
        result = model
        model = result.calibrated
        outcome = outcome or result.outcome
        feature_names = feature_names or result.feature_names
        baselines = result.baselines if baselines is None else baselines
        capacities = result.capacities if capacities is None else capacities
    elif isinstance(model, ModelBundle):
        outcome = outcome or model.outcome
        feature_names = feature_names or list(model.features)
    if outcome is None or feature_names is None:
        raise ValueError(
            "evaluate: give outcome and feature_names (or a TrainResult or ModelBundle)"
        )
    _check_labels(rows, outcome)
    X = feature_matrix(rows, feature_names)
    scores = {MODEL: positive_proba(model, X)}
    ties = {MODEL: tie_break(model, X)}
    for name, (baseline, columns) in (baselines or {}).items():
        X = feature_matrix(rows, columns)
        scores[name], ties[name] = positive_proba(baseline, X), tie_break(baseline, X)
    if truth is not None:
        scores[ORACLE] = covered_truth(rows, truth, outcome)
    y = rows[outcome].to_numpy(dtype=np.float64)
    ks = {name: int(k) for name, k in (capacities or {}).items()}
    clusters = rows["person_id"].to_numpy() if "person_id" in rows.columns else None
    metrics = bootstrap_metrics(
        y,
        scores,
        ks=ks,
        n_bootstrap=n_bootstrap,
        seed=seed,
        n_bins=ece_bins,
        reference=MODEL,
        confidence=confidence,
        tie_breaks=ties,
        clusters=clusters,
    )
    rankings = {name: ranking_key(s, ties.get(name)) for name, s in scores.items()}
    # The same resamples as the table above (seed and clusters), each filling its own places.
    own = programme_rule_metrics(
        y,
        rankings[MODEL],
        rows,
        ks,
        n_bootstrap=n_bootstrap,
        seed=seed,
        confidence=confidence,
        clusters=clusters,
    )
    if not own.empty:
        metrics = pd.concat([metrics, own], ignore_index=True)
    metrics = hide_capacity_steps(metrics, y, rankings, ks)
    # Lists of different rankings hold one another too (the model's top k all eligible).
    lists = published_lists(rows, rankings, ks)
    metrics = hide_list_steps(metrics, y, lists, list(rankings), list(ks))
    predictions = (
        rows[list(KEYS)]
        .reset_index(drop=True)
        .assign(**{outcome: y}, **{name: s for name, s in scores.items()})
    )
    subgroups = None
    if groups is not None:
        # At a capacity every scorer shows: its "all" row gives that capacity's hits.
        capacity = subgroup_capacity(shown_for_every_scorer(metrics, list(rankings), ks), len(y))
        places = without_small_steps(
            y,
            programme_places(y, rows, rankings[MODEL], scores[MODEL], ks),
            lists,
        )
        subgroups = subgroup_metrics(
            y, scores, groups, capacity=capacity, rankings=rankings, places=places
        )
    plots = {}
    if plots_dir is not None:
        plots = evaluation_plots(
            y,
            scores,
            plots_dir,
            ks=ks,
            n_bins=ece_bins,
            title=outcome,
            rankings=rankings,
            published=published_capacities(metrics, list(rankings), ks, len(y)),
        )
        if subgroups is not None:
            plots |= by_group_plots(subgroups, plots_dir, capacity, outcome)
    return Evaluation(
        metrics=metrics,
        predictions=predictions,
        capacities=ks,
        plots=plots,
        subgroups=subgroups,
        rankings=rankings,
        ece_bins=ece_bins,
    )
