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
from urllib.parse import unquote, urlparse

from riskstrat._atomic import owner_only_folder
from riskstrat.modeling._tracking_uri import shown_uri, uri_problem

DEFAULT_TRACKING_URI = "sqlite:///mlruns.db"
DEFAULT_ARTIFACT_DIR = "mlartifacts"
DEFAULT_EXPERIMENT = "riskstrat"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
CHALLENGER = "challenger"
CHAMPION = "champion"
SHA_TAG = "riskstrat.bundle_sha256"
# The registered model's pyfunc loader, named in MLmodel; imported only by MLflow's loader.
LOADER_MODULE = "riskstrat.modeling._pyfunc"


NO_SCHEME = (
    "tracking URI {uri!r} is not a URI; expected sqlite:///path/to/mlruns.db (embedded; "
    "sqlite://// and an absolute path) or http(s)://host:port (a tracking server)"
)
FILE_STORE = (
    "tracking URI {uri}: MLflow no longer keeps a model registry in a file store; expected "
    "sqlite:///path/to/mlruns.db (embedded) or http(s)://host:port (a tracking server)"
)
UNREACHABLE = (
    "tracking URI {uri}: cannot connect to {host}:{port} ({reason}); expected a running "
    "tracking server"
)
NOT_WRITABLE = (
    "tracking URI {uri}: cannot write in {folder}; expected a folder where the run may keep "
    "its database and artifacts"
)
NO_FOLDER = (
    "tracking URI {uri}: the folder {folder} does not exist; expected the folder of an "
    "existing store, or an existing folder for a new one (create it first if a new store "
    "is meant)"
)
MOVED_STORE = (
    "tracking URI {uri}: experiment {name!r} keeps its artifacts in {location}, not beside "
    "the database ({expected}): the store was copied or moved from another folder, and MLflow "
    "records absolute artifact locations; use the store where it was made, or start a new one"
)


class TrackingError(ValueError):
    """A run cannot be logged, or a model reference cannot be resolved."""


class ModelReferenceError(TrackingError):
    """A model reference that cannot be used as given: no such store, registered name,
    alias, version or bundle folder, an unusable tracking URI, or an ambiguous reference.

    A typo, not tampering: ``riskstrat score`` exits with the usage code for it, and
    keeps the verification code for a model that exists but fails its checks.
    """


def check_tracking_uri(uri: str, *, writable: bool = False) -> str:
    """Refuse a tracking URI that cannot work, before any training time is spent on it.

    A scheme-less path, an unreachable ``http(s)://`` server (3 s to connect) and, with
    ``writable``, an embedded store whose folder does not exist or cannot be written are
    refused.

    Raises
    ------
    TrackingError
    """
    import socket
    from urllib.parse import urlsplit

    scheme, sep, _rest = uri.partition("://")
    if not sep or not scheme:
        raise ModelReferenceError(NO_SCHEME.format(uri=shown_uri(uri)))
    problem = uri_problem(uri)
    if problem is not None:
        raise ModelReferenceError(problem)
    if scheme.lower() == "file" and os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() != "true":
        raise ModelReferenceError(FILE_STORE.format(uri=shown_uri(uri)))
    if scheme.lower() in ("http", "https"):
        parts = urlsplit(uri)
        port = parts.port or (443 if scheme.lower() == "https" else 80)
        try:
            socket.create_connection((parts.hostname or "", port), timeout=3).close()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ModelReferenceError(
                UNREACHABLE.format(
                    uri=shown_uri(uri), host=parts.hostname, port=port, reason=reason
                )
            ) from exc
    database = sqlite_database(uri)
    if writable and database is not None:
        folder = database.resolve().parent
        if not folder.is_dir():
            # A mistyped path would start a second registry, which promote and score never
            # read, without a word.
            raise ModelReferenceError(NO_FOLDER.format(uri=uri, folder=folder))
        target = database if database.exists() else folder
        if not os.access(target, os.W_OK):
            raise TrackingError(NOT_WRITABLE.format(uri=uri, folder=folder))
    return uri


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

    # An MLflow imported before riskstrat started its telemetry client before riskstrat
    # could turn it off (riskstrat/__init__.py); this re-reads the setting.
    with contextlib.suppress(ImportError):  # MLflow before 3.2 has no telemetry
        from mlflow.telemetry import set_telemetry_client

        set_telemetry_client()

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
            _owner_only_database(uri)
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


NOT_A_STORE = (
    "{path} (tracking URI {uri}): {problem}, not an MLflow store; expected the .db file "
    "training wrote, or a path where a new store may be made (training only)"
)
_SQLITE_HEADER = b"SQLite format 3\x00"


