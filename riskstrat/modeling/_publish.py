"""Hand a trained model to the bundle and tracking code (``_bundle``, ``_tracking``).

Only ``lightgbm`` and ``logistic`` models become bundles; the baselines are evaluation
yardsticks, not deployable models.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from riskstrat import _config
from riskstrat._atomic import scratch_folder
from riskstrat._html import markdown_html
from riskstrat.modeling._model_config import ModelConfig, is_sensitive, plain_config
from riskstrat.modeling._report import HTML_REPORT_FILE, REPORT_FILE, evaluation_markdown
from riskstrat.modeling._timechop import TemporalSplit
from riskstrat.modeling._tracking import TRACKING_URI_ENV

logger = logging.getLogger(__name__)

NOT_TRACKED = (
    "kind %r is a baseline: no run is logged to MLflow, which registers models; its figures "
    "are in the result returned (and the evaluation folder when out is given)"
)
NO_BUNDLE = (
    "kind %r is a baseline: no model bundle is written to %s (its evaluation is, beside it); "
    "expected one of %s for a bundle"
)

BUNDLE_KINDS: tuple[str, ...] = ("lightgbm", "logistic")
EFFECTIVE_CONFIG = "model_config.effective.json"
# The other configs a training run reads: feature spec (and the condition code lists its
# features filter on), outcome labels, programme rules (rule baseline) and capacities, and
# the county's additions to the data contract.
FEATURE_SPEC_FILE = "features.yaml"
OUTCOME_SPEC_FILE = "outcomes.yaml"
RUN_CONFIG_FILES: tuple[str, ...] = (
    FEATURE_SPEC_FILE,
    OUTCOME_SPEC_FILE,
    "programs.yaml",
    "conditions.yaml",
    "contract.yaml",
)
BOUNDS: tuple[str, ...] = ("lower", "upper")


def config_hash(config: ModelConfig) -> str:
    """sha256 of the configuration's canonical JSON (sorted keys, ISO dates)."""
    text = json.dumps(plain_config(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        for key, value in plain_config(section).items():
            params[f"{config.kind}.{key}"] = value
    for key, value in plain_config(config.split).items():
        params[f"split.{key}"] = value
    return params


def split_dates(split: TemporalSplit) -> dict[str, str]:
    """The as-of dates a run actually used (``split.*`` holds only the settings)."""
    return {
        "dates.train_as_of": ",".join(d.isoformat() for d in split.train_as_of),
        "dates.calibration_as_of": ",".join(d.isoformat() for d in split.calibration_as_of),
        "dates.test_as_of": split.test_as_of.isoformat(),
        "dates.data_end": split.data_end.isoformat(),
    }


def tracked_metrics(result: object) -> dict[str, float]:
    """Point estimates (``<scorer>.<metric>``) plus their interval bounds, and counts.

    Bounds are ``<scorer>.<metric>.lower`` / ``.upper``; undefined ones (no bootstrap, or
    a metric without an interval) are left out, as are undefined estimates. Counts are
    ``counts.<split>_<rows|events|left_out>`` and ``input.rows_used`` / ``.rows_set_aside``.
    """
    values = dict(result.metric_values())
    for r in result.metrics.itertuples():
        for bound in BOUNDS:
            value = getattr(r, bound)
            if value is not None and np.isfinite(value):
                values[f"{r.scorer}.{r.metric}.{bound}"] = float(value)
    # The rows behind the figures: test rows and events, and what the input lost.
    values |= {f"counts.{k}": float(v) for k, v in result.counts.items()}
    if result.inputs:
        values["input.rows_used"] = float(sum(result.inputs["rows_used"].values()))
        values["input.rows_set_aside"] = float(sum(result.inputs["rows_set_aside"].values()))
    return values


def looked_up_configs(
    *, model: bool, feature_spec: object | None = None, outcome_spec: object | None = None
) -> dict[str, Path]:
    """The default config files a training run found by lookup, by name (none given)."""
    given = {FEATURE_SPEC_FILE: feature_spec, OUTCOME_SPEC_FILE: outcome_spec}
    names = [n for n in RUN_CONFIG_FILES if given.get(n) is None]
    found = {}
    for name in (["model.yaml"] if model else []) + names:
        try:
            found[name] = _config.default_config_path(name)
        except _config.ConfigNotFoundError:  # no such file: not read
            continue
    return found


def run_config_files(
    folder: Path, *, feature_spec: object | None = None, outcome_spec: object | None = None
) -> list[Path]:
    """The config files a training run read besides the model config.

    The default ``configs/`` files (see :func:`riskstrat._config.default_config_path`)
    that exist; a feature or outcome spec passed as an object instead is written to
    ``folder`` as canonical JSON (``features.json``, ``outcomes.json``) in place of its
    YAML file.
    """
    custom = {FEATURE_SPEC_FILE: feature_spec, OUTCOME_SPEC_FILE: outcome_spec}
    files = []
    for name in RUN_CONFIG_FILES:
        spec = custom.get(name)
        if spec is not None:
            path = folder / f"{Path(name).stem}.json"
            path.write_text(json.dumps(plain_config(spec), indent=2, sort_keys=True, default=str))
            files.append(path)
            continue
        try:
            files.append(_config.default_config_path(name))
        except _config.ConfigNotFoundError:  # no such file: nothing to log
            continue
    return files


def config_digests(
    config_paths: tuple | list,
    copies: Mapping[str, bytes],
    *,
    feature_spec: object | None = None,
    outcome_spec: object | None = None,
) -> dict[str, str]:
    """sha256 of each config a training run read, by file name: the model config's file
    (or the copy of it a config loaded in a notebook keeps) and the others of
    :func:`run_config_files`; a spec given as an object is hashed as canonical JSON."""
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in copies.items()}
    for path in config_paths:
        digests[Path(path).name] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    given = {FEATURE_SPEC_FILE: feature_spec, OUTCOME_SPEC_FILE: outcome_spec}
    for name in RUN_CONFIG_FILES:
        if given.get(name) is not None:
            text = json.dumps(plain_config(given[name]), sort_keys=True, default=str)
            digests[f"{Path(name).stem} (an object)"] = hashlib.sha256(text.encode()).hexdigest()
            continue
        try:
            path = _config.default_config_path(name)
        except _config.ConfigNotFoundError:  # no such file: not read
            continue
        digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def sensitive_inputs(result: object) -> list[str]:
    """The model inputs that are, derive from, or stand for a sensitive attribute (a param)."""
    config = result.config
    return [f for f in result.feature_names if is_sensitive(f, config.withheld)]


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
        "inputs": result.inputs,
    }
    if result.feature_definitions is not None:
        metadata["feature_definitions"] = dict(result.feature_definitions)
    if result.missing_allowed is not None:
        metadata["missing_allowed"] = list(result.missing_allowed)
    return ModelBundle.from_calibrated(
        result.calibrated, result.kind, list(result.feature_names), result.outcome, metadata
    )


