"""Copying a registered model's files out of the tracking store, with its failures said
as usage errors that name the model and where the registry keeps it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskstrat.modeling._tracking import ModelReferenceError

ARTIFACTS_MISSING = (
    "registered model {name!r} version {version}: its files are not at {where}, where the "
    "registry records them; expected the artifact store the model was logged to (an "
    "mlartifacts/ folder moved, deleted or not copied with the database?)"
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


def downloaded(client: Any, name: str, version: str, tmp: str) -> Path:
    """The registered version's files in ``tmp``; a usage error naming where the registry
    keeps them when they are not there (MLflow copies nothing then, without a word)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    where = client.get_model_version_download_uri(name, version)
    try:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{version}", dst_path=tmp
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
        raise ModelReferenceError(
            ARTIFACTS_MISSING.format(name=name, version=version, where=where)
        ) from exc
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
        raise ModelReferenceError(ARTIFACTS_MISSING.format(name=name, version=version, where=where))
    return local
