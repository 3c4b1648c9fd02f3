"""A registered name's versions, and the rule that one name holds one outcome.

A quarterly job scores ``NAME@champion`` and expects one outcome from it; a version of
another outcome filed under the name would change what it predicts at the next promotion,
with only the manifest saying so.
"""

from __future__ import annotations

from typing import Any

from riskstrat.modeling._tracking import TrackingError

OUTCOME_TAG = "riskstrat.outcome"
OTHER_OUTCOME = (
    "registered model {name!r} holds models of outcome {held} (version {versions}); this "
    "model predicts {outcome}, and a job scoring {name}@champion expects one outcome; "
    "expected registered_name riskstrat-{outcome} (the default, null) or a name of its own"
)


def check_name_outcome(client: Any, name: str, outcome: str) -> None:
    """Refuse registering a model of ``outcome`` under a name that holds another outcome.

    Versions without an outcome tag (registered by other means than riskstrat's) are
    not compared: nothing says what they predict.
    """
    other = sorted(
        (int(mv.version), mv.tags.get(OUTCOME_TAG))
        for mv in model_versions(client, name)
        if mv.tags.get(OUTCOME_TAG) not in (None, outcome)
    )
    if other:
        raise TrackingError(
            OTHER_OUTCOME.format(
                name=name,
                held=", ".join(sorted({held for _, held in other})),
                versions=", ".join(str(v) for v, _ in other),
                outcome=outcome,
            )
        )


def model_versions(client: Any, name: str) -> list[Any]:
    """Every version of registered model ``name`` (none for a name not registered).

    MLflow's filter takes a name in single or double quotes, with no escape inside: a
    name holding both is matched here instead.
    """
    if "'" not in name:
        return list(client.search_model_versions(f"name = '{name}'"))
    if '"' not in name:
        return list(client.search_model_versions(f'name = "{name}"'))
    versions, token = [], None
    while True:
        page = client.search_model_versions(max_results=1000, page_token=token)
        versions.extend(mv for mv in page if mv.name == name)
        token = getattr(page, "token", None)
        if not token:
            return versions
