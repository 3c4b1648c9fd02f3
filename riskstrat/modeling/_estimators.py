"""The fixed lookup table of model kinds, and the baseline ranking estimators.

``MODEL_KINDS`` maps each kind allowed in ``configs/model.yaml`` to a builder; there is
no other way to name an estimator (no import from a string).

Baselines are ranking rules wrapped as scikit-learn classifiers so that they go through
the same calibration and metrics as the model:

- ``single_feature``: rank by one feature (by default
  ``psych_inpatient_admissions_365d``).
- ``rule``: rank by programme criteria met (:mod:`riskstrat.eligibility`): the score is
  ``1000 x (programmes eligible) + (distinct criteria met)`` (see :func:`rule_scores`).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from riskstrat.modeling._model_config import ModelConfig

RULE_SCORE = "rule_score"
PROGRAMME_RULE_SCORE = "rule_score_{programme}"
REPEATED_KEYS = (
    "rule scores: {count} repeated (person_id, as_of) row(s) in the features, e.g. {some}; "
    "expected one row per person and date"
)
UNKNOWN_FEATURE = "{owner}: feature {feature!r} is not among the input columns {columns}"
NO_NAMES = (
    "{owner}: feature {feature!r} is a name but X has no column names; pass a DataFrame "
    "or an integer column index"
)
BAD_INDEX = "{owner}: feature index {feature!r} is out of range for {n} column(s)"
NOT_BINARY = "{owner}: Only binary classification is supported. The type of the target is {kind}."
ONE_CLASS = "{owner}: expected 2 classes in y, got {n} class(es)"


class SingleFeatureBaseline(ClassifierMixin, BaseEstimator):
    """Rank by one input column; probabilities are a monotone squash of that column.

    Parameters
    ----------
    feature : str or int
        Column name (with DataFrame input) or column index.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only with DataFrame input.
    column_ : int
        Index of the ranking column.
    fill_value_ : float
        Score given to missing values (below every observed training value).
    center_, scale_ : float
        Location and spread of the training scores, used for ``predict_proba``.
    """

    def __init__(self, *, feature: str | int = 0) -> None:
        self.feature = feature

    def _column(self, n_features: int) -> int:
        owner = type(self).__name__
        if isinstance(self.feature, str):
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise ValueError(NO_NAMES.format(owner=owner, feature=self.feature))
            matches = np.flatnonzero(np.asarray(names) == self.feature)
            if not len(matches):
                raise ValueError(
                    UNKNOWN_FEATURE.format(owner=owner, feature=self.feature, columns=list(names))
                )
            return int(matches[0])
        if isinstance(self.feature, bool) or not 0 <= int(self.feature) < n_features:
            raise ValueError(BAD_INDEX.format(owner=owner, feature=self.feature, n=n_features))
        return int(self.feature)

    def fit(self, X, y) -> SingleFeatureBaseline:
        """Learn the classes and the spread of the ranking column.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), binary

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64)
        kind = type_of_target(y, input_name="y", raise_unknown=True)
        if kind != "binary":
            raise ValueError(NOT_BINARY.format(owner=type(self).__name__, kind=kind))
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(ONE_CLASS.format(owner=type(self).__name__, n=len(self.classes_)))
        self.column_ = self._column(X.shape[1])
        values = X[:, self.column_]
        observed = values[np.isfinite(values)]
        low = float(observed.min()) if len(observed) else 0.0
        self.fill_value_ = low - 1.0
        filled = np.where(np.isfinite(values), values, self.fill_value_)
        self.center_ = float(np.median(filled))
        spread = float(np.std(filled))
        self.scale_ = spread if spread > 0 else 1.0
        return self

    def decision_function(self, X) -> np.ndarray:
        """The ranking column minus its training median (missing: below every value)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        values = X[:, self.column_]
        return np.where(np.isfinite(values), values, self.fill_value_) - self.center_

    def predict_proba(self, X) -> np.ndarray:
        """Monotone (uncalibrated) probabilities; calibrate before reading them as risks."""
        p = expit(self.decision_function(X) / self.scale_)
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """Positive class where the column is above its training median."""
        check_is_fitted(self)
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.classifier_tags.multi_class = False
        # A one-column ranking rule is not meant to fit arbitrary data well.
        tags.classifier_tags.poor_score = True
        return tags


def rule_scores(features: pd.DataFrame, programs: object | None = None) -> pd.Series:
    """Score of the ``rule`` baseline for each row of a feature table.

    Parameters
    ----------
    features : DataFrame
        Output of ``riskstrat.features.build_features`` (``person_id``, ``as_of``, ...).
    programs : riskstrat.eligibility.Programs, optional
        Programme rules; loaded from ``configs/programs.yaml`` when None.

    Returns
    -------
    Series of float, aligned with ``features`` (same index).
    """
    return all_rule_scores(features, programs)[RULE_SCORE]


def all_rule_scores(features: pd.DataFrame, programs: object | None = None) -> pd.DataFrame:
    """The ``rule`` score and each programme's own rule score, per row of a feature table.

    A programme's own score is ``1000 x (eligible for it) + (its criteria met)``: the
    order in which its own rule would fill its places. The ``rule`` score sums the same
    over all programmes.

    Parameters
    ----------
    features : DataFrame
        Output of ``riskstrat.features.build_features`` (``person_id``, ``as_of``, ...).
    programs : riskstrat.eligibility.Programs, optional
        Programme rules; loaded from ``configs/programs.yaml`` when None.

    Returns
    -------
    DataFrame
        ``rule_score`` and ``rule_score_<programme>`` per programme, float, aligned with
        ``features`` (same index), programmes in code order.
    """
    # Imported here: eligibility imports the feature stage, which the estimators do not need.
    from riskstrat.eligibility import evaluate_programs, load_programs

    keys = features[["person_id", "as_of"]]
    repeated = keys.duplicated()
    if repeated.any():
        some = keys[repeated].head(3).astype(str).agg(" ".join, axis=1).tolist()
        raise ValueError(REPEATED_KEYS.format(count=int(repeated.sum()), some=some))
    programs = programs if programs is not None else load_programs()
    long = evaluate_programs(features, programs)
    # One block of rows per programme, in programme order, each in the order of
    # ``features``: a reshape puts every score back on its row (an unstack on the keys
    # took seconds at 200,000 persons).
    codes = list(programs)
    eligible = long["eligible"].to_numpy(dtype="float64")
    met = _count_met(long["criteria_met"])
    score = (1000.0 * eligible + met).reshape(len(codes), len(features))
    out = pd.DataFrame(
        {PROGRAMME_RULE_SCORE.format(programme=c): score[codes.index(c)] for c in sorted(codes)},
        index=features.index,
    )
    out.insert(0, RULE_SCORE, out.sum(axis=1))
    return out


def _count_met(column: pd.Series) -> np.ndarray:
    """Codes met per row, as float; an Arrow list column is counted in Arrow.

    Mapping a Python function over the cells took about 50 s at 200,000 persons (one row
    per person, as-of date and programme).
    """
    dtype = column.dtype
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_list(dtype.pyarrow_dtype):
        lengths = pc.fill_null(pc.list_value_length(pa.array(column.array)), 0)
        return lengths.to_numpy(zero_copy_only=False).astype("float64")
    return column.map(_count_codes).to_numpy(dtype="float64")


def _count_codes(value: object) -> int:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return 0
    if isinstance(value, str):
        return len([v for v in value.replace(";", ",").split(",") if v.strip()])
    return len(list(value))


def _lightgbm(config: ModelConfig) -> lgb.LGBMClassifier:
    p = config.lightgbm
    return lgb.LGBMClassifier(
        n_estimators=p.n_estimators,
        learning_rate=p.learning_rate,
        num_leaves=p.num_leaves,
        min_child_samples=p.min_child_samples,
        subsample=p.subsample,
        subsample_freq=p.subsample_freq,
        colsample_bytree=p.colsample_bytree,
        reg_lambda=p.reg_lambda,
        max_bin=p.max_bin,
        n_jobs=p.n_jobs,
        random_state=config.seed,
        verbose=-1,
    )


def _logistic(config: ModelConfig) -> Pipeline:
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            (
                "logistic",
                LogisticRegression(C=config.logistic.C, max_iter=config.logistic.max_iter),
            ),
        ]
    )


def _rule(config: ModelConfig) -> SingleFeatureBaseline:
    return SingleFeatureBaseline(feature=RULE_SCORE)


def _single_feature(config: ModelConfig) -> SingleFeatureBaseline:
    return SingleFeatureBaseline(feature=config.single_feature)


MODEL_KINDS: Mapping[str, Callable[[ModelConfig], BaseEstimator]] = types.MappingProxyType(
    {
        "lightgbm": _lightgbm,
        "logistic": _logistic,
        "rule": _rule,
        "single_feature": _single_feature,
    }
)


def make_estimator(kind: str, config: ModelConfig) -> BaseEstimator:
    """A fresh, unfitted estimator of ``kind`` from the fixed lookup table.

    Parameters
    ----------
    kind : str
        One of ``MODEL_KINDS``.
    config : ModelConfig

    Returns
    -------
    estimator
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"model.kind: {kind!r} is not one of {sorted(MODEL_KINDS)}")
    return MODEL_KINDS[kind](config)


def input_columns(kind: str, config: ModelConfig, feature_names: list[str]) -> list[str]:
    """Columns of the panel that estimator ``kind`` reads."""
    if kind == "rule":
        return [RULE_SCORE]
    if kind == "single_feature":
        return [config.single_feature]
    return list(feature_names)
