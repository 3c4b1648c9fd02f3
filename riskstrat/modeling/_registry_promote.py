"""Promoting a registered version to ``champion``, once its bundle verifies.

The quarterly job scores ``NAME@champion``; what it will score from its next run is decided
here, so the version's files are checked and its outcome compared with the champion's first.
"""

from __future__ import annotations

import logging
from typing import Any

from riskstrat._atomic import scratch_folder
from riskstrat.modeling._registry_download import read_elsewhere
from riskstrat.modeling._tracking import (
    CHALLENGER,
    CHAMPION,
    ModelReferenceError,
    _session,
    resolve_tracking_uri,
)
from riskstrat.modeling._tracking_registry import (
    UNKNOWN_VERSION,
    _alias_version,
    _check_model,
    _existing_store,
    _known_versions,
    _verified_bundle,
)

logger = logging.getLogger(__name__)

PROMOTED_BEHIND = (
    "{name} version {version}: the baseline {behind} ranked its test quarter better by AUROC "
    "(its training run); promoted as asked"
)


def promote(
    name: str,
    version: int | str,
    *,
    tracking_uri: str | None = None,
    config: Any = None,
) -> str | None:
    """Make ``version`` of registered model ``name`` the ``champion``.

    The ``challenger`` alias is removed if it pointed to the promoted version. The version's
    bundle is downloaded and verified first, and a version predicting another outcome than
    the champion's is refused: jobs scoring ``NAME@champion`` would switch outcomes unsaid.

    Returns
    -------
    str or None
        The version that was champion before, if any.

    Raises
    ------
    BundleError
        The version's bundle fails verification (nothing is promoted).
    ModelReferenceError
        No such model or version, or another outcome than the champion's.
    """
    from mlflow.exceptions import MlflowException

    uri = _existing_store(resolve_tracking_uri(tracking_uri, config))
    version = str(version).strip()
    if version.isdigit():  # "01" is version 1, as MLflow reads it
        version = str(int(version))
    with _session(uri) as client:
        _check_model(client, name, uri)
        try:
            registered = client.get_model_version(name, str(version))
        except MlflowException as exc:
            raise ModelReferenceError(
                UNKNOWN_VERSION.format(
                    name=name, version=str(version), known=_known_versions(client, name)
                )
            ) from exc
        previous = _alias_version(client, name, CHAMPION)
        _check_same_outcome(client, name, registered, previous)
        # Refused here rather than by the next quarter's job: a champion whose files were
        # changed or lost would fail every scoring run until someone promoted another.
        with scratch_folder() as tmp:
            _verified_bundle(client, name, registered, tmp, uri=uri)
        elsewhere = read_elsewhere(client, uri, name, str(registered.version))
        behind = _baselines_ahead(client, registered.run_id)
        client.set_registered_model_alias(name, CHAMPION, str(version))
        if _alias_version(client, name, CHALLENGER) == str(version):
            client.delete_registered_model_alias(name, CHALLENGER)
    # Said once the session is closed: inside it, MLflow's chatter (stderr) is muted.
    if elsewhere:
        logger.warning(elsewhere)
    if behind:  # the analyst's call, made knowing it
        logger.warning(PROMOTED_BEHIND.format(name=name, version=version, behind=", ".join(behind)))
    return previous


OTHER_OUTCOME_PROMOTED = (
    "{name} version {version} predicts {outcome}, the champion (version {champion}) "
    "predicts {held}; jobs scoring {name}@champion would switch outcomes; expected a "
    "version of the champion's outcome (register other outcomes under riskstrat-<outcome>)"
)


def _check_same_outcome(client: Any, name: str, registered: Any, champion: str | None) -> None:
    if champion is None or champion == str(registered.version):
        return
    outcome = registered.tags.get("riskstrat.outcome")
    held = client.get_model_version(name, champion).tags.get("riskstrat.outcome")
    if outcome and held and outcome != held:
        raise ModelReferenceError(
            OTHER_OUTCOME_PROMOTED.format(
                name=name,
                version=registered.version,
                outcome=outcome,
                champion=champion,
                held=held,
            )
        )


def _baselines_ahead(client: Any, run_id: str | None) -> list[str]:
    """Baselines that ranked the version's test quarter better (by AUROC), from its run."""
    from mlflow.exceptions import MlflowException

    if not run_id:
        return []
    try:
        metrics = client.get_run(run_id).data.metrics
    except MlflowException:  # the run deleted: nothing to say either way
        return []
    suffix = ".diff_auroc"
    return [
        f"{key[len('model_vs_') : -len(suffix)]} by {-value:.3f}"
        for key, value in sorted(metrics.items())
        if key.startswith("model_vs_")
        and key.endswith(suffix)
        and value < 0
        and key != f"model_vs_oracle{suffix}"
    ]
