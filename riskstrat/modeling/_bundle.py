"""Model bundles that score without unpickling anything.

A bundle is a folder of plain-text files: LightGBM's own text model (or the logistic
coefficients as JSON), the calibrator as JSON, ``metadata.json`` and ``checksums.json``
(sha256 of every other file). Loading verifies every checksum first, so a bundle that
was edited, truncated or completed with a stray file is refused before any of it is
interpreted. Pickle is never used: a pickle can run code on load, and its bytes are tied
to library versions, which defeats the point of an auditable, long-lived model file.

This module holds the :class:`ModelBundle` class and its scoring; the file format and
checksums are in :mod:`riskstrat.modeling._bundle_files`, and the conversion of fitted
models and calibrators to stored payloads in :mod:`riskstrat.modeling._bundle_codec`.
MLflow's loader module (``_pyfunc.py``) and the "models from code" wrapper copied into
models registered before 2026-12-06 import :class:`ModelBundle` from here, so it must stay
in this module.
"""

from __future__ import annotations

import json
import logging
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskstrat._args import as_path
from riskstrat.modeling._bundle_codec import (
    _calibrate,
    _extract_calibrator,
    _lightgbm_payload,
    _logistic_payload,
)
from riskstrat.modeling._bundle_files import (
    BAD_KIND,
    CALIBRATOR_FILE,
    CHECKSUMS_FILE,
    FORMAT_VERSION,
    KINDS,
    METADATA_FILE,
    MODEL_FILES,
    TAMPERED,
    WRONG_BUNDLE,
    BundleError,
    _check_loaded_metadata,
    _check_metadata,
    _checksums,
    _dumps,
    _lightgbm_drift,
    _package_versions,
    _read_verified,
    _sha256,
    _write_files,
)
from riskstrat.modeling._bundle_read import _read_calibrator, _read_lightgbm, _read_logistic

logger = logging.getLogger(__name__)

