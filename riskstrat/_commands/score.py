"""``riskstrat score``: the quarterly cohort."""

from __future__ import annotations

from pathlib import Path

import typer

from riskstrat._commands._app import DATA_HELP, app, check_dates, check_mode


@app.command("score")
def score_command(
    as_of: str = typer.Option(
        ..., "--as-of", help="Score as of this date (YYYY-MM-DD); features see only earlier events."
    ),
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    model: str = typer.Option(
        "champion",
        "--model",
        help="Registry alias (champion), NAME@ALIAS, NAME/VERSION, a version number, or a "
        "model bundle folder.",
    ),
    model_sha256: str | None = typer.Option(
        None,
        "--model-sha256",
        help="Refuse any model but the bundle with this sha256 (as riskstrat models verify "
        "prints it): pins a bundle folder, which is otherwise checked against its own "
        "checksums only.",
    ),
    tracking_uri: str | None = typer.Option(
        None,
        "--tracking-uri",
        help="MLflow registry a registry --model is looked up in (default: "
        "$MLFLOW_TRACKING_URI, then configs/model.yaml's tracking section, then "
        "sqlite:///mlruns.db here).",
    ),
    out: Path = typer.Option(..., "--out", help="Output folder, e.g. cohorts/2025Q4."),
    previous: Path | None = typer.Option(
        None,
        "--previous",
        help="Last quarter's --out folder: people it offered a place less than "
        "selection.reoffer_after_months ago (tiers.yaml, 6), and who have not taken it up "
        "since, are not offered again this quarter; its offer ledger is carried on.",
    ),
    allow_gap: bool = typer.Option(
        False,
        "--allow-gap",
        help="Accept a --previous run two quarters or more back (no run was made in between); "
        "without it such a run is refused (exit 2), since the offers of a run in between "
        "would not be known.",
    ),
    new_chain: bool = typer.Option(
        False,
        "--new-chain",
        help="Score with no --previous although an earlier quarter's run stands beside --out "
        "(or, with --out in a year's folder such as cohorts/2026/Q1, in another year's "
        "folder such as cohorts/2025/, or beside the year folders): "
        "its offers are not read and the offer chain starts again here. Without it such a "
        "run is refused (exit 2): the places its offers hold would be offered again. Not "
        "with --previous.",
    ),
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
        False,
        "--overwrite",
        help="Replace an existing --out folder that an earlier run as of the same date "
        "wrote (swapped in atomically); any other folder is refused, never deleted.",
    ),
    rejected_dir: Path | None = typer.Option(
        None,
        "--rejected-dir",
        help="Quarantine mode: also write the rows set aside to D/<table>.parquet, with "
        "their reasons, as `riskstrat validate` does. One folder per cohort: a D holding "
        "another run's rows is refused (--overwrite replaces only the replaced run's own).",
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars or summary (for cron)."),
    memory_limit: str = typer.Option(
        "2GB",
        "--memory-limit",
        help="DuckDB working memory for the feature stage (spills to disk beyond it).",
    ),
    reference_date: str | None = typer.Option(
        None,
        "--reference-date",
        help="Validation's today (YYYY-MM-DD; default today in UTC): dates after it are in the "
        "future and rejected, and --as-of may not be after it. The manifest records it; "
        "pass a run's own to reproduce it byte for byte on a later day.",
    ),
) -> None:
    """Score everyone as of a date and write the quarterly cohort per programme.

    Stages: validate, features, eligibility, calibrated risk, percentile and tier, selection, SHAP explanations, write.

    Selection: each programme takes its eligible people by risk (ties by the model's raw score, then person_id) up to its capacity for the quarter (monthly caps x3, yearly caps /4, caseloads held at a time less those enrolled now and, with --previous, those holding an open offer). Nobody already enrolled in a conflicting programme is chosen, nor (with --previous) anyone offered it, or a care-coordination programme of its priority or higher, within the re-offer window and not taken up since (an enrolment started on or after the offer) nor renewed by a new episode of what the programme serves (renewed_by in programs.yaml: a release after a Re-entry offer, a discharge after a Recuperative Care one); a person in line for two care-coordination programmes keeps the higher-priority one and the freed place passes to the next in line.

    Outputs in --out, all or nothing: cohort.parquet, cohort.csv, scores.parquet, explanations.parquet, offers.parquet (every offer so far, for next quarter's --previous), summary.json, summary.md, summary.html, groups.csv (people scored, eligible and offered by race/ethnicity, sex, age band and SPA, counts of 1 to 10 hidden: the table to share), manifest.json. The same inputs give byte-identical files on the same day, or with the same --reference-date.

    Configs (tiers, programs, features, conditions, contract) are found file by file in $RISKSTRAT_CONFIG_DIR, then ./configs in the working directory, then riskstrat's defaults; a warning says when they come from more than one place, and the manifest records where each was found.

    Exit codes: 0 ok; 1 data failure (including an as-of date more than a quarter past the data, sources that do not end together, a table more than half rejected, an empty table or column the model reads, a --previous ledger changed since its run, or an input file changed while the run read it); 2 usage or configuration error (including an as-of date after today or --reference-date, a --reference-date after today, an existing --out without --overwrite, one no run wrote or one of another as-of date, an --out that cannot be written, a model that is not there or a folder that is no bundle, a --model-sha256 that is no sha256, a --memory-limit the feature stage cannot work in, a --previous folder that is not an earlier run, is less than a quarter back, or two quarters or more back without --allow-gap, and no --previous while an earlier quarter's run stands beside --out or, with --out in a year's folder, in another year's folder or beside the year folders, without --new-chain); 3 model verification failure (checksums, SHAP sums); 130 on Ctrl-C and 143 on SIGTERM, with a last log line saying what is in place: nothing, unless the stop came as the outputs were being put in place; a SIGTERM once the cohort and its rejected rows are in place exits 0.
    """
    from rich.console import Console
    from rich.markup import escape

    from riskstrat.scoring import ScoringError, print_summary, score_cohort
    from riskstrat.scoring._manifest import run_line

    err = Console(stderr=True, soft_wrap=True)
    check_mode(mode)
    check_dates([as_of])
    if reference_date is not None:
        check_dates([reference_date], "--reference-date")
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
            memory_limit=memory_limit,
            model_sha256=model_sha256,
            tracking_uri=tracking_uri,
            previous=previous,
            rejected_dir=rejected_dir,
            reference_date=reference_date,
            allow_gap=allow_gap,
            new_chain=new_chain,
        )
    except ScoringError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(exc.exit_code) from exc
    if not quiet:
        print_summary(result.summary, result.timings, Console())
        # One line whatever its length: a log is grepped for "bundle sha256 <hash>".
        Console(soft_wrap=True).print(
            run_line(result.manifest, result.out, model), highlight=False, markup=False
        )
