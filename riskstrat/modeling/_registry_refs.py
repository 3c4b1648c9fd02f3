"""Model references: which registered model and version, or which bundle folder, a name means.

``champion``, ``NAME@ALIAS``, ``NAME/VERSION``, a bare version, ``models:/`` forms or a path:
read here, before anything is downloaded, so the registry operations
(:mod:`riskstrat.modeling._tracking_registry`) act on a name and a version they can trust.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from riskstrat.modeling._bundle import ModelBundle
from riskstrat.modeling._tracking import LOADER_MODULE, ModelReferenceError, shown_uri

AMBIGUOUS_MODEL = (
    "model reference {ref!r} needs a model name: {count} registered models at {uri} "
    "({known}) could be meant; use NAME@ALIAS or NAME/VERSION (or model_name= from Python, "
    "--name of `riskstrat models export`)"
)

NO_ALIAS_HOLDER = (
    "model reference {ref!r}: none of the {count} registered models at {uri} has a version "
    "with alias {alias!r} ({held}); expected an alias one of them holds, or NAME/VERSION"
)
BAD_MODELS_URI = (
    "model reference {ref!r}: expected models:/NAME@ALIAS or models:/NAME/VERSION (a version "
    "is a number; models:/ may be left out)"
)


BAD_REF_TYPE = (
    "model reference: expected a bundle folder (a path), a registry reference such as "
    "'champion', 'NAME@ALIAS' or 'NAME/VERSION', or a version number; got a {kind}"
)


def registered_models(client: Any) -> list[Any]:
    """Every registered model: MLflow returns them a page (100) at a time."""
    models, token = [], None
    while True:
        page = client.search_registered_models(max_results=1000, page_token=token)
        models.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return models


AMBIGUOUS_REF = (
    "model {ref!r} is both a registry reference and the folder {folder}; write ./{ref} for "
    "the folder, or models:/NAME@ALIAS or models:/NAME/VERSION for the registry"
)


_NAME_ALIAS = re.compile(r"^(?:models:/)?(?P<name>[^@/]+)@(?P<alias>[\w-]+)$")


_NAME_VERSION = re.compile(r"^(?:models:/)?(?P<name>[^@/]+)/(?P<version>\d+)$")


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


def _parse_ref(client: Any, ref: str, model_name: str | None, uri: str) -> tuple[str, str, bool]:
    """The registered model's name, the alias or version, and whether it is a version.

    ``NAME@1`` is an alias named 1 (MLflow allows it), ``NAME/1`` and a bare ``1`` versions.
    """
    for pattern, is_version in ((_NAME_ALIAS, False), (_NAME_VERSION, True)):
        match = pattern.match(ref)
        if match:
            name, selector = match.groups()
            return name, selector, is_version
    selector = ref.removeprefix("models:/")
    if "@" in selector or (ref.startswith("models:/") and any(c in selector for c in "/\\")):
        # Not a folder that is missing (a data failure) but a reference mistyped (usage).
        raise ModelReferenceError(BAD_MODELS_URI.format(ref=ref))
    if "/" in selector or "\\" in selector:
        ModelBundle.load(ref)  # not a registry reference: report the missing bundle folder
    is_version = selector.isdigit()
    if model_name:
        return model_name, selector, is_version
    models = registered_models(client)
    known = sorted(m.name for m in models)
    if ref.startswith("models:/") and selector in known:  # a name, with no alias or version
        raise ModelReferenceError(BAD_MODELS_URI.format(ref=ref))
    if len(known) == 1:
        return known[0], selector, is_version
    if not is_version:
        # An alias held by one model names it: a county with a model per outcome promotes
        # one champion, and `--model champion` means that one.
        holders = sorted(m.name for m in models if selector in (m.aliases or {}))
        if len(holders) == 1:
            return holders[0], selector, is_version
        if len(holders) > 1:
            known = holders
        else:
            # "needs a model name" would send the caller to --name, which cannot help.
            raise ModelReferenceError(
                NO_ALIAS_HOLDER.format(
                    ref=ref,
                    count=len(models),
                    uri=shown_uri(uri),
                    alias=selector,
                    held=_aliases_held(models),
                )
                + bare_name_hint(ref)
            )
    raise ModelReferenceError(
        AMBIGUOUS_MODEL.format(ref=ref, count=len(known), uri=shown_uri(uri), known=known)
    )


def _aliases_held(models: list[Any]) -> str:
    """``"riskstrat-a: champion, challenger; riskstrat-b: no aliases"``, for a message."""
    return "; ".join(
        f"{m.name}: {', '.join(sorted(m.aliases or {})) or 'no aliases'}"
        for m in sorted(models, key=lambda m: m.name)
    )


def bare_name_hint(ref: str) -> str:
    """For a bare word read as an alias: how a bundle folder of that name is written, since
    ``composite_adverse`` may well have meant ``models/composite_adverse``."""
    if "@" in ref or "/" in ref or ref.startswith("models:") or ref.isdigit():
        return ""
    return f" (a bundle folder is named by a path: ./{ref} or models/{ref})"
