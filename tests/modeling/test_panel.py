"""Panel helpers: feature selection, censoring, the float matrix, data dates, truth lookup."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from riskstrat._config import ConfigError
from riskstrat.modeling._evaluate import evaluate
from riskstrat.modeling._model_config import load_model_config
from riskstrat.modeling._panel import (
    FEATURES_ATTR,
    LABEL_AS_INPUT,
    NO_SENSITIVE_FEATURES,
    NOT_BINARY_LABEL,
    OUTCOMES_ATTR,
    PANEL_OUTCOME_UNKNOWN,
    UNKNOWN_FEATURES,
    check_panel_outcome,
    feature_matrix,
    infer_data_end,
    infer_data_start,
    labelled_rows,
    outcome_windows,
    select_features,
)
from riskstrat.modeling._truth import TRUTH_COVERAGE, true_probabilities


def _panel() -> pd.DataFrame:
    panel = pd.DataFrame(
        {
            "person_id": ["a", "b", "c", "d"],
            "as_of": pd.to_datetime(["2022-01-01"] * 4),
            "age": [30, 40, 50, 60],
            "homeless_now": pd.array([True, False, None, True], dtype="boolean"),
            "mcas_latest": [np.nan, 40.0, 55.0, np.nan],
            "sex": [1, 0, 1, 0],
            "race_ethnicity_black": [1, 0, 0, 1],
            "psych_crisis": [1.0, 0.0, np.nan, 1.0],
            "psych_crisis_censored": [False, False, True, True],
        }
    )
    panel.attrs[FEATURES_ATTR] = [
        "age",
        "homeless_now",
        "mcas_latest",
        "sex",
        "race_ethnicity_black",
    ]
    return panel


def test_all_features_minus_sensitive_and_excluded() -> None:
    panel = _panel()
    assert select_features(panel, load_model_config({})) == ["age", "homeless_now", "mcas_latest"]
    config = load_model_config({"exclude_features": ["mcas_latest"]})
    assert select_features(panel, config) == ["age", "homeless_now"]
    config = load_model_config({"use_sensitive_features": True})
    assert "race_ethnicity_black" in select_features(panel, config)


def test_opting_in_without_sensitive_features_is_refused() -> None:
    panel = _panel()
    panel.attrs[FEATURES_ATTR] = ["age", "homeless_now"]
    with pytest.raises(ValueError) as info:
        select_features(panel, load_model_config({"use_sensitive_features": True}))
    assert info.value.args[0] == NO_SENSITIVE_FEATURES.format(sensitive=["race_ethnicity", "sex"])
    # A feature standing in for sex is not sex: opting in with only that is refused too.
    panel.attrs[FEATURES_ATTR] = ["age", "is_pregnant"]
    panel["is_pregnant"] = False
    with pytest.raises(ValueError):
        select_features(panel, load_model_config({"use_sensitive_features": True}))


def test_shipped_spec_offers_sensitive_features_only_on_opt_in() -> None:
    from riskstrat.features import expand_features, load_feature_spec

    names = [f.name for f in expand_features(load_feature_spec())]
    panel = pd.DataFrame(columns=["person_id", "as_of", *names])
    panel.attrs[FEATURES_ATTR] = names
    sensitive = {n for n in names if n.startswith(("sex_", "race_ethnicity_"))}
    assert {"sex_female", "sex_male", "race_ethnicity_black"} <= sensitive
    sensitive.add("is_pregnant")  # stands for sex: recorded for women only
    assert not sensitive & set(select_features(panel, load_model_config({})))
    opted_in = select_features(panel, load_model_config({"use_sensitive_features": True}))
    assert sensitive <= set(opted_in)


def test_listed_features_must_exist() -> None:
    with pytest.raises(ValueError) as info:
        select_features(_panel(), load_model_config({"features": ["age", "bookings_365d"]}))
    assert info.value.args[0] == UNKNOWN_FEATURES.format(missing=["bookings_365d"], count=5)


def test_labels_and_flags_in_the_panel_are_never_inputs() -> None:
    # Columns of the panel, but not its features: listing them once gave AUROC 1.0.
    config = {"outcome": "psych_crisis", "features": ["age", "psych_crisis_censored"]}
    with pytest.raises(ValueError) as info:
        select_features(_panel(), load_model_config(config))
    assert info.value.args[0] == UNKNOWN_FEATURES.format(missing=["psych_crisis_censored"], count=5)
    labelled = _panel()
    labelled.attrs[FEATURES_ATTR] = ["age", "psych_crisis"]
    with pytest.raises(ValueError) as info:
        select_features(labelled, load_model_config({"outcome": "psych_crisis"}))
    assert info.value.args[0] == LABEL_AS_INPUT.format(found=["psych_crisis"])
    # Another outcome's label and flag, the follow-up end and rule scores leak as surely.
    labelled.attrs[OUTCOMES_ATTR] = {"death": {"horizon_months": 12, "within_horizon": True}}
    leaky = ["death", "death_censored", "followup_end", "rule_score", "rule_score_isr"]
    labelled.attrs[FEATURES_ATTR] = ["age", "is_censored", *leaky]
    with pytest.raises(ValueError) as info:
        select_features(labelled, load_model_config({"outcome": "psych_crisis"}))
    assert info.value.args[0] == LABEL_AS_INPUT.format(found=leaky)


def test_a_panel_must_record_the_window_of_its_labels() -> None:
    config = load_model_config({"outcome": "psych_crisis"})
    panel = _panel()
    with pytest.raises(ValueError) as info:
        check_panel_outcome(panel, config)
    assert info.value.args[0] == PANEL_OUTCOME_UNKNOWN.format(name="psych_crisis")
    panel.attrs[OUTCOMES_ATTR] = {"psych_crisis": {"horizon_months": 12, "within_horizon": True}}
    check_panel_outcome(panel, config)  # the splits' 12 months: accepted
    # Labels counted over 24 months would reach into the calibration and test quarters.
    panel.attrs[OUTCOMES_ATTR]["psych_crisis"]["horizon_months"] = 24
    with pytest.raises(ConfigError, match=r"model\.split\.horizon_months: 12 months, but"):
        check_panel_outcome(panel, config)
    panel.attrs[OUTCOMES_ATTR]["psych_crisis"] = {"horizon_months": 12, "within_horizon": False}
    with pytest.raises(ConfigError, match="counts readmissions that start after its window"):
        check_panel_outcome(panel, config)


def test_a_readmission_counted_past_the_window_is_not_a_model_outcome() -> None:
    from riskstrat.modeling._spec_checks import check_outcome
    from riskstrat.outcomes import load_outcome_spec

    def spec(in_window: bool):
        event = {
            "table": "encounters",
            "filters": [{"column": "setting", "op": "==", "value": "inpatient_medical"}],
            "measure": "readmission",
            "readmit_in_window": in_window,
        }
        return load_outcome_spec({"outcomes": {"readmit": {"kind": "binary", "event": event}}})

    check_outcome("readmit", spec(True), horizon_months=12)
    assert outcome_windows(spec(True))["readmit"] == {"horizon_months": 12, "within_horizon": True}
    with pytest.raises(ConfigError, match="readmit_in_window: false, configs/outcomes.yaml"):
        check_outcome("readmit", spec(False), horizon_months=12)


def test_censored_and_unlabelled_rows_are_dropped() -> None:
    rows = labelled_rows(_panel(), "psych_crisis")
    assert rows["person_id"].tolist() == ["a", "b"]
    assert rows["psych_crisis"].dtype == np.float64


def test_continuous_labels_are_refused() -> None:
    panel = _panel().assign(psych_crisis=[1200.0, 0.0, 5.0, 3.0])
    with pytest.raises(ValueError) as info:
        labelled_rows(panel, "psych_crisis")
    # Two uncensored rows: one 1200.0 (reported as a count, never shown) and one 0.0.
    assert info.value.args[0] == NOT_BINARY_LABEL.format(column="psych_crisis", count=1)
    assert "1200" not in info.value.args[0]


def test_feature_matrix_is_float32_with_nan_for_missing() -> None:
    X = feature_matrix(_panel(), ["age", "homeless_now", "mcas_latest"])
    assert (X.dtypes == np.float32).all()
    assert X["homeless_now"].tolist()[:2] == [1.0, 0.0]
    assert np.isnan(X["homeless_now"].iloc[2])
    assert np.isnan(X["mcas_latest"].iloc[0])


def test_data_dates_come_from_occurrences_only() -> None:
    tables = {
        "persons": pd.DataFrame(
            {
                "birth_date": pd.to_datetime(["1950-01-01"]),
                "death_date": pd.to_datetime(["2023-06-30"]),  # a death index extracted later
            }
        ),
        "encounters": pd.DataFrame(
            {
                "start_date": pd.to_datetime(["2019-03-04", "2023-05-01"]),
                "end_date": pd.to_datetime(["2019-03-09", pd.NaT]),
            }
        ),
        "enrollments": pd.DataFrame(  # a planned end a year past the extract
            {
                "start_date": pd.to_datetime(["2023-04-30"]),
                "end_date": pd.to_datetime(["2024-06-30"]),
            }
        ),
    }
    assert infer_data_end(tables) == dt.date(2023, 5, 2)
    assert infer_data_start(tables) == dt.date(2019, 3, 4)


def test_truth_is_aligned_by_person_and_date() -> None:
    rows = pd.DataFrame(
        {"person_id": ["b", "a"], "as_of": pd.to_datetime(["2022-01-01", "2022-01-01"])}
    )
    truth = pd.DataFrame(
        {
            "person_id": ["a", "b", "a"],
            "as_of": pd.to_datetime(["2022-01-01", "2022-01-01", "2022-04-01"]).astype(
                "datetime64[ns]"
            ),
            "psych_crisis": [0.1, 0.7, 0.3],
        }
    )
    np.testing.assert_array_equal(true_probabilities(rows, truth, "psych_crisis"), [0.7, 0.1])


def test_missing_truth_rows_are_an_error() -> None:
    rows = _panel().iloc[:2].assign(psych_crisis=[1.0, 0.0])
    truth = pd.DataFrame(
        {"person_id": ["a"], "as_of": pd.to_datetime(["2022-01-01"]), "psych_crisis": [0.5]}
    )

    class Constant:
        def predict_proba(self, X):
            return np.column_stack([np.full(len(X), 0.5), np.full(len(X), 0.5)])

    with pytest.raises(ValueError) as info:
        evaluate(Constant(), rows, outcome="psych_crisis", feature_names=["age"], truth=truth)
    assert info.value.args[0] == TRUTH_COVERAGE.format(
        source="truth", missing=1, total=2, when="", outcome="psych_crisis"
    )


def _daily(column: str, start: str, end: str) -> pd.DataFrame:
    """An event a day, each by another person: a quarter's silence is out of character."""
    days = pd.date_range(start, end)
    return pd.DataFrame({"person_id": [f"p{i}" for i in range(len(days))], column: days})


