"""`riskstrat train` end to end on a small synthetic county (real feature/outcome stages)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

import riskstrat
from riskstrat.cli import EXIT_DATA, EXIT_OK, EXIT_USAGE, app
from riskstrat.modeling import ModelBundle, resolve_model

from .conftest import pinned_small_counts, readable_small_counts

runner = CliRunner()
COUNTY = {"n_persons": 900, "start": "2019-01-01", "end": "2024-01-01", "seed": 3}


def train_cli(*args: str) -> object:
    """``riskstrat train ARGS`` in-process, wide enough that messages are not wrapped."""
    return runner.invoke(app, ["train", *args], terminal_width=200)


@pytest.fixture(autouse=True)
def _work_in_tmp(tmp_path, monkeypatch) -> None:
    # `riskstrat train` tracks to sqlite:///mlruns.db in the working directory by default.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    from riskstrat.synth import synthesize

    out = tmp_path_factory.mktemp("county")
    synthesize(**COUNTY).write(out)
    return out


@pytest.fixture(scope="module")
def small_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "model.yaml"
    config = {
        "model": {
            "lightgbm": {"n_estimators": 60, "min_child_samples": 30, "n_jobs": 1},
            "split": {"n_test": 1, "n_train": 2},
            "metrics": {"n_bootstrap": 20, "capacity_scale": 0.05},
        }
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_train_prints_metrics_and_writes_a_bundle(
    county, small_config, tmp_path, monkeypatch
) -> None:
    # As outside pytest, whose log capture would otherwise take what the command logs.
    monkeypatch.setattr(logging.root, "handlers", [])
    out = tmp_path / "models" / "composite"
    result = train_cli(
        "--config",
        str(small_config),
        "--data",
        str(county),
        "--truth",
        str(county / "truth" / "truth.parquet"),
        "--out",
        str(out),
    )
    assert result.exit_code == EXIT_OK, result.output
    # Metrics by their labels for a reader (metrics.csv keeps the code's names).
    for text in ("AUROC", "ECE", "precision at isr", "oracle", "rule", "single_feature"):
        assert text in result.output
    assert "test 2023-01-01" in result.output
    # Printed in the summary, not logged on stderr as well.
    assert result.stdout.count("k is at least half the test quarter") == 1
    assert "k is at least half" not in result.stderr
    assert "data fingerprint (sha256 of the tables as loaded): " in result.output
    assert len(ModelBundle.load(out).metadata["data_fingerprint"]) == 64
    # What the run read is in every record of it: terminal, bundle and summary.
    assert "none set aside by the data contract" in result.output
    inputs = ModelBundle.load(out).metadata["inputs"]
    assert inputs["validated"] and inputs["rows_set_aside"] == {}
    assert inputs["rows_used"]["persons"] == COUNTY["n_persons"]
    summary = (tmp_path / "models" / "composite-evaluation" / "summary.md").read_text()
    assert "- intervals: 95% percentile bootstrap over 20 resamples" in summary
    assert "none set aside by the data contract" in summary
    code = ModelBundle.load(out).metadata["packages"]["riskstrat_code_sha256"]
    assert f"- software: riskstrat {riskstrat.__version__} (code sha256 {code[:12]})," in summary
    # Tracked by default, to the embedded store in the working directory.
    assert f"bundle: {out}" in result.output
    bundle = ModelBundle.load(out)
    assert bundle.kind == "lightgbm"
    assert bundle.outcome == "composite_adverse"
    assert not {"sex", "race_ethnicity"} & set(bundle.features)
    assert (tmp_path / "models" / "composite-evaluation" / "plots" / "roc.png").is_file()
    assert "what drives the score: top 10 features" in result.output
    assert "each programme's own rule on the places it fills" in result.output
    metrics = pd.read_csv(tmp_path / "models" / "composite-evaluation" / "metrics.csv")
    own = metrics[metrics["scorer"] == "programme_rule"]
    assert set(own["metric"]) >= {"eligible_isr", "places_isr", "precision_at_k_isr"}
    # Tracked by default, to the embedded store in the working directory.
    assert (tmp_path / "mlruns.db").is_file()
    # The version an operator promotes, said where the run is.
    assert (
        "registered as riskstrat-composite_adverse version 1, the challenger (`riskstrat models "
        "promote riskstrat-composite_adverse 1` makes it the champion)"
    ) in " ".join(result.output.split())
    registered = resolve_model("challenger", tracking_uri="sqlite:///mlruns.db")
    assert registered.sha256 == bundle.sha256
    client = MlflowClient("sqlite:///mlruns.db")
    (run,) = client.search_runs([client.get_experiment_by_name("riskstrat").experiment_id])
    logged = client.list_artifacts(run.info.run_id, "evaluation")
    assert {"evaluation/importance.csv", "evaluation/subgroups.csv"} <= {a.path for a in logged}
    # The page an evaluator opens, as the evaluation folder has it, plots embedded.
    assert "evaluation/report.html" in {a.path for a in logged}
    page = Path(client.download_artifacts(run.info.run_id, "evaluation/report.html", str(tmp_path)))
    assert (
        page.read_text()
        == (tmp_path / "models" / "composite-evaluation" / "report.html").read_text()
    )
    assert "data:image/png;base64," in page.read_text()


def test_train_reports_every_scorer_by_group_hiding_small_counts(county, small_config, tmp_path):
    out = tmp_path / "models" / "composite"
    truth = county / "truth" / "truth.parquet"
    args = ("--config", str(small_config), "--data", str(county), "--truth", str(truth))
    result = train_cli(*args, "--out", str(out), "--no-tracking")
    assert result.exit_code == EXIT_OK, result.output
    assert "by sex (test quarter; recall at" in result.output
    # And who gets the places, one line per attribute (the table is in summary.md).
    impact = "Share selected, lowest over highest of the named groups shown"
    assert f"race_ethnicity: {impact}" in result.output
    # The rule's and the oracle's beside the model's: a flag they share is not the model's.
    line = next(x for x in result.output.splitlines() if x.startswith("race_ethnicity: Share"))
    assert "impact ratio): model " in line and "; rule " in line and "; oracle " in line
    # Not for sex: here M, U and X are pooled, which leaves one named group.
    assert f"sex: {impact}" not in result.output
    folder = tmp_path / "models" / "composite-evaluation"
    table = pd.read_csv(folder / "subgroups.csv")
    # The sensitive attributes, then the audit groups (reported, not withheld).
    assert list(dict.fromkeys(table["attribute"])) == ["race_ethnicity", "sex", "age_band", "spa"]
    assert set(table["scorer"]) == {
        "observed",
        "model",
        "rule",
        "single_feature",
        "oracle",
        "model_vs_oracle",
    }
    # 900 persons: several groups are small, and no count of 1 to 10 people can be read
    # or worked out of the table.
    assert table.loc[table["suppressed"], "estimate"].isna().all()
    assert not readable_small_counts(table), readable_small_counts(table)
    assert not pinned_small_counts(table), pinned_small_counts(table)
    # Groups under 11 people are pooled: every group shown has 11 or more.
    sizes = table[(table["metric"] == "n") & ~table["suppressed"]]
    assert (sizes["estimate"] >= 11).all()
    assert table["group"].str.startswith("pooled: ").any()
    summary = (folder / "summary.md").read_text()
    assert "## By race_ethnicity (test quarter; '-': hidden" in summary
    assert "## By age_band (test quarter; '-': hidden" in summary
    assert (folder / "plots" / "subgroups.png").is_file()
    # Who gets the places: each group's share selected, as subgroups.csv has it.
    lines = summary.split("## By sex (test quarter")[1].splitlines()
    header = next(line for line in lines if line.startswith("| group"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    programme = next(c for c in columns if c.endswith("selected: model")).split(" ")[0]
    every = next(line for line in lines if line.startswith("| all "))
    cells = dict(zip(columns, (c.strip() for c in every.strip("|").split("|")), strict=True))
    for scorer in ("model", "rule"):
        rate = table[
            (table["attribute"] == "sex")
            & (table["group"] == "all")
            & (table["scorer"] == scorer)
            & (table["metric"] == f"selection_rate_at_k_{programme}")
        ]["estimate"].item()
        assert cells[f"{programme} selected: {scorer}"] == f"{rate:.3f}"
    # And how evenly: the model's rates at that capacity with their ratios to the largest
    # group shown, which reads 1.
    model = table[(table["attribute"] == "sex") & (table["scorer"] == "model")]
    model = model.set_index(["group", "metric"])["estimate"]
    people = table[(table["attribute"] == "sex") & (table["metric"] == "n") & ~table["suppressed"]]
    people = people[people["group"] != "all"]
    largest = people.loc[people["estimate"].idxmax(), "group"]
    assert model[(largest, f"selection_rate_ratio_at_k_{programme}")] == 1.0
    title = "## By sex: the model's top "
    assert (
        f"ratios to sex {largest}, the largest group shown"
        in summary.split(title)[1].splitlines()[0]
    )
    lines = summary.split(title)[1].splitlines()
    every = next(line for line in lines if line.startswith("| all "))
    precision = model[("all", f"precision_at_k_{programme}")]
    assert every.split("|")[6].strip().startswith(f"{precision:.3f} [")


def test_no_tracking_writes_no_store(county, small_config, tmp_path, monkeypatch) -> None:
    # Not even when the environment names a store.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'env.db'}")
    result = train_cli("--config", str(small_config), "--data", str(county), "--no-tracking")
    assert result.exit_code == EXIT_OK, result.output
    assert "MLflow run" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_config_errors_exit_2(county, tmp_path) -> None:
    bad = tmp_path / "model.yaml"
    bad.write_text("model:\n  kind: xgboost\n")
    result = train_cli("--config", str(bad), "--data", str(county))
    assert result.exit_code == EXIT_USAGE
    assert "model.kind" in result.output
    assert f"(in {bad})" in result.output


def test_missing_truth_file_exits_2(county, small_config, tmp_path) -> None:
    result = train_cli(
        "--config",
        str(small_config),
        "--data",
        str(county),
        "--truth",
        str(tmp_path / "nope.parquet"),
    )
    assert result.exit_code == EXIT_USAGE


def test_too_little_history_exits_1(small_config, tmp_path) -> None:
    from riskstrat.synth import synthesize

    short = tmp_path / "short"
    synthesize(50, "2022-01-01", "2023-06-01", seed=1).write(short)
    result = train_cli("--config", str(small_config), "--data", str(short))
    assert result.exit_code == EXIT_DATA
    assert "fully observed" in result.output


def test_a_header_only_table_the_label_counts_exits_1(county, small_config, tmp_path) -> None:
    # A failed export of the jail bookings: composite_adverse would be trained without them.
    import shutil

    data = tmp_path / "data"
    shutil.copytree(county, data, ignore=shutil.ignore_patterns("truth"))
    justice = pd.read_parquet(data / "justice.parquet")
    justice.iloc[:0].to_parquet(data / "justice.parquet", index=False)
    result = train_cli("--config", str(small_config), "--data", str(data), "--no-tracking")
    assert result.exit_code == EXIT_DATA, result.output
    said = " ".join(result.output.split())
    assert "data: justice: no rows (a file with a header only), but the outcome" in said
    # An outcome that counts no justice event trains as before.
    result = train_cli(
        "--config",
        str(small_config),
        "--data",
        str(data),
        "--no-tracking",
        "--outcome",
        "psych_crisis",
    )
    assert result.exit_code == 0, result.output


def test_outcome_option_overrides_the_config(county, small_config, tmp_path) -> None:
    out = tmp_path / "models" / "jail"
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    result = train_cli(
        "--config",
        str(small_config),
        "--data",
        str(county),
        "--outcome",
        "jail_booking",
        "--out",
        str(out),
        "--tracking-uri",
        uri,
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "jail_booking: test quarter" in result.output
    bundle = ModelBundle.load(out)
    assert bundle.outcome == "jail_booking"
    # The run keeps the file as given and the config it really used.
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    (run,) = client.search_runs(client.search_experiments()[0].experiment_id)
    assert run.data.params["outcome"] == "jail_booking"
    logged = {a.path for a in client.list_artifacts(run.info.run_id, "config")}
    assert {"config/model.yaml", "config/model_config.effective.json"} <= logged
    effective = client.download_artifacts(
        run.info.run_id, "config/model_config.effective.json", str(tmp_path)
    )
    assert json.loads(Path(effective).read_text())["model"]["outcome"] == "jail_booking"


def test_unknown_outcome_exits_2_naming_the_choices(county, small_config, tmp_path) -> None:
    out = tmp_path / "models" / "nope"
    result = train_cli(
        "--config",
        str(small_config),
        "--data",
        str(county),
        "--outcome",
        "no_such_outcome",
        "--out",
        str(out),
    )
    assert result.exit_code == EXIT_USAGE
    assert "no_such_outcome" in result.output
    assert "composite_adverse" in result.output
    assert not out.exists()


def test_unknown_outcome_in_the_config_exits_2_before_reading_data(tmp_path) -> None:
    config = tmp_path / "model.yaml"
    config.write_text(yaml.safe_dump({"model": {"outcome": "jail_bookings"}}))
    result = train_cli("--config", str(config), "--data", str(tmp_path / "no_such_folder"))
    assert result.exit_code == EXIT_USAGE
    assert "model.outcome: unknown outcome 'jail_bookings'" in result.output
    assert "jail_booking" in result.output
    assert f"(in {config})" in " ".join(result.output.split())  # where it was typed


def test_continuous_outcome_is_refused(tmp_path) -> None:
    result = train_cli("--data", str(tmp_path), "--outcome", "total_cost")
    assert result.exit_code == EXIT_USAGE
    assert "--outcome: outcome 'total_cost' is continuous" in result.output


@pytest.mark.parametrize(
    ("model", "path", "name"),
    [
        ({"single_feature": "psych_admits_365d"}, "model.single_feature", "psych_admits_365d"),
        ({"features": ["age", "ed_visit_365d"]}, "model.features[1]", "ed_visit_365d"),
        ({"exclude_features": ["homeless"]}, "model.exclude_features[0]", "homeless"),
    ],
)
def test_unknown_feature_names_exit_2_before_reading_data(model, path, name, tmp_path) -> None:
    config = tmp_path / "model.yaml"
    config.write_text(yaml.safe_dump({"model": model}))
    result = train_cli("--config", str(config), "--data", str(tmp_path / "no_such_folder"))
    assert result.exit_code == EXIT_USAGE, result.output
    assert f"{path}: unknown feature {name!r}" in result.output


def test_a_split_horizon_other_than_the_outcomes_exits_2_before_reading_data(tmp_path) -> None:
    # A 6-month split with 12-month labels would let training windows overlap calibration's.
    config = tmp_path / "model.yaml"
    config.write_text(yaml.safe_dump({"model": {"split": {"horizon_months": 6}}}))
    result = train_cli("--config", str(config), "--data", str(tmp_path / "no_such_folder"))
    assert result.exit_code == EXIT_USAGE
    assert (
        "model.split.horizon_months: 6 months, but outcome 'composite_adverse' is counted over "
        "12 months" in result.output
    )
    from riskstrat._config import ConfigError
    from riskstrat.modeling import train

    with pytest.raises(ConfigError, match=r"^model\.split\.horizon_months: 6 months"):
        train({"split": {"horizon_months": 6}}, tmp_path / "no_such_folder")


def test_a_truth_table_for_another_county_is_refused_before_the_panel(county, tmp_path) -> None:
    from riskstrat.modeling import train
    from riskstrat.synth import county_identity

    identity = county_identity(county)
    assert identity is not None and county_identity(tmp_path) is None
    other = pd.DataFrame({"person_id": ["x"], "as_of": [pd.Timestamp("2023-01-01")]})
    other.attrs.update(riskstrat_oracle="as_of", draws=32, county="0" * 64)
    stages = []
    with pytest.raises(ValueError, match=r"made for another synthetic county than .*seed"):
        train({}, county, truth=other, progress=stages.append, track=False)
    assert "build panel" not in stages
    other.attrs["county"] = identity  # the same county passes this check (rows are matched later)
    from riskstrat.modeling._truth import check_truth_county

    check_truth_county(other, county)


@pytest.mark.parametrize(
    "change", [{"seed": 4}, {"bias": {"enabled": False}}], ids=["seed", "bias"]
)
def test_a_path_oracle_of_another_county_is_refused(county, change, tmp_path) -> None:
    from riskstrat.modeling import train
    from riskstrat.modeling._truth import OTHER_COUNTY, check_truth_county, oracle_kind
    from riskstrat.synth import BiasConfig, synthesize

    arguments = {**COUNTY, **change}
    arguments["bias"] = BiasConfig(**arguments.get("bias", {}))
    other = tmp_path / "other"
    synthesize(**arguments).write(other)
    if "bias" in change:  # the same people: row matching alone would not tell the two apart
        same = pd.read_parquet(other / "persons.parquet", columns=["person_id"])
        assert same.equals(pd.read_parquet(county / "persons.parquet", columns=["person_id"]))
    wrong = other / "truth" / "truth.parquet"
    assert oracle_kind(wrong) == "path"
    message = OTHER_COUNTY.format(truth=wrong, tables=county)
    stages = []
    with pytest.raises(ValueError) as info:
        train({}, county, truth=wrong, progress=stages.append, track=False)
    assert str(info.value) == message
    assert "build panel" not in stages
    result = train_cli("--data", str(county), "--truth", str(wrong), "--no-tracking")
    assert result.exit_code == EXIT_USAGE  # the --truth given is wrong, not the data
    assert message in " ".join(result.output.split())
    check_truth_county(county / "truth" / "truth.parquet", county)  # its own path oracle passes


def test_a_missing_data_folder_is_a_usage_error_naming_the_option(tmp_path) -> None:
    result = train_cli("--data", str(tmp_path / "nope"), "--no-tracking")
    assert result.exit_code == EXIT_USAGE
    assert f"--data: {tmp_path / 'nope'} does not exist" in " ".join(result.output.split())


def test_feature_name_errors_name_the_config_file(tmp_path) -> None:
    config = tmp_path / "m.yaml"
    config.write_text(yaml.safe_dump({"model": {"single_feature": "no_such_feature"}}))
    result = train_cli("--config", str(config), "--data", str(tmp_path))
    assert result.exit_code == EXIT_USAGE
    assert result.output.rstrip().endswith(f"(in {config})")
    assert "model.single_feature: unknown feature 'no_such_feature'" in result.output


def test_a_stray_late_date_stops_training_until_the_data_end_is_given(
    county, small_config, tmp_path
) -> None:
    import datetime as dt
    import shutil

    stray = tmp_path / "stray"
    shutil.copytree(county, stray)
    encounters = pd.read_parquet(stray / "encounters.parquet")
    # One visit keyed in a year late: the data end read from it would move the test
    # quarter into months no source covers.
    encounters.loc[0, ["start_date", "end_date"]] = dt.date(2024, 12, 2)
    encounters.to_parquet(stray / "encounters.parquet", index=False)
    args = ["--config", str(small_config), "--data", str(stray), "--no-tracking"]
    refused = train_cli(*args)
    assert refused.exit_code == EXIT_DATA, refused.output
    assert "the sources do not end together" in refused.output
    assert "encounters runs to 2024-12-02" in refused.output
    given = train_cli(*args, "--data-end", "2024-01-01")
    assert given.exit_code == EXIT_OK, given.output
    assert "test 2023-01-01 (horizon 12 months, data end 2024-01-01)" in given.output
    bad = train_cli(*args, "--data-end", "01/01/2024")
    assert bad.exit_code == EXIT_USAGE
    assert "--data-end" in bad.output


def test_a_folder_where_the_evaluation_goes_is_kept_unless_a_training_wrote_it(
    county, small_config, tmp_path
) -> None:
    out = tmp_path / "models" / "m"
    evaluation = tmp_path / "models" / "m-evaluation"
    evaluation.mkdir(parents=True)
    (evaluation / "notes.txt").write_text("an analyst's notes")
    result = train_cli(
        "--config", str(small_config), "--data", str(county), "--out", str(out), "--no-tracking"
    )
    assert result.exit_code == EXIT_USAGE, result.output
    assert "refusing to replace it" in result.output
    assert "load data" not in result.output  # before any data is read
    assert (evaluation / "notes.txt").read_text() == "an analyst's notes"


def test_a_warning_logged_before_a_failure_is_printed_before_the_error(
    county, small_config, tmp_path, monkeypatch
) -> None:
    # The summary repeats training's warnings, so they are held back; when training fails
    # there is no summary, and a warning such as a source ending early may be the reason.
    import riskstrat.modeling._train as training

    monkeypatch.setattr(logging.root, "handlers", [])  # as outside pytest
    monkeypatch.setattr(training, "coverage_warnings", lambda *a: ["pharmacy ends early"])

    def panel_fails(*args, **kwargs):
        raise ValueError("panel failed")

    monkeypatch.setattr(training, "build_panel", panel_fails)
    args = ["--config", str(small_config), "--data", str(county), "--data-end", "2024-01-01"]
    result = train_cli(*args, "--out", str(tmp_path / "m"), "--no-tracking")
    assert result.exit_code == EXIT_DATA
    lines = result.stderr.strip().splitlines()
    assert lines[-2:] == ["warning: pharmacy ends early", "error: panel failed"]
    assert result.stderr.count("pharmacy ends early") == 1


def test_a_truth_lacking_test_quarters_is_refused_before_the_panel(county, tmp_path) -> None:
    from riskstrat.modeling import train

    stored = pd.read_parquet(county / "truth" / "truth.parquet")
    first = stored["as_of"].min()
    only_first = tmp_path / "first_quarter.parquet"
    stored[stored["as_of"] == first].to_parquet(only_first)
    stages = []
    with pytest.raises(ValueError) as info:
        train({}, county, truth=only_first, progress=stages.append, track=False)
    message = str(info.value)
    assert message.startswith(f"truth {only_first}: no rows for the test quarter(s) ")
    assert f"; it holds {first.isoformat()}. Expected every test quarter" in message
    assert "(riskstrat oracle --as-of " in message
    assert "build panel" not in stages
    result = train_cli("--data", str(county), "--truth", str(only_first), "--no-tracking")
    assert result.exit_code == EXIT_USAGE  # the --truth given is wrong, not the data
    assert "no rows for the test quarter(s)" in " ".join(result.output.split())


def test_a_truth_that_is_not_one_is_a_usage_error(county, tmp_path) -> None:
    # The argument is wrong, not the data: exit 2, as for --out or --tracking-uri.
    not_parquet = tmp_path / "truth.csv"
    not_parquet.write_text("person_id,as_of,composite_adverse\n")
    result = train_cli("--data", str(county), "--truth", str(not_parquet), "--no-tracking")
    assert result.exit_code == EXIT_USAGE, result.output
    assert f"truth {not_parquet}: not a readable Parquet file" in result.output


def test_a_store_it_may_not_write_is_one_line_with_the_warnings_held(county, monkeypatch) -> None:
    import errno
    import logging

    import riskstrat.modeling as modeling

    def refused(*_args, **_kwargs):
        logging.getLogger("riskstrat.modeling._train").warning("a warning held back")
        # Root, who runs CI, is not stopped by permission bits: raise what a user would get.
        raise PermissionError(errno.EACCES, "Permission denied", "/srv/models/.m.tmp-1-a/x")

    monkeypatch.setattr(modeling, "train", refused)
    result = train_cli("--data", str(county), "--no-tracking", "--out", "m")
    assert result.exit_code == EXIT_USAGE, result.output
    text = " ".join(result.output.split())
    assert "warning: a warning held back" in text
    assert "error: /srv/models: Permission denied; expected the inputs readable" in text


def test_a_setting_checked_once_training_began_names_its_file(county, tmp_path) -> None:
    config = tmp_path / "model.yaml"
    config.write_text("model:\n  metrics:\n    capacity_programs: [isr, reentri]\n")
    result = train_cli("--config", str(config), "--data", str(county), "--no-tracking")
    assert result.exit_code == EXIT_USAGE, result.output
    text = " ".join(result.output.split())
    assert "error: model.metrics.capacity_programs[1]: unknown" in text
    assert text.rstrip().endswith(f"(in {config})")


@pytest.mark.usefixtures("duckdb_always_out_of_memory")
def test_a_memory_limit_too_small_for_the_panel_is_a_usage_error(
    county, small_config, tmp_path
) -> None:
    # The operator's setting, as in features and score: exit 2, with the option to raise.
    args = ["--config", str(small_config), "--data", str(county), "--no-tracking"]
    out = tmp_path / "models" / "m"
    result = train_cli(*args, "--out", str(out), "--memory-limit", "40MB")
    assert result.exit_code == EXIT_USAGE, result.output
    said = " ".join(result.output.split())
    assert "error: memory_limit: building features, DuckDB ran out of its 40MB" in said
    assert "--memory-limit of `riskstrat features`, `eligibility`, `train` and `score`" in said
    assert not out.exists()
    refused = train_cli(*args, "--memory-limit", "40 parsecs")
    assert refused.exit_code == EXIT_USAGE, refused.output
    assert "memory_limit: expected a size DuckDB reads" in refused.output
    assert "load data" not in refused.output  # said before the data is read


def test_a_store_that_refuses_the_run_is_one_line_without_its_password(county, monkeypatch) -> None:
    """A tracking server that answers with MLflow's error, naming its own database."""
    from mlflow.exceptions import MlflowException

    import riskstrat.modeling as modeling
    from riskstrat.modeling import _tracking

    def refusing(*_args, **_kwargs):
        raise MlflowException("cannot open postgresql://mlflow:s3cr3t@db/mlflow: timed out")

    uri = "sqlite:///store.db"
    monkeypatch.setattr(_tracking, "_checked_experiment", refusing)  # before training
    result = train_cli("--data", str(county), "--out", "m", "--tracking-uri", uri)
    assert result.exit_code == EXIT_USAGE, result.output
    text = " ".join(result.output.split())
    assert "the model registry refused the request: cannot open postgresql://mlflow:***@db" in text
    assert "s3cr3t" not in text and "Traceback" not in text
    monkeypatch.setattr(modeling, "train", refusing)  # once training began (logging the run)
    result = train_cli("--data", str(county), "--out", "m", "--tracking-uri", uri)
    assert result.exit_code == EXIT_USAGE, result.output
    assert "s3cr3t" not in result.output and "Traceback" not in result.output
    assert "mlflow:***@db" in " ".join(result.output.split())


