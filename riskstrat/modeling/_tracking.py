"""Where MLflow tracking happens: the tracking URI, the experiment and a quiet session.

Runs and the model registry are embedded (no server needed). By default runs go to
``sqlite:///mlruns.db`` in the working directory and artifacts to ``mlartifacts/`` beside the
database. The
tracking URI is taken, in order, from the function argument, the ``MLFLOW_TRACKING_URI``
environment variable, the ``model.tracking.tracking_uri`` config key, then that default.

This module holds that resolution, the constants and error type shared by the tracking
modules, and :func:`_session`, which points MLflow at a URI without leaking its global
state or its log chatter. Logging a run is in :mod:`riskstrat.modeling._tracking_run`;
registry operations (promote, resolve, list, export) in
:mod:`riskstrat.modeling._tracking_registry`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_TRACKING_URI = "sqlite:///mlruns.db"
DEFAULT_ARTIFACT_DIR = "mlartifacts"
DEFAULT_EXPERIMENT = "riskstrat"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
CHALLENGER = "challenger"
CHAMPION = "champion"
SHA_TAG = "riskstrat.bundle_sha256"


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


def sqlite_database(tracking_uri: str) -> Path | None:
    """The database file of an embedded ``sqlite:///`` store; None for any other URI.

    ``sqlite:///runs.db`` is relative to the working directory, ``sqlite:////abs/runs.db``
    absolute; an in-memory database (``sqlite://``, ``sqlite:///:memory:``) has no file.
    """
    scheme, sep, rest = tracking_uri.partition("://")
    if not sep or scheme.split("+", 1)[0] != "sqlite" or not rest.startswith("/"):
        return None
    path = rest[1:].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def default_artifact_dir(tracking_uri: str) -> Path:
    """Where a new experiment's artifacts go when neither argument nor config says.

    An embedded ``sqlite:///path/to/runs.db`` store keeps its artifacts beside the database
    (``path/to/mlartifacts``), so one folder holds the whole store; any other URI uses
    ``mlartifacts/`` in the working directory.
    """
    database = sqlite_database(tracking_uri)
    if database is not None:
        return database.parent / DEFAULT_ARTIFACT_DIR
    return Path(DEFAULT_ARTIFACT_DIR)


def _experiment_id(
    client: Any, config: Any, artifact_dir: str | Path | None, tracking_uri: str = ""
) -> str:
    name = _setting(config, "experiment", DEFAULT_EXPERIMENT)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    # An explicit local folder: MLflow's default would be relative to wherever it runs.
    artifact_dir = Path(
        artifact_dir or _setting(config, "artifact_dir", None) or default_artifact_dir(tracking_uri)
    )
    location = (artifact_dir.resolve() / name).as_uri()
    return client.create_experiment(name, artifact_location=location)
