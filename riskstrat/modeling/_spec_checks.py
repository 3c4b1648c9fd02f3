"""A model config checked against the specs it names: its outcome in configs/outcomes.yaml,
its features in configs/features.yaml. Done before any data is read, so a typo costs no
training time."""

from __future__ import annotations

from riskstrat._config import config_error
from riskstrat.modeling._label_window import check_label_window
from riskstrat.modeling._model_config import ROOT, ModelConfig

UNKNOWN_OUTCOME = (
    "unknown outcome {name!r}; expected one of {expected}, the binary outcomes of "
    "configs/outcomes.yaml"
)
NOT_BINARY_OUTCOME = (
    "outcome {name!r} is {kind}; a risk model needs a binary outcome, one of {expected}"
)


def check_outcome(
    name: str,
    outcome_spec: object | None = None,
    path: str = "model.outcome",
    horizon_months: int | None = None,
) -> None:
    """Refuse an outcome the risk model cannot train on, before any data is read.

    Parameters
    ----------
    name : str
        The outcome to predict.
    outcome_spec : riskstrat.outcomes.OutcomeSpec, optional
        Default: ``configs/outcomes.yaml``.
    path : str
        Where the name came from, for the message (``model.outcome``, ``--outcome``).
    horizon_months : int, optional
        ``model.split.horizon_months``; when given, the outcome's horizon must equal it.

    Raises
    ------
    ConfigError
        When ``name`` is not an outcome of the spec, not a binary one, or its horizon
        differs from ``horizon_months``.
    """
    from riskstrat.outcomes import load_outcome_spec

    spec = outcome_spec if outcome_spec is not None else load_outcome_spec()
    binary = sorted(n for n, o in spec.outcomes.items() if o.kind == "binary")
    if name not in spec.outcomes:
        raise config_error(path, UNKNOWN_OUTCOME.format(name=name, expected=binary))
    kind = spec.outcomes[name].kind
    if kind != "binary":
        raise config_error(path, NOT_BINARY_OUTCOME.format(name=name, kind=kind, expected=binary))
    if horizon_months is not None:
        from riskstrat.modeling._panel import outcome_windows

        window = outcome_windows(spec)[name]
        check_label_window(
            name,
            window["horizon_months"],
            window["within_horizon"],
            horizon_months=horizon_months,
            path=path,
        )


UNKNOWN_MODEL_FEATURE = "unknown feature {name!r}; the feature spec has no such column{hint}"


def check_feature_names(config: ModelConfig, feature_spec: object | None = None) -> None:
    """Refuse feature names the feature spec does not produce, before any data is read.

    Checks ``features``, ``exclude_features`` and, when the single-feature baseline or
    kind is used, ``single_feature``.

    Parameters
    ----------
    config : ModelConfig
    feature_spec : riskstrat.features.FeatureSpec, optional
        Default: ``configs/features.yaml``.

    Raises
    ------
    ConfigError
        Naming the dotted key, the unknown name and the closest known names.
    """
    import difflib

    from riskstrat.features import expand_features, load_feature_spec

    spec = feature_spec if feature_spec is not None else load_feature_spec()
    known = [f.name for f in expand_features(spec)]
    listed = [
        (f"{ROOT}.{key}[{i}]", name)
        for key in ("features", "exclude_features")
        for i, name in enumerate(getattr(config, key) or ())
    ]
    if config.kind == "single_feature" or "single_feature" in config.metrics.baselines:
        listed.append((f"{ROOT}.single_feature", config.single_feature))
    for path, name in listed:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3)
            hint = f"; did you mean {close}?" if close else ""
            raise config_error(path, UNKNOWN_MODEL_FEATURE.format(name=name, hint=hint))


EMPTY_LABEL_TABLES = (
    "data: {tables}: no rows (a file with a header only), but the outcome {name!r} counts "
    "its events: every label would read as none of them, and the model be trained on "
    "another outcome than the one it is named for; expected the table's rows (refresh the "
    "extract)"
)


def check_label_tables(tables: object, name: str, outcome_spec: object | None = None) -> None:
    """Refuse a folder whose table the outcome counts holds no rows: a failed export.

    ``riskstrat score`` refuses an empty table its model's inputs count; a label counted
    from one is worse, since nothing in the evaluation would show it. ``tables`` as
    loaded (table name to frame).
    """
    from riskstrat.outcomes import load_outcome_spec

    spec = outcome_spec or load_outcome_spec()
    read = {event.table for event in spec.outcomes[name].events}
    empty = sorted(t for t in read if t in tables and len(tables[t]) == 0)
    if empty:
        raise ValueError(EMPTY_LABEL_TABLES.format(tables=", ".join(empty), name=name))
