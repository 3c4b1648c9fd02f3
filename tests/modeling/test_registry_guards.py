"""What the registry refuses before a job scores the wrong thing: a bundle that fails its
checks at promotion, one registered name holding two outcomes, a mistyped reference, a
database driver that is not installed, and a store copied from another folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from riskstrat.cli import app
from riskstrat.modeling import (
    BundleError,
    ModelBundle,
    ModelReferenceError,
    TrackingError,
    log_training_run,
    promote,
    resolve_model,
)
from riskstrat.modeling import _tracking as T
from riskstrat.modeling._bundle_files import CHECKSUMS_FILE

from .test_tracking import FEATURES, _bundle, _calibrated


def _store(folder: Path) -> str:
    folder.mkdir(exist_ok=True)
    return f"sqlite:///{folder / 'mlruns.db'}"


def _store_with_one(folder: Path) -> str:
    uri = _store(folder)
    log_training_run(_bundle(1, "v1"), model_name="m", tracking_uri=uri)
    return uri


def _champion(client: MlflowClient, name: str) -> str | None:
    aliases = client.get_registered_model(name).aliases or {}
    return None if T.CHAMPION not in aliases else str(aliases[T.CHAMPION])


def _champion_and_challenger(folder: Path) -> tuple[str, Path]:
    """A store with version 1 champion and version 2 challenger; version 2's checksums."""
    uri = _store(folder)
    log_training_run(_bundle(1, "v1"), model_name="m", tracking_uri=uri)
    promote("m", 1, tracking_uri=uri)
    log_training_run(_bundle(2, "v2"), model_name="m", tracking_uri=uri)
    (checksums,) = [p for p in folder.rglob(CHECKSUMS_FILE) if "v2" in _version_of(p.parent)]
    return uri, checksums


def test_promote_refuses_a_version_whose_bundle_was_changed(tmp_path: Path) -> None:
    # Version 2's stored calibrator loses a byte: its checksums no longer hold.
    uri, checksums = _champion_and_challenger(tmp_path / "store")
    calibrator = checksums.parent / "calibrator.json"
    calibrator.write_bytes(calibrator.read_bytes()[:-1])
    with pytest.raises(BundleError, match=r"^registered model 'm' version 2: "):
        promote("m", 2, tracking_uri=uri)
    client = MlflowClient(uri)
    assert _champion(client, "m") == "1"  # nothing moved
    assert str(client.get_registered_model("m").aliases[T.CHALLENGER]) == "2"
    refused = CliRunner().invoke(app, ["models", "promote", "m", "2", "--tracking-uri", uri])
    assert refused.exit_code == 1, refused.output  # a failed check, as in export and verify
    assert "version 2" in refused.output and "Traceback" not in refused.output
    assert _champion(client, "m") == "1"
    promote("m", 1, tracking_uri=uri)  # the intact version still promotes


def _version_of(folder: Path) -> str:
    return json.loads((folder / "metadata.json").read_text())["version"]


def test_a_name_holding_another_outcome_takes_no_new_version(tmp_path: Path) -> None:
    uri = _store(tmp_path / "store")
    log_training_run(_bundle(1, "v1"), model_name="riskstrat-composite", tracking_uri=uri)
    # Registering under a name whose versions predict another outcome: refused before
    # anything is logged, by log_training_run and by train's check of the store.
    other = ModelBundle.from_calibrated(
        _calibrated(2), "lightgbm", FEATURES, "psych_admission", {"version": "v2"}
    )
    with pytest.raises(TrackingError) as info:
        log_training_run(other, model_name="riskstrat-composite", tracking_uri=uri)
    message = str(info.value)
    assert message.startswith(
        "registered model 'riskstrat-composite' holds models of outcome jail_booking "
        "(version 1); this model predicts psych_admission"
    )
    client = MlflowClient(uri)
    versions = client.search_model_versions("name = 'riskstrat-composite'")
    assert [str(mv.version) for mv in versions] == ["1"]
    assert len(client.search_runs([client.get_experiment_by_name("riskstrat").experiment_id])) == 1
    tracking = SimpleNamespace(registered_name="riskstrat-composite")
    with pytest.raises(TrackingError, match="holds models of outcome jail_booking"):
        T.check_store(uri, tracking, outcome="psych_admission")
    T.check_store(uri, tracking, outcome="jail_booking")  # the same outcome is fine
    T.check_store(uri, None, outcome="psych_admission")  # its own name: riskstrat-<outcome>
    # Under its own name it registers.
    log_training_run(other, model_name="riskstrat-psych_admission", tracking_uri=uri)


