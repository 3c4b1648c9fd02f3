"""``riskstrat train``: temporal training, calibration and evaluation."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import typer

from riskstrat._commands._app import (
    DATA_HELP,
    EXIT_DATA,
    EXIT_USAGE,
    _stderr,
    app,
    check_dates,
)


@app.command("train")
def train_command(
    config: Path | None = typer.Option(
        None,
        "--config",
        help="Model config YAML. Default: configs/model.yaml, looked up in $RISKSTRAT_CONFIG_DIR, "
        "./configs, then the package's own configs.",
    ),
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    truth: Path | None = typer.Option(
        None,
        "--truth",
        help="True probabilities for the oracle comparison: the as-of oracle written by "
        "`riskstrat oracle` for the test quarters, or the county's path oracle "
        "(DIR/truth/truth.parquet).",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Model bundle folder (e.g. models/NAME); the evaluation goes to NAME-evaluation: "
        "report.html and summary.md, metrics, rolling-origin, by-group and importance tables, "
        "plots. Without it nothing is written here (the run is still tracked unless "
        "--no-tracking).",
    ),
    tracking_uri: str | None = typer.Option(
        None,
        "--tracking-uri",
        help="MLflow store for the run and the registered model. Default: $MLFLOW_TRACKING_URI, "
        "else model.tracking.tracking_uri, else sqlite:///mlruns.db in the working directory.",
    ),
    tracking: bool = typer.Option(
        True,
        "--tracking/--no-tracking",
        help="Log the run to MLflow and register the model as challenger (default), or not.",
    ),
    outcome: str | None = typer.Option(
        None,
        "--outcome",
        metavar="<name>",
        help="Outcome to predict; overrides model.outcome of --config. The name of a binary "
        "outcome defined in configs/outcomes.yaml (e.g. jail_booking).",
    ),
    data_end: str | None = typer.Option(
        None,
        "--data-end",
        metavar="YYYY-MM-DD",
        help="First day the data do not cover (overrides model.split.data_end; the day after "
        "`riskstrat outcomes --data-end`). Default: the day after the latest start or event "
        "date; training stops when the sources end more than a quarter apart.",
    ),
    memory_limit: str = typer.Option(
        "6GB", "--memory-limit", help="DuckDB memory limit in building the panel's features."
    ),
    quiet: bool = typer.Option(
        False,
        "--quiet",
        help="No progress bar and no tables: only warnings, errors and where the bundle, "
        "plots and MLflow run went (the evaluation's summary.md holds the rest).",
    ),
) -> None:
    """Train and calibrate a risk model on temporal splits; print test-quarter metrics.

    Metrics carry bootstrap intervals (model.metrics.n_bootstrap resamples of the test
    quarter's people) and are shown for the model, the rule and single-feature baselines
    and, with --truth, the generator's true probabilities (oracle); then each programme's
    own rule on the places it fills, the rolling-origin quarters, the features that drive
    the score (mean absolute SHAP contribution), and every scorer by race/ethnicity, sex,
    age band and SPA (model.sensitive_features and model.metrics.audit_groups; counts of 1
    to 10 people hidden; groups whose calibration differs beyond chance named). Precision
    and recall at k take each programme's capacity a quarter from configs/programs.yaml;
    for a county smaller than Los Angeles scale them with model.metrics.capacity_scale.
    All of it is written to <out>-evaluation/ (summary.md, report.html, CSV tables, plots).
    Exit 0 on success, 1 on a data problem, 2 on a usage or config error (a --memory-limit
    too small for the data among them).

    Example: riskstrat train --data data/county --outcome jail_booking --out
    models/jail_booking (logged to sqlite:///mlruns.db, registered as challenger).
    """
    from mlflow.exceptions import MlflowException
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from riskstrat._atomic import OutputExistsError
    from riskstrat._config import ConfigError, default_config_path
    from riskstrat._dates import as_date
    from riskstrat._os_errors import unusable_path
    from riskstrat.modeling import (
        TRAIN_STAGES,
        BundleError,
        TrackingError,
        load_model_config,
        train,
    )
    from riskstrat.modeling._console import print_summary
    from riskstrat.modeling._spec_checks import check_feature_names, check_outcome
    from riskstrat.modeling._summary import run_facts
    from riskstrat.modeling._tracking import resolve_tracking_uri
    from riskstrat.modeling._tracking_uri import refusal
    from riskstrat.modeling._truth import TruthError

    err = _stderr()

    def fail(what: str, message: object) -> None:
        # As every command prints errors: one unwrapped line, never read as markup.
        err.print(f"{what}: {message}", highlight=False, markup=False)

    try:
        config = config if config is not None else default_config_path("model.yaml")
        model_config = load_model_config(config)
        if outcome is not None:
            check_outcome(outcome, path="--outcome")
            model_config = dataclasses.replace(model_config, outcome=outcome)
        if data_end is not None:
            check_dates([data_end], "--data-end")
            split = dataclasses.replace(model_config.split, data_end=as_date(data_end))
            model_config = dataclasses.replace(model_config, split=split)
        try:
            check_outcome(model_config.outcome, horizon_months=model_config.split.horizon_months)
        except ConfigError as exc:
            if outcome is not None:  # --outcome named it, and the message says so
                raise
            raise ConfigError(f"{exc} (in {config})") from exc
        try:
            check_feature_names(model_config)
        except ConfigError as exc:  # the config file names the features: say which file
            raise ConfigError(f"{exc} (in {config})") from exc
    except ConfigError as exc:
        fail("error", exc)
        raise typer.Exit(EXIT_USAGE) from exc
    tracking_uri = resolve_tracking_uri(tracking_uri, model_config.tracking) if tracking else None
    if not data.exists():
        fail("error", f"--data: {data} does not exist; expected a folder of the linked tables")
        raise typer.Exit(EXIT_USAGE)
    if truth is not None and not truth.is_file():
        fail("error", f"--truth: {truth} is not a file")
        raise typer.Exit(EXIT_USAGE)
    # Not transient: a batch log keeps the finished bar and the time training took.
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<18}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
        disable=quiet,
    ) as progress:
        task = progress.add_task("training", total=len(TRAIN_STAGES))

        def step(stage: str) -> None:
            progress.update(task, description=stage, completed=TRAIN_STAGES.index(stage))

        # What training logs (capacity and coverage warnings) the summary prints below, so
        # it is held back, and printed only if training fails before the summary.
        held = _HeldRecords()
        training_log = logging.getLogger("riskstrat.modeling._train")
        training_log.addHandler(held)
        training_log.propagate = False

        def stop(what: str, message: object) -> None:
            progress.stop()  # the bar where it stopped, then the error: the log reads in order
            for record in held.records:
                err.print(f"warning: {record.getMessage()}", highlight=False, markup=False)
            fail(what, message)

        try:
            result = train(
                model_config,
                data,
                truth=truth,
                out=out,
                tracking_uri=tracking_uri,
                config_paths=(config,),
                progress=step,
                track=tracking,
                memory_limit=memory_limit,
            )
        except ConfigError as exc:
            # A model setting checked only against programs.yaml, once training began: say
            # which file holds it, as the checks made on loading it do.
            where = (
                f" (in {config})"
                if str(exc).startswith("model.") and "(in " not in str(exc)
                else ""
            )
            stop("error", f"{exc}{where}")
            raise typer.Exit(EXIT_USAGE) from exc
        # --tracking-uri, --out, --truth, and one table's file given as --data
        except (
            TrackingError,
            BundleError,
            OutputExistsError,
            NotADirectoryError,
            TruthError,
        ) as exc:
            stop("error", exc)
            raise typer.Exit(EXIT_USAGE) from exc
        except (ValueError, FileNotFoundError, MemoryError) as exc:
            stop("error", str(exc) or "out of memory")
            # A memory limit DuckDB refuses, or too small for the data: a setting.
            usage = str(exc).startswith("memory_limit:")
            raise typer.Exit(EXIT_USAGE if usage else EXIT_DATA) from exc
        except MlflowException as exc:  # the store refused a run: its words, password masked
            uri = resolve_tracking_uri(tracking_uri, model_config.tracking)
            stop("error", f"the model registry refused the request: {refusal(exc, uri)}")
            raise typer.Exit(EXIT_USAGE) from exc
        except OSError as exc:  # here, not in the CLI's handler: with the warnings held back
            refused = unusable_path(exc)
            if refused is None:
                raise
            stop("error", refused)
            raise typer.Exit(EXIT_USAGE) from exc
        finally:
            training_log.removeHandler(held)
            training_log.propagate = True
        progress.update(task, description="trained", completed=len(TRAIN_STAGES))
    print_summary(result, Console(), quiet=quiet, warnings=err)
    # A warning the summary does not repeat (configs read from several places) was held
    # back with the rest, and lost when training succeeded.
    said = " ".join(run_facts(result).values())
    for record in held.records:
        if record.getMessage() not in said:
            err.print(f"warning: {record.getMessage()}", highlight=False, markup=False)


class _HeldRecords(logging.Handler):
    """Keeps the warnings a run logs, to print them only if nothing else will."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