def sqlite_problem(tracking_uri: str) -> str | None:
    """What is wrong with an embedded store's existing database file, or None.

    MLflow would write its schema into an empty file, and fail with a raw SQLite error on a
    file of another kind (a log given as the store).
    """
    database = sqlite_database(tracking_uri)
    if database is None or not database.exists():
        return None
    if database.is_dir():
        problem = "a folder"
    else:
        with database.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
        if not header:
            problem = "an empty file"
        elif header != _SQLITE_HEADER:
            problem = "a file that is not an SQLite database"
        else:
            tables = _sqlite_tables(database)
            # MLflow's schema has alembic_version; a database with tables but without it
            # is another application's, which MLflow would add its own tables to.
            if tables is None:
                problem = "an SQLite database that cannot be read"
            elif not tables or "alembic_version" in tables:
                return None
            else:
                problem = "an SQLite database of another application (no MLflow tables)"
    return NOT_A_STORE.format(path=database, uri=tracking_uri, problem=problem)


def _sqlite_tables(database: Path) -> set[str] | None:
    """The table names of an SQLite file, read without writing (None if it cannot be read)."""
    import sqlite3

    try:
        con = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        rows = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.Error:
        return None
    finally:
        con.close()
    return {name for (name,) in rows}


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
    experiment, name, location = _checked_experiment(client, config, artifact_dir, tracking_uri)
    if experiment is not None:
        return experiment.experiment_id
    # A folder made here for the artifacts is the analysts' only, as the database (they
    # hold exact small counts); one already there keeps the access the county gave it.
    owner_only_folder(Path(unquote(urlparse(location).path)).parent)
    return client.create_experiment(name, artifact_location=location)


def _checked_experiment(
    client: Any, config: Any, artifact_dir: str | Path | None, uri: str
) -> tuple[Any, str, str]:
    """The configured experiment (None if new), its name and a new one's artifact location.

    Refuses an embedded store whose database was copied or moved, with its artifacts or
    without: it then records the old artifact folder, and logging would write into the
    folder it came from. Seen by an artifact folder beside it, or by the recorded one being
    another database's default (``.../mlartifacts/<experiment>``). (A store whose
    artifacts were configured elsewhere from the start has neither.)
    """
    name = _setting(config, "experiment", DEFAULT_EXPERIMENT)
    chosen = artifact_dir or _setting(config, "artifact_dir", None)
    # An explicit local folder: MLflow's default would be relative to wherever it runs.
    folder = Path(chosen or default_artifact_dir(uri)).resolve() / name
    location = folder.as_uri()
    experiment = client.get_experiment_by_name(name)
    copied = (
        experiment is not None
        and chosen is None
        and sqlite_database(uri) is not None
        and experiment.artifact_location != location
        and (folder.is_dir() or _a_default_location(experiment.artifact_location, name))
    )
    if copied:
        raise TrackingError(
            MOVED_STORE.format(
                uri=uri, name=name, location=experiment.artifact_location, expected=location
            )
        )
    return experiment, name, location


def _a_default_location(recorded: str, name: str) -> bool:
    """Whether ``recorded`` is where an embedded store keeps an experiment by default."""
    parsed = urlparse(recorded)
    parts = Path(unquote(parsed.path)).parts
    return parsed.scheme == "file" and parts[-2:] == (DEFAULT_ARTIFACT_DIR, name)


def _owner_only_database(uri: str) -> None:
    """A new embedded store's database, made empty (SQLite takes it as a new database) and
    its owner's only before MLflow writes into it: MLflow made it readable by the machine's
    users under a usual umask. SQLite gives its journal the database's permissions."""
    database = sqlite_database(uri)
    if database is None or database.exists() or not database.parent.is_dir():
        return
    with contextlib.suppress(FileExistsError):  # made meanwhile: its maker's permissions
        os.close(os.open(database, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))


def check_store(tracking_uri: str | None, config: Any = None, outcome: str | None = None) -> None:
    """Before training: the store (:func:`resolve_tracking_uri`) can take a run (see
    :func:`check_tracking_uri`).

    Also refuses an embedded store copied from another folder and, given the model's
    ``outcome``, a registered name that holds another outcome. Creates nothing.
    """
    uri = resolve_tracking_uri(tracking_uri, config)
    check_tracking_uri(uri, writable=True)
    problem = sqlite_problem(uri)
    if problem is not None:
        raise TrackingError(problem)
    database = sqlite_database(uri)
    if database is not None and not database.exists():
        return  # a new store: its experiment will be made beside it
    from mlflow.exceptions import MlflowException

    from riskstrat.modeling._registry_names import check_name_outcome
    from riskstrat.modeling._tracking_uri import refusal

    try:
        with _session(uri) as client:
            _checked_experiment(client, config, None, uri)
            if outcome is not None:
                name = _setting(config, "registered_name") or f"riskstrat-{outcome}"
                check_name_outcome(client, name, outcome)
    except MlflowException as exc:  # a server that refuses: before training, in one line
        refused = f"tracking URI {shown_uri(uri)}: the model registry refused the request: "
        raise ModelReferenceError(refused + refusal(exc, uri)) from exc
