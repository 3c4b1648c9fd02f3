"""The ``riskstrat`` command: one subcommand per front door.

Each subcommand is a thin wrapper: it parses options, calls the public Python API and
prints a summary. Exit codes: 0 success, 1 data or validation failure, 2 usage or
configuration error.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    name="riskstrat",
    help="Risk stratification and eligibility scoring for county health and social services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # never print record contents from a traceback
)

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2


@app.callback()
def main() -> None:
    """Risk stratification and eligibility scoring for county health and social services."""


# Subcommands register themselves below, one import each, so the CLI stays a thin index.


# --- validate: input data contracts (riskstrat.data) -----------------------------------


@app.command("validate")
def validate(
    source: Path = typer.Argument(
        ...,
        help="A folder of <table>.parquet / <table>.csv files, or a DuckDB database file.",
    ),
    mode: str = typer.Option(
        "strict",
        "--mode",
        help="strict: fail (exit 1) at the first violation; quarantine: set bad rows aside.",
    ),
    rejected_dir: Path | None = typer.Option(
        None, "--rejected-dir", help="Quarantine mode: write rejected rows to D/<table>.parquet."
    ),
    reference_date: str | None = typer.Option(
        None, "--reference-date", help="Dates after this day (YYYY-MM-DD) are in the future."
    ),
    json_path: Path | None = typer.Option(
        None, "--json", help="Also write the report (counts only) to this JSON file."
    ),
    contract: Path | None = typer.Option(
        None,
        "--contract",
        help="YAML with county additions to the contract (data.instruments with score ranges).",
    ),
) -> None:
    """Check linked input tables against the data contract and print a per-table report.

    Exit 0 when valid (or in quarantine mode), 1 on a violation in strict mode, 2 on a
    usage or configuration error.
    """
    import datetime as dt

    from rich.console import Console

    from riskstrat._config import ConfigError
    from riskstrat.data import (
        DataContractError,
        load_contract_config,
        load_tables,
        report_table,
        write_report_json,
    )

    err = Console(stderr=True, soft_wrap=True)
    if mode not in ("strict", "quarantine"):
        err.print(f"error: --mode: expected strict or quarantine, got {mode!r}", markup=False)
        raise typer.Exit(EXIT_USAGE)
    try:
        reference = dt.date.fromisoformat(reference_date) if reference_date else None
    except ValueError:
        err.print(f"error: --reference-date: expected YYYY-MM-DD, got {reference_date!r}")
        raise typer.Exit(EXIT_USAGE) from None
    try:
        extra = load_contract_config(contract).extra_instruments() if contract else None
        result = load_tables(
            source,
            mode=mode,
            reference_date=reference,
            rejected_dir=rejected_dir,
            extra_instruments=extra,
        )
    except (FileNotFoundError, ConfigError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    except (DataContractError, ValueError) as exc:
        err.print(f"invalid: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_DATA) from None
    Console().print(report_table(result.report))
    if json_path is not None:
        write_report_json(result.report, json_path)
    if mode == "quarantine":
        where = f" to {rejected_dir}" if rejected_dir else ""
        Console().print(f"{result.report.rejected:,} row(s) rejected{where}.", highlight=False)


# --- features: point-in-time feature table (riskstrat.features) -----------------------


@app.command("features")
def features(
    data: Path = typer.Option(
        ..., "--data", help="Folder of <table>.parquet or <table>.csv files (read out of core)."
    ),
    as_of: list[str] = typer.Option(
        ..., "--as-of", help="As-of date YYYY-MM-DD; repeat for a panel of several dates."
    ),
    out: Path = typer.Option(..., "--out", help="Parquet file to write (atomically)."),
    spec: Path | None = typer.Option(
        None, "--spec", help="Feature spec YAML (default configs/features.yaml)."
    ),
    population: str = typer.Option(
        "contact", "--population", help="contact (any event in 3 years) or all (every person)."
    ),
    threads: int = typer.Option(2, "--threads", help="DuckDB threads."),
    memory_limit: str = typer.Option("6GB", "--memory-limit", help="DuckDB memory limit."),
) -> None:
    """Build point-in-time features (one row per person and as-of date) into a Parquet file."""
    import time

    from rich.console import Console

    from riskstrat._config import ConfigError
    from riskstrat.data import write_parquet_atomic
    from riskstrat.features import build_features, load_feature_spec

    err = Console(stderr=True)
    started = time.perf_counter()
    try:
        feature_spec = load_feature_spec(spec)
        frame = build_features(
            str(data),
            as_of,
            spec=feature_spec,
            population=population,
            threads=threads,
            memory_limit=memory_limit,
        )
    except ConfigError as exc:
        err.print(f"[red]config error:[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from exc
    except (ValueError, FileNotFoundError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        # A bad --as-of or --population is usage; anything else is the data's fault.
        usage = str(exc).startswith(("as_of", "population"))
        raise typer.Exit(EXIT_USAGE if usage else EXIT_DATA) from exc
    write_parquet_atomic(frame, out)
    n_features = frame.shape[1] - 2
    Console().print(
        f"Wrote {out}: {len(frame):,} rows, {n_features} features, "
        f"{frame['as_of'].nunique()} as-of date(s) in {time.perf_counter() - started:.1f} s.",
        highlight=False,
        soft_wrap=True,
    )


# --- models: registered model bundles (riskstrat.modeling) ----------------------------

models_app = typer.Typer(
    help="Model bundles in the MLflow registry (embedded sqlite by default): list, promote, "
    "export and verify. The tracking URI comes from --tracking-uri, then MLFLOW_TRACKING_URI, "
    "then sqlite:///mlruns.db in the working directory.",
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")

_TRACKING_URI_HELP = "MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlruns.db)."


def _models_fail(exc: Exception) -> typer.Exit:
    from rich.console import Console

    from riskstrat.modeling import BundleError

    Console(stderr=True).print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
    # A refused bundle (tampered, missing file) is a data failure; a bad reference is usage.
    return typer.Exit(EXIT_DATA if isinstance(exc, BundleError) else EXIT_USAGE)


@models_app.command("list")
def models_list(
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=_TRACKING_URI_HELP),
) -> None:
    """List registered model versions with their aliases (champion, challenger)."""
    from rich.console import Console
    from rich.table import Table

    from riskstrat.modeling import TrackingError, list_models

    try:
        frame = list_models(tracking_uri=tracking_uri)
    except TrackingError as exc:
        raise _models_fail(exc) from exc
    if frame.empty:
        Console().print("No registered models.")
        return
    console = Console()
    for name, versions in frame.groupby("name", sort=True):
        table = Table(
            "version", "aliases", "outcome", "kind", "sha256", "created (UTC)", title=name
        )
        for row in versions.itertuples(index=False):
            table.add_row(
                str(row.version),
                row.aliases,
                row.outcome,
                row.kind,
                row.bundle_sha256[:12],
                f"{row.created:%Y-%m-%d %H:%M}",
            )
        console.print(table)


@models_app.command("promote")
def models_promote(
    name: str = typer.Argument(..., help="Registered model name, e.g. riskstrat-psych_crisis."),
    version: int = typer.Argument(..., help="Model version to make the champion."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=_TRACKING_URI_HELP),
) -> None:
    """Make VERSION of model NAME the champion (it stops being the challenger)."""
    from rich.console import Console

    from riskstrat.modeling import TrackingError, promote

    try:
        previous = promote(name, version, tracking_uri=tracking_uri)
    except TrackingError as exc:
        raise _models_fail(exc) from exc
    was = f" (was version {previous})" if previous else ""
    Console().print(f"{name}: version {version} is now champion{was}.")


@models_app.command("export")
def models_export(
    ref: str = typer.Argument(
        ...,
        help="champion, challenger, NAME@ALIAS, NAME/VERSION, a version number or a bundle folder.",
    ),
    out: Path = typer.Option(..., "--out", help="Folder to write the bundle to, e.g. models/NAME."),
    name: str | None = typer.Option(
        None, "--name", help="Registered model name for a bare alias or version."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing folder."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=_TRACKING_URI_HELP),
) -> None:
    """Export a registered model as a verified, pickle-free bundle folder."""
    from rich.console import Console

    from riskstrat.modeling import BundleError, TrackingError, export_model

    try:
        bundle = export_model(
            ref, out, tracking_uri=tracking_uri, model_name=name, overwrite=overwrite
        )
    except (TrackingError, BundleError) as exc:
        raise _models_fail(exc) from exc
    Console().print(f"Exported {bundle!r} to {out}.", highlight=False)


@models_app.command("verify")
def models_verify(
    path: Path = typer.Argument(..., help="A bundle folder, e.g. models/NAME."),
    sha256: str | None = typer.Option(None, "--sha256", help="Expected bundle sha256."),
) -> None:
    """Check a bundle folder's checksums and print what it holds."""
    from rich.console import Console

    from riskstrat.modeling import BundleError, ModelBundle

    try:
        bundle = ModelBundle.load(path, expected_sha256=sha256)
    except BundleError as exc:
        raise _models_fail(exc) from exc
    Console().print(
        f"OK {path}: kind={bundle.kind} outcome={bundle.outcome} "
        f"features={len(bundle.features)} calibration={bundle.calibration_method} "
        f"version={bundle.version} sha256={bundle.sha256}",
        highlight=False,
    )


