"""Training on a known logistic data-generating process: splits, calibration, baselines, oracle."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.calibration import CalibratedClassifierCV

from riskstrat._config import ConfigError
from riskstrat.modeling import BundleError, ModelBundle, evaluate, load_model_config, train
from riskstrat.modeling._disclosure import small_count
from riskstrat.modeling._metrics import expected_calibration_error
from riskstrat.modeling._panel import feature_matrix, labelled_rows, missing_allowed, rows_at
from riskstrat.modeling._plan import splits_for_range
from riskstrat.modeling._report import write_evaluation
from riskstrat.modeling._train import ONE_CLASS, TRAIN_STAGES, _nullable, fit_calibrated
from riskstrat.modeling._truth import oracle_kind

FAST = {
    "lightgbm": {"n_estimators": 120, "min_child_samples": 40, "n_jobs": 1},
    "split": {"n_test": 2},
    "metrics": {
        "n_bootstrap": 40,
        "capacity_source": "config",
        "capacities": {"isr": 40, "toc": 120},
    },
}


def _config(**overrides):
    mapping = {**FAST, **overrides}
    return load_model_config(mapping)


@pytest.fixture(scope="module")
def trained(dgp_panel, tmp_path_factory):
    panel, truth = dgp_panel
    out = tmp_path_factory.mktemp("models") / "composite"
    stages = []
    result = train(_config(), panel=panel, truth=truth, out=out, progress=stages.append)
    return result, stages, out


def test_split_is_the_latest_fully_observed_quarter(trained) -> None:
    result, stages, _ = trained
    assert stages == list(TRAIN_STAGES)
    split = result.split
    assert split.test_as_of == dt.date(2023, 1, 1)
    assert split.calibration_as_of == (dt.date(2022, 1, 1),)
    # The latest four whose label windows end by the calibration date.
    assert split.train_as_of == (
        dt.date(2020, 4, 1),
        dt.date(2020, 7, 1),
        dt.date(2020, 10, 1),
        dt.date(2021, 1, 1),
    )
    assert list(result.rolling["test_as_of"].unique()) == [
        dt.date(2023, 1, 1),
        dt.date(2022, 10, 1),
    ]
    # Each origin says which quarters its own model was fitted and calibrated on.
    origins = result.rolling.drop_duplicates("test_as_of").set_index("test_as_of")
    assert origins.loc[dt.date(2023, 1, 1), "train_as_of"] == "2020-04-01 to 2021-01-01"
    assert origins.loc[dt.date(2023, 1, 1), "calibration_as_of"] == "2022-01-01"
    assert origins.loc[dt.date(2022, 10, 1), "calibration_as_of"] == "2021-10-01"


def test_censored_rows_are_left_out(trained, dgp_panel) -> None:
    result, _, _ = trained
    panel, _ = dgp_panel
    at_test = panel[panel["as_of"] == pd.Timestamp("2023-01-01")]
    expected = int((~at_test["composite_adverse_censored"]).sum())
    assert result.counts["test_rows"] == expected < len(at_test)
    assert result.counts["test_rows"] + result.counts["test_left_out"] == len(at_test)
    in_training = panel["as_of"].isin(pd.to_datetime(result.split.train_as_of))
    left_out = int(panel.loc[in_training, "composite_adverse_censored"].sum())
    assert result.counts["train_left_out"] == left_out > 0
    assert result.counts["test_events"] == int(
        at_test.loc[~at_test["composite_adverse_censored"], "composite_adverse"].sum()
    )


def test_sensitive_columns_are_not_model_inputs_by_default(trained, dgp_panel) -> None:
    result, _, _ = trained
    assert "race_ethnicity_black" not in result.feature_names
    assert len(result.feature_names) == 9
    panel, truth = dgp_panel
    opted_in = train(
        _config(use_sensitive_features=True, metrics={**FAST["metrics"], "n_bootstrap": 0}),
        panel=panel,
    )
    assert "race_ethnicity_black" in opted_in.feature_names
    from riskstrat.modeling._publish import sensitive_inputs

    assert sensitive_inputs(opted_in) == ["race_ethnicity_black"]
    assert sensitive_inputs(result) == []


def test_lightgbm_beats_both_baselines_and_nears_the_oracle(trained) -> None:
    result, _, _ = trained
    m = result.metrics.set_index(["scorer", "metric"])["estimate"]
    assert m[("model", "auroc")] > m[("rule", "auroc")] + 0.02
    assert m[("model", "auroc")] > m[("single_feature", "auroc")] + 0.05
    # The paired bootstrap interval of the AUROC difference excludes zero.
    assert (
        result.metrics.set_index(["scorer", "metric"]).loc[
            ("model_vs_single_feature", "diff_auroc"), "lower"
        ]
        > 0
    )
    gap = result.oracle_gap.set_index("metric")["estimate"]
    assert -0.05 < gap["diff_auroc"] <= 0.01
    assert m[("model", "ece")] < 0.05
    assert set(result.baselines) == {"rule", "single_feature"}
    assert set(result.baseline_metrics["scorer"]) == {
        "rule",
        "single_feature",
        "model_vs_rule",
        "model_vs_single_feature",
    }


def test_the_calibrated_model_goes_into_a_bundle(trained, dgp_panel) -> None:
    result, _, out = trained
    assert isinstance(result.calibrated, CalibratedClassifierCV)
    assert isinstance(result.bundle, ModelBundle)
    assert result.bundle_path == out
    loaded = ModelBundle.load(out)
    panel, _ = dgp_panel
    rows = rows_at(labelled_rows(panel, "composite_adverse"), [result.split.test_as_of])
    X = feature_matrix(rows, result.feature_names)
    np.testing.assert_allclose(
        loaded.predict_proba(X), result.calibrated.predict_proba(X)[:, 1], atol=1e-9
    )
    assert loaded.metadata["split"]["test_as_of"] == "2023-01-01"
    for path in result.plots.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out.parent / "composite-evaluation" / "metrics.csv").is_file()


def test_the_bundle_refuses_a_missing_value_where_training_had_none(trained, dgp_panel) -> None:
    result, _, _ = trained
    panel, _ = dgp_panel
    # mcas_latest is missing for the never assessed; no other input ever is.
    assert result.missing_allowed == ["mcas_latest"]
    assert result.bundle.metadata["missing_allowed"] == ["mcas_latest"]
    rows = rows_at(labelled_rows(panel, "composite_adverse"), [result.split.test_as_of])
    X = feature_matrix(rows, result.feature_names)
    assert X["mcas_latest"].isna().any()
    result.bundle.predict_proba(X)
    X.loc[X.index[:5], "ed_visits_365d"] = np.nan  # a count lost in a join
    with pytest.raises(BundleError, match=r"\['ed_visits_365d'\] hold missing values in 5 row"):
        result.bundle.predict_proba(X)


def test_spec_features_null_by_definition_may_be_missing_when_scored() -> None:
    # A small county may have no one without an assessment in its training quarters;
    # the spec still says mcas_latest is null for such a person, so scoring must take it.
    panel = pd.DataFrame({"ed_visits_365d": [0.0, 2.0], "mcas_latest": [40.0, 55.0]})
    columns = ["ed_visits_365d", "mcas_latest"]
    assert missing_allowed(panel, columns) == []
    assert missing_allowed(panel, columns, _nullable(None)) == ["mcas_latest"]
    assert "ed_visits_365d" not in _nullable(None)


def test_a_result_pickles_for_a_notebook_cache(trained, dgp_panel) -> None:
    # joblib.Memory and multiprocessing pickle what they keep; the config's read-only
    # mappings and the bundle's metadata used to refuse.
    result, _, _ = trained
    again = pickle.loads(pickle.dumps(result))
    assert again.config == result.config
    assert again.config.metrics.capacities == {"isr": 40, "toc": 120}
    with pytest.raises(TypeError):
        again.config.metrics.capacities["isr"] = 1  # still read-only
    assert again.bundle.sha256 == result.bundle.sha256
    panel, _ = dgp_panel
    X = feature_matrix(rows_at(panel, [result.split.test_as_of]), result.feature_names)
    np.testing.assert_array_equal(again.bundle.predict_proba(X), result.bundle.predict_proba(X))
    pd.testing.assert_frame_equal(again.metrics, result.metrics)
    # An unpickled bundle is rebuilt from its files and checked as a loaded one is.
    rebuild, (files, sha256) = result.bundle.__reduce__()
    files["metadata.json"] = files["metadata.json"].replace(b'"outcome"', b'"outcome" ', 1)
    with pytest.raises(BundleError, match="bundle copy"):
        rebuild(files, sha256)


def test_no_two_published_capacities_differ_by_one_to_ten_people(trained, dgp_panel) -> None:
    result, _, _ = trained
    panel, truth = dgp_panel
    rows = rows_at(labelled_rows(panel, "composite_adverse"), [result.split.test_as_of])
    # 60 and 65 places: the five people between them are 1 to 5 events or non-events.
    capacities = {"isr": 60, "toc": 65, "fsp": 300}
    evaluation = evaluate(result, rows, truth=truth, capacities=capacities, n_bootstrap=20)
    m = evaluation.metrics.set_index(["scorer", "metric"])["estimate"]
    n, events = len(rows), float(rows["composite_adverse"].sum())
    for scorer in ("model", "rule", "single_feature", "oracle"):
        # Everyone's counts are published; a capacity's own count is its precision (shown).
        points = {(n, events)}
        for p, k in capacities.items():
            precision = m.get((scorer, f"precision_at_k_{p}"))
            if np.isfinite(precision):
                points.add((k, precision * k))
        for metric, places in m.items():
            if scorer == "model" and metric[0] == "programme_rule" and "places_" in metric[1]:
                name = metric[1].replace("places", "precision_at_k")
                at = m.get(("model_at_programme_rule_places", name), np.nan)
                if np.isfinite(at):
                    points.add((int(places), at * places))
        assert len(points) > 2, scorer  # something is published to check
        for (k1, h1), (k2, h2) in itertools.combinations(sorted(points), 2):
            people, hits = k2 - k1, h2 - h1
            assert not small_count(hits) and not small_count(people - hits), (scorer, k1, k2)
        # Of 60 and 65 one is hidden, with its recall and what compares it.
        shown = [p for p in ("isr", "toc") if np.isfinite(m[(scorer, f"precision_at_k_{p}")])]
        assert len(shown) <= 1, scorer
        for p in {"isr", "toc"} - set(shown):
            assert np.isnan(m[(scorer, f"recall_at_k_{p}")])
            if scorer != "model":
                assert np.isnan(m[(f"model_vs_{scorer}", f"diff_precision_at_k_{p}")])


def test_the_by_group_table_counts_at_a_capacity_every_scorer_shows(trained, dgp_panel) -> None:
    # Its "all" row gives the hits at its capacity: at 65 places, with 60 shown, that
    # would give the 5 people between them.
    result, _, _ = trained
    panel, truth = dgp_panel
    rows = rows_at(labelled_rows(panel, "composite_adverse"), [result.split.test_as_of])
    groups = pd.DataFrame({"half": np.where(np.arange(len(rows)) % 2, "a", "b")})
    evaluation = evaluate(
        result, rows, truth=truth, capacities={"isr": 60, "toc": 65}, n_bootstrap=20, groups=groups
    )
    m = evaluation.metrics.set_index(["scorer", "metric"])["estimate"]
    assert np.isnan(m[("model", "precision_at_k_toc")])  # the larger one is hidden
    chosen = {
        metric.removeprefix("selected_at_k_")
        for metric in evaluation.subgroups["metric"]
        if metric.startswith("selected_at_k_")
    }
    assert chosen == {"isr"}


def test_rolling_quarters_hide_a_small_step_between_capacities(trained, dgp_panel) -> None:
    from riskstrat.modeling._rolling import rolling_rows

    result, _, _ = trained
    panel, truth = dgp_panel
    test = rows_at(labelled_rows(panel, "composite_adverse"), [result.split.test_as_of])
    scorers = {"model": (result.calibrated, result.feature_names), **result.baselines}
    ks = {"isr": 60, "toc": 65}
    for row in rolling_rows(result.config, test, result.split, scorers, ks, truth):
        shown = [p for p in ks if np.isfinite(row[f"precision_at_k_{p}"])]
        assert shown == ["isr"], row["scorer"]  # the smaller list is the one kept
        assert np.isnan(row["recall_at_k_toc"]) and np.isfinite(row["auroc"])


def test_importance_explains_the_test_quarter(trained) -> None:
    result, _, out = trained
    importance = result.importance
    assert set(importance["feature"]) == set(result.feature_names)
    assert importance["mean_abs_contribution"].is_monotonic_decreasing
    assert importance["share"].sum() == pytest.approx(1.0)
    written = pd.read_csv(out.parent / "composite-evaluation" / "importance.csv")
    pd.testing.assert_frame_equal(written, importance, check_dtype=False)
    assert result.plots["importance"] == (
        out.parent / "composite-evaluation" / "plots" / "importance.png"
    )


def test_evaluate_reproduces_the_training_metrics(trained, dgp_panel) -> None:
    result, _, _ = trained
    panel, truth = dgp_panel
    rows = rows_at(labelled_rows(panel, "composite_adverse"), [result.split.test_as_of])
    again = evaluate(result, rows, truth=truth, n_bootstrap=40, seed=0)
    pd.testing.assert_frame_equal(again.metrics, result.metrics)


def test_a_notebook_shows_results_without_person_level_rows(trained) -> None:
    result, _, _ = trained
    some_ids = result.evaluation.predictions["person_id"].astype(str).head(20)
    for text in (
        repr(result.evaluation),
        result.evaluation._repr_html_(),
        repr(result),
        result._repr_html_(),
    ):
        assert not any(pid in text for pid in some_ids), text[:300]
    shown = repr(result.evaluation)
    assert shown.startswith(f"Evaluation(rows={len(result.evaluation.predictions):,}, ")
    assert "auroc: model=" in shown
    assert "<table" in result._repr_html_() and "auroc" in result._repr_html_()


def test_the_plots_come_as_figures_without_a_folder(trained, dgp_panel) -> None:
    from matplotlib.figure import Figure

    result, _, _ = trained
    panel, _ = dgp_panel
    rows = rows_at(labelled_rows(panel, "composite_adverse"), [result.split.test_as_of])
    again = evaluate(result, rows, n_bootstrap=0)  # no plots_dir: no files
    assert again.plots == {}
    figures = again.figures()
    assert list(figures) == ["calibration", "roc", "pr", "precision_at_k"]
    assert all(isinstance(f, Figure) for f in figures.values())
    # A notebook shows each as an image, without pyplot loaded.
    assert figures["calibration"]._repr_png_().startswith(b"\x89PNG\r\n\x1a\n")
    roc = figures["roc"].axes[0]
    assert roc.get_title() == "composite_adverse ROC"
    auroc = again.metrics.set_index(["scorer", "metric"]).loc[("model", "auroc"), "estimate"]
    labels = [t.get_text() for t in roc.get_legend().get_texts()]
    assert labels[0].startswith("model (AUROC ")
    assert list(result.figures()) == list(figures)
    assert auroc > 0.5


def test_a_reloaded_bundle_evaluates_as_its_training_run_did(trained, dgp_panel) -> None:
    result, _, _ = trained
    panel, _ = dgp_panel
    rows = rows_at(labelled_rows(panel, "composite_adverse"), [result.split.test_as_of])
    bundle = ModelBundle.load(result.bundle_path)
    again = evaluate(bundle, rows, capacities=result.capacities, n_bootstrap=0)
    model = result.metrics[result.metrics["scorer"] == "model"].set_index("metric")
    point = again.metrics.set_index(["scorer", "metric"])["estimate"]
    for metric in ("auroc", "ece", "precision_at_k_isr"):
        assert point[("model", metric)] == pytest.approx(model.loc[metric, "estimate"], abs=1e-9)


def test_evaluate_names_censored_labels_and_an_unknown_outcome(trained, dgp_panel) -> None:
    result, _, _ = trained
    panel, _ = dgp_panel
    rows = rows_at(panel, [result.split.test_as_of]).copy()
    rows.loc[rows.index[:3], "composite_adverse"] = pd.NA  # as censored labels are
    with pytest.raises(ValueError, match="rows: 3 label.s. of 'composite_adverse' are null"):
        evaluate(result, rows, n_bootstrap=0)
    with pytest.raises(ValueError, match="rows: no label column 'jail_bookings'; expected one of"):
        evaluate(result, rows, outcome="jail_bookings", n_bootstrap=0)


def test_ranking_metrics_rank_calibration_plateaus_by_the_raw_score(trained, dgp_panel) -> None:
    from sklearn.metrics import roc_auc_score

    result, _, _ = trained
    panel, _ = dgp_panel
    rows = rows_at(labelled_rows(panel, "composite_adverse"), [result.split.test_as_of])
    X = feature_matrix(rows, result.feature_names)
    y = rows["composite_adverse"].to_numpy()
    calibrated = result.calibrated.predict_proba(X)[:, 1]
    raw = result.bundle.raw_score(X)
    # Isotonic calibration pools raw scores into plateaus ...
    assert len(np.unique(calibrated)) < len(np.unique(raw)) / 5
    # ... and within them the model still ranks by its raw score, as cohort selection does.
    m = result.metrics.set_index(["scorer", "metric"])["estimate"]
    assert m["model", "auroc"] == pytest.approx(roc_auc_score(y, raw), abs=1e-12)
    assert m["model", "auroc"] > roc_auc_score(y, calibrated)
    # The rule baseline ranks by criteria met, whatever its calibration pooled.
    assert m["rule", "auroc"] == pytest.approx(roc_auc_score(y, rows["rule_score"]), abs=1e-12)
    # Rolling origin ranks the same way: its latest quarter repeats the headline figures.
    rolling = result.rolling.set_index(["test_as_of", "scorer"])
    for scorer in ("model", "rule"):
        latest = rolling.loc[(result.split.test_as_of, scorer)]
        for metric in ("auroc", "auprc", "precision_at_k_isr"):
            assert latest[metric] == pytest.approx(m[scorer, metric], abs=1e-12), (scorer, metric)


def test_the_tie_break_is_the_response_the_calibrator_was_fed() -> None:
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression

    from riskstrat.modeling._estimators import SingleFeatureBaseline
    from riskstrat.modeling._evaluate import tie_break

    rng = np.random.default_rng(0)
    # A feature that is almost always zero: its squashed probability saturates at 1.0 for
    # the few large values, the decision function keeps them apart.
    X = pd.DataFrame({"a": np.r_[np.zeros(9990), np.arange(9.0, 19.0)]})
    y = (rng.random(10_000) < 0.1 + 0.5 * (X["a"] > 0)).astype(int)
    base = SingleFeatureBaseline(feature="a").fit(X, y)
    calibrated = CalibratedClassifierCV(FrozenEstimator(base)).fit(X, y)
    top = tie_break(calibrated, X)[9990:]
    assert len(np.unique(top)) == 10
    assert len(np.unique(base.predict_proba(X)[9990:, 1])) < 10
    # A cross-validated ensemble of calibrators has no single raw score.
    ensemble = CalibratedClassifierCV(LogisticRegression(), cv=3).fit(X, y)
    assert tie_break(ensemble, X) is None
    assert tie_break(LogisticRegression().fit(X, y), X) is None


def test_calibration_repairs_a_squashed_score(dgp_panel) -> None:
    panel, truth = dgp_panel
    rows = labelled_rows(
        panel.assign(true_p=truth["composite_adverse"].to_numpy()), "composite_adverse"
    )
    train_rows = rows_at(rows, [dt.date(2021, 1, 1)])
    cal_rows = rows_at(rows, [dt.date(2021, 4, 1), dt.date(2021, 7, 1)])
    test_rows = rows_at(rows, [dt.date(2023, 1, 1)])
    y = test_rows["composite_adverse"].to_numpy()
    for method in ("isotonic", "sigmoid"):
        config = load_model_config({"single_feature": "true_p", "calibration": method})
        calibrated = fit_calibrated(
            "single_feature", config, train_rows, cal_rows, ["true_p"], "composite_adverse"
        )
        X = feature_matrix(test_rows, ["true_p"])
        raw = calibrated.estimator.predict_proba(X)[:, 1]  # a monotone squash, around 0.5
        fixed = calibrated.predict_proba(X)[:, 1]
        assert expected_calibration_error(y, raw) > 0.2
        assert expected_calibration_error(y, fixed) < 0.04


def test_baseline_kinds_train_without_a_bundle(dgp_panel, tmp_path) -> None:
    panel, _ = dgp_panel
    stages = []
    result = train(
        _config(kind="rule", metrics={**FAST["metrics"], "n_bootstrap": 0, "plots": False}),
        panel=panel,
        out=tmp_path / "rule",
        progress=stages.append,
    )
    assert result.bundle is None and result.importance is None
    assert stages == [s for s in TRAIN_STAGES if s != "importance"]
    summary = (tmp_path / "rule-evaluation" / "summary.md").read_text()
    assert "- 1 model input; sensitive attributes (race_ethnicity, sex" in summary
    assert "What drives the score" not in summary and "## Plots" not in summary
    assert (tmp_path / "rule-evaluation" / "metrics.csv").is_file()
    assert result.feature_names == ["rule_score"]
    m = result.metrics.set_index(["scorer", "metric"])["estimate"]
    assert set(result.baselines) == {"single_feature"}
    assert 0.6 < m[("model", "auroc")] < 0.7


def test_logistic_kind_makes_a_logistic_bundle(dgp_panel) -> None:
    panel, _ = dgp_panel
    result = train(
        _config(
            kind="logistic", calibration="sigmoid", metrics={**FAST["metrics"], "n_bootstrap": 0}
        ),
        panel=panel,
    )
    assert result.bundle.kind == "logistic"
    assert result.metrics.set_index(["scorer", "metric"]).loc[("model", "auroc"), "estimate"] > 0.65


def test_a_quarter_without_events_is_refused(dgp_panel) -> None:
    panel, _ = dgp_panel
    rows = labelled_rows(panel, "composite_adverse")
    empty = rows_at(rows, [dt.date(2021, 1, 1)]).assign(composite_adverse=0.0)
    with pytest.raises(ValueError) as info:
        fit_calibrated("lightgbm", _config(), empty, rows, ["age"], "composite_adverse")
    assert info.value.args[0] == ONE_CLASS.format(
        which="training",
        outcome="composite_adverse",
        dates=["2021-01-01"],
        n=len(empty),
        events=0,
    )


@pytest.mark.parametrize("emptied", ["no events", "every row censored"])
def test_a_test_quarter_without_both_outcomes_is_refused(dgp_panel, emptied) -> None:
    panel, _ = dgp_panel
    panel = panel.copy()
    at_test = panel["as_of"] == pd.Timestamp("2023-01-01")
    if emptied == "no events":
        panel.loc[at_test, "composite_adverse"] = 0.0
        panel.loc[at_test, "composite_adverse_censored"] = False
    else:
        panel.loc[at_test, "composite_adverse_censored"] = True
    with pytest.raises(ValueError) as info:
        train(_config(split={"n_test": 1}), panel=panel)
    n = 0 if emptied != "no events" else int(at_test.sum())
    assert info.value.args[0] == ONE_CLASS.format(
        which="test", outcome="composite_adverse", dates=["2023-01-01"], n=n, events=0
    )


def test_truth_of_the_wrong_kind_is_named(dgp_panel) -> None:
    panel, _ = dgp_panel
    with pytest.raises(TypeError, match="truth: expected the synthetic county's truth table"):
        train(_config(), panel=panel, truth=123)


def test_a_panel_needs_a_data_end(dgp_panel) -> None:
    panel, _ = dgp_panel
    bare = panel.copy()
    bare.attrs = {k: v for k, v in panel.attrs.items() if k != "data_end"}
    with pytest.raises(ValueError, match="model.split.data_end: required"):
        train(_config(), panel=bare)
    dated = dataclasses.replace(
        _config(), split=dataclasses.replace(_config().split, data_end=dt.date(2023, 12, 31))
    )
    result = train(
        dataclasses.replace(dated, metrics=dataclasses.replace(dated.metrics, n_bootstrap=0)),
        panel=bare,
    )
    # One day less of data: the 2023-01-01 labels are not fully observed any more.
    assert result.split.test_as_of == dt.date(2022, 10, 1)


@pytest.mark.slow
def test_training_run_is_tracked_and_resolvable(dgp_panel, tmp_path, monkeypatch) -> None:
    from riskstrat.modeling import list_models, resolve_model

    monkeypatch.chdir(tmp_path)
    panel, truth = dgp_panel
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    result = train(
        _config(metrics={**FAST["metrics"], "n_bootstrap": 0}),
        panel=panel,
        out=tmp_path / "m",
        tracking_uri=uri,
    )
    assert result.run_id
    bundle = resolve_model("challenger", tracking_uri=uri)
    assert bundle.sha256 == result.bundle.sha256
    # The run and the bundle name the data they were trained on.
    from mlflow import MlflowClient

    from riskstrat.modeling._fingerprint import data_fingerprint

    expected = data_fingerprint({"panel": panel})
    assert result.data_fingerprint == expected
    assert bundle.metadata["data_fingerprint"] == expected
    run = MlflowClient(uri).get_run(result.run_id)
    assert run.data.tags["riskstrat.data_fingerprint"] == expected
    assert run.data.params["use_sensitive_features"] == "False"
    assert run.data.params["sensitive_inputs"] == "[]"
    # The dates actually used, and the figures a promotion decision needs, per version.
    split = result.split
    assert run.data.params["dates.test_as_of"] == split.test_as_of.isoformat()
    assert run.data.params["dates.train_as_of"] == ",".join(
        d.isoformat() for d in split.train_as_of
    )
    (listed,) = list_models(tracking_uri=uri).to_dict("records")
    estimates = result.metrics.set_index(["scorer", "metric"])["estimate"]["model"]
    assert listed["test_as_of"] == split.test_as_of.isoformat()
    assert listed["auroc"] == pytest.approx(estimates["auroc"], abs=1e-12)
    assert listed["ece"] == pytest.approx(estimates["ece"], abs=1e-12)
    from typer.testing import CliRunner

    from riskstrat.cli import app

    shown = CliRunner().invoke(
        app, ["models", "list", "--tracking-uri", uri], env={"COLUMNS": "80"}
    )
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.output.splitlines() if "challenger" in line)
    assert split.test_as_of.isoformat() in row and f"{estimates['auroc']:.3f}" in row


def test_setting_mlflow_tracking_uri_turns_tracking_on(dgp_panel, tmp_path, monkeypatch) -> None:
    panel, _ = dgp_panel
    config = _config(split={"n_test": 1}, metrics={**FAST["metrics"], "n_bootstrap": 0})
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert train(config, panel=panel).run_id is None
    assert not (tmp_path / "mlruns.db").exists()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'env.db'}")
    assert train(config, panel=panel).run_id
    assert (tmp_path / "env.db").is_file()


def test_capacities_per_quarter_from_programs_yaml() -> None:
    from riskstrat.modeling._capacities import programme_capacities

    # configs/programs.yaml: 1,250 a month, 900 and 1,020 a year, 720 slots, 300 a month,
    # 15,000 clients; per quarter: x3, /4, as is.
    expected = {"reentry": 3750, "rbc": 225, "isr": 255, "sud_ens": 720, "toc": 900, "fsp": 15000}
    assert programme_capacities(load_model_config({})) == expected
    scaled = load_model_config({"metrics": {"capacity_scale": 0.1}})
    assert programme_capacities(scaled) == {k: round(v * 0.1) for k, v in expected.items()}
    own = load_model_config(
        {"metrics": {"capacity_source": "config", "capacities": {"isr": 7, "toc": 9}}}
    )
    assert programme_capacities(own) == {"isr": 7, "toc": 9}
    typo = load_model_config({"metrics": {"capacity_programs": ["isr", "reentri"]}})
    with pytest.raises(ConfigError, match=r"^model\.metrics\.capacity_programs\[1\]: unknown "):
        programme_capacities(typo)
    with pytest.raises(ConfigError, match=r"programme 'reentri'.*expected one of \[.*'reentry'"):
        train(typo, "no_such_folder")  # before any data is read


def test_a_capacity_the_run_would_not_use_is_refused_or_named(caplog) -> None:
    from riskstrat.modeling._capacities import programme_capacities

    # A misspelt key was accepted and its k never used.
    with pytest.raises(
        ConfigError,
        match=r"^model\.metrics\.capacities\.isrr: not in model\.metrics\.capacity_programs "
        r".*so never used; did you mean 'isr', or add it there",
    ):
        load_model_config({"metrics": {"capacities": {"isrr": 10}}})
    # An override programs.yaml replaces (capacity_source: programs) was silently dropped.
    overridden = load_model_config({"metrics": {"capacities": {"isr": 10}}})
    with caplog.at_level("WARNING", logger="riskstrat"):
        assert programme_capacities(overridden)["isr"] == 255
    assert (
        "model.metrics.capacities.isr: 10 is not used; with capacity_source: programs, "
        "configs/programs.yaml gives 255 a quarter" in caplog.text
    )
    caplog.clear()
    with caplog.at_level("WARNING", logger="riskstrat"):
        programme_capacities(load_model_config({}))  # the shipped mapping agrees: no word
    assert "is not used" not in caplog.text


def test_the_oracle_kind_is_read_from_the_truth(trained, dgp_panel, tmp_path, caplog) -> None:
    result, _, _ = trained
    assert result.oracle == "path"
    _, truth = dgp_panel
    marked = truth.copy()
    marked.attrs.update(riskstrat_oracle="as_of", draws=32)
    assert oracle_kind(marked) == "as_of (32 draws)"
    table = pa.Table.from_pandas(truth, preserve_index=False)
    # The stored path truth carries its county only (truth/truth.parquet).
    stored = tmp_path / "path.parquet"
    pq.write_table(table.replace_schema_metadata({b"county": b"abc"}), stored)
    assert oracle_kind(stored) == "path"
    # Re-saved by pandas, a file keeps none of it: not taken for the path oracle.
    plain = tmp_path / "plain.parquet"
    pq.write_table(table.replace_schema_metadata({}), plain)
    with caplog.at_level("WARNING", logger="riskstrat"):
        assert oracle_kind(plain) == "unmarked"
    assert f"truth {plain} carries no riskstrat mark (re-saved by another tool?)" in caplog.text
    meta = {**(table.schema.metadata or {}), b"riskstrat_oracle": b"as_of", b"draws": b"64"}
    as_of = tmp_path / "as_of.parquet"
    pq.write_table(table.replace_schema_metadata(meta), as_of)
    assert oracle_kind(as_of) == "as_of (64 draws)"


def test_the_summary_names_the_oracle(trained) -> None:
    from rich.console import Console

    from riskstrat.modeling._console import print_summary

    result, _, _ = trained
    console = Console(record=True, width=200)
    print_summary(result, console)
    text = console.export_text()
    assert "oracle: path, the generator's probability given the latent path" in text
    assert "test quarter 2023-01-01" in text
    rule = result.metrics.set_index(["scorer", "metric"])["estimate"]
    for programme in result.capacities:
        bound = 1 / rule[("rule", f"precision_at_k_{programme}")]
        assert f"{programme} {bound:.2f}x" in text


def test_a_quiet_summary_keeps_the_warnings_and_where_it_wrote(trained) -> None:
    from rich.console import Console

    from riskstrat.modeling._console import print_summary

    result, _, _ = trained
    big = dataclasses.replace(result, capacities={**result.capacities, "fsp": 10**7})
    loud, quiet = Console(record=True, width=400), Console(record=True, width=400)
    print_summary(big, loud)
    print_summary(big, quiet, quiet=True)
    lines, everything = quiet.export_text().splitlines(), loud.export_text()
    assert lines[0].startswith("warning: k is at least half the test quarter's")
    assert [line for line in lines if line not in everything] == []  # nothing new
    assert not any("AUROC" in line for line in lines) and len(lines) < 10
    if result.bundle_path is not None:
        assert f"bundle: {result.bundle_path}" in lines


def test_the_summary_warns_when_k_exceeds_the_test_quarter(trained) -> None:
    from rich.console import Console

    from riskstrat.modeling._console import print_summary

    result, _, _ = trained
    console = Console(record=True, width=400)
    print_summary(result, console)
    assert "warning: k is at least" not in console.export_text()
    n = result.counts["test_rows"]
    half = (n + 1) // 2  # the smallest k with 2k >= n
    for k, warned in ((half - 1, False), (half, True), (n + 5, True)):
        big = dataclasses.replace(result, capacities={**result.capacities, "fsp": k})
        console = Console(record=True, width=400)
        print_summary(big, console)
        message = f"warning: k is at least half the test quarter's {n:,} rows for fsp (k={k:,})"
        assert (message in console.export_text()) is warned, k


def test_summary_md_holds_the_printed_figures_and_links_the_plots(trained) -> None:
    result, _, out = trained
    folder = out.parent / "composite-evaluation"
    summary = (folder / "summary.md").read_text()
    assert summary.startswith("# Model evaluation: composite_adverse")
    auroc = result.metrics.set_index(["scorer", "metric"]).loc[("model", "auroc")]
    shown = re.search(r"\| AUROC \| ([\d.]+) \[([\d.]+), ([\d.]+)\] \|", summary)
    assert shown is not None and shown[1] == f"{auroc['estimate']:.3f}"
    # Bounds rounded outward: the interval shown holds the one computed, and is the
    # tightest that does at three digits.
    low, high = float(shown[2]), float(shown[3])
    assert low <= auroc["lower"] < low + 0.001 and high - 0.001 < auroc["upper"] <= high
    k = result.capacities["isr"]
    assert f"| precision at isr, k = {k:,} |" in summary
    assert "| metric | model | rule | single_feature | oracle |" in summary
    assert f"bundle sha256 `{result.bundle.sha256}`" in summary
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", summary)
    assert sorted(links) == sorted(f"plots/{p.name}" for p in result.plots.values())
    assert all((folder / link).is_file() for link in links)


def test_the_evaluation_folder_never_mixes_two_runs(trained, tmp_path) -> None:
    result, _, _ = trained
    folder = tmp_path / "m-evaluation"
    write_evaluation(result, folder, plots=True)
    assert (folder / "importance.csv").is_file()
    assert (folder / "plots" / "importance.png").is_file()
    (folder / "plots" / "roc.png").write_bytes(b"an earlier run's plot")
    # Retrained as a baseline with plots off: nothing of the LightGBM run may stay.
    baseline = dataclasses.replace(
        result, importance=None, evaluation=dataclasses.replace(result.evaluation, plots={})
    )
    write_evaluation(baseline, folder, plots=False)
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == [
        "metrics.csv",
        "report.html",
        "rolling.csv",
        "summary.md",
    ]
    assert "<h1>Model evaluation" in (folder / "report.html").read_text()


@pytest.mark.parametrize(
    ("split", "start", "reason"),
    [
        # 2,500 days after 2019-01-02 is past the data end: no quarter start at all.
        ({"min_history_days": 2500}, dt.date(2019, 1, 2), "no quarter start"),
        # From 2024-01-01 the only testable date, 2024-10-01, has nothing before it.
        ({"first_as_of": "2024-01-01"}, None, "found 0"),
    ],
)
def test_too_little_history_says_how_much_a_split_needs(split, start, reason) -> None:
    config = load_model_config({"split": split})
    with pytest.raises(ValueError) as err:
        splits_for_range(config, start, dt.date(2025, 10, 1))
    message = str(err.value)
    assert message.startswith("model.split: ") and reason in message
    assert "data end 2025-10-01" in message and "at least 36 months" in message
    # Each extra calibration quarter needs three more months, and the hint names only the
    # setting that chose the first as-of date.
    three = load_model_config({"split": {**split, "n_calibration": 3}})
    with pytest.raises(ValueError) as err:
        splits_for_range(three, start, dt.date(2025, 10, 1))
    assert "with 3 calibration quarter(s) needs at least 42 months" in str(err.value)
    wrong = "first_as_of" if "min_history_days" in split else "min_history_days"
    assert wrong not in str(err.value).split(". The as-of dates")[1].split("give more")[1]
    # Exactly three horizons from the first as-of date to the data end is enough.
    enough = load_model_config({"split": {"first_as_of": "2022-10-01"}})
    (only,) = splits_for_range(enough, None, dt.date(2025, 10, 1))
    assert (only.train_as_of, only.test_as_of) == ((dt.date(2022, 10, 1),), dt.date(2024, 10, 1))


def test_a_truth_file_that_is_not_parquet_is_named(tmp_path) -> None:
    broken = tmp_path / "oracle.parquet"
    broken.write_text("person_id,as_of\n")
    with pytest.raises(ValueError, match=r"truth .*oracle\.parquet: not a readable Parquet"):
        oracle_kind(broken)


def test_truth_missing_a_rolling_quarter_is_refused_before_fitting(dgp_panel, tmp_path) -> None:
    # Scoring the oracle on fewer rows than the model would compare different people.
    panel, truth = dgp_panel
    rolling_quarter = pd.Timestamp("2022-10-01")
    as_of = pd.to_datetime(truth["as_of"])
    half = truth[(as_of != rolling_quarter) | (truth["person_id"].str[-1] < "8")]
    stages = []
    with pytest.raises(
        ValueError, match=r"truth: \d+ of \d+ test rows on 2022-10-01 have no"
    ) as err:
        train(_config(), panel=panel, truth=half, progress=stages.append)
    assert "riskstrat oracle --as-of" in str(err.value)
    assert "fit and calibrate" not in stages
    path = tmp_path / "oracle.parquet"
    half.to_parquet(path)
    with pytest.raises(ValueError, match=rf"^truth {re.escape(str(path))}: \d+ of \d+ test rows"):
        train(_config(), panel=panel, truth=path)


def test_lift_ceiling_is_a_perfect_rankings_precision_over_the_rules() -> None:
    from types import SimpleNamespace

    from riskstrat.modeling._summary import lift_ceilings

    metrics = pd.DataFrame(
        {
            "scorer": ["rule", "rule", "rule"],
            "metric": ["precision_at_k_small", "precision_at_k_big", "precision_at_k_all"],
            "estimate": [0.8, 0.1, 0.05],
        }
    )
    # 300 events in 2,000 rows: a perfect ranking fills k = 100 with events (precision 1), but
    # at k = 1,500 at most 300 are events (0.2), and k beyond the rows counts the rows (0.15).
    result = SimpleNamespace(
        metrics=metrics,
        counts={"test_events": 300, "test_rows": 2000},
        capacities={"small": 100, "big": 1500, "all": 5000},
    )
    ceilings = lift_ceilings(result)
    assert ceilings == pytest.approx({"small": 1 / 0.8, "big": 0.2 / 0.1, "all": 0.15 / 0.05})


def test_a_run_that_fails_late_leaves_the_last_evaluation_whole(
    trained, dgp_panel, tmp_path, monkeypatch
) -> None:
    import shutil

    from riskstrat.modeling import _train as train_module

    _, _, out = trained
    folder = tmp_path / "composite-evaluation"
    shutil.copytree(f"{out}-evaluation", folder)
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    def fail(*_args, **_kwargs):
        raise RuntimeError("killed after the plots were drawn")

    monkeypatch.setattr(train_module, "feature_importance", fail)
    panel, truth = dgp_panel
    with pytest.raises(RuntimeError, match="killed"):
        # Another model than the one evaluated there, so its plots differ.
        other = _config(lightgbm={**FAST["lightgbm"], "n_estimators": 40})
        train(other, panel=panel, truth=truth, out=tmp_path / "composite")
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["composite-evaluation"]


def test_a_run_from_python_logs_the_model_config_file_it_read(dgp_panel, tmp_path) -> None:
    import yaml
    from mlflow import MlflowClient

    panel, _ = dgp_panel
    given = tmp_path / "my_model.yaml"
    given.write_text(yaml.safe_dump({"model": FAST}))
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    result = train(given, panel=panel, tracking_uri=uri)
    paths = {a.path for a in MlflowClient(uri).list_artifacts(result.run_id, "config")}
    assert "config/my_model.yaml" in paths
    # Loaded first, as a notebook does: the file as it read then, though edited since.
    loaded = load_model_config(given)
    text = given.read_bytes()
    given.write_text("# edited after loading\n")
    result = train(loaded, panel=panel, tracking_uri=uri)
    client = MlflowClient(uri)
    paths = {a.path for a in client.list_artifacts(result.run_id, "config")}
    assert "config/my_model.yaml" in paths
    local = Path(client.download_artifacts(result.run_id, "config/my_model.yaml", tmp_path))
    assert local.read_bytes() == text
    # Changed in the notebook, it no longer is that file: only the effective config.
    result = train(loaded.updated({"seed": 3}), panel=panel, tracking_uri=uri)
    paths = {a.path for a in client.list_artifacts(result.run_id, "config")}
    assert "config/my_model.yaml" not in paths
    assert "config/model_config.effective.json" in paths


def test_a_capacity_too_big_for_the_test_quarter_is_logged(dgp_panel, caplog) -> None:
    # Not only in summary.md: a notebook that writes no evaluation sees it too.
    panel, _ = dgp_panel
    metrics = {**FAST["metrics"], "n_bootstrap": 0, "plots": False}
    train(_config(metrics={**metrics, "capacities": {"isr": 40, "toc": 10**6}}), panel=panel)
    assert "k is at least half the test quarter's" in caplog.text
    assert "toc (k=1,000,000)" in caplog.text and "isr (k=40)" not in caplog.text


def test_a_result_prints_in_one_line_a_notebook_can_read(trained) -> None:
    result, _, out = trained
    text = repr(result)
    auroc = result.metrics.set_index(["scorer", "metric"]).loc[("model", "auroc"), "estimate"]
    assert text.startswith("TrainResult(outcome='composite_adverse', kind='lightgbm', ")
    assert f"auroc={auroc:.3f}" in text and "test_as_of=2023-01-01" in text
    assert len(text) < 400


def test_the_tables_hold_scorers_and_comparisons_apart(trained) -> None:
    result, _, _ = trained
    long = result.metrics.set_index(["scorer", "metric"])
    table = result.table()
    scorers = list(dict.fromkeys(table.columns.get_level_values(0)))
    assert scorers == ["model", "rule", "single_feature", "oracle"]
    assert table.loc["auroc", ("model", "estimate")] == long.loc[("model", "auroc"), "estimate"]
    # No half-empty rows: every scorer has a figure for every metric.
    assert not table.xs("estimate", axis=1, level=1).isna().any().any()

    diff = result.comparisons()
    assert list(dict.fromkeys(diff.columns.get_level_values(0))) == [
        "rule",
        "single_feature",
        "oracle",
    ]
    assert (
        diff.loc["auroc", ("oracle", "upper")]
        == long.loc[("model_vs_oracle", "diff_auroc"), "upper"]
    )
    assert not diff.xs("estimate", axis=1, level=1).isna().any().any()
    assert "calibration_slope" not in diff.index and "brier" in diff.index
    lift = result.comparisons("lift")
    assert list(lift.index) == ["precision_at_k_isr", "precision_at_k_toc"]
    ratio = (
        long.loc[("model", "precision_at_k_toc"), "estimate"]
        / long.loc[("rule", "precision_at_k_toc"), "estimate"]
    )
    assert lift.loc["precision_at_k_toc", ("rule", "estimate")] == pytest.approx(ratio)
    with pytest.raises(
        ValueError, match="measure: 'ratio' is not known; expected one of diff, lift"
    ):
        result.comparisons("ratio")


def test_a_mistyped_outcome_names_the_config_file_it_was_typed_in(tmp_path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("model:\n  outcome: psych_crisiss\n")
    with pytest.raises(ConfigError) as info:
        train(path)  # refused before any data is needed
    message = str(info.value)
    assert message.startswith("model.outcome: unknown outcome 'psych_crisiss'")
    assert message.endswith(f"(in {path})")


def _with_figure(result, scorer: str, metric: str, figures: list[float]):
    """``result`` with one metric's estimate, lower and upper set to ``figures``."""
    metrics = result.metrics.copy()
    row = (metrics["scorer"] == scorer) & (metrics["metric"] == metric)
    metrics.loc[row, ["estimate", "lower", "upper"]] = figures
    return dataclasses.replace(
        result, evaluation=dataclasses.replace(result.evaluation, metrics=metrics)
    )


