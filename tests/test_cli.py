"""Every command and subcommand answers --help, and the command tree is what the README shows."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from riskstrat.cli import app

runner = CliRunner()


def _command_paths(command, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    # Typer ships its own copy of click, so test the group by duck typing.
    for name, sub in getattr(command, "commands", {}).items():
        paths.extend(_command_paths(sub, (*prefix, name)))
    return paths


ALL_PATHS = _command_paths(typer.main.get_command(app))


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: " ".join(p) or "riskstrat")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    # A help text a new user can act on: more than the bare usage line.
    assert len(result.output.strip().splitlines()) > 3


@pytest.mark.parametrize("path", [p for p in ALL_PATHS if p], ids=" ".join)
def test_help_paragraphs_flow_with_the_terminal(path: tuple[str, ...]) -> None:
    # Rich keeps a docstring's own line breaks; at 80 columns those made ragged lines.
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    for paragraph in (command.help or "").split("\n\n"):
        assert "\n" not in paragraph.strip(), paragraph


def test_flags_show_no_value_in_help() -> None:
    # "--overwrite <bool>" read as if the flag took a value; it takes none.
    result = runner.invoke(app, ["score", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert re.search(r"--overwrite\s+Replace an existing", out), out
    assert re.search(r"--quiet\s+No progress bars", out), out
    assert re.search(r"--help\s+Show this message", out), out
    # Options that take a value still say what kind.
    assert re.search(r"--out\s+<path>\s+Output folder", out), out


def test_score_help_names_every_file_it_writes() -> None:
    from riskstrat.scoring._run import OUTPUT_FILES

    command = typer.main.get_command(app).commands["score"]
    for name in (*OUTPUT_FILES, "manifest.json"):
        assert name in command.help, name


def test_front_doors_exist() -> None:
    names = {path[0] for path in ALL_PATHS if path}
    assert {
        "synth",
        "validate",
        "features",
        "outcomes",
        "eligibility",
        "train",
        "models",
        "score",
    } <= names
    assert len(ALL_PATHS) > 10


@pytest.mark.parametrize("command", ["features", "outcomes", "eligibility", "score"])
@pytest.mark.parametrize("value", ["2024-13-01", "01/07/2025", "now", "2025Q3", "2025"])
def test_a_bad_as_of_is_a_usage_error_naming_the_option(command: str, value, tmp_path) -> None:
    # Read loosely, '01/07/2025' would be 7 January and '2025Q3' 1 July, without a word.
    result = runner.invoke(
        app, [command, "--data", str(tmp_path), "--as-of", value, "--out", "x.parquet"]
    )
    assert result.exit_code == 2
    assert f"--as-of: expected a date YYYY-MM-DD, got '{value}'" in result.output


def test_a_comma_list_of_dates_says_to_repeat_the_option(tmp_path) -> None:
    value = "2025-04-01,2025-07-01"
    result = runner.invoke(
        app, ["features", "--data", str(tmp_path), "--as-of", value, "--out", "x.parquet"]
    )
    assert result.exit_code == 2
    assert "repeat the option: --as-of A --as-of B" in " ".join(result.output.split())


def test_importing_the_stages_prints_no_warning() -> None:
    # pandera imports pyspark.pandas when pyspark is installed, and newer pyspark warns
    # about pandas 3 on every command; nothing riskstrat does can act on it.
    import subprocess
    import sys

    code = "import riskstrat.data, riskstrat.features, riskstrat.scoring, riskstrat.modeling"
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, check=True
    )
    assert "Warning" not in done.stderr, done.stderr


def test_models_commands_open_the_store_the_project_config_names(tmp_path, monkeypatch) -> None:
    # `riskstrat score` reads configs/model.yaml's tracking section; `models` must open the
    # same store, or `models list` reports no registry beside a working one.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "model.yaml").write_text(
        "model:\n  tracking:\n    tracking_uri: sqlite:///elsewhere/store.db\n"
    )
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 2, listed.output
    expected = f"no model registry at {tmp_path / 'elsewhere' / 'store.db'}"
    assert expected in " ".join(listed.output.split())
    assert not (tmp_path / "elsewhere").exists()  # looking did not create it


def test_output_to_a_file_is_not_cut_at_80_columns(tmp_path) -> None:
    import os
    import subprocess
    import sys

    # As cron runs it: stdout a file, no COLUMNS. Rich's default 80 clipped help and tables.
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    with open(tmp_path / "log", "w") as log:
        subprocess.run(
            [str(Path(sys.executable).with_name("riskstrat")), "models", "--help"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            check=True,
        )
    text = (tmp_path / "log").read_text()
    assert "then model.tracking.tracking_uri in configs/model.yaml (as for riskstrat" in text
    assert "…" not in text


def test_a_usage_error_in_a_log_file_is_not_cut_at_80_columns(tmp_path) -> None:
    import os
    import subprocess
    import sys

    # The option parser prints its errors once the command's own run has ended.
    option = "--no-such-option-" + "x" * 60
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    with open(tmp_path / "log", "w") as log:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("riskstrat")), "score", option],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    assert done.returncode == 2
    text = (tmp_path / "log").read_text()
    assert any(f"No such option: {option}" in line for line in text.splitlines()), text


def test_an_invalid_project_model_config_is_said_not_read_past(tmp_path, monkeypatch) -> None:
    # Read past, a typo beside tracking_uri sent `models` to another registry unsaid.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "model.yaml").write_text(
        "model:\n  lightgbm: {n_estimator: 10}\n  tracking:\n    tracking_uri: sqlite:///x.db\n"
    )
    for args in (["models", "list"], ["models", "promote", "riskstrat-x", "1"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "unknown key 'n_estimator'" in result.output
        assert "configs/model.yaml" in result.output


@pytest.mark.parametrize(
    ("argv", "raised", "line"),
    [
        (["score", "--as-of", "x"], SystemExit(143), "error: terminated (SIGTERM); nothing of "),
        (["validate", "data"], SystemExit(143), "error: terminated (SIGTERM)\n"),
        (["validate", "data"], KeyboardInterrupt(), "error: interrupted (Ctrl-C)\n"),
        # DuckDB's error for a query a signal stopped, where no step turned it back.
        (["validate", "data"], RuntimeError("Query interrupted"), "error: interrupted (Ctrl-C)\n"),
        (["score", "x"], "SIGTERM", "error: terminated (SIGTERM); nothing of this run is written"),
    ],
)
def test_a_stopped_command_says_so_and_only_score_promises_nothing_written(
    argv, raised, line, monkeypatch, capsys
) -> None:
    import riskstrat.cli as cli
    from riskstrat._signals import install_terminate, terminate

    signal.signal(signal.SIGTERM, install_terminate())  # clears SIGTERM's mark, keeps the handler

    def stopped() -> None:
        if raised == "SIGTERM":  # the handler ran inside a query, which DuckDB stopped
            with pytest.raises(SystemExit):
                terminate(signal.SIGTERM, None)
            raise RuntimeError("Query interrupted")
        raise raised

    # validate writes its rejected rows table by table: "nothing written" would be false.
    monkeypatch.setattr(cli, "app", stopped)
    monkeypatch.setattr("sys.argv", ["riskstrat", *argv])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code in (130, 143)
    assert capsys.readouterr().err.startswith(line)


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["features", "--as-of", "2024-01-01"], "--out"),
        (["outcomes", "--as-of", "2024-01-01"], "--out"),
        (["eligibility", "--as-of", "2024-01-01"], "--out"),
        (["oracle", "--as-of", "2024-01-01"], "--out"),
        (["validate"], "--json"),
    ],
)
def test_an_output_file_given_as_a_folder_is_refused_before_any_work(
    argv: list[str], option: str, tmp_path: Path
) -> None:
    # Found when the finished file was moved into place: a whole run lost, and a traceback.
    data = Path(__file__).parent / "data" / "fixtures" / "clean"
    source = [str(data)] if argv == ["validate"] else ["--data", str(data)]
    result = runner.invoke(app, [*argv, *source, option, str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert f"error: {option} {tmp_path} is a folder; expected the path of the file" in " ".join(
        result.output.split()
    )
    assert list(tmp_path.iterdir()) == []


def test_the_python_writer_refuses_a_folder_before_writing(tmp_path: Path) -> None:
    import pandas as pd

    from riskstrat.data import write_parquet_atomic

    with pytest.raises(IsADirectoryError, match="is a folder, not a file"):
        write_parquet_atomic(pd.DataFrame({"a": [1]}), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["score", "--data", "", "--as-of", "2025-07-01"], "the argument after --data"),
        (["score", "--out=", "--as-of", "2025-07-01"], "the value of --out"),
        (["", "validate"], "the first argument"),
        (["score", "--previous", "", "--model", "champion"], "the argument after --previous"),
    ],
)
def test_an_empty_value_is_refused_by_name(argv, named, monkeypatch, capsys) -> None:
    """An unset variable in a job template: the working folder as --data or --out, or
    "model '' is both a registry reference and the folder ...", said nothing of it."""
    import riskstrat.cli as cli

    monkeypatch.setattr("sys.argv", ["riskstrat", *argv])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        f"error: {named} is empty; expected a value (an unset variable in a job's command line?)\n"
    )


def test_a_value_ending_in_equals_is_not_empty() -> None:
    from riskstrat.cli import _empty_argument

    assert _empty_argument(["models", "list", "--tracking-uri=sqlite:///s.db?mode="]) is None
    assert _empty_argument(["score", "--out=cohorts/a=", "--as-of", "2025-07-01"]) is None


def test_the_version_names_the_code_a_manifest_records() -> None:
    from importlib.metadata import version

    from riskstrat._provenance import code_sha256

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"riskstrat {version('riskstrat')} (code sha256 {code_sha256()})\n"


def test_no_path_is_checked_for_reading_before_the_command_runs() -> None:
    # Click's check printed a boxed usage message a batch log's grep '^error:' misses; the
    # command's own reading says it in one error: line naming the place (exit 2 both ways).
    checked = []
    for path in ALL_PATHS:
        command = typer.main.get_command(app)
        for name in path:
            command = command.commands[name]
        for param in getattr(command, "params", []):
            described = getattr(param, "type_descriptor", None)  # Typer's own parameters
            if described is not None and "Path" in str(described.annotation):
                checked.append((path, param.name, described.parameter_info.readable))
    assert len(checked) > 20  # --data, --out, --config, ... of every command
    assert [(path, name) for path, name, readable in checked if readable] == []