# --- train: calibrated risk model and its evaluation (riskstrat.modeling) -------------


@app.command("train")
def train_command(
    config: Path = typer.Option(
        Path("configs/model.yaml"), "--config", help="Model config YAML (configs/model.yaml)."
    ),
    data: Path = typer.Option(
        ..., "--data", help="Folder of <table>.parquet or <table>.csv files (the linked data)."
    ),
    truth: Path | None = typer.Option(
        None,
        "--truth",
        help="Synthetic truth table (DIR/truth/truth.parquet) for the oracle comparison.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Model bundle folder (e.g. models/NAME); plots and metrics go to NAME-evaluation.",
    ),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="Log the run to MLflow at this URI (e.g. sqlite:///mlruns.db)."
    ),
) -> None:
    """Train and calibrate a risk model on temporal splits; print test-quarter metrics.

    Metrics carry bootstrap intervals and are shown for the model, the rule and
    single-feature baselines and, with --truth, the generator's true probabilities
    (oracle). Exit 0 on success, 1 on a data problem, 2 on a usage or config error.
    """
    from rich.console import Console
    from rich.progress import Progress

    from riskstrat._config import ConfigError
    from riskstrat.modeling import TRAIN_STAGES, load_model_config, train
    from riskstrat.modeling._summary import print_summary

    err = Console(stderr=True)
    try:
        model_config = load_model_config(config)
    except ConfigError as exc:
        err.print(f"[red]config error:[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from exc
    if truth is not None and not truth.is_file():
        err.print(f"[red]error:[/red] --truth: {truth} is not a file", highlight=False)
        raise typer.Exit(EXIT_USAGE)
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("training", total=len(TRAIN_STAGES))

        def step(stage: str) -> None:
            progress.update(task, description=stage, completed=TRAIN_STAGES.index(stage))

        try:
            result = train(
                model_config,
                data,
                truth=truth,
                out=out,
                tracking_uri=tracking_uri,
                config_paths=(config,),
                progress=step,
            )
        except ConfigError as exc:
            err.print(f"[red]config error:[/red] {exc}", highlight=False)
            raise typer.Exit(EXIT_USAGE) from exc
        except (ValueError, FileNotFoundError) as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(EXIT_DATA) from exc
        progress.update(task, completed=len(TRAIN_STAGES))
    print_summary(result, Console())


# --- score: the quarterly cohort (riskstrat.scoring) ------------------------------------


@app.command("score")
def score_command(
    as_of: str = typer.Option(
        ..., "--as-of", help="Score as of this date (YYYY-MM-DD); features see only earlier events."
    ),
    data: Path = typer.Option(
        ..., "--data", help="Folder of <table>.parquet or <table>.csv files (the linked data)."
    ),
    model: str = typer.Option(
        "champion",
        "--model",
        help="Registry alias (champion), registry version, or a model bundle folder.",
    ),
    out: Path = typer.Option(..., "--out", help="Output folder, e.g. cohorts/2025Q4."),
    programs: Path | None = typer.Option(
        None, "--programs", help="Programme rules and capacities (default configs/programs.yaml)."
    ),
    tiers: Path | None = typer.Option(
        None, "--tiers", help="Tiers, selection and explanation settings (configs/tiers.yaml)."
    ),
    mode: str = typer.Option(
        "strict",
        "--mode",
        help="strict: any bad input row fails the run; quarantine: bad rows are set aside "
        "and counted in manifest.json.",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an existing --out folder (swapped in atomically)."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars or summary (for cron)."),
) -> None:
    """Score everyone as of a date and write the quarterly cohort per programme.

    Stages: validate, features, eligibility, calibrated risk, percentile and tier, selection, SHAP explanations, write.

    Selection: each programme takes its eligible people by risk (ties by person_id) up to its capacity for the quarter (monthly caps x3, yearly caps /4). Nobody already enrolled in a conflicting programme is chosen; a person in line for two care-coordination programmes keeps the higher-priority one and the freed place passes to the next in line.

    Outputs in --out, all or nothing: cohort.parquet, cohort.csv, explanations.parquet, summary.json, summary.md, manifest.json. The same inputs give byte-identical files.

    Exit codes: 0 ok; 1 data failure; 2 usage or configuration error (including an existing --out without --overwrite); 3 model verification failure (checksums, SHAP sums).
    """
    from rich.console import Console

    from riskstrat.scoring import ScoringError, print_summary, score_cohort

    err = Console(stderr=True)
    if mode not in ("strict", "quarantine"):
        err.print(f"[red]usage error:[/red] --mode: expected strict or quarantine, got {mode!r}")
        raise typer.Exit(EXIT_USAGE)
    try:
        result = score_cohort(
            data,
            as_of,
            model,
            out,
            programs=programs,
            tiers=tiers,
            mode=mode,  # type: ignore[arg-type]
            overwrite=overwrite,
            progress=not quiet,
        )
    except ScoringError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(exc.exit_code) from exc
    if not quiet:
        print_summary(result.summary, result.timings, Console())


# --- eligibility: programme rules with reasons (riskstrat.eligibility) ----------------


def _load_for_rules(data: Path, mode: str) -> dict:
    """Validated tables via the data package (only ``persons`` is required)."""
    from riskstrat.data import load_tables

    return load_tables(data, mode=mode, required=("persons",)).tables  # type: ignore[arg-type]


@app.command("eligibility")
def eligibility_command(
    data: Path = typer.Option(
        ..., "--data", help="Folder of <table>.parquet or <table>.csv files (the linked data)."
    ),
    as_of: list[str] = typer.Option(
        ..., "--as-of", help="As-of date YYYY-MM-DD; repeat for several dates."
    ),
    out: Path = typer.Option(..., "--out", help="Parquet file to write (atomically)."),
    programs: Path | None = typer.Option(
        None, "--programs", help="Programme rules (default configs/programs.yaml)."
    ),
    mode: str = typer.Option(
        "strict", "--mode", help="strict: a bad input row fails; quarantine: bad rows set aside."
    ),
) -> None:
    """Evaluate every programme's eligibility rules for everyone as of a date.

    Writes one row per person, as-of date and programme (eligible, criteria met, readable reasons with the person's values, criteria needing point-of-care screening) and prints eligible counts per programme. Screening criteria (Medi-Cal, residence, disability, ...) never change the data-computed eligible flag.

    Exit codes: 0 ok; 1 data failure; 2 usage or configuration error.
    """
    from rich.console import Console

    from riskstrat._config import ConfigError
    from riskstrat.data import DataContractError
    from riskstrat.eligibility import (
        counts_table,
        eligible_counts,
        evaluate_programs,
        load_programs,
        write_eligibility,
    )
    from riskstrat.features import build_features

    err = Console(stderr=True, soft_wrap=True)
    if mode not in ("strict", "quarantine"):
        err.print(f"[red]usage error:[/red] --mode: expected strict or quarantine, got {mode!r}")
        raise typer.Exit(EXIT_USAGE)
    try:
        rules = load_programs(programs)
        tables = _load_for_rules(data, mode)
        features = build_features(tables, as_of)
        long = evaluate_programs(features, rules)
    except ConfigError as exc:
        err.print(f"config error: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_USAGE) from exc
    except FileNotFoundError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_USAGE) from exc
    except (DataContractError, ValueError) as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_USAGE if str(exc).startswith("as_of") else EXIT_DATA) from exc
    write_eligibility(long, out)
    Console().print(counts_table(eligible_counts(long, rules)))
    Console().print(f"Wrote {out}: {len(long):,} rows.", highlight=False)