def test_a_model_behind_a_baseline_is_said_to_be(trained) -> None:
    from riskstrat.modeling._report import evaluation_markdown
    from riskstrat.modeling._summary import run_facts

    result, _, _ = trained
    assert "baseline_warning" not in run_facts(result)  # it beats both here
    behind = _with_figure(result, "model_vs_rule", "diff_auroc", [-0.009, -0.015, -0.002])
    warning = run_facts(behind)["baseline_warning"]
    assert warning.startswith(
        "warning: the model's AUROC on the test quarter is below the baseline rule by 0.009 "
        "(95% interval of the difference -0.015 to -0.002)"
    )
    assert "single_feature" not in warning
    assert warning in evaluation_markdown(behind)


def test_a_capacity_where_the_model_does_not_beat_the_rule_is_named(trained) -> None:
    from riskstrat.modeling._report import evaluation_markdown
    from riskstrat.modeling._summary import run_facts
    from riskstrat.modeling._warnings import run_warnings

    result, _, _ = trained
    programme = next(iter(result.capacities))
    metric = f"lift_precision_at_k_{programme}"
    clear = _with_figure(result, "model_vs_rule", metric, [1.5, 1.2, 1.8])
    for other in result.capacities:  # every other lift shown clear of 1, or hidden
        if other != programme:
            clear = _with_figure(
                clear, "model_vs_rule", f"lift_precision_at_k_{other}", [1.4, 1.1, 1.7]
            )
    assert "lift_warning" not in run_facts(clear)
    weak = _with_figure(clear, "model_vs_rule", metric, [1.01, 0.94, 1.08])
    warning = run_facts(weak)["lift_warning"]
    k = result.capacities[programme]
    assert warning == (
        f"warning: no gain over the rule is shown at {programme} (k={k:,}) 1.01x [0.94, 1.08] "
        "(model precision over the rule's, 95% interval reaching 1): at those capacities the "
        "model would fill the places about as well as the rule baseline "
        "(everyone ranked by programmes and criteria met)"
    )
    assert warning in evaluation_markdown(weak)
    # Logged as well, where a notebook sees it (only summary.md and the CLI said it).
    assert warning.removeprefix("warning: ") in run_warnings(weak)
    # A capacity of half the quarter or more is named by the capacity warning instead: its
    # lift is about 1 whatever the model.
    most = dataclasses.replace(weak, counts={**weak.counts, "test_rows": 2 * k})
    assert "lift_warning" not in run_facts(most)
    # An interval wholly below 1 is worse than the rule, and said so.
    worse = run_facts(_with_figure(clear, "model_vs_rule", metric, [0.8, 0.7, 0.9]))
    assert worse["lift_warning"].startswith(
        f"warning: the model fills the places worse than the county's rule at {programme} "
        f"(k={k:,}) 0.80x [0.70, 0.90]"
    )
    assert "about as well" not in worse["lift_warning"]
    # A lower bound of exactly 1 is no demonstrated gain either.
    assert "lift_warning" in run_facts(
        _with_figure(clear, "model_vs_rule", metric, [1.2, 1.0, 1.4])
    )


