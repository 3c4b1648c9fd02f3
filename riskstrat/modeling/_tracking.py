"""MLflow tracking and registry for model bundles, embedded (no server needed).

By default runs go to ``sqlite:///mlruns.db`` in the working directory and artifacts to
``mlartifacts/``. The tracking URI is taken, in order, from the function argument, the
``MLFLOW_TRACKING_URI`` environment variable, the ``model.tracking.tracking_uri`` config key,
then that default. A newly registered model version gets the alias ``challenger``;
:func:`promote` moves ``champion`` to it. The registered model is a pyfunc logged as
"models from code" (``_pyfunc.py``), so MLflow never pickles a Python object, and
:func:`resolve_model` reads the bundle's files back through :meth:`ModelBundle.load`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import re
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from riskstrat._config import read_yaml
from riskstrat.modeling._bundle import ModelBundle

DEFAULT_TRACKING_URI = "sqlite:///mlruns.db"
DEFAULT_ARTIFACT_DIR = "mlartifacts"
DEFAULT_EXPERIMENT = "riskstrat"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
CHALLENGER = "challenger"
CHAMPION = "champion"
MODEL_ARTIFACT = "model"
PYFUNC_PATH = Path(__file__).with_name("_pyfunc.py")
SHA_TAG = "riskstrat.bundle_sha256"
_HEX64 = re.compile(r"[0-9a-f]{64}")

NO_BUNDLE = "expected a ModelBundle or an object with a .bundle attribute, got {type_name}"
FEATURES_DIFFER = "feature_names {given} differ from the bundle's features {stored}"
NOT_A_NUMBER = "metric {key!r}: expected a number, got a value of type {type_name}"
NOT_A_FILE = "{what} file not found: {path}"
UNKNOWN_VERSION = "registered model {name!r} has no version {version!r}"
UNKNOWN_ALIAS = "registered model {name!r} has no version with alias {alias!r}"
UNKNOWN_MODEL = "no registered model named {name!r} at {uri}; registered: {known}"
AMBIGUOUS_MODEL = (
    "model reference {ref!r} needs a model name: {count} registered models at {uri} "
    "({known}); use NAME@ALIAS, NAME/VERSION or pass model_name"
)
NO_BUNDLE_ARTIFACT = "model {ref!r}: the MLflow model has no 'bundle' artifact"


class TrackingError(ValueError):
    """A run cannot be logged, or a model reference cannot be resolved."""


def _setting(config: Any, name: str, default: Any = None) -> Any:
    """A tracking setting from the model config's ``tracking`` section, if it has one.

    ``config`` is :class:`riskstrat.modeling._model_config.TrackingConfig` (fields
    ``tracking_uri``, ``experiment``, ``registered_name``, optionally ``artifact_dir``)
    or None; read by attribute so this module needs no copy of that dataclass.
    """
    value = getattr(config, name, None) if config is not None else None
    return default if value is None else value


def resolve_tracking_uri(tracking_uri: str | None = None, config: Any = None) -> str:
    """The tracking URI to use: argument, then environment, then config, then default.

    Parameters
    ----------
    tracking_uri : str, optional
        Explicit URI, used as given.
    config : TrackingConfig, optional
        The ``tracking`` section of the model config.

    Returns
    -------
    str
    """
    return (
        tracking_uri
        or os.environ.get(TRACKING_URI_ENV)
        or _setting(config, "tracking_uri")
        or DEFAULT_TRACKING_URI
    )


@contextlib.contextmanager
def _session(uri: str) -> Iterator[Any]:
    """Point MLflow's fluent API at ``uri`` and keep its chatter out of our output.

    MLflow's fluent calls read process-wide state; it is restored afterwards so a caller's
    own MLflow setup is untouched. Its INFO logs (database migrations, registration
    notices), progress bars and warnings about optional extras say nothing actionable here.
    """
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_env = {
        k: os.environ.get(k)
        for k in (TRACKING_URI_ENV, "MLFLOW_REGISTRY_URI", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    }
    saved_uris = (tracking_utils._tracking_uri, registry_utils._registry_uri)
    loggers = [logging.getLogger(n) for n in ("mlflow", "alembic")]
    saved_levels = [lg.level for lg in loggers]
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.filterwarnings("ignore", module=r"mlflow(\.|$)")
            warnings.filterwarnings("ignore", module=r"alembic(\.|$)")
            mlflow.set_tracking_uri(uri)
            mlflow.set_registry_uri(uri)
            yield mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    finally:
        tracking_utils._tracking_uri, registry_utils._registry_uri = saved_uris
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for lg, level in zip(loggers, saved_levels, strict=True):
            lg.setLevel(level)


def _experiment_id(client: Any, config: Any, artifact_dir: str | Path | None) -> str:
    name = _setting(config, "experiment", DEFAULT_EXPERIMENT)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    # An explicit local folder: MLflow's default would be relative to wherever it runs.
    artifact_dir = Path(artifact_dir or _setting(config, "artifact_dir", DEFAULT_ARTIFACT_DIR))
    location = (artifact_dir.resolve() / name).as_uri()
    return client.create_experiment(name, artifact_location=location)


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
    model_name : str, optional
        Registered model name; default ``config.registered_name`` or ``riskstrat-<outcome>``.
    run_name : str, optional
        MLflow run name.
    tracking_uri : str, optional
        Overrides the environment and the config (see module docstring).
    artifact_dir : str or Path, optional
        Artifact folder for a new experiment (default ``mlartifacts/``); an existing
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
    uri = resolve_tracking_uri(tracking_uri, config)
    with _session(uri) as client, tempfile.TemporaryDirectory() as tmp:
        import mlflow

        experiment_id = _experiment_id(client, config, artifact_dir)
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
            bundle_dir = bundle.save(Path(tmp) / "bundle")
            info = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT,
                python_model=str(PYFUNC_PATH),
                artifacts={"bundle": str(bundle_dir)},
                pip_requirements=_requirements(),
                metadata={SHA_TAG: bundle.sha256},
            )
            version = _register(client, name, info, run.info.run_id, tags)
            mlflow.set_tag("riskstrat.model_name", name)
            mlflow.set_tag("riskstrat.model_version", version)
        # Every new model is the challenger until someone promotes it.
        client.set_registered_model_alias(name, CHALLENGER, version)
    return run.info.run_id


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

    return [f"{pkg}=={version(pkg)}" for pkg in ("lightgbm", "mlflow", "numpy", "pandas")] + [
        "riskstrat"
    ]


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


def promote(
    name: str,
    version: int | str,
    *,
    tracking_uri: str | None = None,
    config: Any = None,
) -> str | None:
    """Make ``version`` of registered model ``name`` the ``champion``.

    The ``challenger`` alias is removed if it pointed to the promoted version.

    Returns
    -------
    str or None
        The version that was champion before, if any.
    """
    from mlflow.exceptions import MlflowException

    uri = resolve_tracking_uri(tracking_uri, config)
    with _session(uri) as client:
        _check_model(client, name, uri)
        try:
            client.get_model_version(name, str(version))
        except MlflowException as exc:
            raise TrackingError(UNKNOWN_VERSION.format(name=name, version=str(version))) from exc
        previous = _alias_version(client, name, CHAMPION)
        client.set_registered_model_alias(name, CHAMPION, str(version))
        if _alias_version(client, name, CHALLENGER) == str(version):
            client.delete_registered_model_alias(name, CHALLENGER)
    return previous


def _alias_version(client: Any, name: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def _check_model(client: Any, name: str, uri: str) -> None:
    known = sorted(m.name for m in client.search_registered_models())
    if name not in known:
        raise TrackingError(UNKNOWN_MODEL.format(name=name, uri=uri, known=known))


def list_models(*, tracking_uri: str | None = None, config: Any = None) -> pd.DataFrame:
    """One row per registered model version, newest first within each name.

    Returns
    -------
    DataFrame
        Columns ``name``, ``version``, ``aliases``, ``outcome``, ``kind``,
        ``bundle_sha256``, ``run_id``, ``created`` (UTC timestamp).
    """
    uri = resolve_tracking_uri(tracking_uri, config)
    rows = []
    with _session(uri) as client:
        for model in client.search_registered_models():
            aliases: dict[str, list[str]] = {}
            for alias, version in (model.aliases or {}).items():
                aliases.setdefault(str(version), []).append(alias)
            for mv in client.search_model_versions(f"name='{model.name}'"):
                rows.append(
                    {
                        "name": model.name,
                        "version": int(mv.version),
                        "aliases": ",".join(sorted(aliases.get(str(mv.version), []))),
                        "outcome": mv.tags.get("riskstrat.outcome", ""),
                        "kind": mv.tags.get("riskstrat.kind", ""),
                        "bundle_sha256": mv.tags.get(SHA_TAG, ""),
                        "run_id": mv.run_id or "",
                        "created": pd.Timestamp(mv.creation_timestamp, unit="ms", tz="UTC"),
                    }
                )
    columns = ["name", "version", "aliases", "outcome", "kind", "bundle_sha256", "run_id"]
    frame = pd.DataFrame(rows, columns=[*columns, "created"])
    return frame.sort_values(["name", "version"], ascending=[True, False], ignore_index=True)


_NAME_ALIAS = re.compile(r"^(?:models:/)?(?P<name>[^@/]+)@(?P<alias>[\w-]+)$")
_NAME_VERSION = re.compile(r"^(?:models:/)?(?P<name>[^@/]+)/(?P<version>\d+)$")


def resolve_model(
    ref: str | Path,
    tracking_uri: str | None = None,
    *,
    model_name: str | None = None,
    config: Any = None,
) -> ModelBundle:
    """Load the bundle a reference points to, verified, without unpickling.

    Parameters
    ----------
    ref : str or Path
        A bundle folder; ``"champion"`` or ``"challenger"``; ``"NAME@ALIAS"``;
        ``"NAME/VERSION"``; a bare version number; ``models:/`` forms of these.
        Bare aliases and versions need ``model_name`` (or ``config.registered_name``)
        unless the registry holds exactly one model.
    tracking_uri : str, optional
        Overrides the environment and the config.
    model_name : str, optional
        Registered model name for bare aliases and versions.
    config : TrackingConfig, optional
        The model config's ``tracking`` section: default URI and registered name.

    Returns
    -------
    ModelBundle
        Checked against its files' checksums and, for registered models, against the
        bundle sha256 recorded at registration.
    """
    if isinstance(ref, Path) or Path(ref).is_dir():
        return ModelBundle.load(ref)
    ref = str(ref)
    uri = resolve_tracking_uri(tracking_uri, config)
    with _session(uri) as client, tempfile.TemporaryDirectory() as tmp:
        import mlflow

        name, selector = _parse_ref(
            client, ref, model_name or _setting(config, "registered_name"), uri
        )
        _check_model(client, name, uri)
        if selector.isdigit():
            try:
                mv = client.get_model_version(name, selector)
            except Exception as exc:
                raise TrackingError(UNKNOWN_VERSION.format(name=name, version=selector)) from exc
        else:
            try:
                mv = client.get_model_version_by_alias(name, selector)
            except Exception as exc:
                raise TrackingError(UNKNOWN_ALIAS.format(name=name, alias=selector)) from exc
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{mv.version}", dst_path=tmp
            )
        )
        mlmodel = read_yaml(local / "MLmodel") or {}
        artifacts = mlmodel.get("flavors", {}).get("python_function", {}).get("artifacts", {})
        if "bundle" not in artifacts:
            raise TrackingError(NO_BUNDLE_ARTIFACT.format(ref=ref))
        # The bundle files are read into memory here, so the temporary copy can go.
        return ModelBundle.load(
            local / artifacts["bundle"]["path"], expected_sha256=mv.tags.get(SHA_TAG)
        )


def _parse_ref(client: Any, ref: str, model_name: str | None, uri: str) -> tuple[str, str]:
    for pattern in (_NAME_ALIAS, _NAME_VERSION):
        match = pattern.match(ref)
        if match:
            name, selector = match.groups()
            return name, selector
    selector = ref.removeprefix("models:/")
    if "/" in selector or "\\" in selector:
        ModelBundle.load(ref)  # not a registry reference: report the missing bundle folder
    if model_name:
        return model_name, selector
    known = sorted(m.name for m in client.search_registered_models())
    if len(known) != 1:
        raise TrackingError(AMBIGUOUS_MODEL.format(ref=ref, count=len(known), uri=uri, known=known))
    return known[0], selector


def export_model(
    ref: str | Path,
    out: str | Path,
    *,
    tracking_uri: str | None = None,
    model_name: str | None = None,
    overwrite: bool = False,
) -> ModelBundle:
    """Resolve ``ref`` (see :func:`resolve_model`) and save the verified bundle to ``out``."""
    bundle = resolve_model(ref, tracking_uri, model_name=model_name)
    bundle.save(out, overwrite=overwrite)
    return bundle