def test_promote_refuses_a_version_of_another_outcome_than_the_champion(tmp_path: Path) -> None:
    """A store written before names were checked may hold two outcomes under one name."""
    uri = _store(tmp_path / "store")
    log_training_run(_bundle(1, "v1"), model_name="m", tracking_uri=uri)
    promote("m", 1, tracking_uri=uri)
    log_training_run(_bundle(2, "v2"), model_name="m", tracking_uri=uri)
    client = MlflowClient(uri)
    client.set_model_version_tag("m", "2", "riskstrat.outcome", "psych_admission")
    with pytest.raises(ModelReferenceError) as info:
        promote("m", 2, tracking_uri=uri)
    assert str(info.value).startswith(
        "m version 2 predicts psych_admission, the champion (version 1) predicts jail_booking"
    )
    assert _champion(client, "m") == "1"
    refused = CliRunner().invoke(app, ["models", "promote", "m", "2", "--tracking-uri", uri])
    assert refused.exit_code == 2, refused.output


@pytest.mark.parametrize(
    "ref",
    [
        "models:/m/x/y",
        "models:/m/latest",
        "models:/m@",
        "models:/m@a/b",
        "models:/m@x@y",
        "m@champion@x",
        "models:/m",  # a registered name alone: no alias or version
    ],
)
def test_a_mistyped_models_uri_is_a_usage_error(tmp_path: Path, ref: str) -> None:
    uri = _store(tmp_path / "store")
    log_training_run(_bundle(1, "v1"), model_name="m", tracking_uri=uri)
    with pytest.raises(ModelReferenceError) as info:
        resolve_model(ref, uri)
    assert str(info.value) == (
        f"model reference {ref!r}: expected models:/NAME@ALIAS or models:/NAME/VERSION "
        "(a version is a number; models:/ may be left out)"
    )
    out = tmp_path / "out"
    refused = CliRunner().invoke(
        app, ["models", "export", ref, "--out", str(out), "--tracking-uri", uri]
    )
    assert refused.exit_code == 2, refused.output  # a slip, not a bundle that failed (1)
    assert not out.exists()


def test_a_bare_alias_no_model_holds_is_said_as_such(tmp_path: Path) -> None:
    uri = _store(tmp_path / "store")
    log_training_run(_bundle(1, "v1"), model_name="a", tracking_uri=uri)
    log_training_run(_bundle(2, "v1"), model_name="b", tracking_uri=uri)
    promote("a", 1, tracking_uri=uri)
    with pytest.raises(ModelReferenceError) as info:
        resolve_model("staging", uri)
    assert str(info.value) == (
        f"model reference 'staging': none of the 2 registered models at {uri} has a version "
        "with alias 'staging' (a: champion; b: challenger); expected an alias one of them "
        "holds, or NAME/VERSION (a bundle folder is named by a path: ./staging or models/staging)"
    )
    # One model: the alias it lacks, and how a folder of that name would be written.
    with pytest.raises(ModelReferenceError) as info:
        resolve_model("composite_adverse", _store_with_one(tmp_path / "one"))
    assert str(info.value).endswith(
        "(a bundle folder is named by a path: ./composite_adverse or models/composite_adverse)"
    )
    with pytest.raises(ModelReferenceError) as info:
        resolve_model("a@staging", uri)
    assert "a bundle folder" not in str(info.value)  # NAME@ALIAS is never a folder
    assert resolve_model("champion", uri).outcome == "jail_booking"  # held by one: found


def test_a_uri_password_is_never_shown() -> None:
    assert T.shown_uri("mysql://u:secret@db.example:3306/ml") == "mysql://u:***@db.example:3306/ml"
    assert T.shown_uri("postgresql://u@h/db") == "postgresql://u@h/db"
    assert T.shown_uri("sqlite:///mlruns.db") == "sqlite:///mlruns.db"
    assert T.shown_uri("not a uri") == "not a uri"


