"""Where the default configs are found, installed or not, and saying so when they mix."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskstrat._config import (
    DEFAULTS_ORIGIN,
    PACKAGE_CONFIGS,
    ConfigError,
    config_origin,
    default_config_path,
    mixed_origins,
)
from riskstrat.cli import app

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(p.name for p in PACKAGE_CONFIGS.glob("*.yaml"))


def test_the_defaults_live_in_the_package_and_ship_with_it() -> None:
    # A wheel holds what package-data names inside riskstrat/: configs kept beside the
    # package were left out, and an installed riskstrat found none (exit 2 on every run).
    assert NAMES == [
        "conditions.yaml", "contract.yaml", "features.yaml", "model.yaml", "outcomes.yaml",
        "programs.yaml", "tiers.yaml",
    ]  # fmt: skip
    assert all(not (PACKAGE_CONFIGS / n).is_symlink() for n in NAMES)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "configs/*.yaml" in project["tool"]["setuptools"]["package-data"]["riskstrat"]
    # The checkout's configs/ (the README's paths) is the same folder.
    assert (ROOT / "configs").resolve() == PACKAGE_CONFIGS


def test_an_installed_package_finds_its_defaults_from_any_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RISKSTRAT_CONFIG_DIR", raising=False)
    for name in NAMES:
        assert default_config_path(name) == PACKAGE_CONFIGS / name
        assert config_origin(default_config_path(name)) == DEFAULTS_ORIGIN


def test_a_partial_configs_folder_is_said_to_mix_with_the_defaults(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RISKSTRAT_CONFIG_DIR", raising=False)
    (tmp_path / "configs").mkdir()
    shutil.copy(PACKAGE_CONFIGS / "programs.yaml", tmp_path / "configs" / "programs.yaml")
    found = {n: default_config_path(n) for n in ("programs.yaml", "tiers.yaml")}
    assert found["programs.yaml"] == tmp_path / "configs" / "programs.yaml"
    warning = mixed_origins(found)
    assert warning is not None
    assert "(programs.yaml from ./configs; tiers.yaml from riskstrat's defaults)" in warning
    assert str(tmp_path) not in warning  # labels, not machine paths
    # All from one place: nothing to say.
    shutil.copy(PACKAGE_CONFIGS / "tiers.yaml", tmp_path / "configs" / "tiers.yaml")
    assert mixed_origins({n: default_config_path(n) for n in found}) is None


def test_the_environment_folder_is_named_as_such(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RISKSTRAT_CONFIG_DIR", str(tmp_path))
    shutil.copy(PACKAGE_CONFIGS / "tiers.yaml", tmp_path / "tiers.yaml")
    assert config_origin(default_config_path("tiers.yaml")) == "$RISKSTRAT_CONFIG_DIR"
    with pytest.raises(Exception, match="not found"):
        default_config_path("nothing.yaml")


def test_a_config_folder_given_with_a_tilde_is_found(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "cfg").mkdir()
    shutil.copy(PACKAGE_CONFIGS / "tiers.yaml", tmp_path / "cfg" / "tiers.yaml")
    monkeypatch.setenv("RISKSTRAT_CONFIG_DIR", "~/cfg")  # as crontab passes it
    found = default_config_path("tiers.yaml")
    assert found == tmp_path / "cfg" / "tiers.yaml"
    assert config_origin(found) == "$RISKSTRAT_CONFIG_DIR"


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda folder: None, "no such folder"),
        (lambda folder: folder.write_text("x"), "not a folder"),
        (lambda folder: folder.mkdir(), "the folder holds no .yaml file"),
        (lambda folder: (folder.mkdir(), (folder / "programs.yml").write_text("")), "a .yml"),
    ],
)
def test_a_config_folder_a_job_cannot_use_is_refused(tmp_path, monkeypatch, make, problem) -> None:
    # A mistyped folder in a scheduled job's environment scored on riskstrat's defaults
    # (Los Angeles's capacities and rules) and exited 0.
    folder = tmp_path / "configz"
    make(folder)
    monkeypatch.setenv("RISKSTRAT_CONFIG_DIR", str(folder))
    with pytest.raises(ConfigError) as refused:
        default_config_path("programs.yaml")
    assert str(refused.value).startswith(f"$RISKSTRAT_CONFIG_DIR={folder}: ")
    assert problem in str(refused.value)
    # Not taken for an optional file left out: the county's contract.yaml would be dropped.
    from riskstrat.data._contract_config import default_extra_instruments

    with pytest.raises(ConfigError, match="RISKSTRAT_CONFIG_DIR"):
        default_extra_instruments()
    result = CliRunner().invoke(
        app,
        [
            "eligibility",
            "--data",
            str(tmp_path),
            "--as-of",
            "2025-07-01",
            "--out",
            str(tmp_path / "e.parquet"),
        ],
    )
    assert result.exit_code == 2 and problem in result.output
