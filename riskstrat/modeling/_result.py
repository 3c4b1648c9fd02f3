"""The result of a training run: the calibrated model, its split and its evaluation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV

from riskstrat.modeling._evaluate import (
    Evaluation,
    comparison_table,
    metrics_table,
    notebook_html,
)
from riskstrat.modeling._model_config import ModelConfig
from riskstrat.modeling._programme_rule import programme_rule_table
from riskstrat.modeling._timechop import TemporalSplit


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """Everything a training run produced.

    Attributes
    ----------
    config : ModelConfig
    outcome, kind : str
    calibrated : CalibratedClassifierCV
        ``CalibratedClassifierCV(FrozenEstimator(model))`` fitted on the calibration
        slice; what :class:`~riskstrat.modeling.ModelBundle` stores.
    feature_names : list of str
        The model's inputs, in the order it was fitted on.
    split : TemporalSplit
        The split of the fitted model (the latest test quarter).
    evaluation : Evaluation
        Test-quarter metrics with intervals, baselines, oracle, predictions, plots.
    rolling : DataFrame
        Point metrics per rolling-origin test quarter and scorer.
    baselines : dict
        Baseline name to (calibrated baseline, its input columns).
    capacities : dict
        k per programme for precision and recall at k.
    counts : dict
        Rows and events in train, calibration and test.
    bundle : ModelBundle or None
    bundle_path : Path or None
    run_id : str or None
    registered : (str, str) or None
        The registered model's name and version the run logged (the challenger).
    oracle : str or None
        Which true probabilities the oracle column holds: ``"as_of (N draws)"`` (given the
        state on the as-of date, :func:`riskstrat.synth.as_of_truth`), ``"path"`` (given the
        whole latent path, the synthetic county's stored truth) or None without truth.
    importance : DataFrame or None
        Mean absolute contribution per feature on the test quarter, largest first
        (:func:`riskstrat.modeling._importance.feature_importance`); None for a baseline.
    data_fingerprint : str or None
        sha256 of the tables as loaded (or of the prebuilt panel), from
        :func:`riskstrat.modeling._fingerprint.data_fingerprint`; kept in the bundle
        metadata and as the MLflow tag ``riskstrat.data_fingerprint``.
    inputs : dict or None
        What the run read (:func:`riskstrat.modeling._panel.input_record`): whether the
        tables were validated here, rows used and set aside per table, and warnings on
        the sources; None for a prebuilt panel.
    feature_definitions : dict or None
        sha256 of each input's definition in the feature spec; None for a prebuilt panel.
    missing_allowed : list of str or None
        The inputs the bundle accepts missing values in
        (:func:`riskstrat.modeling._panel.missing_allowed`); a missing value in any other
        input is refused when scoring.
    configs : dict or None
        sha256 of each config file the run read, by file name (the model config, feature
        spec, outcomes, programme rules, conditions, contract; a spec given as an object by
        its canonical JSON): the rule baseline and the capacities come from these, which the
        code digest does not cover.
    """

    config: ModelConfig
    outcome: str
    kind: str
    calibrated: CalibratedClassifierCV
    feature_names: list[str]
    split: TemporalSplit
    evaluation: Evaluation
    rolling: pd.DataFrame
    baselines: dict[str, tuple[CalibratedClassifierCV, list[str]]]
    capacities: dict[str, int]
    counts: dict[str, int]
    bundle: object | None = None
    bundle_path: Path | None = None
    run_id: str | None = None
    registered: tuple[str, str] | None = None
    oracle: str | None = None
    data_fingerprint: str | None = None
    importance: pd.DataFrame | None = None
    inputs: dict[str, object] | None = None
    feature_definitions: dict[str, str] | None = None
    missing_allowed: list[str] | None = None
    configs: dict[str, str] | None = None

    def __repr__(self) -> str:
        # The default printed every field: 18,000 characters in a notebook.
        point = self.metrics.set_index(["scorer", "metric"])["estimate"]
        shown = {m: point.get(("model", m)) for m in ("auroc", "ece")}
        figures = ", ".join(f"{m}={v:.3f}" for m, v in shown.items() if v is not None)
        return (
            f"TrainResult(outcome={self.outcome!r}, kind={self.kind!r}, "
            f"features={len(self.feature_names)}, test_as_of={self.split.test_as_of}, "
            f"{figures}, bundle_path={self.bundle_path!r}, run_id={self.run_id!r})"
        )

    def _repr_html_(self) -> str:
        return notebook_html(self)

    @property
    def model(self) -> object:
        """The fitted, uncalibrated estimator inside the calibrator."""
        return self.calibrated.estimator.estimator

    @property
    def metrics(self) -> pd.DataFrame:
        """Long metrics table (``scorer``, ``metric``, ``estimate``, ``lower``, ``upper``)."""
        return self.evaluation.metrics

    @property
    def baseline_metrics(self) -> pd.DataFrame:
        """Rows of :attr:`metrics` for the baselines and the model's lift over them."""
        names = set(self.baselines) | {f"model_vs_{b}" for b in self.baselines}
        return self.metrics[self.metrics["scorer"].isin(names)].reset_index(drop=True)

    @property
    def oracle_gap(self) -> pd.DataFrame | None:
        """Model minus oracle for every metric (None without truth)."""
        return self.evaluation.oracle_gap

    @property
    def subgroups(self) -> pd.DataFrame | None:
        """Figures per group of each sensitive attribute, small counts suppressed (None
        when trained from a prebuilt panel, which has no persons table)."""
        return self.evaluation.subgroups

    @property
    def plots(self) -> dict[str, Path]:
        """Plot name to PNG path (empty when no output folder was given)."""
        return self.evaluation.plots

    def figures(self) -> dict[str, object]:
        """The test quarter's plots as matplotlib figures (see :meth:`Evaluation.figures`);
        :attr:`plots` gives the PNG files a run with an ``out`` folder wrote."""
        return self.evaluation.figures()

    def table(self) -> pd.DataFrame:
        """Wide metrics table: one row per metric, estimate / lower / upper per scorer."""
        return metrics_table(self.metrics)

    def comparisons(self, measure: str = "diff") -> pd.DataFrame:
        """The model minus (``"diff"``) or over (``"lift"``, precision at k) each other
        scorer, one row per metric (:func:`~riskstrat.modeling.comparison_table`)."""
        return comparison_table(self.metrics, measure)

    def programme_rules(self) -> pd.DataFrame:
        """Each programme's own rule on the places it fills (its eligible people, at most
        k), against the model's top on as many places: one row per programme
        (:func:`~riskstrat.modeling.programme_rule_table`)."""
        return programme_rule_table(self.metrics, self.capacities)

    def metric_values(self) -> dict[str, float]:
        """Flat ``<scorer>.<metric>`` point estimates, e.g. for tracking."""
        return {
            f"{r.scorer}.{r.metric}": float(r.estimate)
            for r in self.metrics.itertuples()
            if np.isfinite(r.estimate)
        }
