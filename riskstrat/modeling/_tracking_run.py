"""Logging a trained model to MLflow as a run, and registering it as the ``challenger``.

A run records parameters, numeric metrics, the feature list, config files, plots,
evaluation tables, a fingerprint of the input data and the bundle itself. The registered
model is a pyfunc whose loader module is riskstrat's own (``_pyfunc.py``) and whose data is
the bundle folder, so the artifact store holds no pickle and no code; its signature names
the bundle's features, and its model config pins the bundle's sha256, which the loader
checks.
Kept apart from the registry operations (:mod:`riskstrat.modeling._tracking_registry`)
because this is the only place that writes runs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from riskstrat._atomic import scratch_folder
from riskstrat.modeling._bundle import ModelBundle
from riskstrat.modeling._registry_names import check_name_outcome
from riskstrat.modeling._tracking import (
    CHALLENGER,
    LOADER_MODULE,
    SHA_TAG,
    TrackingError,
    _experiment_id,
    _session,
    _setting,
    check_tracking_uri,
    resolve_tracking_uri,
)

MODEL_ARTIFACT = "model"
_HEX64 = re.compile(r"[0-9a-f]{64}")

NO_BUNDLE = "expected a ModelBundle or an object with a .bundle attribute, got {type_name}"
FEATURES_DIFFER = "feature_names {given} differ from the bundle's features {stored}"
NOT_A_NUMBER = "metric {key!r}: expected a number, got a value of type {type_name}"
NOT_A_FILE = "{what} file not found: {path}"


def _flatten(values: Mapping[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in (values or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _numeric_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    out = {}
    for key, value in _flatten(metrics).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TrackingError(NOT_A_NUMBER.format(key=key, type_name=type(value).__name__))
        out[key] = float(value)
    return out


def fingerprint_files(paths: Sequence[str | Path] | str | Path) -> str:
    """sha256 over the input files' names, content hashes and row counts.

    Parameters
    ----------
    paths : path or sequence of paths
        Files, or folders whose ``*.parquet`` and ``*.csv`` files are all included.

    Returns
    -------
    str
        Hex digest; equal inputs give equal fingerprints wherever they are stored.
    """
    files: list[Path] = []
    for p in [paths] if isinstance(paths, str | Path) else paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted([*p.rglob("*.parquet"), *p.rglob("*.csv")]))
        elif p.is_file():
            files.append(p)
        else:
            raise TrackingError(NOT_A_FILE.format(what="input", path=p))
    entries = []
    for f in sorted(files, key=lambda f: (f.name, str(f))):
        digest = hashlib.sha256()
        with f.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        entries.append({"file": f.name, "sha256": digest.hexdigest(), "rows": _row_count(f)})
    return hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()


def _row_count(path: Path) -> int | None:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if path.suffix == ".csv":
        with path.open("rb") as handle:
            return max(sum(1 for _ in handle) - 1, 0)  # minus the header line
    return None


def _as_bundle(result_like: Any) -> tuple[ModelBundle, Any]:
    if isinstance(result_like, ModelBundle):
        return result_like, None
    bundle = getattr(result_like, "bundle", None)
    if not isinstance(bundle, ModelBundle):
        raise TrackingError(NO_BUNDLE.format(type_name=type(result_like).__name__))
    return bundle, result_like


def log_training_run(
    result_like: Any,
    config_paths: Sequence[str | Path] = (),
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    plots: Sequence[str | Path] = (),
    feature_names: Sequence[str] | None = None,
    data_fingerprint: str | Path | Sequence[str | Path] | None = None,
    *,
    tables: Mapping[str, Any] | None = None,
    texts: Mapping[str, str] | None = None,
    model_name: str | None = None,
    run_name: str | None = None,
    tracking_uri: str | None = None,
    artifact_dir: str | Path | None = None,
    config: Any = None,
) -> str:
    """Log a trained model to MLflow and register it as the ``challenger``.

    Parameters
    ----------
    result_like : ModelBundle or object with ``.bundle``
        The trained model. When ``params`` / ``metrics`` are not given, they come from
        the object (``.params`` mapping; ``.metric_values()`` or a ``.metrics``
        mapping), else from ``metrics`` in the bundle metadata.
    config_paths : sequence of paths
        Configuration files, logged under ``config/``.
    params, metrics : mapping, optional
        Run parameters and numeric metrics; nested mappings become dotted names.
    plots : sequence of paths
        Image files, logged under ``plots/``.
    feature_names : sequence of str, optional
        Checked against the bundle's features; logged as ``features.json``.
    data_fingerprint : str, path or sequence of paths, optional
        A fingerprint of the input data (64 hex digits), or the input files / folders to
        compute it from with :func:`fingerprint_files`; logged as a tag.
    tables : mapping of str to DataFrame, optional
        Aggregate tables (never person-level rows) logged as ``evaluation/<name>.csv``.
    texts : mapping of file name to text, optional
        Documents logged as ``evaluation/<name>`` (the evaluation's ``summary.md``).
    model_name : str, optional
        Registered model name; default ``config.registered_name`` or ``riskstrat-<outcome>``.
    run_name : str, optional
        MLflow run name.
    tracking_uri : str, optional
        Overrides the environment and the config (see module docstring).
    artifact_dir : str or Path, optional
        Artifact folder for a new experiment (default ``mlartifacts/`` beside a sqlite
        database, else in the working directory); an existing
        experiment keeps its own.
    config : TrackingConfig, optional
        The model config's ``tracking`` section: URI, experiment, registered name.

    Returns
    -------
    str
        The MLflow run id. The run's tag ``riskstrat.model_version`` holds the version.
    """
    bundle, result = _as_bundle(result_like)
    features = list(bundle.features)
    if feature_names is not None and list(feature_names) != features:
        raise TrackingError(FEATURES_DIFFER.format(given=list(feature_names), stored=features))
    for what, paths in (("config", config_paths), ("plot", plots)):
        for p in paths:
            if not Path(p).is_file():
                raise TrackingError(NOT_A_FILE.format(what=what, path=p))
    if params is None:
        params = _mapping_or_none(getattr(result, "params", None))
    if metrics is None:
        metrics = _default_metrics(result, bundle)
    all_params = _flatten(params)
    all_metrics = _numeric_metrics(metrics)
    name = model_name or _setting(config, "registered_name") or f"riskstrat-{bundle.outcome}"
    tags = {
        "riskstrat.outcome": bundle.outcome,
        "riskstrat.kind": bundle.kind,
        "riskstrat.bundle_version": bundle.version,
        SHA_TAG: bundle.sha256,
    }
    if data_fingerprint is not None:
        if not (isinstance(data_fingerprint, str) and _HEX64.fullmatch(data_fingerprint)):
            data_fingerprint = fingerprint_files(data_fingerprint)
        tags["riskstrat.data_fingerprint"] = data_fingerprint
    uri = check_tracking_uri(resolve_tracking_uri(tracking_uri, config), writable=True)
    with _session(uri) as client, scratch_folder() as tmp:
        import mlflow

        check_name_outcome(client, name, bundle.outcome)  # before anything is made
        experiment_id = _experiment_id(client, config, artifact_dir, uri)
        # Inside a caller's active run (a notebook's, say), log as its child run.
        nested = mlflow.active_run() is not None
        with mlflow.start_run(
            experiment_id=experiment_id, run_name=run_name, tags=tags, nested=nested
        ) as run:
            if all_params:
                mlflow.log_params({k: _param_text(v) for k, v in all_params.items()})
            if all_metrics:
                mlflow.log_metrics(all_metrics)
            mlflow.log_dict({"features": features}, "features.json")
            for p in config_paths:
                mlflow.log_artifact(str(p), artifact_path="config")
            for p in plots:
                mlflow.log_artifact(str(p), artifact_path="plots")
            for table_name, frame in (tables or {}).items():
                csv = Path(tmp) / f"{table_name}.csv"
                frame.to_csv(csv, index=False)
                mlflow.log_artifact(str(csv), artifact_path="evaluation")
            for file_name, text in (texts or {}).items():
                mlflow.log_text(text, f"evaluation/{file_name}")
            bundle_dir = bundle.save(Path(tmp) / "bundle")
            # No input_example: MLflow would load and run the model to validate it.
            info = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT,
                loader_module=LOADER_MODULE,
                data_path=str(bundle_dir),
                pip_requirements=_requirements(),
                metadata={SHA_TAG: bundle.sha256},
                model_config={SHA_TAG: bundle.sha256},  # _load_pyfunc refuses any other bundle
                signature=model_signature(features),
            )
            version = _register(client, name, info, run.info.run_id, tags)
            mlflow.set_tag("riskstrat.model_name", name)
            mlflow.set_tag("riskstrat.model_version", version)
        # Every new model is the challenger until someone promotes it.
        client.set_registered_model_alias(name, CHALLENGER, version)
    return run.info.run_id


def registered_version(
    run_id: str, tracking_uri: str | None = None, config: Any = None
) -> tuple[str, str] | None:
    """The registered model's name and version a run of :func:`log_training_run` made."""
    uri = resolve_tracking_uri(tracking_uri, config)
    with _session(uri) as client:
        tags = client.get_run(run_id).data.tags
    name, version = tags.get("riskstrat.model_name"), tags.get("riskstrat.model_version")
    return (name, version) if name and version else None


def model_signature(features: Sequence[str]) -> Any:
    """The pyfunc's signature: the bundle's features in, a ``probability`` (double) out.

    Inputs are named but typed ``any``: MLflow's schema check refuses int64 and bool
    columns for a ``double`` input (it converts only lossless casts), yet the feature
    tables hold both and the bundle itself takes any numeric or boolean column. Missing
    feature columns are still refused by name.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, DataType, Schema
    from mlflow.types.schema import AnyType

    return ModelSignature(
        inputs=Schema([ColSpec(AnyType(), name) for name in features]),
        outputs=Schema([ColSpec(DataType.double, "probability")]),
    )


def _mapping_or_none(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _default_metrics(result: Any, bundle: ModelBundle) -> Mapping[str, Any] | None:
    # A TrainResult offers flat point estimates through metric_values() (its .metrics is a
    # long table); a plain object may carry a mapping; else the bundle's own metadata.
    values = getattr(result, "metric_values", None)
    if callable(values):
        return values()
    found = _mapping_or_none(getattr(result, "metrics", None))
    if found is not None:
        return found
    return _mapping_or_none(bundle.metadata.get("metrics"))


def _param_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return json.dumps(list(value), default=str)
    return str(value)


def _requirements() -> list[str]:
    from importlib.metadata import version

    from riskstrat import __version__

    # riskstrat too: its loader module is the code that reads the bundle.
    pins = [f"{pkg}=={version(pkg)}" for pkg in ("lightgbm", "mlflow", "numpy", "pandas")]
    return [*pins, f"riskstrat=={__version__}"]


def _register(client: Any, name: str, info: Any, run_id: str, tags: Mapping[str, str]) -> str:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name)
    mv = client.create_model_version(
        name, source=info.model_uri, run_id=run_id, tags=dict(tags), model_id=info.model_id
    )
    return str(mv.version)