def test_the_baselines_are_described_and_the_single_feature_called_a_floor(trained) -> None:
    from riskstrat.modeling._report import evaluation_markdown
    from riskstrat.modeling._summary import run_facts

    result, _, _ = trained
    text = run_facts(result)["baselines"]
    assert text.startswith("baselines (calibrated like the model): rule = ")
    assert f"single_feature = {result.config.single_feature} alone, a floor" in text
    assert text in evaluation_markdown(result)


def test_a_slope_whose_interval_excludes_one_is_said(trained, caplog) -> None:
    from riskstrat.modeling._report import evaluation_markdown
    from riskstrat.modeling._summary import run_facts

    result, _, _ = trained
    assert "calibration_warning" not in run_facts(result)  # calibrated on a known DGP
    spread = _with_figure(result, "model", "calibration_slope", [0.856, 0.770, 0.960])
    warning = run_facts(spread)["calibration_warning"]
    assert warning.startswith(
        "warning: the model's calibration slope 0.856 [0.770, 0.960] (below 1: risks too "
        "spread, too high at the top)"
    )
    assert "intercept" not in warning
    assert warning in evaluation_markdown(spread)
    # The other way: an interval wholly above 1 is risks too narrow, and says so.
    narrow = _with_figure(result, "model", "calibration_slope", [1.017, 1.012, 1.097])
    warning = run_facts(narrow)["calibration_warning"]
    assert "calibration slope 1.017 [1.012, 1.097] (above 1: risks too narrow" in warning
    low = _with_figure(result, "model", "calibration_intercept", [0.2, 0.1, 0.3])
    assert "(above 0: risks too low overall" in run_facts(low)["calibration_warning"]
    # A bound that rounds to the ideal shows the decimals that set it apart from it.
    close = _with_figure(result, "model", "calibration_slope", [0.903, 0.814, 0.9997])
    assert "slope 0.903 [0.814, 0.9997] (below 1" in run_facts(close)["calibration_warning"]
    assert "the 'mean risk at' rows" in warning
    from riskstrat.modeling._metric_labels import bound_text

    # Not "1.000", nor np.float64(...).
    assert bound_text(np.float64(1.0000000001), "lower", avoid=1.0) == "1.0000000001"


