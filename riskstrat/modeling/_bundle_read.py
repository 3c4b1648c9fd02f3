"""Reading a bundle's stored payloads back, refusing any that disagree with each other.

Checksums prove the files are the ones written; these checks prove the files belong
together (a bundle assembled from two models, or hand-edited and re-checksummed): the
metadata's features are the model's, in order; the calibrator has the fields its method
needs, with usable values; every file parses. Each refusal is a ``BundleError`` naming
the file, the problem and what was expected.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from riskstrat.modeling._bundle_codec import (
    FEATURE_COUNT,
    _check_feature_names,
    feature_order_problem,
)
from riskstrat.modeling._bundle_files import (
    BAD_FILE,
    CALIBRATOR_FILE,
    METADATA_FILE,
    MISMATCH,
    MODEL_FILES,
    BundleError,
    _json_type,
    _parse_json,
)
from riskstrat.modeling._lightgbm_text import lightgbm_text_problem

# What _extract_calibrator writes, by method (besides "method" and "response").
CALIBRATOR_FIELDS: dict[str, tuple[str, ...]] = {
    "isotonic": ("x_thresholds", "y_thresholds"),
    "sigmoid": ("a", "b"),
    "none": (),
}
# The calibrator's input: LightGBM's is either (it depends on the LightGBM version the
# model was calibrated with); a logistic pipeline always has decision_function.
RESPONSES: dict[str, tuple[str, ...]] = {
    "lightgbm": ("decision_function", "predict_proba"),
    "logistic": ("decision_function",),
}
LOGISTIC_FIELDS = ("coef", "features", "fill", "intercept", "mean", "scale")
# LightGBM aborts the whole process on a truncated model text (in the trees or in the
# parameters) instead of raising, so the text must first have the sections that
# Booster.model_to_string writes, through its last line (pandas_categorical:...). The
# parameters section is written whenever the booster knows its parameters.
INCOMPLETE_LIGHTGBM = (
    "not a complete LightGBM text model (truncated?); expected what model_to_string writes: "
    "'tree' first, then 'end of trees', 'parameters:' ... 'end of parameters' if present, "
    "and a last 'pandas_categorical:' line"
)


def _is_finite_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range
        return False


def _number_problem(values: Any, name: str, length: int | None = None) -> str | None:
    """What is wrong with ``values`` as a JSON array of finite numbers, or None."""
    if not isinstance(values, list):
        return f"{name} must be an array of numbers, got {_json_type(values)}"
    if length is not None and len(values) != length:
        return f"{name} has {len(values)} values; expected {length}"
    for i, value in enumerate(values):
        if not _is_finite_number(value):
            return f"{name}[{i}] must be a finite number, got {value!r}"
    return None


def _calibrator_problem(cal: Any, kind: str) -> str | None:
    """What makes ``cal`` differ from what _extract_calibrator writes, or None."""
    if not isinstance(cal, dict):
        return f"expected a JSON object, got {_json_type(cal)}"
    method = cal.get("method")
    if not isinstance(method, str) or method not in CALIBRATOR_FIELDS:
        return (
            f"calibration method {method!r} is unknown; expected one of {list(CALIBRATOR_FIELDS)}"
        )
    expected = {"method", "response", *CALIBRATOR_FIELDS[method]}
    missing, extra = sorted(expected - set(cal)), sorted(set(cal) - expected)
    if missing or extra:
        return (
            f"{method} calibrator fields {sorted(cal)}: missing {missing}, unexpected {extra}; "
            f"expected {sorted(expected)}"
        )
    response = cal["response"]
    if not isinstance(response, str) or response not in RESPONSES[kind]:
        return f"response {response!r} is not one of {list(RESPONSES[kind])} for a {kind} model"
    if method == "sigmoid":
        for name in ("a", "b"):
            if not _is_finite_number(cal[name]):
                return f"sigmoid {name} must be a finite number, got {cal[name]!r}"
    if method == "isotonic":
        x, y = cal["x_thresholds"], cal["y_thresholds"]
        problem = _number_problem(x, "x_thresholds") or _number_problem(y, "y_thresholds")
        if problem is not None:
            return f"isotonic {problem}"
        if not x or len(x) != len(y):
            return (
                f"isotonic x_thresholds has {len(x)} values and y_thresholds {len(y)}; "
                "expected the same number, at least one"
            )
        for i in range(1, len(x)):
            if x[i] < x[i - 1]:
                return (
                    f"isotonic x_thresholds must be sorted (non-decreasing); "
                    f"x_thresholds[{i}] = {x[i]!r} < x_thresholds[{i - 1}] = {x[i - 1]!r}"
                )
        for i, value in enumerate(y):
            if not 0 <= value <= 1:
                return f"isotonic y_thresholds[{i}] = {value!r} is not a probability in [0, 1]"
        for i in range(1, len(y)):
            # An isotonic fit never falls: a falling step would rank higher scores lower.
            if y[i] < y[i - 1]:
                return (
                    f"isotonic y_thresholds must be non-decreasing; "
                    f"y_thresholds[{i}] = {y[i]!r} < y_thresholds[{i - 1}] = {y[i - 1]!r}"
                )
    return None


def _read_calibrator(data: bytes, kind: str, path: Path | str) -> dict[str, Any]:
    """The stored calibrator, refused unless it is exactly what the writer produces."""
    cal = _parse_json(data, path=path, file=CALIBRATOR_FILE)
    problem = _calibrator_problem(cal, kind)
    if problem is not None:
        raise BundleError(BAD_FILE.format(path=path, file=CALIBRATOR_FILE, problem=problem))
    return cal


def _read_lightgbm(data: bytes, features: tuple[str, ...], path: Path | str) -> Any:
    """LightGBM's booster from ``model.txt``, refused unless it fits the metadata's features."""
    import lightgbm as lgb

    file = MODEL_FILES["lightgbm"]

    def fail(problem: str) -> BundleError:
        return BundleError(BAD_FILE.format(path=path, file=file, problem=problem))

    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise fail(f"not UTF-8 text ({exc})") from exc
    last_line = text.rstrip("\n").rpartition("\n")[2]
    if (
        not text.startswith("tree\n")
        or "\nend of trees\n" not in text
        or ("\nparameters:\n" in text and "\nend of parameters\n" not in text)
        or not last_line.startswith("pandas_categorical:")
    ):
        raise fail(INCOMPLETE_LIGHTGBM)
    problem = lightgbm_text_problem(text)
    if problem is not None:
        raise fail(problem)
    try:
        booster = lgb.Booster(model_str=text)
    except (lgb.basic.LightGBMError, ValueError) as exc:  # ValueError: pandas_categorical
        raise fail(f"LightGBM cannot read it ({exc})") from exc
    if booster.num_model_per_iteration() != 1:
        raise fail(
            f"{booster.num_model_per_iteration()} trees per iteration (a multiclass model); "
            "expected 1 (a binary classifier)"
        )
    if booster.num_feature() != len(features):
        problem = FEATURE_COUNT.format(n_names=len(features), n_model=booster.num_feature())
    else:
        try:
            _check_feature_names(list(features), list(booster.feature_name()))
        except BundleError as exc:
            problem = str(exc)
    if problem is not None:
        raise BundleError(
            MISMATCH.format(path=path, file=METADATA_FILE, other=file, problem=problem)
        )
    return booster


def _read_logistic(data: bytes, features: tuple[str, ...], path: Path | str) -> dict[str, Any]:
    """The logistic payload, refused unless it is complete, finite and fits the features."""
    file = MODEL_FILES["logistic"]
    lin = _parse_json(data, path=path, file=file)
    if not isinstance(lin, dict):
        problem: str | None = f"expected a JSON object, got {_json_type(lin)}"
    elif sorted(lin) != sorted(LOGISTIC_FIELDS):
        problem = f"fields {sorted(lin)}; expected {list(LOGISTIC_FIELDS)}"
    elif not isinstance(lin["features"], list) or not all(
        isinstance(f, str) for f in lin["features"]
    ):
        problem = f"features must be an array of strings, got {lin['features']!r}"
    else:
        n = len(lin["features"])
        problem = (
            _number_problem(lin["coef"], "coef", n)
            or _number_problem(lin["mean"], "mean", n)
            or _number_problem(lin["scale"], "scale", n)
            or (None if lin["fill"] is None else _number_problem(lin["fill"], "fill", n))
        )
        if problem is None and not _is_finite_number(lin["intercept"]):
            problem = f"intercept must be a finite number, got {lin['intercept']!r}"
        if problem is None and 0 in lin["scale"]:
            problem = f"scale[{lin['scale'].index(0)}] is 0; expected non-zero scales"
    if problem is not None:
        raise BundleError(BAD_FILE.format(path=path, file=file, problem=problem))
    if lin["features"] != list(features):
        if len(lin["features"]) != len(features):
            problem = FEATURE_COUNT.format(n_names=len(features), n_model=len(lin["features"]))
        else:
            problem = feature_order_problem(list(features), lin["features"])
        raise BundleError(
            MISMATCH.format(path=path, file=METADATA_FILE, other=file, problem=problem)
        )
    return lin