def _two_sources(encounters_to: str, justice_to: str) -> dict[str, pd.DataFrame]:
    return {
        "encounters": _daily("start_date", "2020-01-01", encounters_to),
        "justice": _daily("event_date", "2020-02-01", justice_to),
    }


def test_sources_a_quarter_apart_are_not_read_as_one_data_end() -> None:
    # 92 days apart: the same extract, a quiet source; 93: one of them is off.
    assert infer_data_end(_two_sources("2023-09-30", "2023-06-30")) == dt.date(2023, 10, 1)
    with pytest.raises(ValueError) as info:
        infer_data_end(_two_sources("2023-09-30", "2023-06-29"))
    message = str(info.value)
    assert "encounters runs to 2023-09-30, but justice (to 2023-06-29)" in message
    assert "riskstrat train --data-end" in message
    # Five justice events in three years: four months without one is ordinary for it.
    sparse = _two_sources("2023-09-30", "2023-06-29")
    sparse["justice"] = sparse["justice"].iloc[::250]
    assert infer_data_end(sparse) == dt.date(2023, 10, 1)
    # Nor is it for one row, a day's burst, or many events by a few people.
    one_day = sparse["justice"].iloc[[0] * 40].assign(person_id=[f"q{i}" for i in range(40)])
    few = _two_sources("2023-09-30", "2023-06-29")["justice"].assign(
        person_id=lambda d: "p" + (d.index % 15).astype(str)
    )
    for justice in (sparse["justice"].iloc[[0]], one_day, few):
        assert infer_data_end({**sparse, "justice": justice}) == dt.date(2023, 10, 1)


