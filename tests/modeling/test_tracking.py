"""MLflow tracking in a temporary sqlite registry: log, register, promote, resolve."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse
from urllib.request import url2pathname

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from typer.testing import CliRunner

from riskstrat import _config
from riskstrat.cli import app
from riskstrat.features import load_feature_spec
from riskstrat.modeling import (
    BundleError,
    Evaluation,
    ModelBundle,
    ModelReferenceError,
    TemporalSplit,
    TrackingError,
    TrainResult,
    export_model,
    fingerprint_files,
    list_models,
    load_model_config,
    log_training_run,
    promote,
    resolve_model,
    resolve_tracking_uri,
    train,
)
from riskstrat.modeling import _tracking as T
from riskstrat.modeling._bundle_files import CHECKSUMS_FILE, METADATA_FILE, _checksums, _dumps
from riskstrat.modeling._publish import publish

FEATURES = ["ed_visits_365d", "bookings_365d", "age"]
NAME = "riskstrat-jail_booking"


def _calibrated(seed: int) -> CalibratedClassifierCV:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "ed_visits_365d": rng.poisson(2.0, 300).astype(float),
            "bookings_365d": rng.poisson(0.5, 300),
            "age": rng.integers(18, 80, 300),
        }
    )
    y = (rng.random(300) < 0.2 + 0.1 * (X["bookings_365d"] > 0)).astype(int)
    model = lgb.LGBMClassifier(n_estimators=10, num_leaves=5, verbose=-1, n_jobs=1)
    model.fit(X[:200], y[:200])
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method="isotonic")
    calibrated.fit(X[200:], y[200:])
    return calibrated


def _bundle(seed: int, version: str) -> ModelBundle:
    meta = {"version": version, "metrics": {"test": {"auc": 0.61, "brier": 0.15}}}
    return ModelBundle.from_calibrated(
        _calibrated(seed), "lightgbm", FEATURES, "jail_booking", meta
    )


@pytest.fixture(scope="module")
def X() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, 50),
            "bookings_365d": rng.poisson(0.5, 50),
            "ed_visits_365d": rng.poisson(2.0, 50).astype(float),
        }
    )


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A registry with one run logged (version 1, the challenger)."""
    root = tmp_path_factory.mktemp("tracking")
    uri = f"sqlite:///{root / 'mlruns.db'}"
    config_file = root / "model.yaml"
    config_file.write_text("model:\n  outcome: jail_booking\n")
    plot = root / "calibration.png"
    plot.write_bytes(b"\x89PNG fake image bytes")
    bundle = _bundle(0, "v1")
    before = mlflow.get_tracking_uri()
    run_id = log_training_run(
        bundle,
        config_paths=[config_file],
        params={"lightgbm": {"n_estimators": 10}, "features": FEATURES},
        metrics={"cal": {"ece": 0.02}},
        plots=[plot],
        feature_names=FEATURES,
        data_fingerprint="f" * 64,
        tracking_uri=uri,
        artifact_dir=root / "mlartifacts",
    )
    after = mlflow.get_tracking_uri()
    return SimpleNamespace(
        root=root, uri=uri, bundle=bundle, run_id=run_id, uri_before=before, uri_after=after
    )


def test_run_logs_params_metrics_tags_and_artifacts(registry: SimpleNamespace) -> None:
    client = MlflowClient(registry.uri)
    run = client.get_run(registry.run_id)
    assert run.data.params["lightgbm.n_estimators"] == "10"
    assert json.loads(run.data.params["features"]) == FEATURES
    assert run.data.metrics == {"cal.ece": 0.02}
    tags = run.data.tags
    assert tags["riskstrat.data_fingerprint"] == "f" * 64
    assert tags["riskstrat.bundle_sha256"] == registry.bundle.sha256
    assert tags["riskstrat.model_name"] == NAME and tags["riskstrat.model_version"] == "1"
    top = {a.path for a in client.list_artifacts(registry.run_id)}
    assert {"config", "plots", "features.json"} <= top
    assert [a.path for a in client.list_artifacts(registry.run_id, "config")] == [
        "config/model.yaml"
    ]
    assert [a.path for a in client.list_artifacts(registry.run_id, "plots")] == [
        "plots/calibration.png"
    ]
    artifact_root = registry.root / "mlartifacts" / "riskstrat"
    assert artifact_root.is_dir()
    # Our calls leave the caller's MLflow tracking URI as it was.
    assert registry.uri_after == registry.uri_before


def test_new_model_is_challenger_and_its_pyfunc_stores_no_code_or_pickle(registry, X) -> None:
    models = list_models(tracking_uri=registry.uri)
    assert models[["name", "version", "aliases"]].to_dict("records") == [
        {"name": NAME, "version": 1, "aliases": "challenger"}
    ]
    assert models["bundle_sha256"].tolist() == [registry.bundle.sha256]
    model_dir = registry.root / "pyfunc"
    model_dir.mkdir()
    # MLflow's own loader, pointed at the stored model (no global tracking state involved).
    source = MlflowClient(registry.uri).get_model_version_download_uri(NAME, "1")
    pyfunc = mlflow.pyfunc.load_model(source, dst_path=str(model_dir))
    np.testing.assert_allclose(
        pyfunc.predict(X).to_numpy(), registry.bundle.predict_proba(X), rtol=0, atol=1e-12
    )
    # Nothing in the store runs: no pickle, no code; the loader is the installed package's.
    assert not list(model_dir.rglob("*.pkl")) and not list(model_dir.rglob("*.py"))
    (mlmodel,) = model_dir.rglob("MLmodel")
    flavor = mlflow.models.Model.load(mlmodel).flavors["python_function"]
    assert flavor["loader_module"] == "riskstrat.modeling._pyfunc"
    # Nullable columns with <NA> (MLflow's schema check makes them object) score too.
    nullable = X.astype({"age": "Int64", "bookings_365d": "Int64"})
    nullable.loc[[0, 3], "age"] = pd.NA
    expected = registry.bundle.predict_proba(nullable)
    np.testing.assert_allclose(pyfunc.predict(nullable).to_numpy(), expected, rtol=0, atol=1e-12)
    with pytest.raises(Exception, match="age"):
        pyfunc.predict(X.assign(age="old"))


