"""Hand a trained model to the bundle and tracking code (``_bundle``, ``_tracking``).

Only ``lightgbm`` and ``logistic`` models become bundles; the baselines are evaluation
yardsticks, not deployable models.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from riskstrat.modeling._model_config import ModelConfig

logger = logging.getLogger(__name__)

BUNDLE_KINDS: tuple[str, ...] = ("lightgbm", "logistic")
EFFECTIVE_CONFIG = "model_config.effective.json"


def config_hash(config: ModelConfig) -> str:
    """sha256 of the configuration's canonical JSON (sorted keys, ISO dates)."""
    text = json.dumps(_plain(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value: object) -> object:
    # dataclasses.asdict would deep-copy the config's read-only mappings, which fails.
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "items"):  # read-only mappings from the config loader
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def training_params(config: ModelConfig) -> dict[str, object]:
    """Flat run parameters: kind, outcome, calibration and the kind's hyperparameters."""
    params: dict[str, object] = {
        "outcome": config.outcome,
        "kind": config.kind,
        "calibration": config.calibration,
        "seed": config.seed,
        "use_sensitive_features": config.use_sensitive_features,
    }
    section = {"lightgbm": config.lightgbm, "logistic": config.logistic}.get(config.kind)
    if section is not None:
        for key, value in _plain(section).items():
            params[f"{config.kind}.{key}"] = value
    for key, value in _plain(config.split).items():
        params[f"split.{key}"] = value
    return params


def make_bundle(result: object) -> object | None:
    """A :class:`~riskstrat.modeling.ModelBundle` of the result, or None for baselines."""
    if result.kind not in BUNDLE_KINDS:
        return None
    try:
        from riskstrat.modeling._bundle import ModelBundle
    except ImportError:  # bundle code not in this tree
        return None
    model_metrics = {
        r.metric: float(r.estimate) for r in result.metrics.itertuples() if r.scorer == "model"
    }
    metadata = {
        "split": result.split.to_dict(),
        "calibration": result.config.calibration,
        "metrics": model_metrics,
        "counts": dict(result.counts),
        "capacities": dict(result.capacities),
        "config_sha256": config_hash(result.config),
        "data_fingerprint": result.data_fingerprint,
    }
    return ModelBundle.from_calibrated(
        result.calibrated, result.kind, list(result.feature_names), result.outcome, metadata
    )


def publish(
    result: object,
    *,
    out: str | Path | None,
    tracking_uri: str | None,
    config_paths: tuple[str | Path, ...],
    step: Callable[[str], None],
) -> object:
    """Build and save the bundle, log the run; returns the result with both attached.

    Parameters
    ----------
    result : TrainResult
    out : str or Path, optional
        Bundle folder (replaced if it exists).
    tracking_uri : str, optional
        Log to MLflow at this URI (also when ``config.tracking.enabled``).
    config_paths : tuple of paths
    step : callable
        Progress callback.

    Returns
    -------
    TrainResult
    """
    step("bundle")
    bundle = make_bundle(result)
    bundle_path = None
    if bundle is not None and out is not None:
        bundle_path = bundle.save(out, overwrite=True)
    step("tracking")
    run_id = None
    tracking = result.config.tracking
    if bundle is not None and (tracking_uri or tracking.enabled):
        from riskstrat.modeling._tracking_run import log_training_run

        with tempfile.TemporaryDirectory() as tmp:
            # The files as given plus the config this run used: a CLI override such as
            # --outcome is in the latter only.
            effective = Path(tmp) / EFFECTIVE_CONFIG
            effective.write_text(
                json.dumps({"model": _plain(result.config)}, indent=2, sort_keys=True, default=str)
            )
            run_id = log_training_run(
                bundle,
                config_paths=[*(Path(p) for p in config_paths), effective],
                params=training_params(result.config)
                | ({"oracle": result.oracle} if result.oracle else {}),
                metrics=result.metric_values(),
                plots=[p for p in result.plots.values()],
                feature_names=list(result.feature_names),
                data_fingerprint=result.data_fingerprint,
                tracking_uri=tracking_uri,
                config=tracking,
                run_name=f"{result.outcome}-{result.kind}-{result.split.test_as_of.isoformat()}",
            )
    return dataclasses.replace(result, bundle=bundle, bundle_path=bundle_path, run_id=run_id)