def test_training_warns_when_configs_come_from_two_places(
    dgp_panel, tmp_path, monkeypatch, caplog
) -> None:
    import shutil

    from riskstrat._config import PACKAGE_CONFIGS

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RISKSTRAT_CONFIG_DIR", raising=False)
    (tmp_path / "configs").mkdir()
    shutil.copy(PACKAGE_CONFIGS / "programs.yaml", tmp_path / "configs" / "programs.yaml")
    panel, _ = dgp_panel
    train(_config(), panel=panel, track=False)
    assert "programs.yaml from ./configs" in caplog.text
    assert "features.yaml, outcomes.yaml from riskstrat's defaults" in caplog.text


def test_a_baseline_given_a_bundle_folder_says_no_bundle_is_written(
    dgp_panel, tmp_path, caplog
) -> None:
    panel, truth = dgp_panel
    config = _config(kind="single_feature").updated({"metrics": {"n_bootstrap": 0}})
    with caplog.at_level("WARNING", logger="riskstrat"):
        result = train(config, panel=panel, out=tmp_path / "baseline")
    assert result.bundle_path is None and not (tmp_path / "baseline").exists()
    assert "kind 'single_feature' is a baseline: no model bundle is written to" in caplog.text


def test_a_baseline_asked_to_be_tracked_says_it_is_not(dgp_panel, tmp_path, caplog) -> None:
    from riskstrat.modeling._publish import NOT_TRACKED

    panel, _ = dgp_panel
    config = _config(kind="rule").updated({"metrics": {"n_bootstrap": 0, "plots": False}})
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    with caplog.at_level("WARNING", logger="riskstrat"):
        result = train(config, panel=panel, tracking_uri=uri)
    assert result.run_id is None
    assert NOT_TRACKED % "rule" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="riskstrat"):
        train(config, panel=panel, track=False)  # not asked: no word
    assert "no run is logged" not in caplog.text


