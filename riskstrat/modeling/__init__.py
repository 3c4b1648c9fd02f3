"""Temporal splits, estimators, calibration, metrics, MLflow tracking and model bundles."""

from riskstrat.modeling._audit_groups import sensitive_groups
from riskstrat.modeling._bundle import ModelBundle
from riskstrat.modeling._bundle_files import BundleError, BundleOutputError
from riskstrat.modeling._estimators import (
    MODEL_KINDS,
    SingleFeatureBaseline,
    make_estimator,
    rule_scores,
)
from riskstrat.modeling._evaluate import (
    Evaluation,
    comparison_table,
    evaluate,
    metrics_table,
)
from riskstrat.modeling._metrics import (
    bootstrap_metrics,
    expected_calibration_error,
    point_metrics,
    precision_at_k,
)
from riskstrat.modeling._model_config import (
    LightGBMParams,
    LogisticParams,
    MetricsConfig,
    ModelConfig,
    SplitConfig,
    TrackingConfig,
    load_model_config,
)
from riskstrat.modeling._panel import build_panel, select_features
from riskstrat.modeling._programme_rule import programme_rule_metrics, programme_rule_table
from riskstrat.modeling._registry_promote import promote
from riskstrat.modeling._result import TrainResult
from riskstrat.modeling._subgroups import MIN_CELL, subgroup_metrics
from riskstrat.modeling._timechop import TemporalSplit, quarter_starts, temporal_splits
from riskstrat.modeling._tracking import ModelReferenceError, TrackingError, resolve_tracking_uri
from riskstrat.modeling._tracking_registry import export_model, list_models, resolve_model
from riskstrat.modeling._tracking_run import fingerprint_files, log_training_run
from riskstrat.modeling._train import TRAIN_STAGES, fit_calibrated, train
from riskstrat.modeling._truth import true_probabilities

__all__ = [
    "MIN_CELL",
    "MODEL_KINDS",
    "TRAIN_STAGES",
    "BundleError",
    "BundleOutputError",
    "Evaluation",
    "LightGBMParams",
    "LogisticParams",
    "MetricsConfig",
    "ModelBundle",
    "ModelConfig",
    "SingleFeatureBaseline",
    "SplitConfig",
    "TemporalSplit",
    "TrackingConfig",
    "TrainResult",
    "bootstrap_metrics",
    "build_panel",
    "evaluate",
    "expected_calibration_error",
    "fit_calibrated",
    "load_model_config",
    "make_estimator",
    "metrics_table",
    "comparison_table",
    "point_metrics",
    "programme_rule_metrics",
    "programme_rule_table",
    "precision_at_k",
    "quarter_starts",
    "rule_scores",
    "select_features",
    "sensitive_groups",
    "subgroup_metrics",
    "temporal_splits",
    "train",
    "true_probabilities",
    "ModelReferenceError",
    "TrackingError",
    "export_model",
    "fingerprint_files",
    "list_models",
    "log_training_run",
    "promote",
    "resolve_model",
    "resolve_tracking_uri",
]