def will_track(config: object, tracking_uri: str | None, track: bool | None) -> bool:
    """Whether a training run is logged to MLflow (see ``track`` in :func:`publish`)."""
    if track is not None:
        return track
    # Setting MLFLOW_TRACKING_URI is asking for runs to be logged there.
    return bool(tracking_uri or config.tracking.enabled or os.environ.get(TRACKING_URI_ENV))


def publish(
    result: object,
    *,
    out: str | Path | None,
    tracking_uri: str | None,
    config_paths: tuple[str | Path, ...],
    step: Callable[[str], None],
    config_copies: Mapping[str, bytes] | None = None,
    feature_spec: object | None = None,
    outcome_spec: object | None = None,
    track: bool | None = None,
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
        Config files given by the caller, logged under ``config/`` with the effective
        model config and the other configs the run read (:func:`run_config_files`).
    step : callable
        Progress callback.
    config_copies : mapping of file name to bytes, optional
        Config files as they read when loaded, logged as given files are.
    feature_spec, outcome_spec : optional
        The spec objects ``train`` was given, if any: logged as JSON in place of
        ``features.yaml`` / ``outcomes.yaml``.
    track : bool, optional
        True: always log; False: never; None: when ``tracking_uri`` is given,
        ``config.tracking.enabled`` is true or ``MLFLOW_TRACKING_URI`` is set.

    Returns
    -------
    TrainResult
    """
    bundle = result.bundle
    if bundle is None and result.kind in BUNDLE_KINDS:  # train() has made it already
        step("bundle")
        bundle = make_bundle(result)
    bundle_path = None
    if bundle is not None and out is not None:
        bundle_path = bundle.save(out, overwrite=True)
    elif out is not None:
        # A baseline scores with the programme rules or one column: nothing to bundle.
        logger.warning(NO_BUNDLE, result.kind, out, sorted(BUNDLE_KINDS))
    step("tracking")
    run_id = None
    tracked = will_track(result.config, tracking_uri, track)
    if tracked and bundle is None:
        # Asked for, and not done: said, so no one looks for the run in the store.
        logger.warning(NOT_TRACKED, result.kind)
    if tracked and bundle is not None:
        from riskstrat.modeling._tracking_run import log_training_run

        with scratch_folder() as tmp:
            # The files as given plus the config this run used: a CLI override such as
            # --outcome is in the latter only.
            effective = Path(tmp) / EFFECTIVE_CONFIG
            effective.write_text(
                json.dumps(
                    {"model": plain_config(result.config)}, indent=2, sort_keys=True, default=str
                )
            )
            given = [Path(p) for p in config_paths]
            for name, data in (config_copies or {}).items():
                (Path(tmp) / "given").mkdir(exist_ok=True)
                given.append(Path(tmp) / "given" / name)
                given[-1].write_bytes(data)
            # A given file of the same name wins: MLflow would overwrite one with the other.
            read = [
                p
                for p in run_config_files(
                    Path(tmp), feature_spec=feature_spec, outcome_spec=outcome_spec
                )
                if p.name not in {g.name for g in given}
            ]
            run_id = log_training_run(
                bundle,
                config_paths=[*given, *read, effective],
                params=training_params(result.config)
                | {"sensitive_inputs": sensitive_inputs(result)}
                | split_dates(result.split)
                | ({"oracle": result.oracle} if result.oracle else {}),
                metrics=tracked_metrics(result),
                plots=[p for p in result.plots.values()],
                # From memory, so they are logged whether or not `out` was given.
                tables={"metrics": result.metrics, "rolling": result.rolling}
                | ({} if result.importance is None else {"importance": result.importance})
                | ({} if result.subgroups is None else {"subgroups": result.subgroups}),
                # Plots sit under plots/ in the run, beside evaluation/.
                texts={
                    REPORT_FILE: evaluation_markdown(result, plots_prefix="../plots/"),
                    # The one page an evaluator opens or sends on, its plots embedded.
                    HTML_REPORT_FILE: _report_page(result),
                },
                feature_names=list(result.feature_names),
                data_fingerprint=result.data_fingerprint,
                tracking_uri=tracking_uri,
                config=result.config.tracking,
                run_name=f"{result.outcome}-{result.kind}-{result.split.test_as_of.isoformat()}",
            )
    registered = None
    if run_id is not None:
        from riskstrat.modeling._tracking_run import registered_version

        registered = registered_version(run_id, tracking_uri, result.config.tracking)
    return dataclasses.replace(
        result, bundle=bundle, bundle_path=bundle_path, run_id=run_id, registered=registered
    )


def _report_page(result: object) -> str:
    """``report.html`` as the evaluation folder has it, the plots read from where they
    were drawn (none without an output folder)."""
    folders = {Path(p).parent.parent for p in result.plots.values()}  # type: ignore[attr-defined]
    folder = folders.pop() if len(folders) == 1 else None
    return markdown_html(evaluation_markdown(result), f"Model evaluation: {result.outcome}", folder)