def test_capacities_too_large_or_too_small_for_the_quarter_are_named() -> None:
    from riskstrat.modeling._warnings import capacity_warning

    assert capacity_warning({"isr": 11, "toc": 499}, 1_000) is None
    warning = capacity_warning({"isr": 10, "toc": 500, "rbc": 4}, 1_000)
    assert warning.startswith("k is at least half the test quarter's 1,000 rows for toc (k=500)")
    assert warning.endswith(
        "; k is below 11 for isr (k=10), rbc (k=4): precision and recall there would be the "
        "outcomes of fewer than 11 people, so they are not shown; a smaller "
        "model.metrics.capacity_scale than this county needs?"
    )


def test_the_tables_say_whether_they_carry_intervals(trained) -> None:
    from riskstrat.modeling._report import evaluation_markdown
    from riskstrat.modeling._summary import metrics_title

    result, _, _ = trained
    level = round(result.config.metrics.confidence * 100)
    assert metrics_title(result).endswith(f"({level}% intervals)")
    none = dataclasses.replace(
        result, config=result.config.updated({"metrics": {"n_bootstrap": 0}})
    )
    assert metrics_title(none).endswith("(no intervals: model.metrics.n_bootstrap is 0)")
    markdown = evaluation_markdown(none)
    assert "no intervals: model.metrics.n_bootstrap is 0" in markdown


