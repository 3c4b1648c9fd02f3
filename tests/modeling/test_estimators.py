"""Model lookup table, baseline estimators (with scikit-learn's checks) and the rule score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from riskstrat.modeling._estimators import (
    MODEL_KINDS,
    NO_NAMES,
    UNKNOWN_FEATURE,
    SingleFeatureBaseline,
    input_columns,
    make_estimator,
)
from riskstrat.modeling._model_config import ModelConfig, load_model_config


@parametrize_with_checks([SingleFeatureBaseline(feature=0)])
def test_sklearn_compatible(estimator, check) -> None:
    check(estimator)


def test_lookup_table_builds_each_kind() -> None:
    config = ModelConfig()
    assert set(MODEL_KINDS) == {"lightgbm", "logistic", "rule", "single_feature"}
    assert isinstance(make_estimator("lightgbm", config), LGBMClassifier)
    logistic = make_estimator("logistic", config)
    assert isinstance(logistic, Pipeline)
    assert [name for name, _ in logistic.steps] == ["impute", "scale", "logistic"]
    assert make_estimator("single_feature", config).feature == "psych_inpatient_admissions_365d"
    assert make_estimator("rule", config).feature == "rule_score"
    with pytest.raises(ValueError, match="'xgboost' is not one of"):
        make_estimator("xgboost", config)


def test_lightgbm_hyperparameters_come_from_config() -> None:
    config = load_model_config({"lightgbm": {"n_estimators": 7, "num_leaves": 5}, "seed": 3})
    model = make_estimator("lightgbm", config)
    assert (model.n_estimators, model.num_leaves, model.random_state) == (7, 5, 3)


def test_input_columns_per_kind() -> None:
    config = ModelConfig(single_feature="ed_visits_365d")
    assert input_columns("lightgbm", config, ["a", "b"]) == ["a", "b"]
    assert input_columns("rule", config, ["a", "b"]) == ["rule_score"]
    assert input_columns("single_feature", config, ["a", "b"]) == ["ed_visits_365d"]


def test_single_feature_ranks_by_the_named_column() -> None:
    X = pd.DataFrame({"a": [5.0, 1.0, 3.0, np.nan], "b": [0.0, 9.0, 1.0, 2.0]})
    y = np.array([1, 0, 1, 0])
    model = SingleFeatureBaseline(feature="a").fit(X, y)
    score = model.decision_function(X)
    # Centred on the training median (2.0, missing filled with 1.0 - 1); missing values
    # rank below every observed training value.
    assert score.tolist() == [3.0, -1.0, 1.0, -2.0]
    proba = model.predict_proba(X)[:, 1]
    assert np.argsort(proba).tolist() == [3, 1, 2, 0]
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)


def test_single_feature_errors_name_the_feature() -> None:
    y = np.array([0, 1])
    with pytest.raises(ValueError) as info:
        SingleFeatureBaseline(feature="zz").fit(pd.DataFrame({"a": [1.0, 2.0]}), y)
    assert info.value.args[0] == UNKNOWN_FEATURE.format(
        owner="SingleFeatureBaseline", feature="zz", columns=["a"]
    )
    with pytest.raises(ValueError) as info:
        SingleFeatureBaseline(feature="a").fit(np.array([[1.0], [2.0]]), y)
    assert info.value.args[0] == NO_NAMES.format(owner="SingleFeatureBaseline", feature="a")


def test_rule_scores_count_eligibility_and_criteria_per_programme() -> None:
    from riskstrat.eligibility import load_programs
    from riskstrat.modeling._estimators import all_rule_scores, rule_scores

    rules = {
        "programs": {
            "isr": {
                "name": "ISR",
                "criteria": {
                    "all": [
                        {"code": "adult", "feature": "age", "op": ">=", "value": 18},
                        {"code": "admissions", "feature": "admissions", "op": ">=", "value": 6},
                    ]
                },
            },
            "fsp": {
                "name": "FSP",
                "criteria": {"any": [{"code": "flag", "feature": "flag", "op": "!=", "value": 0}]},
            },
        }
    }
    programs = load_programs(rules, feature_spec=["age", "admissions", "flag"])
    one_date = pd.DataFrame(
        {
            "person_id": ["p1", "p2", "p3"],
            "age": [30, 17, 40],
            "admissions": [6, 9, 5],
            "flag": [1, 0, 0],
        }
    )
    # Two dates, rows out of key order, a non-default index: every score stays on its row.
    features = pd.concat(
        [
            one_date.assign(as_of=pd.Timestamp("2025-01-01")),
            one_date.assign(as_of=pd.Timestamp("2024-10-01"), flag=[0, 0, 3]),
        ]
    ).iloc[[5, 0, 2, 4, 1, 3]]
    features.index = [15, 10, 12, 14, 11, 13]
    scores = all_rule_scores(features, programs)
    # 2025-01-01: p1 meets both programmes (2 + 1 criteria); p2 only ISR's admissions, p3
    # its age. 2024-10-01: the flag moved from p1 to p3.
    assert scores.loc[[10, 11, 12, 13, 14, 15]].to_dict("list") == {
        "rule_score": [2003.0, 1.0, 1.0, 1002.0, 1.0, 1002.0],
        "rule_score_fsp": [1001.0, 0.0, 0.0, 0.0, 0.0, 1001.0],
        "rule_score_isr": [1002.0, 1.0, 1.0, 1002.0, 1.0, 1.0],
    }
    assert list(scores.index) == list(features.index)
    assert list(scores.columns) == ["rule_score", "rule_score_fsp", "rule_score_isr"]
    assert rule_scores(features, programs).tolist() == scores["rule_score"].tolist()
    with pytest.raises(ValueError, match=r"1 repeated \(person_id, as_of\) row"):
        all_rule_scores(pd.concat([features, features.iloc[[0]]]), programs)