def test_a_configured_data_end_names_the_sources_it_leaves_uncovered() -> None:
    from riskstrat.modeling._plan import coverage_warnings

    tables = _two_sources("2023-09-30", "2023-06-29")
    assert coverage_warnings(dt.date(2023, 7, 1), tables) == []
    (warning,) = coverage_warnings(dt.date(2023, 10, 1), tables)
    assert warning.startswith("justice ends 2023-06-29, 93 days before the data end 2023-10-01")
    # An end past every source is past the data, not a late source.
    with pytest.raises(ValueError, match="every source ends more than 92 days before it"):
        coverage_warnings(dt.date(2024, 1, 2), tables)


def test_build_panel_records_each_outcome_window() -> None:
    from pathlib import Path

    from riskstrat.modeling import build_panel
    from riskstrat.outcomes import load_outcome_spec

    folder = Path(__file__).parents[1] / "data" / "fixtures" / "clean"
    from riskstrat._config import default_config_path

    path = default_config_path("outcomes.yaml")  # a path, as build_outcomes takes one
    panel = build_panel(folder, [dt.date(2024, 1, 1)], outcomes=path, data_end="2024-12-31")
    spec = load_outcome_spec()
    assert set(panel.attrs[OUTCOMES_ATTR]) == set(spec.outcomes)
    assert panel.attrs[OUTCOMES_ATTR]["composite_adverse"] == {
        "horizon_months": 12,
        "within_horizon": True,
    }
    # model.split.data_end's sense (the day after the last covered): train needs no more.
    assert panel.attrs["data_end"] == "2025-01-01"
    from riskstrat.data import load_tables
    from riskstrat.outcomes import latest_event_date

    inferred = build_panel(folder, [dt.date(2024, 1, 1)])
    last = latest_event_date(load_tables(folder).tables).date()
    assert inferred.attrs["data_end"] == (last + dt.timedelta(days=1)).isoformat()


