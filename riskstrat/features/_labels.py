"""Human-readable labels and sentences for feature values (explanations and reports)."""

from __future__ import annotations

from riskstrat.features._spec import (
    NEVER_DAYS,
    FeatureSpec,
    expand_features,
    load_feature_spec,
    window_phrase,
)


def feature_labels(spec: FeatureSpec | None = None) -> dict[str, str]:
    """Human-readable label of every feature, for explanations and reports.

    Parameters
    ----------
    spec : FeatureSpec, optional
        Defaults to :func:`load_feature_spec`.

    Returns
    -------
    dict
        ``{"psych_inpatient_admissions_365d": "psychiatric inpatient admissions, last 12
        months", ...}``
    """
    spec = spec or load_feature_spec()
    return {f.name: f.label for f in expand_features(spec)}


def describe_value(name: str, value: object, spec: FeatureSpec | None = None) -> str:
    """A sentence for one feature value, such as ``7 ED visits in the last 12 months``.

    Parameters
    ----------
    name : str
        A feature name of ``spec``.
    value : object
        The feature's value for one person.
    spec : FeatureSpec, optional
        Defaults to :func:`load_feature_spec`.

    Returns
    -------
    str
    """
    spec = spec or load_feature_spec()
    features = {f.name: f for f in expand_features(spec)}
    if name not in features:
        raise KeyError(f"unknown feature {name!r}; expected one of the spec's feature names")
    f = features[name]
    if value is None or value != value:  # None or NaN
        return f"{f.label}: not recorded"
    if f.dtype == "bool":
        return f"{f.label}: {'yes' if value else 'no'}"
    if f.aggregate == "days_since":
        return f"{f.label}: never" if value == NEVER_DAYS else f"{f.label}: {int(value)} days"
    if f.aggregate in ("count", "count_distinct", "total_days", "overlap_count") and f.window:
        return f"{_fmt(value)} {f.base_label} in the {window_phrase(f.window)}"
    if f.aggregate == "count" and f.window is None and f.label == f.base_label:
        return f"{_fmt(value)} {f.base_label}"
    return f"{f.label}: {_fmt(value)}"


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)
