"""configs/model.yaml loads into frozen dataclasses; mistakes fail with their dotted path."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from riskstrat._config import ConfigError, default_config_path
from riskstrat.modeling._model_config import (
    PROTECTED_DROPPED,
    PROXY_DROPPED,
    SENSITIVE_SELECTED,
    ModelConfig,
    is_sensitive,
    load_model_config,
    plain_config,
    protected_inputs,
)


def test_default_file_loads_with_documented_defaults() -> None:
    config = load_model_config(default_config_path("model.yaml"))
    assert config.kind == "lightgbm"
    assert config.outcome == "composite_adverse"
    assert config.calibration == "isotonic"
    assert config.sensitive_features == ("race_ethnicity", "sex")
    assert config.proxy_features == ("is_pregnant",)
    assert config.use_sensitive_features is False
    assert config.split.horizon_months == 12
    assert config.metrics.n_bootstrap == 1000
    assert dict(config.metrics.capacities) == {"isr": 255, "toc": 900}
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.kind = "logistic"


def test_mapping_with_or_without_the_model_section() -> None:
    a = load_model_config({"model": {"kind": "logistic", "split": {"data_end": "2024-01-01"}}})
    b = load_model_config({"kind": "logistic", "split": {"data_end": "2024-01-01"}})
    assert a == b
    assert a.split.data_end == dt.date(2024, 1, 1)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"kind": "xgboost"}, "model.kind: 'xgboost' is not one of"),
        ({"calibration": "beta"}, "model.calibration: 'beta' is not one of"),
        ({"lightgbm": {"n_estimator": 5}}, "model.lightgbm.n_estimator: unknown key"),
        ({"split": {"n_train": 0}}, "model.split.n_train: expected a whole number >= 1 or null"),
        ({"split": {"data_end": "soon"}}, "model.split.data_end: expected a date"),
        ({"metrics": {"baselines": ["oracle"]}}, "model.metrics.baselines[0]: 'oracle'"),
        ({"metrics": {"capacities": {"isr": 0}}}, "model.metrics.capacities.isr: expected k"),
        ({"metrics": {"confidence": 1.5}}, "model.metrics.confidence: expected a number"),
        ({"features": ["Age"]}, "model.features[0]: feature name 'Age'"),
        ({"tracking": {"enabled": "yes"}}, "model.tracking.enabled: expected true or false"),
        # LightGBM refused these only once the data was read and the fit began.
        ({"lightgbm": {"learning_rate": -0.1}}, "model.lightgbm.learning_rate: expected > 0"),
        ({"lightgbm": {"subsample": 1.5}}, "model.lightgbm.subsample: expected > 0 and <= 1"),
        ({"lightgbm": {"num_leaves": 1}}, "model.lightgbm.num_leaves: expected >= 2 and <="),
        ({"logistic": {"C": 0}}, "model.logistic.C: expected > 0, got 0"),
        ({"metrics": {"capacities": {"isrr": 5}}}, "model.metrics.capacities.isrr: not in"),
        # As-of dates are quarter starts: 2021-03-01 would have become 2021-04-01 silently.
        ({"split": {"first_as_of": "2021-03-01"}}, "model.split.first_as_of: expected a quarter"),
        ({"split": {"first_as_of": "2021-04-02"}}, "model.split.first_as_of: expected a quarter"),
    ],
)
def test_errors_name_the_dotted_key(mapping, message) -> None:
    with pytest.raises(ConfigError) as info:
        load_model_config(mapping)
    assert str(info.value).startswith(message)


def test_sensitive_features_need_explicit_opt_in() -> None:
    with pytest.raises(ConfigError) as info:
        load_model_config({"features": ["age", "sex"]})
    assert str(info.value) == "model.features[1]: " + SENSITIVE_SELECTED.format(
        name="sex", what="is a sensitive attribute"
    )
    config = load_model_config({"features": ["age", "sex"], "use_sensitive_features": True})
    baseline = {"single_feature": "race_ethnicity_black"}
    with pytest.raises(ConfigError) as info:
        load_model_config(baseline)
    assert str(info.value) == "model.single_feature: " + SENSITIVE_SELECTED.format(
        name="race_ethnicity_black", what="is derived from 'race_ethnicity'"
    )
    load_model_config({**baseline, "use_sensitive_features": True})
    assert config.features == ("age", "sex")


@pytest.mark.parametrize("listed", [[], ["sex"], ["race_ethnicity"], ["religion"]])
def test_race_and_sex_cannot_be_dropped_from_the_sensitive_list(listed) -> None:
    with pytest.raises(ConfigError) as info:
        load_model_config({"sensitive_features": listed})
    missing = [a for a in ("race_ethnicity", "sex") if a not in listed]
    assert str(info.value) == "model.sensitive_features: " + PROTECTED_DROPPED.format(
        missing=missing, got=listed
    )
    # Adding a name is fine.
    extended = load_model_config({"sensitive_features": ["race_ethnicity", "sex", "spa"]})
    assert extended.sensitive_features == ("race_ethnicity", "sex", "spa")


def test_a_feature_standing_for_sex_is_withheld_with_it() -> None:
    with pytest.raises(ConfigError) as info:
        load_model_config({"features": ["age", "is_pregnant"]})
    assert str(info.value) == "model.features[1]: " + SENSITIVE_SELECTED.format(
        name="is_pregnant", what="stands in for a sensitive attribute (model.proxy_features)"
    )
    with pytest.raises(ConfigError) as info:
        load_model_config({"single_feature": "is_pregnant"})
    assert str(info.value).startswith("model.single_feature: ")
    with pytest.raises(ConfigError) as info:
        load_model_config({"proxy_features": []})
    assert str(info.value) == "model.proxy_features: " + PROXY_DROPPED.format(
        missing=["is_pregnant"], got=[]
    )
    added = load_model_config({"proxy_features": ["is_pregnant", "sexual_health_visits"]})
    assert added.withheld == ("race_ethnicity", "sex", "is_pregnant", "sexual_health_visits")
    opted_in = load_model_config({"features": ["is_pregnant"], "use_sensitive_features": True})
    assert opted_in.features == ("is_pregnant",)


def test_is_sensitive_covers_derived_columns() -> None:
    sensitive = ModelConfig().sensitive_features
    assert is_sensitive("race_ethnicity_black", sensitive)
    assert is_sensitive("sex", sensitive)
    assert not is_sensitive("sexual_health_visits", sensitive)
    assert not is_sensitive("age", sensitive)


def test_protected_inputs_are_read_from_the_feature_names() -> None:
    features = ["age", "sex_female", "is_pregnant", "sexual_health_visits", "race_ethnicity_black"]
    assert protected_inputs(features) == ["sex_female", "is_pregnant", "race_ethnicity_black"]
    assert protected_inputs(["age", "has_smi"]) == []


def test_a_config_changed_by_replace_is_checked_again_before_training() -> None:
    # The notebook's way of changing a setting skips the loader: train() checks it again,
    # before any data is read, and names the key.
    from riskstrat.modeling import train

    config = load_model_config()
    typo = dataclasses.replace(
        config, metrics=dataclasses.replace(config.metrics, baselines=("rules",))
    )
    with pytest.raises(ConfigError, match=r"^model\.metrics\.baselines\[0\]: 'rules' is not"):
        train(typo, {})
    with pytest.raises(ConfigError, match=r"^model\.split\.n_train: expected a whole number"):
        dataclasses.replace(config, split=dataclasses.replace(config.split, n_train="3"))
    # An ISO text date is read as the loader reads it.
    as_text = dataclasses.replace(
        config, split=dataclasses.replace(config.split, data_end="2025-10-01")
    )
    assert load_model_config(plain_config(as_text)).split.data_end == dt.date(2025, 10, 1)


def test_updated_lays_changes_over_the_config_and_checks_them() -> None:
    config = load_model_config()
    assert config.updated({}) == config
    changed = config.updated({"metrics": {"n_bootstrap": 50}, "lightgbm": {"n_estimators": 150}})
    assert (changed.metrics.n_bootstrap, changed.lightgbm.n_estimators) == (50, 150)
    assert changed.lightgbm.learning_rate == config.lightgbm.learning_rate
    assert changed.split == config.split and changed.metrics.ece_bins == config.metrics.ece_bins
    # What dataclasses.replace lets through is refused, by its dotted name.
    with pytest.raises(ConfigError, match="model.metrics.n_bootstraps: unknown key"):
        config.updated({"metrics": {"n_bootstraps": 50}})
    with pytest.raises(ConfigError, match="model.metrics.n_bootstrap: expected a whole number"):
        config.updated({"metrics": {"n_bootstrap": "30"}})
    with pytest.raises(ConfigError, match="model.kind"):
        config.updated({"kind": "xgboost"})


def test_a_quarter_start_is_a_first_as_of_date() -> None:
    config = load_model_config({"split": {"first_as_of": "2021-04-01"}})
    assert config.split.first_as_of == dt.date(2021, 4, 1)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # YAML reads an unquoted date itself, and failed with Python's bare "month must be
        # in 1..12", naming neither the key nor the file.
        ("    data_end: 2025-13-01", "model.split.data_end: expected a date YYYY-MM-DD, got "),
        ("    first_as_of: 2021-02-30", "model.split.first_as_of: expected a date YYYY-MM-DD"),
    ],
)
def test_an_impossible_date_in_a_file_names_its_key_and_file(tmp_path, line, message) -> None:
    path = tmp_path / "model.yaml"
    path.write_text(f"model:\n  split:\n{line}\n")
    with pytest.raises(ConfigError) as info:
        load_model_config(path)
    assert str(info.value).startswith(message) and str(info.value).endswith(f"(in {path})")


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("model:\n  kind: lightgbm\n  seed: 1\n  kind: logistic\n")
    with pytest.raises(ConfigError) as info:
        load_model_config(path)
    assert str(info.value) == (
        f"{path}: line 4: key 'kind' is given twice (first on line 2); expected each key once "
        "in a mapping"
    )
    # The same key in two mappings is no repeat.
    path.write_text("model:\n  lightgbm:\n    seed: 1\n  seed: 2\n")
    with pytest.raises(ConfigError, match="model.lightgbm.seed: unknown key"):
        load_model_config(path)


def test_merge_keys_still_merge_and_an_unhashable_key_is_a_config_error(tmp_path) -> None:
    path = tmp_path / "model.yaml"
    # A county's own config may share settings with an anchor and `<<`.
    path.write_text(
        "base: &fast {n_estimators: 50, learning_rate: 0.1}\n"
        "model:\n  lightgbm:\n    <<: *fast\n    n_estimators: 80\n"
    )
    from riskstrat._config import read_yaml

    assert read_yaml(path)["model"]["lightgbm"] == {"n_estimators": 80, "learning_rate": 0.1}
    path.write_text("model:\n  ? [a, b]\n  : 1\n")
    with pytest.raises(ConfigError, match="line 2: a key that is a list or a mapping"):
        load_model_config(path)