def test_promote_resolve_and_second_version(registry: SimpleNamespace, X, monkeypatch) -> None:
    assert promote(NAME, 1, tracking_uri=registry.uri) is None
    models = list_models(tracking_uri=registry.uri)
    assert models["aliases"].tolist() == ["champion"]  # no longer the challenger

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, _refuse_pickle)
    for ref in ("champion", f"{NAME}@champion", "1", 1, f"models:/{NAME}/1", f"{NAME}/1"):
        bundle = resolve_model(ref, registry.uri)
        assert bundle.sha256 == registry.bundle.sha256, ref
        np.testing.assert_array_equal(bundle.predict_proba(X), registry.bundle.predict_proba(X))
    monkeypatch.undo()
    with pytest.raises(TypeError, match="model reference: expected a bundle folder .* got a float"):
        resolve_model(1.0, registry.uri)

    second = _bundle(1, "v2")
    run_id = log_training_run(second, tracking_uri=registry.uri)
    # Without explicit metrics, the bundle metadata's metrics are logged, flattened.
    metrics = MlflowClient(registry.uri).get_run(run_id).data.metrics
    assert metrics == {"test.auc": 0.61, "test.brier": 0.15}
    models = list_models(tracking_uri=registry.uri)
    assert models[["version", "aliases"]].to_dict("records") == [
        {"version": 2, "aliases": "challenger"},
        {"version": 1, "aliases": "champion"},
    ]
    assert resolve_model("challenger", registry.uri).version == "v2"
    assert resolve_model("champion", registry.uri).version == "v1"
    assert promote(NAME, "2", tracking_uri=registry.uri) == "1"
    assert resolve_model("champion", registry.uri).sha256 == second.sha256


def _refuse_pickle(*args: object, **kwargs: object) -> None:
    raise AssertionError("pickle used while resolving a model")


def test_resolve_errors(registry: SimpleNamespace) -> None:
    # Each is a model that is not there (a typo), not one that failed its checks.
    uri = registry.uri
    with pytest.raises(ModelReferenceError, match=re.escape(f"{NAME!r} has no version '9'")):
        resolve_model("9", uri)
    with pytest.raises(
        ModelReferenceError, match=re.escape(f"{NAME!r} has no version with alias 'x'")
    ):
        resolve_model(f"{NAME}@x", uri)
    # The versions and aliases that do exist, to pick from.
    with pytest.raises(ModelReferenceError, match=r"alias 'champio'; it has version 1\b.*\(\w+\)"):
        resolve_model(f"{NAME}@champio", uri)
    with pytest.raises(ModelReferenceError, match="no registered model named 'nope'"):
        resolve_model("nope@champion", uri)
    with pytest.raises(ModelReferenceError, match=re.escape(f"{NAME!r} has no version '9'")):
        promote(NAME, 9, tracking_uri=uri)
    with pytest.raises(ModelReferenceError, match="models/missing_bundle: no such bundle folder"):
        resolve_model("models/missing_bundle", uri)


def test_bare_alias_needs_a_name_when_several_models(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'r.db'}"
    bundle = _bundle(2, "v1")
    # A result-like object: its .params and .metrics are logged when none are given.
    result = SimpleNamespace(
        bundle=bundle, params={"seed": 3}, metric_values=lambda: {"model.auc": 0.7}
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "persons.csv").write_text("person_id\np1\n")
    run_id = log_training_run(
        result,
        model_name="a-model",
        data_fingerprint=tmp_path / "data",  # folders are fingerprinted on the fly
        tracking_uri=uri,
        artifact_dir=tmp_path / "art",
    )
    run = MlflowClient(uri).get_run(run_id)
    fingerprint = fingerprint_files(tmp_path / "data")
    assert run.data.tags["riskstrat.data_fingerprint"] == fingerprint
    # MLflow logs the pyfunc's model config (the pinned bundle sha256) as a parameter too.
    assert run.data.params == {"seed": "3", T.SHA_TAG: bundle.sha256}
    assert run.data.metrics == {"model.auc": 0.7}
    other = _bundle(3, "v1")  # another model: which one was picked shows in the sha256
    log_training_run(other, model_name="b-model", tracking_uri=uri)
    with pytest.raises(TrackingError, match=r"needs a model name: 2 registered models"):
        resolve_model("challenger", uri)
    assert resolve_model("challenger", uri, model_name="b-model").sha256 == other.sha256
    # An alias only one model holds names it: a model per outcome, one champion.
    promote("a-model", 1, tracking_uri=uri)
    assert resolve_model("champion", uri).sha256 == result.bundle.sha256
    with pytest.raises(TrackingError, match=r"needs a model name: 2 registered models"):
        resolve_model("1", uri)  # a bare version number is each model's
    config = SimpleNamespace(tracking_uri=uri, registered_name="a-model")
    assert resolve_model("1", config=config).sha256 == bundle.sha256