# --- outcomes: labels over a horizon (riskstrat.outcomes) ------------------------------


@app.command("outcomes")
def outcomes_command(
    data: Path = typer.Option(
        ..., "--data", help="Folder of <table>.parquet or <table>.csv files (the linked data)."
    ),
    as_of: list[str] = typer.Option(
        ..., "--as-of", help="As-of date YYYY-MM-DD; repeat for several dates."
    ),
    out: Path = typer.Option(..., "--out", help="Parquet file to write (atomically)."),
    spec: Path | None = typer.Option(
        None, "--spec", help="Outcome definitions (default configs/outcomes.yaml)."
    ),
    data_end: str | None = typer.Option(
        None, "--data-end", help="Last day the data covers (default: the latest event date)."
    ),
    mode: str = typer.Option(
        "strict", "--mode", help="strict: a bad input row fails; quarantine: bad rows set aside."
    ),
) -> None:
    """Build outcome labels over the horizon after each as-of date, with censoring flags.

    Labels count only events in [as-of, as-of + horizon) for persons alive on the as-of date; a person who dies, or whose data ends, before the horizon is flagged censored. Prints per-outcome event rates and censored counts.

    Exit codes: 0 ok; 1 data failure; 2 usage or configuration error.
    """
    from rich.console import Console

    from riskstrat._config import ConfigError
    from riskstrat.data import DataContractError, write_parquet_atomic
    from riskstrat.outcomes import (
        build_outcomes,
        load_outcome_spec,
        outcome_summary,
        summary_table,
    )

    err = Console(stderr=True, soft_wrap=True)
    if mode not in ("strict", "quarantine"):
        err.print(f"[red]usage error:[/red] --mode: expected strict or quarantine, got {mode!r}")
        raise typer.Exit(EXIT_USAGE)
    try:
        outcome_spec = load_outcome_spec(spec)
        tables = _load_for_rules(data, mode)
        frame = build_outcomes(tables, as_of, spec=outcome_spec, data_end=data_end)
    except ConfigError as exc:
        err.print(f"config error: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_USAGE) from exc
    except FileNotFoundError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_USAGE) from exc
    except (DataContractError, ValueError) as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_DATA) from exc
    write_parquet_atomic(frame, out)
    Console().print(summary_table(outcome_summary(frame, outcome_spec)))
    Console().print(f"Wrote {out}: {len(frame):,} rows.", highlight=False)


