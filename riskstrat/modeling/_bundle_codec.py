"""Fitted scikit-learn models to and from the bundle's JSON and text payloads.

Turns a fitted ``CalibratedClassifierCV(FrozenEstimator(model))`` into what a bundle
stores (LightGBM's own text model or the logistic pipeline's fill values, means, scales
and coefficients as JSON, and the calibrator as JSON), and applies a stored calibrator
at scoring time. Kept apart from the file format so that each model family's rules
(what is accepted, what is written) can be read in one place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from riskstrat.modeling._bundle_files import (
    BAD_FILE,
    CALIBRATOR_FILE,
    BundleError,
    _dumps,
)

KIND_MISMATCH = "model kind {kind!r} expects {expected}, got {got}"
NOT_CALIBRATED = (
    "expected a fitted CalibratedClassifierCV(FrozenEstimator(model)) with exactly one "
    "calibrated classifier, got {got}"
)
BAD_METHOD = "calibration method {method!r} cannot be stored; expected one of {allowed}"
NOT_BINARY = "expected a binary classifier, got classes {classes}"
FEATURE_COUNT = "{n_names} feature names given but the model was fitted on {n_model} features"
FEATURE_ORDER = (
    "feature names differ from the names the model was fitted on at {count} of {total} "
    "positions; first at position {first}: {given!r} where the model has {fitted!r}"
)


def feature_order_problem(given: list[str], fitted: list[str]) -> str:
    """Where two equally long name lists differ, briefly (the lists run to about a hundred)."""
    differ = [i for i, (g, f) in enumerate(zip(given, fitted, strict=True)) if g != f]
    first = differ[0]
    return FEATURE_ORDER.format(
        count=len(differ), total=len(given), first=first, given=given[first], fitted=fitted[first]
    )


EMPTY_FEATURES = "logistic model: features with no observed value at fit time: {columns}"


def _unwrap_frozen(estimator: Any) -> Any:
    from sklearn.frozen import FrozenEstimator

    while isinstance(estimator, FrozenEstimator):
        estimator = estimator.estimator
    return estimator


def _extract_calibrator(calibrated: Any) -> tuple[Any, dict[str, Any]]:
    """Return the fitted inner model and the calibrator as a JSON-ready dict."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.isotonic import IsotonicRegression

    if not isinstance(calibrated, CalibratedClassifierCV):
        # An uncalibrated model is stored with method "none": probability = expit(raw).
        return _unwrap_frozen(calibrated), {"method": "none"}
    fitted = getattr(calibrated, "calibrated_classifiers_", None)
    if fitted is None or len(fitted) != 1:
        got = "an unfitted model" if fitted is None else f"{len(fitted)} calibrated classifiers"
        raise BundleError(NOT_CALIBRATED.format(got=got))
    (one,) = fitted
    if one.method not in ("isotonic", "sigmoid"):
        raise BundleError(BAD_METHOD.format(method=one.method, allowed=["isotonic", "sigmoid"]))
    if len(one.calibrators) != 1:
        raise BundleError(NOT_BINARY.format(classes=list(one.classes)))
    # sklearn feeds the calibrator decision_function when the model has one, otherwise
    # predict_proba[:, 1]; the bundle must feed it the same response.
    estimator = _unwrap_frozen(one.estimator)
    response = "decision_function" if hasattr(estimator, "decision_function") else "predict_proba"
    (calibrator,) = one.calibrators
    if isinstance(calibrator, IsotonicRegression):
        spec = {
            "method": "isotonic",
            "response": response,
            "x_thresholds": np.asarray(calibrator.X_thresholds_, dtype=float).tolist(),
            "y_thresholds": np.asarray(calibrator.y_thresholds_, dtype=float).tolist(),
        }
    else:
        spec = {
            "method": "sigmoid",
            "response": response,
            "a": float(calibrator.a_),
            "b": float(calibrator.b_),
        }
    return estimator, spec


def _check_binary(estimator: Any) -> None:
    classes = list(getattr(estimator, "classes_", []))
    if len(classes) != 2:
        raise BundleError(NOT_BINARY.format(classes=classes))


def _check_feature_names(feature_names: list[str], fitted: list[str] | None) -> None:
    if fitted is None:
        return
    if len(fitted) != len(feature_names):
        raise BundleError(FEATURE_COUNT.format(n_names=len(feature_names), n_model=len(fitted)))
    # LightGBM names columns Column_<i> when fitted on arrays: only the count is known.
    if fitted != feature_names and not all(n == f"Column_{i}" for i, n in enumerate(fitted)):
        raise BundleError(feature_order_problem(feature_names, fitted))