def test_a_panel_saved_to_parquet_and_read_back_trains_as_built(tmp_path) -> None:
    from pathlib import Path

    from riskstrat.modeling import build_panel, load_model_config
    from riskstrat.modeling._panel import select_features
    from riskstrat.modeling._plan import splits_for_panel

    folder = Path(__file__).parents[1] / "data" / "fixtures" / "clean"
    dates = [dt.date(2023, 7, 1), dt.date(2023, 10, 1), dt.date(2024, 1, 1)]
    panel = build_panel(folder, dates, data_end="2024-12-31")
    panel.to_parquet(tmp_path / "panel.parquet")  # pandas writes attrs as JSON
    again = pd.read_parquet(tmp_path / "panel.parquet")
    assert again.attrs == panel.attrs
    config = load_model_config().updated(
        {"split": {"horizon_months": 3, "n_train": 1, "n_calibration": 1}}
    )
    assert splits_for_panel(config, again) == splits_for_panel(config, panel)
    assert select_features(again, config) == select_features(panel, config)
    # A date set by hand is read as build_panel's text is.
    by_hand = panel.copy()
    by_hand.attrs = panel.attrs | {"data_end": dt.date(2025, 1, 1)}
    assert splits_for_panel(config, by_hand) == splits_for_panel(config, panel)


def test_a_panel_off_quarter_starts_is_refused_for_training_by_name() -> None:
    from riskstrat.modeling import load_model_config
    from riskstrat.modeling._plan import splits_for_panel

    panel = pd.DataFrame(
        {"person_id": ["a", "b"], "as_of": pd.to_datetime(["2022-02-15", "2022-04-01"])}
    )
    panel.attrs["data_end"] = "2025-01-01"
    with pytest.raises(
        ValueError, match=r"panel: 1 as-of date\(s\) are not quarter starts \(2022-02-15\)"
    ):
        splits_for_panel(load_model_config(), panel)
