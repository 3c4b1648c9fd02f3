"""The MLflow model registry: promote a version, resolve or export a bundle, list models.

A newly registered version is the ``challenger`` (see
:mod:`riskstrat.modeling._tracking_run`); :func:`promote` moves ``champion`` to a version.
:func:`resolve_model` turns a reference (a folder, an alias, ``NAME/VERSION``) into a
verified :class:`ModelBundle`, reading the bundle's files back through
:meth:`ModelBundle.load` and checking the sha256 recorded at registration, so nothing is
unpickled on the way.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from riskstrat._config import read_yaml
from riskstrat.modeling._bundle import ModelBundle
from riskstrat.modeling._bundle_files import BundleError
from riskstrat.modeling._tracking import (
    CHALLENGER,
    CHAMPION,
    LOADER_MODULE,
    SHA_TAG,
    ModelReferenceError,
    TrackingError,
    _session,
    _setting,
    check_tracking_uri,
    resolve_tracking_uri,
    sqlite_database,
    sqlite_problem,
)

UNKNOWN_VERSION = "registered model {name!r} has no version {version!r}{known}"
UNKNOWN_ALIAS = "registered model {name!r} has no version with alias {alias!r}{known}"
UNKNOWN_MODEL = "no registered model named {name!r} at {uri}; registered: {known}"
AMBIGUOUS_MODEL = (
    "model reference {ref!r} needs a model name: {count} registered models at {uri} "
    "({known}) could be meant; use NAME@ALIAS or NAME/VERSION (or model_name= from Python, "
    "--name of `riskstrat models export`)"
)
NO_REGISTRY = "no model registry at {path} (tracking URI {uri}); expected an existing store"
BAD_REF_TYPE = (
    "model reference: expected a bundle folder (a path), a registry reference such as "
    "'champion', 'NAME@ALIAS' or 'NAME/VERSION', or a version number; got a {kind}"
)
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

    uri = _existing_store(resolve_tracking_uri(tracking_uri, config))
    with _session(uri) as client:
        _check_model(client, name, uri)
        try:
            client.get_model_version(name, str(version))
        except MlflowException as exc:
            raise ModelReferenceError(
                UNKNOWN_VERSION.format(
                    name=name, version=str(version), known=_known_versions(client, name)
                )
            ) from exc
        previous = _alias_version(client, name, CHAMPION)
        client.set_registered_model_alias(name, CHAMPION, str(version))
        if _alias_version(client, name, CHALLENGER) == str(version):
            client.delete_registered_model_alias(name, CHALLENGER)
    return previous


def _known_versions(client: Any, name: str) -> str:
    """``"; it has version 1 (champion), 2 (challenger)"``, for an unknown alias or version."""
    try:
        versions = client.search_model_versions(f"name = '{name}'")
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
    known = sorted(m.name for m in client.search_registered_models())
    if name not in known:
        raise ModelReferenceError(UNKNOWN_MODEL.format(name=name, uri=uri, known=known))


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
AMBIGUOUS_REF = (
    "model {ref!r} is both a registry reference and the folder {folder}; write ./{ref} for "
    "the folder, or models:/NAME@ALIAS or models:/NAME/VERSION for the registry"
)
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
                ) from exc
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{name}/{mv.version}", dst_path=tmp
            )
        )
        stored = _stored_bundle(read_yaml(local / "MLmodel") or {})
        if stored is None:
            raise TrackingError(NO_BUNDLE_ARTIFACT.format(ref=ref))
        # The bundle files are read into memory here, so the temporary copy can go.
        bundle_dir = (local / stored).resolve()
        if not bundle_dir.is_relative_to(local.resolve()):
            raise TrackingError(ESCAPING_ARTIFACT.format(name=name, version=mv.version))
        expected = mv.tags.get(SHA_TAG)
        if not expected:
            raise TrackingError(UNPINNED.format(name=name, version=mv.version, tag=SHA_TAG))
        try:
            return ModelBundle.load(bundle_dir, expected_sha256=expected), name, str(mv.version)
        except BundleError as exc:
            # Bundle messages start with the folder, here a temporary download.
            problem = str(exc).removeprefix(f"{bundle_dir}: ")
            alias = "" if selector.isdigit() else f" (alias {selector!r})"
            raise BundleError(
                REGISTERED_BUNDLE.format(
                    name=name, version=mv.version, alias=alias, problem=problem
                )
            ) from exc


def _stored_bundle(mlmodel: Any) -> str | None:
    """Where in a downloaded MLflow model its bundle is, as MLmodel says; None if nowhere.

    Models logged since 2026-12-06 keep it as the data of riskstrat's loader module;
    earlier ones, as the ``bundle`` artifact of a models-from-code wrapper.
    """
    flavor = (mlmodel.get("flavors") or {}).get("python_function") or {}
    if flavor.get("loader_module") == LOADER_MODULE and isinstance(flavor.get("data"), str):
        return flavor["data"]
    bundle = (flavor.get("artifacts") or {}).get("bundle")
    if isinstance(bundle, dict) and isinstance(bundle.get("path"), str):
        return bundle["path"]
    return None


def bundle_folder(ref: str | Path) -> Path | None:
    """The bundle folder ``ref`` names (it may not exist), or None for a registry reference.

    A ``Path`` is always a folder. A string in a registry form (``champion``, a bare alias
    or version, ``NAME@ALIAS``, ``NAME/VERSION``, ``models:/...``) that is also an existing
    folder is refused: ``riskstrat models export champion --out champion`` would otherwise
    make every later ``--model champion`` load the exported copy instead of the registry's.

    Raises
    ------
    TrackingError
        When ``ref`` is both.
    """
    if isinstance(ref, Path):
        return ref
    if isinstance(ref, int) and not isinstance(ref, bool):
        ref = str(ref)  # a version number
    if not isinstance(ref, str):
        raise TypeError(BAD_REF_TYPE.format(kind=type(ref).__name__))
    folder = Path(ref)
    registry_form = (
        ref.startswith("models:/")
        or _NAME_ALIAS.match(ref) is not None
        or _NAME_VERSION.match(ref) is not None
        or not ("/" in ref or "\\" in ref or ref.startswith("."))
    )
    if not folder.is_dir():
        # Only a path can name it ("models/psych", "./m"): a folder that is not there, for
        # the caller to report as such rather than as an unknown registry entry.
        return None if registry_form else folder
    if registry_form:
        raise ModelReferenceError(AMBIGUOUS_REF.format(ref=ref, folder=folder.resolve()))
    return folder


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
    models = client.search_registered_models()
    known = sorted(m.name for m in models)
    if len(known) == 1:
        return known[0], selector
    if not selector.isdigit():
        # An alias held by one model names it: a county with a model per outcome promotes
        # one champion, and `--model champion` means that one.
        holders = sorted(m.name for m in models if selector in (m.aliases or {}))
        if len(holders) == 1:
            return holders[0], selector
        if len(holders) > 1:
            known = holders
    raise ModelReferenceError(
        AMBIGUOUS_MODEL.format(ref=ref, count=len(known), uri=uri, known=known)
    )


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