def test_tracking_uri_precedence(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(T.TRACKING_URI_ENV, raising=False)
    config = SimpleNamespace(tracking_uri="sqlite:///config.db")
    assert resolve_tracking_uri() == "sqlite:///mlruns.db"
    assert resolve_tracking_uri(config=config) == "sqlite:///config.db"
    monkeypatch.setenv(T.TRACKING_URI_ENV, "sqlite:///env.db")
    assert resolve_tracking_uri(config=config) == "sqlite:///env.db"
    assert resolve_tracking_uri("sqlite:///arg.db", config) == "sqlite:///arg.db"


def test_environment_variable_points_at_the_registry(registry, monkeypatch) -> None:
    monkeypatch.setenv(T.TRACKING_URI_ENV, registry.uri)
    assert NAME in set(list_models()["name"])


def test_log_refuses_bad_inputs(registry: SimpleNamespace, tmp_path: Path) -> None:
    with pytest.raises(TrackingError, match="expected a ModelBundle or an object with a .bundle"):
        log_training_run(object(), tracking_uri=registry.uri)
    with pytest.raises(TrackingError, match=re.escape("differ from the bundle's features")):
        log_training_run(registry.bundle, feature_names=FEATURES[::-1], tracking_uri=registry.uri)
    with pytest.raises(TrackingError, match="config file not found"):
        log_training_run(registry.bundle, config_paths=[tmp_path / "no.yaml"])
    with pytest.raises(TrackingError, match="metric 'auc': expected a number, got a value of"):
        log_training_run(registry.bundle, metrics={"auc": "high"}, tracking_uri=registry.uri)


def test_fingerprint_files_known_value(tmp_path: Path) -> None:
    (tmp_path / "persons.csv").write_text("person_id,age\np1,30\np2,40\n")
    (tmp_path / "notes.txt").write_text("ignored: not a table")
    entries = [
        {
            "file": "persons.csv",
            "rows": 2,
            "sha256": hashlib.sha256(b"person_id,age\np1,30\np2,40\n").hexdigest(),
        }
    ]
    expected = hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()
    assert fingerprint_files(tmp_path) == expected
    assert fingerprint_files([tmp_path / "persons.csv"]) == expected
    (tmp_path / "persons.csv").write_text("person_id,age\np1,30\np2,41\n")
    assert fingerprint_files(tmp_path) != expected
    with pytest.raises(TrackingError, match="input file not found"):
        fingerprint_files(tmp_path / "missing.parquet")


def test_cli_models_commands(registry: SimpleNamespace, tmp_path: Path) -> None:
    runner = CliRunner()
    uri = ["--tracking-uri", registry.uri]
    listed = runner.invoke(app, ["models", "list", *uri])
    assert listed.exit_code == 0, listed.output
    assert NAME in listed.output
    assert registry.bundle.sha256[:8] in listed.output

    out = tmp_path / "models" / "jail"
    exported = runner.invoke(app, ["models", "export", f"{NAME}/1", "--out", str(out), *uri])
    assert exported.exit_code == 0, exported.output
    assert ModelBundle.load(out).sha256 == registry.bundle.sha256
    again = runner.invoke(app, ["models", "export", f"{NAME}/1", "--out", str(out), *uri])
    assert again.exit_code == 2 and "already exists" in again.output  # usage, as for score
    verified = runner.invoke(app, ["models", "verify", str(out)])
    assert verified.exit_code == 0 and registry.bundle.sha256 in verified.output.replace("\n", "")

    (out / "calibrator.json").write_text("{}")
    refused = runner.invoke(app, ["models", "verify", str(out)])
    assert refused.exit_code == 1
    bad_version = runner.invoke(app, ["models", "promote", NAME, "99", *uri])
    assert bad_version.exit_code == 2


def test_export_model_from_a_bundle_path(registry: SimpleNamespace, tmp_path: Path) -> None:
    source = registry.bundle.save(tmp_path / "src")
    copied = export_model(source, tmp_path / "dst")
    assert copied.sha256 == registry.bundle.sha256
    assert (tmp_path / "dst" / "checksums.json").read_bytes() == (
        source / "checksums.json"
    ).read_bytes()


def test_artifacts_default_to_beside_an_embedded_database() -> None:
    from riskstrat.modeling._tracking import default_artifact_dir

    assert default_artifact_dir("sqlite:///runs/store/mlruns.db") == Path("runs/store/mlartifacts")
    assert default_artifact_dir("sqlite:////abs/mlruns.db") == Path("/abs/mlartifacts")
    assert default_artifact_dir("sqlite:///mlruns.db") == Path("mlartifacts")
    assert default_artifact_dir("http://tracking.example:5000") == Path("mlartifacts")


def test_the_pyfunc_has_a_signature_naming_the_features(registry: SimpleNamespace) -> None:
    source = MlflowClient(registry.uri).get_model_version_download_uri(NAME, "1")
    signature = mlflow.models.Model.load(url2pathname(urlparse(source).path)).signature
    assert signature is not None
    assert signature.inputs.input_names() == FEATURES
    assert signature.outputs.to_dict() == [
        {"type": "double", "name": "probability", "required": True}
    ]


def _log_one(tmp_path: Path, name: str) -> tuple[str, str]:
    """Log one model to a fresh registry under ``tmp_path``; its URI and download URI."""
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    log_training_run(
        _bundle(4, "v1"), model_name=name, tracking_uri=uri, artifact_dir=tmp_path / "art"
    )
    return uri, MlflowClient(uri).get_model_version_download_uri(name, "1")


def test_the_pyfunc_refuses_a_bundle_edited_with_its_checksums(tmp_path: Path) -> None:
    uri, source = _log_one(tmp_path, "pinned")
    (checksums,) = (tmp_path / "art").rglob(CHECKSUMS_FILE)
    stored = checksums.parent
    original = ModelBundle.load(stored).sha256
    meta = json.loads((stored / METADATA_FILE).read_text())
    (stored / METADATA_FILE).write_bytes(_dumps({**meta, "version": "forged"}))
    files = {p.name: p.read_bytes() for p in stored.iterdir() if p.name != CHECKSUMS_FILE}
    checksums.write_bytes(_checksums(files))
    # Consistent with its own checksums: only the pinned sha256 can tell.
    assert ModelBundle.load(stored).sha256 != original
    with pytest.raises(BundleError, match=f"differs from the expected {original}"):
        mlflow.pyfunc.load_model(source, dst_path=str(tmp_path))


def test_listing_where_there_is_no_registry_creates_none(tmp_path, monkeypatch, caplog) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(T.TRACKING_URI_ENV, raising=False)
    runner = CliRunner()
    listed = runner.invoke(app, ["models", "list"])
    # A usage error (exit 2), as for score: a job's pre-flight listing catches a typo.
    assert listed.exit_code == 2, listed.output
    text = " ".join(listed.output.split())
    assert f"no model registry at {tmp_path / 'mlruns.db'}" in text
    other = f"sqlite:///{tmp_path / 'other.db'}"
    listed = runner.invoke(app, ["models", "list", "--tracking-uri", other])
    assert listed.exit_code == 2 and "no model registry at" in listed.output
    with caplog.at_level("WARNING"):
        assert list_models(tracking_uri=other).empty  # said, not only empty
    assert f"no model registry at {tmp_path / 'other.db'}" in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_promoting_or_resolving_in_a_missing_store_creates_none(tmp_path: Path) -> None:
    from riskstrat.modeling import promote, resolve_model

    missing = tmp_path / "typo.db"
    uri = f"sqlite:///{missing}"
    for call in (
        lambda: promote(NAME, 1, tracking_uri=uri),
        lambda: resolve_model(f"{NAME}@champion", tracking_uri=uri),
    ):
        with pytest.raises(TrackingError) as info:
            call()
        assert str(info.value) == (
            f"no model registry at {missing} (tracking URI {uri}); expected an existing store"
        )
    refused = CliRunner().invoke(app, ["models", "promote", NAME, "1", "--tracking-uri", uri])
    assert refused.exit_code != 0 and "no model registry at" in " ".join(refused.output.split())
    assert list(tmp_path.iterdir()) == []


def test_export_names_the_registered_model_on_a_sha256_mismatch(tmp_path: Path) -> None:
    uri, _source = _log_one(tmp_path, "named")
    MlflowClient(uri).set_model_version_tag("named", "1", T.SHA_TAG, "0" * 64)
    out = tmp_path / "exported"
    refused = CliRunner().invoke(
        app, ["models", "export", "named@challenger", "--out", str(out), "--tracking-uri", uri]
    )
    assert refused.exit_code == 1
    text = " ".join(refused.output.split())
    assert "registered model 'named' version 1 (alias 'challenger'): bundle sha256" in text
    assert tempfile.gettempdir() not in text and not out.exists()
    with pytest.raises(BundleError, match=r"^registered model 'named' version 1: bundle sha256"):
        resolve_model("named/1", uri)


def _train_result() -> TrainResult:
    """A TrainResult as ``train`` returns it before publishing, without training."""
    metrics = pd.DataFrame(
        {
            "scorer": ["model", "model", "rule"],
            "metric": ["auc", "brier", "auc"],
            "estimate": [0.7, 0.1, 0.6],
            "lower": [0.65, np.nan, 0.55],  # NaN: a metric without an interval
            "upper": [0.75, np.nan, 0.66],
        }
    )
    rolling = pd.DataFrame(
        {
            "test_as_of": [dt.date(2022, 10, 1), dt.date(2023, 1, 1)],
            "train_as_of": ["2020-10-01", "2021-01-01"],
            "calibration_as_of": ["2021-10-01", "2022-01-01"],
            "scorer": ["model", "model"],
            "n": [100, 120],
            "auroc": [0.69, 0.7],
            "ece": [0.02, 0.01],
            "brier": [0.1, 0.1],
        }
    )
    split = TemporalSplit(
        train_as_of=(dt.date(2021, 1, 1),),
        calibration_as_of=(dt.date(2022, 1, 1),),
        test_as_of=dt.date(2023, 1, 1),
        horizon_months=12,
        data_end=dt.date(2024, 1, 1),
    )
    return TrainResult(
        config=load_model_config({"outcome": "jail_booking"}),
        outcome="jail_booking",
        kind="lightgbm",
        calibrated=_calibrated(3),
        feature_names=FEATURES,
        split=split,
        evaluation=Evaluation(metrics=metrics, predictions=pd.DataFrame(), capacities={}, plots={}),
        rolling=rolling,
        baselines={},
        capacities={"isr": 40},
        counts={
            "train_rows": 400,
            "train_events": 40,
            "calibration_rows": 110,
            "calibration_events": 11,
            "test_rows": 120,
            "test_events": 12,
        },
        data_fingerprint="e" * 64,
    )


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A result published with tracking on and no ``out``: a custom feature spec object,
    outcomes.yaml from $RISKSTRAT_CONFIG_DIR, no programs.yaml to be found."""
    root = tmp_path_factory.mktemp("publish")
    uri = f"sqlite:///{root / 'mlruns.db'}"
    configs = root / "configs"
    configs.mkdir()
    (configs / "outcomes.yaml").write_text("# the outcomes this run read\n")
    given = root / "model.yaml"
    given.write_text("model:\n  outcome: jail_booking\n")
    feature_spec = load_feature_spec()
    find = _config.default_config_path

    def no_programs(name: str) -> Path:
        if name == "programs.yaml":
            raise _config.ConfigNotFoundError("configs/programs.yaml: not found")
        return find(name)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(_config.CONFIG_DIR_ENV, str(configs))
        mp.setattr(_config, "default_config_path", no_programs)
        result = publish(
            _train_result(),
            out=None,
            tracking_uri=uri,
            config_paths=(given,),
            step=lambda _stage: None,
            feature_spec=feature_spec,
        )
    return SimpleNamespace(
        root=root, uri=uri, result=result, client=MlflowClient(uri), feature_spec=feature_spec
    )


def test_published_run_logs_metric_intervals(published: SimpleNamespace) -> None:
    assert published.result.run_id and published.result.bundle_path is None
    metrics = published.client.get_run(published.result.run_id).data.metrics
    counts = {f"counts.{k}": float(v) for k, v in published.result.counts.items()}
    assert counts["counts.test_rows"] == 120  # the rows behind the figures are logged too
    assert metrics == {
        "model.auc": 0.7,
        "model.auc.lower": 0.65,
        "model.auc.upper": 0.75,
        "model.brier": 0.1,  # its NaN bounds are left out
        "rule.auc": 0.6,
        "rule.auc.lower": 0.55,
        "rule.auc.upper": 0.66,
        **counts,
    }


def test_published_run_logs_the_evaluation_tables(published: SimpleNamespace) -> None:
    run_id = published.result.run_id
    paths = [a.path for a in published.client.list_artifacts(run_id, "evaluation")]
    assert paths == [
        "evaluation/metrics.csv",
        "evaluation/report.html",
        "evaluation/rolling.csv",
        "evaluation/summary.md",
    ]
    local = Path(published.client.download_artifacts(run_id, "evaluation", published.root))
    summary = (local / "summary.md").read_text()
    # The page for a browser holds the same report (this run drew no plots).
    assert "<title>Model evaluation: jail_booking</title>" in (local / "report.html").read_text()
    assert summary.startswith("# Model evaluation: jail_booking")
    assert (
        "| 2023-01-01 | 2021-01-01 | 2022-01-01 | model | 120 | 0.700 | 0.010 | 0.100 |" in summary
    )
    pd.testing.assert_frame_equal(pd.read_csv(local / "metrics.csv"), published.result.metrics)
    rolling = published.result.rolling.assign(test_as_of=lambda d: d["test_as_of"].astype(str))
    pd.testing.assert_frame_equal(pd.read_csv(local / "rolling.csv"), rolling)


def test_published_run_logs_the_configs_the_run_read(published: SimpleNamespace) -> None:
    run_id = published.result.run_id
    paths = {a.path for a in published.client.list_artifacts(run_id, "config")}
    assert paths == {
        "config/model.yaml",  # as given
        "config/model_config.effective.json",
        "config/features.json",  # the spec object train() was given, not features.yaml
        "config/outcomes.yaml",
        "config/conditions.yaml",
        "config/contract.yaml",
    }  # no programs.yaml: none was found
    local = Path(published.client.download_artifacts(run_id, "config", published.root))
    assert (local / "outcomes.yaml").read_text() == "# the outcomes this run read\n"
    assert (local / "conditions.yaml").read_bytes() == (
        _config.default_config_path("conditions.yaml").read_bytes()
    )
    spec = json.loads((local / "features.json").read_text())
    assert len(spec["definitions"]) == len(published.feature_spec.definitions)
    assert spec["population_lookback_days"] == published.feature_spec.population_lookback_days


def test_listing_shows_what_each_version_measured(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    bundle = _bundle(0, "v1")
    log_training_run(
        bundle,
        params={"dates": {"test_as_of": "2024-01-01"}},
        metrics={"model": {"auroc": 0.8123, "ece": 0.0046}, "rule": {"auroc": 0.7}},
        tracking_uri=uri,
        artifact_dir=tmp_path / "mlartifacts",
    )
    for _ in range(2):
        log_training_run(
            bundle,
            params={"dates": {"test_as_of": "2024-04-01"}},
            metrics={"model": {"auroc": 0.9, "ece": 0.001}},
            tracking_uri=uri,
            artifact_dir=tmp_path / "mlartifacts",
        )
    # Deleting is a soft delete in MLflow: the run and its metrics are still readable.
    MlflowClient(uri).delete_run(MlflowClient(uri).get_model_version(NAME, "2").run_id)
    listed = list_models(tracking_uri=uri)
    first, second = (listed.set_index("version").loc[v] for v in (1, 2))
    assert (first["test_as_of"], first["auroc"], first["ece"]) == ("2024-01-01", 0.8123, 0.0046)
    # A deleted run's figures are blank, not an error; a live one's are shown.
    assert second["test_as_of"] == "" and np.isnan(second["auroc"])
    assert listed.set_index("version").loc[3, "auroc"] == 0.9
    shown = CliRunner().invoke(
        app, ["models", "list", "--tracking-uri", uri], env={"COLUMNS": "80"}
    )
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert f"{NAME} (outcome jail_booking)" in shown.output
    assert "2024-01-01  0.812  0.005" in next(line for line in lines if line.startswith(" 1 "))
    assert max(len(line) for line in lines) <= 80


def test_a_folder_named_like_a_registry_reference_is_refused(tmp_path, monkeypatch) -> None:
    # `models export champion --out champion` must not make `--model champion` load the copy.
    from riskstrat.modeling._registry_refs import bundle_folder

    monkeypatch.chdir(tmp_path)
    for name in ("champion", "riskstrat-psych@challenger", "riskstrat-psych/3", "7"):
        (tmp_path / name).mkdir(parents=True)
        with pytest.raises(TrackingError, match=f"model '{name}' is both a registry reference"):
            bundle_folder(name)
        with pytest.raises(TrackingError, match=r"write \./"):
            resolve_model(name, tracking_uri=f"sqlite:///{tmp_path / 'none.db'}")
    assert bundle_folder("./champion") == Path("./champion")
    assert bundle_folder(Path("champion")) == Path("champion")
    # A path, there or not: a folder that is not there is reported as such.
    assert bundle_folder("models/composite") == Path("models/composite")
    (tmp_path / "models" / "composite").mkdir(parents=True)
    assert bundle_folder("models/composite") == Path("models/composite")
    assert bundle_folder("challenger") is None


def test_a_registered_model_without_its_sha256_pin_is_refused(tmp_path: Path) -> None:
    uri, _source = _log_one(tmp_path, "named")
    MlflowClient(uri).delete_model_version_tag("named", "1", T.SHA_TAG)
    with pytest.raises(TrackingError, match=r"'named' version 1 has no riskstrat\.bundle_sha256"):
        resolve_model("named/1", uri)


def test_a_bundle_artifact_outside_the_downloaded_model_is_refused(tmp_path: Path) -> None:
    uri, _source = _log_one(tmp_path, "named")
    (mlmodel,) = [p for p in (tmp_path / "art").rglob("MLmodel")]
    text = mlmodel.read_text()
    assert "\n    data: data/bundle\n" in text
    mlmodel.write_text(text.replace("data: data/bundle", f"data: {tmp_path / 'elsewhere'}"))
    with pytest.raises(TrackingError, match="points the bundle outside"):
        resolve_model("named/1", uri)


def test_a_tracking_uri_that_cannot_work_is_refused_up_front(tmp_path: Path) -> None:
    import socket

    with pytest.raises(TrackingError, match=r"'/x/mlruns\.db' is not a URI; expected sqlite:///"):
        T.check_tracking_uri("/x/mlruns.db")
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(TrackingError, match=f"cannot connect to 127.0.0.1:{port}"):
            T.check_tracking_uri(f"http://127.0.0.1:{port}")
    assert T.check_tracking_uri(f"sqlite:///{tmp_path / 'mlruns.db'}", writable=True)
    # A new store in a folder that is not there is a mistyped path more often than not: it
    # would start a second registry that promote and score never read.
    typo = f"sqlite:///{tmp_path / 'nwe' / 'mlruns.db'}"
    with pytest.raises(TrackingError, match=r"the folder .*nwe does not exist; expected"):
        T.check_tracking_uri(typo, writable=True)
    assert not (tmp_path / "nwe").exists()
    # Training refuses both before reading any data (the folder does not exist).
    for uri in ("/x/mlruns.db", f"http://127.0.0.1:{port}"):
        with pytest.raises(TrackingError):
            train({}, tmp_path / "no_such_folder", tracking_uri=uri)


def test_a_store_copied_to_another_folder_is_refused_before_it_writes_back(tmp_path) -> None:
    # MLflow keeps absolute artifact locations: a copy would log into the original's folder.
    import shutil

    original = tmp_path / "original"
    uri, _source = _log_one_default(original)
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    copied = f"sqlite:///{copy / 'mlruns.db'}"
    with pytest.raises(TrackingError, match=r"keeps its artifacts in .*original.* copied or moved"):
        T.check_store(copied)
    with pytest.raises(TrackingError, match="copied or moved"):
        log_training_run(_bundle(5, "v2"), model_name="named", tracking_uri=copied)
    before = sorted(p.relative_to(original) for p in original.rglob("*"))
    with pytest.raises(TrackingError):
        train({}, tmp_path / "no_such_folder", tracking_uri=copied)
    assert sorted(p.relative_to(original) for p in original.rglob("*")) == before
    T.check_store(uri)  # the store where it was made is fine
    # The database alone copied, without its artifacts: refused just the same.
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy2(original / "mlruns.db", alone / "mlruns.db")
    with pytest.raises(TrackingError, match=r"keeps its artifacts in .*original.* copied or moved"):
        T.check_store(f"sqlite:///{alone / 'mlruns.db'}")
    assert not (alone / "mlartifacts").exists()


def _log_one_default(folder: Path) -> tuple[str, str]:
    """Log one model with artifacts in their default place, beside the database."""
    folder.mkdir()
    uri = f"sqlite:///{folder / 'mlruns.db'}"
    log_training_run(_bundle(4, "v1"), model_name="named", tracking_uri=uri)
    return uri, MlflowClient(uri).get_model_version_download_uri("named", "1")


def _other_application(path: Path) -> bytes:
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("CREATE TABLE clients (id INTEGER)")
    con.commit()
    con.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "an empty file"), (b"log\n", "not an SQLite"), (None, "of another application")],
)
def test_a_file_that_is_no_store_is_named_and_left_as_it_was(tmp_path, content, problem) -> None:
    from riskstrat.modeling._tracking import check_store

    store = tmp_path / "store.db"
    if content is None:
        content = _other_application(store)
    store.write_bytes(content)
    uri = f"sqlite:///{store}"
    for attempt in (
        lambda: resolve_model("champion", uri, model_name="m"),
        lambda: list_models(tracking_uri=uri),
        lambda: check_store(uri),
    ):
        with pytest.raises(ValueError) as info:
            attempt()
        assert problem in str(info.value) and "not an MLflow store" in str(info.value)
    # MLflow never wrote its schema into it.
    assert store.read_bytes() == content


# Every variable MLflow 3 takes for a CI machine or a test run (mlflow.telemetry.utils).
_CI_MARKERS = (
    "PYTEST_CURRENT_TEST",
    "GITHUB_ACTIONS",
    "CI",
    "CIRCLECI",
    "GITLAB_CI",
    "JENKINS_URL",
    "TRAVIS",
    "TF_BUILD",
    "BITBUCKET_BUILD_NUMBER",
    "CODEBUILD_BUILD_ARN",
    "BUILDKITE",
    "TEAMCITY_VERSION",
    "CLOUD_RUN_EXECUTION",
    "RUNBOT_HOST_URL",
    "RUNBOT_BUILD_NAME",
    "RUNBOT_WORKER_ID",
)


@pytest.mark.parametrize("mlflow_first", [False, True])
def test_mlflow_telemetry_is_off_outside_tests_too(tmp_path: Path, mlflow_first: bool) -> None:
    # MLflow turns its telemetry off under pytest and CI by itself, so a child process
    # without those markers is what a county machine looks like.
    env = {k: v for k, v in os.environ.items() if k not in _CI_MARKERS}
    env.pop("MLFLOW_DISABLE_TELEMETRY", None)
    child = (
        ("import mlflow\n" if mlflow_first else "")
        + "import riskstrat\n"
        + "from riskstrat.modeling._tracking import _session\n"
        + f"with _session('sqlite:///{tmp_path / 'mlruns.db'}'):\n"
        + "    from mlflow.telemetry import get_telemetry_client\n"
        + "    print(get_telemetry_client())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "None"


def test_a_user_who_wants_mlflow_telemetry_keeps_it() -> None:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "false"}
    child = "import os, riskstrat; print(os.environ['MLFLOW_DISABLE_TELEMETRY'])"
    result = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True)
    assert result.stdout.strip() == "false"


def test_the_stored_bundle_is_found_in_new_and_older_models() -> None:
    from riskstrat.modeling._registry_refs import _stored_bundle

    ours = {"loader_module": "riskstrat.modeling._pyfunc", "data": "data/bundle"}
    assert _stored_bundle({"flavors": {"python_function": ours}}) == "data/bundle"
    # Registered before 2026-12-06: a models-from-code wrapper with a 'bundle' artifact.
    older = {"artifacts": {"bundle": {"path": "artifacts/bundle", "uri": "/x"}}}
    assert _stored_bundle({"flavors": {"python_function": older}}) == "artifacts/bundle"
    # Another loader's data is not taken for a bundle.
    theirs = {**ours, "loader_module": "someone.else"}
    assert _stored_bundle({"flavors": {"python_function": theirs}}) is None
    assert _stored_bundle({"flavors": None}) is None


def test_every_page_of_registered_models_is_read() -> None:
    # MLflow returns 100 models a page: an alias held by the 101st was not found.
    from riskstrat.modeling._registry_refs import registered_models

    class Page(list):
        def __init__(self, items, token):
            super().__init__(items)
            self.token = token

    class Client:
        def search_registered_models(self, max_results, page_token):
            start = int(page_token or 0)
            end = min(start + 2, 5)
            return Page(range(start, end), str(end) if end < 5 else None)

    assert registered_models(Client()) == [0, 1, 2, 3, 4]


def test_an_alias_named_like_a_number_is_an_alias(registry: SimpleNamespace) -> None:
    # MLflow allows an alias "1"; NAME@1 once loaded version 1 whatever the alias pointed to.
    from riskstrat.modeling._registry_refs import _parse_ref

    client = MlflowClient(registry.uri)
    assert _parse_ref(client, f"{NAME}@1", None, registry.uri) == (NAME, "1", False)
    assert _parse_ref(client, f"{NAME}/1", None, registry.uri) == (NAME, "1", True)
    assert _parse_ref(client, "1", None, registry.uri) == (NAME, "1", True)
    assert _parse_ref(client, "champion", None, registry.uri)[2] is False


def test_promoting_a_version_a_baseline_beat_is_said(tmp_path: Path, caplog) -> None:
    uri = f"sqlite:///{tmp_path / 'r.db'}"
    # As a training run logs them: the model minus each scorer, the oracle's always below.
    metrics = {
        "model_vs_rule.diff_auroc": -0.013,
        "model_vs_single_feature.diff_auroc": 0.21,
        "model_vs_oracle.diff_auroc": -0.04,
    }
    log_training_run(_bundle(2, "v1"), metrics=metrics, model_name="m", tracking_uri=uri)
    log_training_run(
        _bundle(3, "v2"),
        metrics={"model_vs_rule.diff_auroc": 0.02},
        model_name="m",
        tracking_uri=uri,
    )
    promote("m", 2, tracking_uri=uri)
    assert "ranked its test quarter better" not in caplog.text
    promote("m", 1, tracking_uri=uri)
    assert (
        "m version 1: the baseline rule by 0.013 ranked its test quarter better by AUROC "
        "(its training run); promoted as asked"
    ) in caplog.text
    assert "single_feature" not in caplog.text and "oracle" not in caplog.text


def test_promoting_a_version_a_baseline_beat_says_so(tmp_path, monkeypatch) -> None:
    import logging

    monkeypatch.setattr(logging.root, "handlers", [])  # as outside pytest
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    config_file = tmp_path / "model.yaml"
    config_file.write_text("model:\n  outcome: jail_booking\n")
    log_training_run(
        _bundle(0, "v1"),
        config_paths=[config_file],
        params={},
        # The training run ranked the test quarter worse than the rule baseline did.
        metrics={"model_vs_rule": {"diff_auroc": -0.011}, "model_vs_oracle": {"diff_auroc": -0.04}},
        plots=[],
        feature_names=FEATURES,
        data_fingerprint="f" * 64,
        tracking_uri=uri,
        artifact_dir=tmp_path / "mlartifacts",
    )
    result = CliRunner().invoke(app, ["models", "promote", NAME, "1", "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    assert "is now champion" in result.stdout
    warning = " ".join(result.stderr.split())
    assert warning.startswith("warning:") and "rule by 0.011" in warning
    assert "oracle" not in warning  # no scorer is expected to beat the truth


def test_a_registered_model_whose_files_are_gone_is_a_usage_error_naming_their_place(
    tmp_path: Path,
) -> None:
    """The database copied without mlartifacts/, or the folder moved: not a bundle that
    failed verification (score's exit 3), but where the registry looks for the files."""
    import shutil

    from riskstrat.modeling import ModelReferenceError

    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    log_training_run(
        _bundle(5, "v1"), model_name="m", tracking_uri=uri, artifact_dir=tmp_path / "art"
    )
    where = MlflowClient(uri).get_model_version_download_uri("m", "1")
    shutil.move(tmp_path / "art", tmp_path / "elsewhere")
    with pytest.raises(ModelReferenceError) as info:
        resolve_model("challenger", uri)
    message = str(info.value)
    assert message.startswith(f"registered model 'm' version 1: its files are not at {where}")
    assert "an mlartifacts/ folder moved, deleted or not copied" in message


def test_a_registered_model_with_a_link_out_of_its_store_is_a_usage_error(tmp_path) -> None:
    """MLflow refuses to follow a link leading out of the artifact folder: said as a usage
    error naming the model, not a traceback."""
    import shutil

    from riskstrat.modeling import ModelReferenceError

    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    log_training_run(
        _bundle(5, "v1"), model_name="m", tracking_uri=uri, artifact_dir=tmp_path / "art"
    )
    (stored,) = [p for p in (tmp_path / "art").rglob("bundle") if p.is_dir()]
    shutil.move(stored, tmp_path / "outside")
    stored.symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(ModelReferenceError) as info:
        resolve_model("challenger", uri)
    message = str(info.value)
    assert message.startswith("registered model 'm' version 1: the tracking store refused")
    assert "expected plain files there" in message


def test_a_registered_model_mlflow_fails_to_copy_is_a_usage_error_in_its_words(
    tmp_path, monkeypatch
) -> None:
    """A file another account wrote 0600: MLflow gathers the failures into one exception."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from riskstrat.modeling import ModelReferenceError

    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    log_training_run(
        _bundle(5, "v1"), model_name="m", tracking_uri=uri, artifact_dir=tmp_path / "art"
    )

    def failed(**_kwargs):
        raise MlflowException(
            "The following failures occurred while downloading one or more artifacts: "
            "{'data/bundle/model.txt': 'PermissionError(13)'}",
            error_code="INTERNAL_ERROR",
        )

    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", failed)
    with pytest.raises(ModelReferenceError) as info:
        resolve_model("challenger", uri)
    message = str(info.value)
    assert message.startswith("registered model 'm' version 1: its files could not be copied")
    assert "'data/bundle/model.txt': 'PermissionError(13)'" in message


def test_a_registered_model_whose_files_may_not_be_read_says_so(tmp_path, monkeypatch) -> None:
    """Not "moved or deleted", nor the run's --data and --out: the store's folder."""
    import mlflow

    from riskstrat.modeling import ModelReferenceError

    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    log_training_run(
        _bundle(5, "v1"), model_name="m", tracking_uri=uri, artifact_dir=tmp_path / "art"
    )

    def refused(**_kwargs):  # root, who runs CI, is not stopped by permission bits
        raise PermissionError(13, "Permission denied", str(tmp_path / "art"))

    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", refused)
    with pytest.raises(ModelReferenceError) as info:
        resolve_model("challenger", uri)
    assert str(info.value) == (
        f"registered model 'm' version 1: {tmp_path / 'art'}: Permission denied; expected the "
        "tracking store's artifact folder readable by the user the job runs as"
    )


def test_models_commands_say_in_one_line_when_the_registry_refuses(tmp_path) -> None:
    # A store of another MLflow schema version: MLflow's refusal, not a traceback (exit 2).
    import shutil
    import sqlite3

    from typer.testing import CliRunner

    from riskstrat.cli import app

    _log_one_default(tmp_path / "store")
    # A copy: this process holds the original open, its schema already checked.
    (tmp_path / "old").mkdir()
    shutil.copy2(tmp_path / "store" / "mlruns.db", tmp_path / "old" / "mlruns.db")
    with sqlite3.connect(tmp_path / "old" / "mlruns.db") as con:
        con.execute("UPDATE alembic_version SET version_num = '0000aaaa'")
    uri = f"sqlite:///{tmp_path / 'old' / 'mlruns.db'}"
    for args in (
        ["models", "list"],
        ["models", "promote", "named", "1"],
        ["models", "export", "named/1", "--out", str(tmp_path / "out")],
    ):
        result = CliRunner().invoke(app, [*args, "--tracking-uri", uri])
        assert result.exit_code == 2, result.output
        said = " ".join(result.output.split())
        assert "error: the model registry refused the request: " in said, said
        assert "Traceback" not in result.output
    # An --out inside a file: named in one line, exit 2, not a traceback.
    (tmp_path / "a-file").write_text("")
    inside = ["models", "export", "named/1", "--out", str(tmp_path / "a-file" / "x")]
    result = CliRunner().invoke(
        app, [*inside, "--tracking-uri", f"sqlite:///{tmp_path / 'store' / 'mlruns.db'}"]
    )
    assert result.exit_code == 2, result.output
    assert "Not a directory" in result.output and "expected a folder path" in result.output


def test_a_new_embedded_store_is_its_owners_only(tmp_path: Path) -> None:
    import os
    import stat

    # Its database and artifacts keep exact small counts (metadata.json), which the
    # reports hide: not readable by the machine's other users under a usual umask.
    previous = os.umask(0o022)
    try:
        uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
        log_training_run(_bundle(4, "v1"), model_name="private", tracking_uri=uri)
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o750)  # a folder the county set up keeps its access
        other = f"sqlite:///{shared / 'runs.db'}"
        log_training_run(
            _bundle(4, "v1"), model_name="kept", tracking_uri=other, artifact_dir=shared
        )
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "mlruns.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "mlartifacts").stat().st_mode) == 0o700
    assert stat.S_IMODE(shared.stat().st_mode) == 0o750
    assert MlflowClient(uri).get_registered_model("private").name == "private"