def test_quiet_training_keeps_every_warning_and_where_it_wrote(
    county, small_config, tmp_path, monkeypatch
) -> None:
    import shutil

    from riskstrat._config import PACKAGE_CONFIGS

    monkeypatch.setattr(logging.root, "handlers", [])  # as outside pytest
    # A county's ./configs holding only programs.yaml: the rest are riskstrat's defaults,
    # which training warns of (a warning the summary does not repeat, once lost).
    (tmp_path / "configs").mkdir()
    shutil.copy(PACKAGE_CONFIGS / "programs.yaml", tmp_path / "configs" / "programs.yaml")
    out = tmp_path / "m"
    args = ["--config", str(small_config), "--data", str(county), "--out", str(out)]
    result = train_cli(*args, "--no-tracking", "--quiet")
    assert result.exit_code == EXIT_OK, result.output
    assert result.stderr.count("configs: the files looked up come from more than one place") == 1
    assert "┃" not in result.stdout and "━" not in result.stderr  # no tables, no bar
    assert f"bundle: {out}" in result.stdout
    # Every warning on stderr, each line starting warning:; stdout says where it wrote.
    assert all(line.startswith(("bundle:", "plots:")) for line in result.stdout.splitlines())
    assert all(line.startswith(("warning:", "  ")) for line in result.stderr.splitlines() if line)
