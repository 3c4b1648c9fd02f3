"""`riskstrat train` end to end on a small synthetic county (real feature/outcome stages)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from riskstrat.cli import EXIT_DATA, EXIT_OK, EXIT_USAGE, app
from riskstrat.modeling import ModelBundle

runner = CliRunner()


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    from riskstrat.synth import synthesize

    out = tmp_path_factory.mktemp("county")
    synthesize(900, "2019-01-01", "2024-01-01", seed=3).write(out)
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


def test_train_prints_metrics_and_writes_a_bundle(county, small_config, tmp_path) -> None:
    out = tmp_path / "models" / "composite"
    result = runner.invoke(
        app,
        [
            "train",
            "--config",
            str(small_config),
            "--data",
            str(county),
            "--truth",
            str(county / "truth" / "truth.parquet"),
            "--out",
            str(out),
        ],
        terminal_width=200,
    )
    assert result.exit_code == EXIT_OK, result.output
    for text in ("auroc", "ece", "precision_at_k_isr", "oracle", "rule", "single_feature"):
        assert text in result.output
    assert "test 2023-01-01" in result.output
    assert f"bundle: {out}" in result.output
    bundle = ModelBundle.load(out)
    assert bundle.kind == "lightgbm"
    assert bundle.outcome == "composite_adverse"
    assert not {"sex", "race_ethnicity"} & set(bundle.features)
    assert (tmp_path / "models" / "composite-evaluation" / "plots" / "roc.png").is_file()


def test_config_errors_exit_2(county, tmp_path) -> None:
    bad = tmp_path / "model.yaml"
    bad.write_text("model:\n  kind: xgboost\n")
    result = runner.invoke(app, ["train", "--config", str(bad), "--data", str(county)])
    assert result.exit_code == EXIT_USAGE
    assert "model.kind" in result.output


def test_missing_truth_file_exits_2(county, small_config, tmp_path) -> None:
    result = runner.invoke(
        app,
        [
            "train",
            "--config",
            str(small_config),
            "--data",
            str(county),
            "--truth",
            str(tmp_path / "nope.parquet"),
        ],
    )
    assert result.exit_code == EXIT_USAGE


def test_too_little_history_exits_1(small_config, tmp_path) -> None:
    from riskstrat.synth import synthesize

    short = tmp_path / "short"
    synthesize(50, "2022-01-01", "2023-06-01", seed=1).write(short)
    result = runner.invoke(
        app, ["train", "--config", str(small_config), "--data", str(short)], terminal_width=200
    )
    assert result.exit_code == EXIT_DATA
    assert "fully observed" in result.output