# --- synth: synthetic linked county with its oracle (riskstrat.synth) -----------------


@app.command("synth")
def synth_command(
    persons: int = typer.Option(..., "--persons", help="Number of people to generate."),
    start: str = typer.Option(..., "--start", help="First day of data, YYYY-MM-DD."),
    end: str = typer.Option(..., "--end", help="Day after the last day of data, YYYY-MM-DD."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same arguments, same bytes."),
    out: Path = typer.Option(..., "--out", help="Output folder for the tables, truth, manifest."),
    dirty: float = typer.Option(
        0.0, "--dirty", help="Share of rows to damage with realistic faults (0 = clean)."
    ),
    bias: bool = typer.Option(
        True,
        "--bias/--no-bias",
        help="Plant the label-choice bias (less paid care for one group at equal need).",
    ),
    bias_group: str = typer.Option("Black", "--bias-group", help="race_ethnicity of the group."),
    access_factor: float = typer.Option(
        0.6, "--access-factor", help="Multiplier on the group's access-sensitive care, (0, 1]."
    ),
) -> None:
    """Generate a synthetic linked county: eight Parquet tables, truth/truth.parquet (the true
    12-month outcome probabilities per person and quarter) and synth_manifest.json.
    """
    import datetime as dt

    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from riskstrat._config import ConfigError
    from riskstrat.synth import STAGES, BiasConfig, write_county

    err = Console(stderr=True, soft_wrap=True)
    try:
        start_d, end_d = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        bias_cfg = BiasConfig(enabled=bias, group=bias_group, access_factor=access_factor)
    except (ValueError, ConfigError) as exc:
        err.print(f"usage error: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("synth", total=len(STAGES) + 1)

        def step(stage: str) -> None:
            progress.update(task, advance=0 if stage == STAGES[0] else 1, description=stage)

        try:
            county = write_county(
                out,
                persons,
                start_d,
                end_d,
                seed=seed,
                bias=bias_cfg,
                dirty_rate=dirty,
                progress=step,
            )
        except ValueError as exc:
            err.print(f"usage error: {exc}", markup=False, highlight=False)
            raise typer.Exit(EXIT_USAGE) from None
    table = Table(title=f"Synthetic county in {out}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, frame in county.tables.items():
        table.add_row(name, f"{len(frame):,}")
    table.add_row("truth", f"{len(county.truth):,}")
    Console().print(table)
    for name, kinds in county.injected.items():
        Console().print(f"injected into {name}: {dict(kinds)}", highlight=False)