def _lightgbm_payload(estimator: Any, feature_names: list[str]) -> bytes:
    import lightgbm as lgb

    if not isinstance(estimator, lgb.LGBMClassifier):
        raise BundleError(
            KIND_MISMATCH.format(
                kind="lightgbm", expected="an LGBMClassifier", got=type(estimator).__name__
            )
        )
    _check_binary(estimator)
    booster = estimator.booster_
    _check_feature_names(feature_names, list(booster.feature_name()))
    return without_feature_ranges(booster.model_to_string()).encode()


def without_feature_ranges(model_text: str) -> str:
    """LightGBM's text model with each feature's training range blanked.

    ``feature_infos=[0:636664.125] ...`` records every input's smallest and largest training
    value: one person's paid amount or ED visits, in a file shared through the registry.
    Predictions and contributions read only the trees, which LightGBM writes as ``none``
    for a feature it never split on; so every feature is written that way.
    """
    lines = model_text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("feature_infos="):
            lines[i] = "feature_infos=" + " ".join(["none"] * len(line.split("=", 1)[1].split()))
            break
    return "\n".join(lines)


def _logistic_steps(estimator: Any) -> tuple[Any, Any, Any]:
    """Split a logistic pipeline into (imputer or None, scaler or None, model)."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [s for _, s in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]
    imputer = steps.pop(0) if steps and isinstance(steps[0], SimpleImputer) else None
    scaler = steps.pop(0) if steps and isinstance(steps[0], StandardScaler) else None
    if len(steps) != 1 or not isinstance(steps[0], LogisticRegression):
        got = (
            " -> ".join(type(s).__name__ for s in estimator.steps)
            if isinstance(estimator, Pipeline)
            else type(estimator).__name__
        )
        expected = "[SimpleImputer ->] [StandardScaler ->] LogisticRegression"
        raise BundleError(KIND_MISMATCH.format(kind="logistic", expected=expected, got=got))
    if imputer is not None and (imputer.add_indicator or not _is_nan(imputer.missing_values)):
        raise BundleError(
            KIND_MISMATCH.format(
                kind="logistic",
                expected="a SimpleImputer of NaN without indicator columns",
                got=f"SimpleImputer(missing_values={imputer.missing_values!r}, "
                f"add_indicator={imputer.add_indicator})",
            )
        )
    return imputer, scaler, steps[0]


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and np.isnan(value)


def _logistic_payload(estimator: Any, feature_names: list[str]) -> bytes:
    imputer, scaler, model = _logistic_steps(estimator)
    _check_binary(model)
    fitted = getattr(estimator, "feature_names_in_", None)
    _check_feature_names(feature_names, None if fitted is None else [str(f) for f in fitted])
    n = len(feature_names)
    if model.coef_.shape != (1, n):
        raise BundleError(FEATURE_COUNT.format(n_names=n, n_model=model.coef_.shape[-1]))
    fill = np.asarray(imputer.statistics_, float) if imputer is not None else None
    if fill is not None and np.isnan(fill).any():
        # Imputer columns that were all-missing at fit time are dropped by sklearn.
        empty = [f for f, bad in zip(feature_names, np.isnan(fill), strict=True) if bad]
        raise BundleError(EMPTY_FEATURES.format(columns=empty))
    mean = getattr(scaler, "mean_", None) if scaler is not None else None
    scale = getattr(scaler, "scale_", None) if scaler is not None else None
    payload = {
        "features": feature_names,
        "fill": None if fill is None else fill.tolist(),
        "mean": np.zeros(n).tolist() if mean is None else np.asarray(mean, float).tolist(),
        "scale": np.ones(n).tolist() if scale is None else np.asarray(scale, float).tolist(),
        "coef": np.asarray(model.coef_[0], float).tolist(),
        "intercept": float(model.intercept_[0]),
    }
    return _dumps(payload)


def _calibrate(cal: dict[str, Any], raw: np.ndarray) -> np.ndarray:
    """Probabilities from raw log-odds through the stored calibrator ``cal``."""
    # The calibrator was fitted on sklearn's response: decision_function (raw log-odds)
    # when the model has one, otherwise predict_proba[:, 1] = expit(raw).
    response = raw if cal["response"] == "decision_function" else _expit(raw)
    if cal["method"] == "isotonic":
        x_thr = np.asarray(cal["x_thresholds"], dtype=float)
        y_thr = np.asarray(cal["y_thresholds"], dtype=float)
        return np.interp(np.clip(response, x_thr[0], x_thr[-1]), x_thr, y_thr)
    if cal["method"] == "sigmoid":
        return _expit(-(cal["a"] * response + cal["b"]))
    if cal["method"] == "none":
        return _expit(raw)
    # Unreachable for a loaded bundle (_read_calibrator); never guess a calibration.
    raise BundleError(
        BAD_FILE.format(
            path="bundle", file=CALIBRATOR_FILE, problem=f"unknown method {cal['method']!r}"
        )
    )


def _expit(x: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(x)
