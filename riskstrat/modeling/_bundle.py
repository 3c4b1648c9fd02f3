"""Model bundles that score without unpickling anything.

A bundle is a folder of plain-text files: LightGBM's own text model (or the logistic
coefficients as JSON), the calibrator as JSON, ``metadata.json`` and ``checksums.json``
(sha256 of every other file). Loading verifies every checksum first, so a bundle that
was edited, truncated or completed with a stray file is refused before any of it is
interpreted. Pickle is never used: a pickle can run code on load, and its bytes are tied
to library versions, which defeats the point of an auditable, long-lived model file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import types
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FORMAT_VERSION = 1
KINDS: tuple[str, ...] = ("lightgbm", "logistic")
CALIBRATION_METHODS: tuple[str, ...] = ("isotonic", "sigmoid", "none")

METADATA_FILE = "metadata.json"
CHECKSUMS_FILE = "checksums.json"
CALIBRATOR_FILE = "calibrator.json"
MODEL_FILES: Mapping[str, str] = types.MappingProxyType(
    {"lightgbm": "model.txt", "logistic": "logistic.json"}
)
# Keys the bundle writes itself; caller metadata may not override them.
RESERVED_KEYS: tuple[str, ...] = ("format_version", "kind", "features", "outcome", "packages")

BAD_KIND = "model kind {kind!r} is not one of {allowed}"
KIND_MISMATCH = "model kind {kind!r} expects {expected}, got {got}"
NOT_CALIBRATED = (
    "expected a fitted CalibratedClassifierCV(FrozenEstimator(model)) with exactly one "
    "calibrated classifier, got {got}"
)
BAD_METHOD = "calibration method {method!r} cannot be stored; expected one of {allowed}"
NOT_BINARY = "expected a binary classifier, got classes {classes}"
FEATURE_COUNT = "{n_names} feature names given but the model was fitted on {n_model} features"
FEATURE_ORDER = "feature names {given} differ from the names the model was fitted on {fitted}"
RESERVED_METADATA = (
    "metadata key {key!r} is written by the bundle itself; reserved keys: {reserved}"
)
NOT_JSON = "metadata key {key!r}: value of type {type_name} cannot be stored as JSON"
EXISTS = "{path}: already exists; pass overwrite=True to replace it"
NOT_A_BUNDLE = "{path}: not a model bundle folder"
MISSING_FILE = "{path}: bundle file {file!r} is missing"
TAMPERED = "{path}: bundle file {file!r} does not match its sha256 in checksums.json"
UNLISTED_FILE = "{path}: bundle file {file!r} is not listed in checksums.json"
BAD_FORMAT = "{path}: bundle format version {version!r} is not supported; expected {expected}"
BAD_METADATA = "{path}: metadata.json: {problem}"
WRONG_BUNDLE = "{path}: bundle sha256 {actual} differs from the expected {expected}"
NOT_A_FRAME = "expected a pandas DataFrame of features, got {type_name}"
MISSING_FEATURES = "features missing from the input: {missing} ({count} of {total} expected)"
NOT_NUMERIC = "feature column {column!r} has dtype {dtype}; expected numbers or booleans"
NULL_FEATURES = (
    "logistic model without an imputer: feature columns with missing values: {columns}; "
    "impute before scoring"
)
EMPTY_FEATURES = "logistic model: features with no observed value at fit time: {columns}"


class BundleError(ValueError):
    """A model bundle cannot be built, saved, loaded or applied as asked."""


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "isoformat"):  # date, datetime, pandas Timestamp
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _dumps(obj: Any) -> bytes:
    # Sorted keys and a fixed layout make the bytes (and so the sha256) reproducible;
    # json writes floats with repr, which round-trips float64 exactly. NaN is refused:
    # it is not JSON, and other readers of metadata.json would choke on it.
    text = json.dumps(obj, sort_keys=True, indent=2, default=_json_default, allow_nan=False)
    return (text + "\n").encode()


def _finite(value: Any) -> Any:
    """Metadata with NaN and infinities replaced by null (an undefined metric, say)."""
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_finite(v) for v in value]
    return value


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _package_versions() -> dict[str, str]:
    import lightgbm
    import sklearn

    import riskstrat

    return {
        "lightgbm": lightgbm.__version__,
        "numpy": np.__version__,
        "riskstrat": riskstrat.__version__,
        "scikit-learn": sklearn.__version__,
    }


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
        raise BundleError(FEATURE_ORDER.format(given=feature_names, fitted=fitted))


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
    return booster.model_to_string().encode()


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


def _check_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    clean = {}
    for key, value in metadata.items():
        if key in RESERVED_KEYS:
            raise BundleError(RESERVED_METADATA.format(key=key, reserved=list(RESERVED_KEYS)))
        try:
            clean[str(key)] = json.loads(_dumps(_finite(value)))
        except TypeError as exc:
            raise BundleError(NOT_JSON.format(key=key, type_name=exc.args[0])) from exc
    return clean


class ModelBundle:
    """A calibrated binary risk model stored as verifiable, pickle-free files.

    Build one with :meth:`from_calibrated` or :meth:`load`; score with
    :meth:`predict_proba`, :meth:`raw_score` and :meth:`contributions`.

    Attributes
    ----------
    kind : str
        ``"lightgbm"`` or ``"logistic"``.
    features : tuple of str
        Feature names in the order the model uses them.
    outcome : str
        The outcome the model predicts.
    metadata : mapping
        Everything in ``metadata.json`` (read-only).
    sha256 : str
        sha256 of ``checksums.json``: one hash that identifies every byte of the bundle.
    """

    def __init__(self, files: Mapping[str, bytes]) -> None:
        # Private: use from_calibrated or load, which validate what they are given.
        self._files = dict(files)
        meta = json.loads(self._files[METADATA_FILE])
        self.kind: str = meta["kind"]
        self.features: tuple[str, ...] = tuple(meta["features"])
        self.outcome: str = meta["outcome"]
        self.metadata: Mapping[str, Any] = types.MappingProxyType(meta)
        self._calibrator = json.loads(self._files[CALIBRATOR_FILE])
        self._checksums = _dumps(
            {name: _sha256(data) for name, data in sorted(self._files.items())}
        )
        self.sha256: str = _sha256(self._checksums)
        model_bytes = self._files[MODEL_FILES[self.kind]]
        if self.kind == "lightgbm":
            import lightgbm as lgb

            self._booster = lgb.Booster(model_str=model_bytes.decode())
        else:
            lin = json.loads(model_bytes)
            self._mean = np.asarray(lin["mean"], dtype=float)
            self._scale = np.asarray(lin["scale"], dtype=float)
            self._coef = np.asarray(lin["coef"], dtype=float)
            self._intercept = float(lin["intercept"])
            fill = lin.get("fill")
            self._fill = None if fill is None else np.asarray(fill, dtype=float)

    @classmethod
    def from_calibrated(
        cls,
        calibrated: Any,
        kind: str,
        feature_names: list[str] | tuple[str, ...],
        outcome: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> ModelBundle:
        """Build a bundle from a fitted (calibrated) scikit-learn-style classifier.

        Parameters
        ----------
        calibrated : CalibratedClassifierCV or estimator
            ``CalibratedClassifierCV(FrozenEstimator(model), method="isotonic"|"sigmoid")``
            fitted on a calibration split, or the bare fitted model (stored uncalibrated).
            ``model`` is an ``LGBMClassifier`` (kind ``"lightgbm"``) or a pipeline of an
            optional ``SimpleImputer``, an optional ``StandardScaler`` and a
            ``LogisticRegression`` (kind ``"logistic"``; fill values, means, scales and
            coefficients are stored as JSON).
        kind : {"lightgbm", "logistic"}
            Which model family ``calibrated`` wraps.
        feature_names : sequence of str
            The model's features, in the order it was fitted on.
        outcome : str
            Name of the predicted outcome (for example ``"psych_crisis"``).
        metadata : mapping, optional
            JSON-serialisable facts to keep in ``metadata.json``: training window, split
            dates, metrics, config hash, a ``version`` label, a creation time. Dates are
            written as ISO strings. Nothing time-dependent is added by the bundle itself.

        Returns
        -------
        ModelBundle
        """
        if kind not in KINDS:
            raise BundleError(BAD_KIND.format(kind=kind, allowed=list(KINDS)))
        names = [str(f) for f in feature_names]
        estimator, calibrator = _extract_calibrator(calibrated)
        if kind == "lightgbm":
            model_bytes = _lightgbm_payload(estimator, names)
            calibrator.setdefault("response", "predict_proba")
        else:
            model_bytes = _logistic_payload(estimator, names)
            calibrator.setdefault("response", "decision_function")
        meta = _check_metadata(metadata or {})
        meta.update(
            format_version=FORMAT_VERSION,
            kind=kind,
            features=names,
            outcome=str(outcome),
            packages=_package_versions(),
        )
        files = {
            METADATA_FILE: _dumps(meta),
            CALIBRATOR_FILE: _dumps(calibrator),
            MODEL_FILES[kind]: model_bytes,
        }
        return cls(files)

    @property
    def version(self) -> str:
        """The caller's ``version`` label from the metadata, else the first 12 hex of sha256."""
        return str(self.metadata.get("version") or self.sha256[:12])

    @property
    def calibration_method(self) -> str:
        """``"isotonic"``, ``"sigmoid"`` or ``"none"``."""
        return str(self._calibrator["method"])

    def __repr__(self) -> str:
        return (
            f"ModelBundle(kind={self.kind!r}, outcome={self.outcome!r}, "
            f"features={len(self.features)}, calibration={self.calibration_method!r}, "
            f"sha256={self.sha256[:12]!r})"
        )

    # -- persistence ---------------------------------------------------------------

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the bundle to the folder ``path`` atomically.

        Files are written to a temporary sibling folder, flushed, and the folder is then
        renamed into place, so readers never see a half-written bundle.

        Parameters
        ----------
        path : str or Path
            Destination folder; must not exist unless ``overwrite``.
        overwrite : bool
            Replace an existing folder at ``path``.

        Returns
        -------
        Path
            The bundle folder.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise BundleError(EXISTS.format(path=path))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
        try:
            for name, data in {**self._files, CHECKSUMS_FILE: self._checksums}.items():
                with (tmp / name).open("wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            tmp.chmod(0o755)
            if path.exists():
                old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex}")
                path.rename(old)
                tmp.rename(path)
                shutil.rmtree(old)
            else:
                tmp.rename(path)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        return path

    @classmethod
    def load(cls, path: str | Path, *, expected_sha256: str | None = None) -> ModelBundle:
        """Load a bundle folder, verifying every file against ``checksums.json``.

        Parameters
        ----------
        path : str or Path
            The bundle folder.
        expected_sha256 : str, optional
            If given, the bundle's sha256 (of ``checksums.json``) must equal it; this pins
            the exact bundle a cohort run or a registry entry refers to.

        Returns
        -------
        ModelBundle

        Raises
        ------
        BundleError
            A file is missing, changed or unlisted, the format version is unknown, or the
            sha256 differs from ``expected_sha256``.
        """
        path = Path(path)
        if not path.is_dir():
            raise BundleError(NOT_A_BUNDLE.format(path=path))
        checksums_path = path / CHECKSUMS_FILE
        if not checksums_path.is_file():
            raise BundleError(MISSING_FILE.format(path=path, file=CHECKSUMS_FILE))
        raw_checksums = checksums_path.read_bytes()
        try:
            checksums = json.loads(raw_checksums)
        except ValueError as exc:
            raise BundleError(TAMPERED.format(path=path, file=CHECKSUMS_FILE)) from exc
        if not isinstance(checksums, dict):
            raise BundleError(TAMPERED.format(path=path, file=CHECKSUMS_FILE))
        if not all(isinstance(v, str) for v in checksums.values()):
            raise BundleError(TAMPERED.format(path=path, file=CHECKSUMS_FILE))
        present = {p.name for p in path.iterdir()} - {CHECKSUMS_FILE}
        unlisted = sorted(present - set(checksums))
        if unlisted:
            raise BundleError(UNLISTED_FILE.format(path=path, file=unlisted[0]))
        files = {}
        for name in sorted(checksums):
            if name not in present:
                raise BundleError(MISSING_FILE.format(path=path, file=name))
            data = (path / name).read_bytes()
            if _sha256(data) != checksums[name]:
                raise BundleError(TAMPERED.format(path=path, file=name))
            files[name] = data
        for required in (METADATA_FILE, CALIBRATOR_FILE):
            if required not in files:
                raise BundleError(MISSING_FILE.format(path=path, file=required))
        meta = json.loads(files[METADATA_FILE])
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            raise BundleError(
                BAD_FORMAT.format(path=path, version=version, expected=FORMAT_VERSION)
            )
        if meta.get("kind") not in KINDS:
            problem = BAD_KIND.format(kind=meta.get("kind"), allowed=list(KINDS))
            raise BundleError(BAD_METADATA.format(path=path, problem=problem))
        if MODEL_FILES[meta["kind"]] not in files:
            raise BundleError(MISSING_FILE.format(path=path, file=MODEL_FILES[meta["kind"]]))
        bundle = cls(files)
        if bundle._checksums != raw_checksums:
            # Same hashes written differently would change the bundle's identity.
            raise BundleError(TAMPERED.format(path=path, file=CHECKSUMS_FILE))
        if expected_sha256 is not None and bundle.sha256 != expected_sha256:
            raise BundleError(
                WRONG_BUNDLE.format(path=path, actual=bundle.sha256, expected=expected_sha256)
            )
        return bundle

    # -- scoring ---------------------------------------------------------------------

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        if not isinstance(X, pd.DataFrame):
            raise BundleError(NOT_A_FRAME.format(type_name=type(X).__name__))
        missing = [f for f in self.features if f not in X.columns]
        if missing:
            raise BundleError(
                MISSING_FEATURES.format(
                    missing=missing, count=len(missing), total=len(self.features)
                )
            )
        for name in self.features:
            dtype = X[name].dtype
            if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
                raise BundleError(NOT_NUMERIC.format(column=name, dtype=dtype))
        return X.loc[:, list(self.features)].to_numpy(dtype=np.float64, na_value=np.nan)

    def _standardized(self, X: pd.DataFrame) -> np.ndarray:
        matrix = self._matrix(X)
        if self._fill is not None:
            matrix = np.where(np.isnan(matrix), self._fill, matrix)
        nulls = np.isnan(matrix).any(axis=0)
        if nulls.any():
            columns = [f for f, bad in zip(self.features, nulls, strict=True) if bad]
            raise BundleError(NULL_FEATURES.format(columns=columns))
        return (matrix - self._mean) / self._scale

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """Uncalibrated log-odds: LightGBM raw score or the logistic decision function.

        Parameters
        ----------
        X : DataFrame
            Must hold every feature in :attr:`features` (selected by name; other
            columns are ignored).

        Returns
        -------
        ndarray of shape (n_rows,)
        """
        if self.kind == "lightgbm":
            return np.asarray(self._booster.predict(self._matrix(X), raw_score=True), dtype=float)
        return self._standardized(X) @ self._coef + self._intercept

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of the outcome, one per row of ``X``.

        Parameters
        ----------
        X : DataFrame
            Features, selected by name in the stored order.

        Returns
        -------
        ndarray of shape (n_rows,)
        """
        raw = self.raw_score(X)
        cal = self._calibrator
        # The calibrator was fitted on sklearn's response: decision_function (raw log-odds)
        # when the model has one, otherwise predict_proba[:, 1] = expit(raw).
        response = raw if cal["response"] == "decision_function" else _expit(raw)
        if cal["method"] == "isotonic":
            x_thr = np.asarray(cal["x_thresholds"], dtype=float)
            y_thr = np.asarray(cal["y_thresholds"], dtype=float)
            return np.interp(np.clip(response, x_thr[0], x_thr[-1]), x_thr, y_thr)
        if cal["method"] == "sigmoid":
            return _expit(-(cal["a"] * response + cal["b"]))
        return _expit(raw)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions to the raw score, plus ``base_value``.

        LightGBM: TreeSHAP values from ``pred_contrib=True``. Logistic: coefficient times
        the standardised value, with the intercept as base. In both cases each row sums
        (features + ``base_value``) to :meth:`raw_score`.

        Parameters
        ----------
        X : DataFrame
            Features, selected by name in the stored order.

        Returns
        -------
        DataFrame
            One column per feature in stored order, then ``base_value``; same index as ``X``.
        """
        if self.kind == "lightgbm":
            values = np.asarray(self._booster.predict(self._matrix(X), pred_contrib=True))
        else:
            z = self._standardized(X) * self._coef
            values = np.column_stack([z, np.full(len(z), self._intercept)])
        return pd.DataFrame(values, index=X.index, columns=[*self.features, "base_value"])


def _expit(x: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(x)