@pytest.mark.parametrize(
    ("uri", "module", "package"),
    [
        ("mysql://u:secret@127.0.0.1/ml", "MySQLdb", "mysqlclient"),
        ("postgresql+psycopg2://u:secret@127.0.0.1:5432/ml", "psycopg2", "psycopg2-binary"),
        ("mssql+pyodbc://u:secret@127.0.0.1/ml", "pyodbc", "pyodbc"),
    ],
)
def test_a_database_store_without_its_driver_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uri: str, module: str, package: str
) -> None:
    pytest.importorskip("sqlalchemy")
    try:
        __import__(module)
    except ImportError:
        pass
    else:
        pytest.skip(f"{module} is installed here")
    with pytest.raises(ModelReferenceError) as info:
        T.check_tracking_uri(uri)
    message = str(info.value)
    assert f"the database driver {module!r}" in message and f"pip install {package}" in message
    assert "secret" not in message and "u:***@127.0.0.1" in message
    monkeypatch.chdir(tmp_path)
    for command in (["models", "list"], ["models", "promote", "m", "1"]):
        refused = CliRunner().invoke(app, [*command, "--tracking-uri", uri])
        assert refused.exit_code == 2, refused.output
        assert "Traceback" not in refused.output and "secret" not in refused.output
        assert "pip install" in refused.output


def test_a_store_copied_with_its_artifacts_says_it_reads_the_original(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    original = tmp_path / "original"
    uri = _store(original)
    log_training_run(_bundle(1, "v1"), model_name="m", tracking_uri=uri)
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    copied = f"sqlite:///{copy / 'mlruns.db'}"
    with caplog.at_level("WARNING"):
        resolve_model("m@challenger", uri)
    assert "copied from another folder" not in caplog.text  # the store where it was made
    with caplog.at_level("WARNING"):
        bundle = resolve_model("m@challenger", copied)
    assert bundle.sha256 == _bundle(1, "v1").sha256
    assert f"the database {copy / 'mlruns.db'} was copied from another folder" in caplog.text
    assert str(original / "mlartifacts") in caplog.text
    # Once the original is gone, the copy's own files are never read: said so, rather than
    # "not copied with the database?".
    shutil.rmtree(original)
    with pytest.raises(ModelReferenceError) as info:
        resolve_model("m@challenger", copied)
    assert "was copied from another folder" in str(info.value)
    assert "in the mlartifacts/ folder beside it, which is never read" in str(info.value)
    assert "not copied with the database" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("mysql://u:p@ss@h/db", "mysql://u:***@h/db"),  # the host follows the last @
        ("mysql://u:secret@[::1]:3306/ml", "mysql://u:***@[::1]:3306/ml"),
        (
            "got unsupported URI 'postgres://u:s3@h/ml' for",
            "got unsupported URI 'postgres://u:***@h/ml' for",
        ),
        ("http://h:5000 and file://u:x@localhost/p", "http://h:5000 and file://u:***@localhost/p"),
        ("postgresql://u:pa/ss@h/db", "postgresql://u:***@h/db"),  # SQLAlchemy reads pa/ss
        (
            "postgresql://u@h/db?sslmode=on&password=s3",
            "postgresql://u@h/db?sslmode=on&password=***",
        ),
        (
            "expected mysql://<user>:<password>@<host>/<db>",
            "expected mysql://<user>:<password>@<host>/<db>",
        ),
        (
            "s3://bucket/key:with@colon and git+ssh://git@host:org/repo",
            "s3://bucket/key:with@colon and git+ssh://git@host:org/repo",
        ),
    ],
)
def test_every_password_in_a_message_is_masked(text: str, shown: str) -> None:
    from riskstrat.modeling._tracking_uri import masked

    assert masked(text) == shown


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("postgres://u:s3cr3t@h/ml", "riskstrat reads no model registry at a postgres:// URI"),
        ("databricks://u:s3cr3t@x", "riskstrat reads no model registry at a databricks:// URI"),
        ("mysql+nosuch://u:s3cr3t@h/ml", "SQLAlchemy knows no driver 'nosuch' for mysql"),
        ("mysql://u:s3cr3t@h:abc/ml", "not a database URL SQLAlchemy can read"),
        ("file://u:s3cr3t@localhost/tmp/x", "no longer keeps a model registry in a file store"),
    ],
)
def test_a_uri_mlflow_cannot_open_is_one_line_without_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uri: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelReferenceError) as info:
        T.check_tracking_uri(uri)
    assert expected in str(info.value) and "s3cr3t" not in str(info.value)
    with pytest.raises(TrackingError) as refused:  # train's check, before data is read
        T.check_store(uri, None, outcome="jail_booking")
    assert "s3cr3t" not in str(refused.value)
    for command in (["models", "list"], ["models", "export", "champion", "--out", "x"]):
        refused = CliRunner().invoke(app, [*command, "--tracking-uri", uri])
        assert refused.exit_code == 2, refused.output
        assert "s3cr3t" not in refused.output and "Traceback" not in refused.output


