"""The MLflow model registry: resolve or export a bundle, list models.

A newly registered version is the ``challenger`` (see
:mod:`riskstrat.modeling._tracking_run`); :func:`~riskstrat.modeling._registry_promote.promote`
moves ``champion`` to a version.
:func:`resolve_model` turns a reference (a folder, an alias, ``NAME/VERSION``) into a
verified :class:`ModelBundle`, reading the bundle's files back through
:meth:`ModelBundle.load` and checking the sha256 recorded at registration, so nothing is
unpickled on the way.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from riskstrat._atomic import scratch_folder
from riskstrat.modeling._bundle import ModelBundle
from riskstrat.modeling._bundle_files import BundleError
from riskstrat.modeling._registry_download import downloaded, read_elsewhere
from riskstrat.modeling._registry_names import model_versions
from riskstrat.modeling._registry_refs import (
    _parse_ref,
    _stored_bundle,
    bare_name_hint,
    bundle_folder,
    registered_models,
)
from riskstrat.modeling._tracking import (
    SHA_TAG,
    ModelReferenceError,
    TrackingError,
    _session,
    _setting,
    check_tracking_uri,
    resolve_tracking_uri,
    shown_uri,
    sqlite_database,
    sqlite_problem,
)

UNKNOWN_VERSION = "registered model {name!r} has no version {version!r}{known}"
UNKNOWN_ALIAS = "registered model {name!r} has no version with alias {alias!r}{known}"
UNKNOWN_MODEL = "no registered model named {name!r} at {uri}; registered: {known}"
NO_REGISTRY = "no model registry at {path} (tracking URI {uri}); expected an existing store"
NO_BUNDLE_ARTIFACT = (
    "model {ref!r}: the MLflow model holds no riskstrat bundle; expected the data of loader "
    "module riskstrat.modeling._pyfunc (or, before 2026-12-06, a 'bundle' artifact)"
)
ESCAPING_ARTIFACT = (
    "registered model {name!r} version {version}: its MLmodel points the bundle "
    "outside the downloaded model; expected a path inside it"
)
UNPINNED = (
    "registered model {name!r} version {version} has no {tag} tag, so nothing says which "
    "bundle it should hold; register models with riskstrat train (or check the bundle with "
    "riskstrat models verify --sha256 and set the tag to that hash)"
)
REGISTERED_BUNDLE = "registered model {name!r} version {version}{alias}: {problem}"

logger = logging.getLogger(__name__)


def _existing_store(uri: str) -> str:
    """``uri``, unless it is an embedded store whose database does not exist.

    Opening a missing sqlite store creates it; a mistyped path would then fail later as
    "no registered model" in an empty store made on the spot.
    """
    check_tracking_uri(uri)
    database = sqlite_database(uri)
    if database is not None and not database.exists():
        raise ModelReferenceError(NO_REGISTRY.format(path=database.resolve(), uri=uri))
    problem = sqlite_problem(uri)
    if problem is not None:
        raise ModelReferenceError(problem)
    return uri


def _known_versions(client: Any, name: str) -> str:
    """``"; it has version 1 (champion), 2 (challenger)"``, for an unknown alias or version."""
    try:
        versions = model_versions(client, name)
        by_version: dict[str, list[str]] = {}
        for alias, version in (client.get_registered_model(name).aliases or {}).items():
            by_version.setdefault(str(version), []).append(alias)
    except Exception:  # the message is a courtesy: never let it mask the real error
        return ""
    if not versions:
        return "; it has no versions"
    shown = []
    for mv in sorted(versions, key=lambda v: int(v.version)):
        aliases = ", ".join(sorted(by_version.get(str(mv.version), ())))
        shown.append(f"{mv.version} ({aliases})" if aliases else str(mv.version))
    return "; it has version " + ", ".join(shown)


def _alias_version(client: Any, name: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def _check_model(client: Any, name: str, uri: str) -> None:
    known = sorted(m.name for m in registered_models(client))
    if name not in known:
        raise ModelReferenceError(UNKNOWN_MODEL.format(name=name, uri=shown_uri(uri), known=known))


def list_models(*, tracking_uri: str | None = None, config: Any = None) -> pd.DataFrame:
    """One row per registered model version, newest first within each name.

    An embedded sqlite store whose database file does not exist lists nothing and is not
    created.

    Returns
    -------
    DataFrame
        Columns ``name``, ``version``, ``aliases``, ``outcome``, ``kind``,
        ``bundle_sha256``, ``run_id``, ``created`` (UTC timestamp), and from the version's
        training run ``test_as_of`` (ISO date), ``auroc`` and ``ece`` (the model's point
        estimates on the test quarter; empty or NaN when the run did not log them or was
        deleted).
    """
    uri = resolve_tracking_uri(tracking_uri, config)
    rows = []
    check_tracking_uri(uri)
    database = sqlite_database(uri)
    if database is not None and not database.exists():
        # Said, since an empty table alone reads as "nothing registered yet".
        logger.warning(NO_REGISTRY.format(path=database, uri=uri))
        return _models_frame(rows)
    problem = sqlite_problem(uri)
    if problem is not None:
        raise ModelReferenceError(problem)
    with _session(uri) as client:
        runs = _RunFacts(client)
        for model in registered_models(client):
            aliases: dict[str, list[str]] = {}
            for alias, version in (model.aliases or {}).items():
                aliases.setdefault(str(version), []).append(alias)
            for mv in model_versions(client, model.name):
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
                    | runs.facts(mv.run_id)
                )
    return _models_frame(rows)


class _RunFacts:
    """What a version's training run measured, so versions can be compared before a promotion."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._seen: dict[str, dict[str, Any]] = {}

    def facts(self, run_id: str | None) -> dict[str, Any]:
        if not run_id:
            return dict(_NO_FACTS)
        if run_id not in self._seen:
            from mlflow.exceptions import MlflowException

            try:
                run = self._client.get_run(run_id)
            except MlflowException:  # removed for good (mlflow gc): the version stays
                run = None
            if run is None or run.info.lifecycle_stage == "deleted":
                # A deleted run's figures are no longer vouched for by anyone.
                self._seen[run_id] = dict(_NO_FACTS)
            else:
                data = run.data
                self._seen[run_id] = {
                    "test_as_of": data.params.get("dates.test_as_of", ""),
                    "auroc": data.metrics.get("model.auroc", float("nan")),
                    "ece": data.metrics.get("model.ece", float("nan")),
                }
        return self._seen[run_id]