def test_the_summary_names_each_config_read_by_its_digest(trained) -> None:
    # The rule baseline and the capacities come from programs.yaml, which the code's
    # digest does not cover: an evaluator must be able to tell two runs' rules apart.
    import hashlib

    from riskstrat._config import default_config_path
    from riskstrat.modeling._report import evaluation_markdown
    from riskstrat.modeling._summary import run_facts

    result, _, _ = trained
    programs = hashlib.sha256(default_config_path("programs.yaml").read_bytes()).hexdigest()
    assert result.configs["programs.yaml"] == programs
    assert {"features.yaml", "outcomes.yaml", "conditions.yaml"} <= set(result.configs)
    line = run_facts(result)["configs"]
    assert f"programs.yaml {programs[:12]}" in line
    assert line in evaluation_markdown(result)


def test_a_mean_risk_interval_of_no_width_is_explained(trained) -> None:
    from riskstrat.modeling._report import FLAT_MEAN_RISK_NOTE, evaluation_markdown

    trained_result, _, _ = trained
    metrics = trained_result.metrics.copy()
    mean_risks = metrics["metric"].str.startswith("mean_risk_at_k")
    # Every mean risk given an interval of some width; then one of them none.
    metrics.loc[mean_risks, "lower"] = metrics.loc[mean_risks, "estimate"] - 0.01
    metrics.loc[mean_risks, "upper"] = metrics.loc[mean_risks, "estimate"] + 0.01
    result = dataclasses.replace(
        trained_result, evaluation=dataclasses.replace(trained_result.evaluation, metrics=metrics)
    )
    metric = next(m for m in result.metrics["metric"] if m.startswith("mean_risk_at_k"))
    assert FLAT_MEAN_RISK_NOTE not in evaluation_markdown(result)
    flat = _with_figure(result, "model", metric, [0.624, 0.624, 0.624])
    assert FLAT_MEAN_RISK_NOTE in evaluation_markdown(flat)
    # The plateau's probability summed in another order in each resample (as at 200,000
    # persons: 0.918486171761283 to 0.9184861717612841): no width still, shown as such.
    noisy = _with_figure(
        result, "model", metric, [0.9184861717612857, 0.918486171761283, 0.9184861717612841]
    )
    text = evaluation_markdown(noisy)
    assert FLAT_MEAN_RISK_NOTE in text and "0.918 [0.918, 0.918]" in text


def test_the_summary_writes_no_count_of_1_to_10_people(trained) -> None:
    from riskstrat.modeling._report import evaluation_markdown
    from riskstrat.modeling._summary import run_facts

    result, _, _ = trained
    counts = dict(result.counts)
    counts |= {"test_left_out": 2, "calibration_left_out": 0, "train_left_out": 11}
    counts |= {"test_events": 7}
    small = dataclasses.replace(result, counts=counts)
    rows = run_facts(small)["rows"]
    assert "test 1 to 10; k" not in rows  # the events sit in brackets
    assert f"test {counts['test_rows']:,} (1 to 10)" in rows
    assert rows.endswith("train 11, calibration 0, test 1 to 10")
    assert "calibration 0, test 1 to 10" in evaluation_markdown(small)
    assert small.counts["test_left_out"] == 2  # the exact figure stays in the result