def test_a_store_whose_artifacts_were_set_elsewhere_is_not_called_a_copy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One database, two experiments: one keeps its artifacts beside it, the other in a
    shared folder chosen from the start."""
    uri = _store(tmp_path / "store")
    log_training_run(_bundle(1, "v1"), model_name="a", tracking_uri=uri)
    log_training_run(
        _bundle(2, "v1"),
        model_name="b",
        tracking_uri=uri,
        artifact_dir=tmp_path / "shared",
        config=SimpleNamespace(experiment="pilot"),
    )
    assert (tmp_path / "store" / "mlartifacts").is_dir()
    with caplog.at_level("WARNING"):
        resolve_model("b@challenger", uri)
        resolve_model("a@challenger", uri)
    assert "copied" not in caplog.text
    shutil.rmtree(tmp_path / "shared")
    with pytest.raises(ModelReferenceError) as info:
        resolve_model("b@challenger", uri)
    assert "was copied from another folder" not in str(info.value)
    assert "its files are not at" in str(info.value)


@pytest.mark.parametrize("name", ["o'brien", 'the "new" one', 'it\'s "both"'])
def test_a_name_with_quotes_holds_one_outcome_too(tmp_path: Path, name: str) -> None:
    uri = _store(tmp_path / "store")
    log_training_run(_bundle(1, "v1"), model_name=name, tracking_uri=uri)
    other = ModelBundle.from_calibrated(_calibrated(2), "lightgbm", FEATURES, "psych_admission")
    with pytest.raises(TrackingError, match="holds models of outcome jail_booking"):
        log_training_run(other, model_name=name, tracking_uri=uri)
    log_training_run(_bundle(3, "v2"), model_name=name, tracking_uri=uri)  # same outcome


def test_a_refused_registration_makes_nothing(tmp_path: Path) -> None:
    uri = _store(tmp_path / "store")
    log_training_run(_bundle(1, "v1"), model_name="m", tracking_uri=uri)
    other = ModelBundle.from_calibrated(_calibrated(2), "lightgbm", FEATURES, "psych_admission")
    client = MlflowClient(uri)
    before = sorted(e.name for e in client.search_experiments())
    with pytest.raises(TrackingError):
        log_training_run(
            other, model_name="m", tracking_uri=uri, config=SimpleNamespace(experiment="new")
        )
    assert sorted(e.name for e in client.search_experiments()) == before


def test_promoting_a_version_written_with_a_leading_zero(tmp_path: Path) -> None:
    uri = _store(tmp_path / "store")
    log_training_run(_bundle(1, "v1"), model_name="p", tracking_uri=uri)
    promote("p", "01", tracking_uri=uri)
    aliases = {k: str(v) for k, v in MlflowClient(uri).get_registered_model("p").aliases.items()}
    assert aliases == {"champion": "1"}  # no longer the challenger


@pytest.mark.parametrize(
    "layout", ["an experiment named mlartifacts", "artifact_dir named mlartifacts"]
)
def test_folders_named_mlartifacts_in_a_store_never_made_a_copy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, layout: str
) -> None:
    uri = _store(tmp_path / "store")
    log_training_run(_bundle(1, "v1"), model_name="a", tracking_uri=uri)  # mlartifacts/ beside
    if layout.startswith("an experiment"):
        kwargs = {"config": SimpleNamespace(experiment="mlartifacts")}
    else:
        kwargs = {
            "config": SimpleNamespace(experiment="pilot"),
            "artifact_dir": tmp_path / "store" / "shared" / "mlartifacts",
        }
    log_training_run(_bundle(2, "v1"), model_name="b", tracking_uri=uri, **kwargs)
    with caplog.at_level("WARNING"):
        resolve_model("b@challenger", uri)
    assert "copied" not in caplog.text


def test_an_interval_of_no_width_never_reads_as_the_value_it_excludes() -> None:
    from riskstrat.modeling._metric_labels import bounds

    assert bounds(0.9996, 0.9996, 3, avoid=1.0) == "[0.9996, 0.9996]"
    assert bounds(-0.0001, -0.0001) == "[0.000, 0.000]"  # no -0.000
    assert bounds(0.918, 0.918, 3, avoid=1.0) == "[0.918, 0.918]"


def test_a_registered_model_missing_its_mlmodel_file_fails_its_check(tmp_path: Path) -> None:
    """One file removed beside the others: a changed model (exit 1), not a store moved."""
    uri, checksums = _champion_and_challenger(tmp_path / "store")
    # The MLflow model folder holding version 2's bundle (its data folder) holds MLmodel.
    mlmodel = next(p for p in checksums.parents if (p / "MLmodel").is_file()) / "MLmodel"
    mlmodel.unlink()
    with pytest.raises(BundleError, match=r"^registered model 'm' version 2: its MLmodel file"):
        promote("m", 2, tracking_uri=uri)
    refused = CliRunner().invoke(app, ["models", "promote", "m", "2", "--tracking-uri", uri])
    assert refused.exit_code == 1, refused.output
    assert _champion(MlflowClient(uri), "m") == "1"


def test_an_export_names_the_registered_version_the_alias_meant(tmp_path: Path) -> None:
    uri, _checksums = _champion_and_challenger(tmp_path / "store")
    out = tmp_path / "exported"
    done = CliRunner().invoke(
        app, ["models", "export", "m@champion", "--out", str(out), "--tracking-uri", uri]
    )
    assert done.exit_code == 0, done.output
    text = " ".join(done.output.split())
    assert text.startswith("Exported registered model m version 1, ModelBundle(")
    assert ModelBundle.load(out).metadata["version"] == "v1"
    again = CliRunner().invoke(app, ["models", "export", str(out), "--out", str(tmp_path / "b")])
    assert again.exit_code == 0 and "registered model" not in again.output  # a folder: no name


def test_a_server_that_is_not_mlflows_is_named_without_its_page(tmp_path: Path) -> None:
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from riskstrat.modeling._tracking_uri import refusal

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # not the test's output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)  # any web server: 404, an HTML page
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://u:s3cr3t@127.0.0.1:{server.server_address[1]}"
        refused = CliRunner().invoke(app, ["models", "list", "--tracking-uri", uri])
        with pytest.raises(TrackingError) as before_training:
            T.check_store(uri, None, outcome="jail_booking")
    finally:
        server.shutdown()
    assert refused.exit_code == 2, refused.output
    for text in (refused.output, str(before_training.value)):
        assert "error code 404" in text and "an HTML page, not MLflow's reply" in text
        assert "<" not in text and "s3cr3t" not in text and "Traceback" not in text
    # A reply that is not a page is shown on one line, cut at 200 characters.
    long = SimpleNamespace(
        message="failed with error code 502. Response body: 'a\nb" + "c" * 300 + "'"
    )
    assert refusal(long) == "failed with error code 502. Response body: 'a b" + "c" * 197 + "...'"
    # A cut that falls between a password and its "@" still shows no password.
    cut = SimpleNamespace(
        message="Response body: '" + "x" * 180 + " http://admin:" + "p" * 40 + "@proxy/'"
    )
    assert "ppp" not in refusal(cut) and "http://admin:***" in refusal(cut)
    assert refusal(SimpleNamespace(message="RESOURCE_DOES_NOT_EXIST: no model 'm'")) == (
        "RESOURCE_DOES_NOT_EXIST: no model 'm'"  # MLflow's own words, no body: as they are
    )