_NO_FACTS = {"test_as_of": "", "auroc": float("nan"), "ece": float("nan")}


def _models_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    columns = ["name", "version", "aliases", "outcome", "kind", "bundle_sha256", "run_id"]
    frame = pd.DataFrame(rows, columns=[*columns, "created", *_NO_FACTS])
    return frame.sort_values(["name", "version"], ascending=[True, False], ignore_index=True)


NO_BUNDLE_FOLDER = (
    "{path}: no such bundle folder; expected a bundle folder or a registry alias or version"
)


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
        A bundle folder (a ``Path``, or a string with a path separator or a leading
        ``.``); ``"champion"`` or ``"challenger"``; ``"NAME@ALIAS"``; ``"NAME/VERSION"``;
        a bare version number; ``models:/`` forms of these. A string that is both a
        registry reference and an existing folder is refused (:func:`bundle_folder`).
        A bare alias names the one registered model holding it; a bare version, or an
        alias several models hold, needs ``model_name`` (or ``config.registered_name``)
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

    Raises
    ------
    BundleError
        The bundle fails verification; for a registered model the message names the
        model, version and alias rather than the temporary download folder.
    """
    folder = bundle_folder(ref)
    if folder is not None:
        if not folder.is_dir():
            raise ModelReferenceError(NO_BUNDLE_FOLDER.format(path=folder))
        return ModelBundle.load(folder)
    ref = str(ref)  # a version given as a number
    return resolve_registered(str(ref), tracking_uri, model_name=model_name, config=config)[0]


def resolve_registered(
    ref: str,
    tracking_uri: str | None = None,
    *,
    model_name: str | None = None,
    config: Any = None,
) -> tuple[ModelBundle, str, str]:
    """:func:`resolve_model` for a registry reference, with the name and version it found.

    An alias moves when a model is promoted, so a record of what was scored (a cohort's
    manifest) names the registered model and version the alias pointed to at the time.

    Returns
    -------
    (ModelBundle, str, str)
        The verified bundle, the registered model's name and its version.
    """
    uri = _existing_store(resolve_tracking_uri(tracking_uri, config))
    with _session(uri) as client, scratch_folder() as tmp:
        name, selector, is_version = _parse_ref(
            client, ref, model_name or _setting(config, "registered_name"), uri
        )
        _check_model(client, name, uri)
        if is_version:
            try:
                mv = client.get_model_version(name, selector)
            except Exception as exc:
                raise ModelReferenceError(
                    UNKNOWN_VERSION.format(
                        name=name, version=selector, known=_known_versions(client, name)
                    )
                ) from exc
        else:
            try:
                mv = client.get_model_version_by_alias(name, selector)
            except Exception as exc:
                raise ModelReferenceError(
                    UNKNOWN_ALIAS.format(
                        name=name, alias=selector, known=_known_versions(client, name)
                    )
                    + bare_name_hint(ref)
                ) from exc
        alias = "" if is_version else f" (alias {selector!r})"
        bundle = _verified_bundle(client, name, mv, tmp, alias, uri=uri)
        elsewhere = read_elsewhere(client, uri, name, str(mv.version))
    if elsewhere:  # said once the session no longer mutes stderr
        logger.warning(elsewhere)
    return bundle, name, str(mv.version)


def _verified_bundle(
    client: Any, name: str, mv: Any, tmp: Path, alias: str = "", *, uri: str = ""
) -> ModelBundle:
    """The registered version's bundle, checked against the sha256 pinned at registration.

    Raises
    ------
    BundleError
        Naming the model, version and ``alias`` rather than the temporary download folder.
    """
    local = downloaded(client, name, str(mv.version), tmp, uri)
    stored = _stored_bundle(_read_mlmodel(local / "MLmodel"))
    if stored is None:
        raise TrackingError(NO_BUNDLE_ARTIFACT.format(ref=f"{name}/{mv.version}"))
    # The bundle files are read into memory here, so the temporary copy can go.
    bundle_dir = (local / stored).resolve()
    if not bundle_dir.is_relative_to(local.resolve()):
        raise TrackingError(ESCAPING_ARTIFACT.format(name=name, version=mv.version))
    expected = mv.tags.get(SHA_TAG)
    if not expected:
        raise TrackingError(UNPINNED.format(name=name, version=mv.version, tag=SHA_TAG))
    try:
        return ModelBundle.load(bundle_dir, expected_sha256=expected)
    except BundleError as exc:
        # Bundle messages start with the folder, here a temporary download.
        problem = str(exc).removeprefix(f"{bundle_dir}: ")
        raise BundleError(
            REGISTERED_BUNDLE.format(name=name, version=mv.version, alias=alias, problem=problem)
        ) from exc


def export_model(
    ref: str | Path,
    out: str | Path,
    *,
    tracking_uri: str | None = None,
    model_name: str | None = None,
    overwrite: bool = False,
    config: Any = None,
) -> ModelBundle:
    """Resolve ``ref`` (see :func:`resolve_model`; ``config``, the model config's tracking
    section) and save the verified bundle to ``out``."""
    return exported(
        ref,
        out,
        tracking_uri=tracking_uri,
        model_name=model_name,
        overwrite=overwrite,
        config=config,
    )[0]


def exported(
    ref: str | Path,
    out: str | Path,
    *,
    tracking_uri: str | None = None,
    model_name: str | None = None,
    overwrite: bool = False,
    config: Any = None,
) -> tuple[ModelBundle, tuple[str, str] | None]:
    """:func:`export_model`, with the registered name and version a registry reference
    meant (None for a bundle folder): an alias moves, and the export names what it copied."""
    if bundle_folder(ref) is not None:
        bundle, registered = resolve_model(ref, tracking_uri, config=config), None
    else:
        bundle, name, version = resolve_registered(
            str(ref), tracking_uri, model_name=model_name, config=config
        )
        registered = (name, version)
    bundle.save(out, overwrite=overwrite)
    return bundle, registered


def _read_mlmodel(path: Path) -> dict:
    """MLflow's MLmodel file, read with the safe loader: MLflow's file, not a riskstrat
    config, so a damaged one is said to be the model's, not a configuration error."""
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TrackingError(f"{path}: MLflow's model file cannot be read ({exc})") from exc
    return loaded if isinstance(loaded, dict) else {}