NOT_A_FRAME = "expected a pandas DataFrame of features, got {type_name}"
MISSING_FEATURES = "features missing from the input: {missing} ({count} of {total} expected)"
NOT_NUMERIC = "feature column {column!r} has dtype {dtype}; expected numbers or booleans"
UNEXPECTED_MISSING = (
    "feature column(s) {columns} hold missing values in {rows} row(s); the model was trained "
    "with none there, and LightGBM would score a missing value as 0 without a word; expected "
    "the feature engine's value (0 for a count, false for a flag), so check the join or the "
    "step that left them empty (features that may be missing: {allowed})"
)
NULL_FEATURES = (
    "logistic model without an imputer: feature columns with missing values: {columns}; "
    "impute before scoring"
)


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

    def __init__(self, files: Mapping[str, bytes], path: Path | str = "new bundle") -> None:
        # Private: use from_calibrated or load, which validate what they are given. The
        # metadata is checked by _read_verified (load) or written here (from_calibrated);
        # the model and calibrator files are checked against it here, for both, so a
        # bundle assembled from parts of different models, or edited and re-checksummed,
        # is refused with the file, the problem and what was expected (``path`` labels it).
        self._files = dict(files)
        meta = json.loads(self._files[METADATA_FILE])
        self.kind: str = meta["kind"]
        self.features: tuple[str, ...] = tuple(meta["features"])
        self.outcome: str = meta["outcome"]
        self.metadata: Mapping[str, Any] = types.MappingProxyType(meta)
        # Bundles written before the list was kept get no check.
        allowed = meta.get("missing_allowed")
        self._missing_refused = (
            None if allowed is None else np.array([f not in set(allowed) for f in self.features])
        )
        model_bytes = self._files[MODEL_FILES[self.kind]]
        if self.kind == "lightgbm":
            self._booster = _read_lightgbm(model_bytes, self.features, path)
        else:
            lin = _read_logistic(model_bytes, self.features, path)
            self._mean = np.asarray(lin["mean"], dtype=float)
            self._scale = np.asarray(lin["scale"], dtype=float)
            self._coef = np.asarray(lin["coef"], dtype=float)
            self._intercept = float(lin["intercept"])
            fill = lin["fill"]
            self._fill = None if fill is None else np.asarray(fill, dtype=float)
        self._calibrator = _read_calibrator(self._files[CALIBRATOR_FILE], self.kind, path)
        self._checksums = _checksums(self._files)
        self.sha256: str = _sha256(self._checksums)

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
        # Never write what load would refuse (say, repeated feature names).
        _check_loaded_metadata(meta, Path("new bundle"))
        files = {
            METADATA_FILE: _dumps(meta),
            CALIBRATOR_FILE: _dumps(calibrator),
            MODEL_FILES[kind]: model_bytes,
        }
        return cls(files)

    def __reduce__(self) -> tuple[Any, tuple[dict[str, bytes], str]]:
        # Pickled by its files and rebuilt through from_files, so an unpickled bundle is
        # checked as a loaded one is (a joblib cache of a training result, say).
        return (_from_pickled, (dict(self._files), self.sha256))

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

    @property
    def files(self) -> Mapping[str, bytes]:
        """The bundle's files by name (without ``checksums.json``), read-only."""
        return types.MappingProxyType(self._files)

    @classmethod
    def from_files(cls, files: Mapping[str, bytes], *, expected_sha256: str) -> ModelBundle:
        """Rebuild a bundle from the :attr:`files` of one already verified.

        For a copy sent to another process (a Spark executor, say): the model and the
        calibrator are checked against the metadata as on :meth:`load`, and the sha256
        pins every byte to the bundle the files came from.

        Raises
        ------
        BundleError
            The files do not fit together, or their sha256 differs from ``expected_sha256``.
        """
        actual = _sha256(_checksums(dict(files)))
        if actual != expected_sha256:  # before parsing, as in load
            raise BundleError(
                WRONG_BUNDLE.format(path="bundle copy", actual=actual, expected=expected_sha256)
            )
        bundle = cls(files, "bundle copy")
        if bundle.sha256 != expected_sha256:
            raise BundleError(
                WRONG_BUNDLE.format(
                    path="bundle copy", actual=bundle.sha256, expected=expected_sha256
                )
            )
        return bundle

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
        files = {**self._files, CHECKSUMS_FILE: self._checksums}
        return _write_files(Path(path), files, overwrite=overwrite)

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
            A file is missing, changed or unlisted, the format version is unknown, the
            sha256 differs from ``expected_sha256``, or the files are consistently
            checksummed but do not fit together (an edited or mismatched bundle): a file
            is not valid JSON or not a LightGBM model, the metadata's features differ
            from the model's (in name, order or number), or the calibrator is not one the
            bundle writes (method, fields, finite sorted thresholds, probabilities).
            The message names the file, the problem and what was expected.
        """
        path = as_path(path, "path", "a bundle folder (str or Path)")
        # Pinned: refused before any file is parsed, so a bundle edited and re-checksummed
        # never reaches LightGBM's parser (which can abort the process on a bad tree).
        files, raw_checksums = _read_verified(path, expected_sha256)
        bundle = cls(files, path)
        if bundle._checksums != raw_checksums:
            # Same hashes written differently would change the bundle's identity.
            raise BundleError(TAMPERED.format(path=path, file=CHECKSUMS_FILE))
        if expected_sha256 is not None and bundle.sha256 != expected_sha256:
            raise BundleError(
                WRONG_BUNDLE.format(path=path, actual=bundle.sha256, expected=expected_sha256)
            )
        drift = _lightgbm_drift(bundle.metadata, path)
        if drift:
            logger.warning(drift)
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
        # Models are fitted on float32 inputs (``feature_matrix``) and LightGBM puts split
        # thresholds on float32 values: an amount like 150.62 must be rounded the same way here,
        # or it lands on the other side of a split from where training put it.
        values = X.loc[:, list(self.features)].to_numpy(dtype=np.float32, na_value=np.nan)
        if self._missing_refused is not None and self._missing_refused.any():
            bad = np.isnan(values[:, self._missing_refused])
            if bad.any():
                refused = [
                    f for f, r in zip(self.features, self._missing_refused, strict=True) if r
                ]
                columns = [f for f, b in zip(refused, bad.any(axis=0), strict=True) if b]
                allowed = [f for f in self.features if f not in refused] or "none"
                raise BundleError(
                    UNEXPECTED_MISSING.format(
                        columns=columns, rows=int(bad.any(axis=1).sum()), allowed=allowed
                    )
                )
        return values.astype(np.float64)

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
        return _calibrate(self._calibrator, self.raw_score(X))

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


def _from_pickled(files: dict[str, bytes], sha256: str) -> ModelBundle:
    return ModelBundle.from_files(files, expected_sha256=sha256)
