"""Copying a registered model's files out of the tracking store, with its failures said
as usage errors that name the model and where the registry keeps it."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from riskstrat.modeling._bundle_files import BundleError
from riskstrat.modeling._tracking import (
    DEFAULT_ARTIFACT_DIR,
    ModelReferenceError,
    sqlite_database,
)

ARTIFACTS_MISSING = (
    "registered model {name!r} version {version}: its files are not at {where}, where the "
    "registry records them; expected the artifact store the model was logged to (an "
    "mlartifacts/ folder moved, deleted or not copied with the database?)"
)
COPIED_STORE = (
    "the database {database} was copied from another folder: it records its files at "
    "{where}, not in the {artifacts} folder beside it, which is never read"
)
READ_FROM_ORIGINAL = (
    "registered model {name!r} version {version}: {copied}; read from there (the bundle's "
    "sha256 is checked all the same)"
)
COPIED_AND_GONE = (
    "registered model {name!r} version {version}: its files are not at {where}, where the "
    "registry records them: {copied}; expected the store where the model was trained, or a "
    "model trained into this store"
)
NO_MLMODEL = (
    "registered model {name!r} version {version}: its MLmodel file is missing from {where}, "
    "beside its other files; expected the files it was registered with"
)
ARTIFACTS_UNREADABLE = (
    "registered model {name!r} version {version}: {path}: {reason}; expected the tracking "
    "store's artifact folder readable by the user the job runs as"
)
ARTIFACTS_REFUSED = (
    "registered model {name!r} version {version}: the tracking store refused to copy its "
    "files from {where}: {reason}; expected plain files there (a link out of the store is "
    "not followed)"
)
ARTIFACTS_FAILED = (
    "registered model {name!r} version {version}: its files could not be copied from "
    "{where}: {reason}; expected the tracking store's artifacts readable by the user the "
    "job runs as"
)


def downloaded(client: Any, name: str, version: str, tmp: str | Path, uri: str = "") -> Path:
    """The registered version's files in ``tmp``; a usage error naming where the registry
    keeps them when they are not there (MLflow copies nothing then, without a word).

    ``uri``, the tracking URI, lets an embedded store copied with its artifact folder be
    said as such: it still reads the files of the store it was copied from.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    where = client.get_model_version_download_uri(name, version)
    copied = _copied_store(uri, where)
    try:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{version}", dst_path=str(tmp)
            )
        )
    except PermissionError as exc:
        # The registry's files, not the run's data or output: said as such.
        raise ModelReferenceError(
            ARTIFACTS_UNREADABLE.format(
                name=name, version=version, path=exc.filename or where, reason=exc.strerror
            )
        ) from exc
    except FileNotFoundError as exc:
        # Only "not there": a full disk, say, is said as itself.
        raise ModelReferenceError(_missing(name, version, where, copied)) from exc
    except MlflowException as exc:
        # MLflow's check of the stored paths (a link leading out of the store) is said as
        # such; any other failure (a file another account wrote 0600, which MLflow gathers
        # with the rest, or a remote store's) in MLflow's own words, naming the model.
        reason = str(exc.message).rstrip(".")
        refused = exc.error_code == "INVALID_PARAMETER_VALUE"
        raise ModelReferenceError(
            (ARTIFACTS_REFUSED if refused else ARTIFACTS_FAILED).format(
                name=name, version=version, where=where, reason=reason
            )
        ) from exc
    if not (local / "MLmodel").is_file():
        if local.is_dir() and any(local.iterdir()):
            # Its other files are there: one was removed, as one changed is a failed check.
            raise BundleError(NO_MLMODEL.format(name=name, version=version, where=where))
        raise ModelReferenceError(_missing(name, version, where, copied))
    return local


def read_elsewhere(client: Any, uri: str, name: str, version: str) -> str | None:
    """A warning when an embedded store copied with its artifact folder read the registered
    version's files from the store it was copied from; None otherwise.

    For the caller to log once MLflow's session (which mutes stderr) is closed.
    """
    copied = _copied_store(uri, client.get_model_version_download_uri(name, version))
    return READ_FROM_ORIGINAL.format(name=name, version=version, copied=copied) if copied else None


def _missing(name: str, version: str, where: str, copied: str | None) -> str:
    if copied:  # "not copied with the database?" would mislead: it was, and is not read
        return COPIED_AND_GONE.format(name=name, version=version, where=where, copied=copied)
    return ARTIFACTS_MISSING.format(name=name, version=version, where=where)


def _copied_store(uri: str, where: str) -> str | None:
    """Why an embedded store reads files from outside its folder, or None.

    A database copied with its artifact folder keeps the absolute file locations MLflow
    recorded in the original, another database's ``mlartifacts/``; the copy's own folder
    is then never read. Artifacts configured elsewhere from the start
    (``model.tracking.artifact_dir``) are where they belong.
    """
    database = sqlite_database(uri) if uri else None
    parsed = urlparse(where)
    if database is None or parsed.scheme != "file":
        return None
    beside = database.resolve().parent / DEFAULT_ARTIFACT_DIR
    recorded = Path(unquote(parsed.path))
    if not beside.is_dir() or recorded.is_relative_to(beside):
        return None  # nothing beside it to be the copy's, or where it belongs
    parts = recorded.parts
    if DEFAULT_ARTIFACT_DIR not in parts:
        return None  # artifacts configured elsewhere from the start
    root = Path(*parts[: parts.index(DEFAULT_ARTIFACT_DIR) + 1])
    if (root.exists() and root.resolve() == beside) or (
        root.parent.is_dir() and not any(root.parent.glob("*.db"))
    ):
        # Another database's default folder has that database beside it (or is gone
        # with it); a folder named mlartifacts chosen as artifact_dir has none.
        return None
    return COPIED_STORE.format(
        database=database.resolve(), where=where, artifacts=DEFAULT_ARTIFACT_DIR + "/"
    )
