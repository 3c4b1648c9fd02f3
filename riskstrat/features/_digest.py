"""A fingerprint of what each feature computes, so a model is never fed a redefined column.

A model learns what ``ed_visits_365d`` meant when it was trained. If ``configs/features.yaml``
later counts other settings or another window under the same name, scores would change with no
error; the bundle records each input's digest and scoring compares them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from riskstrat.features._spec import FeatureSpec, expand_features, load_feature_spec

# Labels and notes are words about a feature, not what it computes.
_COSMETIC = frozenset({"label", "base_label", "note", "index"})


def definition_digests(spec: FeatureSpec | None = None) -> dict[str, str]:
    """sha256 of each feature's definition, keyed by feature name.

    The digest covers the source table, aggregate, resolved filters, window, column, date
    and value, plus the spec settings features are computed with (days supply, episode gap,
    HUD chronic thresholds) and, for diagnosis features, the ICD-10 condition mapping of
    ``configs/conditions.yaml``; not labels or notes.

    Parameters
    ----------
    spec : FeatureSpec, optional
        Default ``configs/features.yaml``.

    Returns
    -------
    dict of str to str
    """
    spec = load_feature_spec() if spec is None else spec
    settings = {
        "default_days_supply": spec.default_days_supply,
        "episode_gap_days": spec.episode_gap_days,
        "chronic_homeless": dataclasses.asdict(spec.chronic_homeless),
    }
    digests = {}
    mapping = None
    for feature in expand_features(spec):
        what = {k: v for k, v in dataclasses.asdict(feature).items() if k not in _COSMETIC}
        if feature.source == "diagnoses":
            # Which ICD-10 codes count as which condition is part of what it counts.
            mapping = _condition_mapping() if mapping is None else mapping
            what["conditions"] = mapping
        text = json.dumps({**what, "settings": settings}, sort_keys=True, default=str)
        digests[feature.name] = hashlib.sha256(text.encode()).hexdigest()
    return digests


def _condition_mapping() -> dict[str, object]:
    """``configs/conditions.yaml`` as the feature stage reads it (labels left out)."""
    from riskstrat.features._checks import cached_conditions

    return {
        name: {"family": c.family, "chronic": c.chronic, "icd10": sorted(c.icd10)}
        for name, c in sorted(cached_conditions().conditions.items())
    }


def changed_definitions(recorded: dict[str, str], spec: FeatureSpec | None = None) -> list[str]:
    """The features in ``recorded`` whose definition differs in ``spec`` (or is gone)."""
    current = definition_digests(spec)
    return sorted(name for name, digest in recorded.items() if current.get(name) != digest)
