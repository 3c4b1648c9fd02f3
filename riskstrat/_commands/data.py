"""``riskstrat validate`` and ``riskstrat features``: data contracts and point-in-time features."""

from __future__ import annotations

from pathlib import Path

import typer

from riskstrat._commands._app import (
    DATA_HELP,
    EXIT_DATA,
    EXIT_USAGE,
    MODE_HELP,
    app,
    check_dates,
    check_mode,
    check_out_file,
    exit_codes,
    load_validated,
)


@app.command("validate")
def validate(
    source: Path = typer.Argument(
        ...,
        help="A folder of <table>.parquet / <table>.csv files or <table>/ Parquet datasets, "
        "or a DuckDB database file.",
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
        None,
        "--json",
        help="Also write the report (counts only) to this JSON file; when the run fails, "
        "under 'failed', the table, column, check and row count that stopped it.",
    ),
    contract: Path | None = typer.Option(
        None,
        "--contract",
        help="YAML with county additions to the contract (data.instruments with score ranges); "
        "default configs/contract.yaml, which every command reads.",
    ),
) -> None:
    """Check linked input tables against the data contract and print a per-table report.

    Exit 0 when valid (or in quarantine mode), 1 on a violation in strict mode, a table
    quarantine rejected whole or more than half, or a table missing (said after the report
    of the others), 2 on a usage or configuration error.
    """
    import datetime as dt

    from rich.console import Console

    from riskstrat._config import ConfigError
    from riskstrat._dates import REFERENCE_AHEAD, today_if_before
    from riskstrat.data import (
        DataContractError,
        load_contract_config,
        load_tables,
        refuse_rejected_whole,
        report_table,
        write_failure_json,
        write_report_json,
    )
    from riskstrat.data._absent import missing_tables, noting_missing, refuse_missing_tables
    from riskstrat.data._codes import TABLE_NAMES

    err = Console(stderr=True, soft_wrap=True)
    check_out_file(json_path, "--json")
    if mode not in ("strict", "quarantine"):
        err.print(f"error: --mode: expected strict or quarantine, got {mode!r}", markup=False)
        raise typer.Exit(EXIT_USAGE)
    if rejected_dir is not None and mode == "strict":
        # Strict mode stops at the first bad row and sets nothing aside.
        err.print("error: --rejected-dir needs --mode quarantine", markup=False)
        raise typer.Exit(EXIT_USAGE)
    try:
        reference = dt.date.fromisoformat(reference_date) if reference_date else None
    except ValueError:
        err.print(f"error: --reference-date: expected YYYY-MM-DD, got {reference_date!r}")
        raise typer.Exit(EXIT_USAGE) from None
    if reference is not None and (today := today_if_before(reference)):
        lets = "rows dated up to it would pass as not in the future"
        said = REFERENCE_AHEAD.format(
            what="--reference-date", reference=reference, today=today, lets=lets
        )
        err.print(f"error: {said}", markup=False)
        raise typer.Exit(EXIT_USAGE)
    try:
        extra = load_contract_config(contract).extra_instruments() if contract else None
        # The tables there are checked and counted even when one is missing, which then
        # fails the run after the report (a county without a feed still sees the others).
        result = load_tables(
            source,
            mode=mode,
            reference_date=reference,
            rejected_dir=rejected_dir,
            required=("persons",),
            extra_instruments=extra,
        )
    except (FileNotFoundError, NotADirectoryError, ConfigError) as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    except (DataContractError, ValueError) as exc:
        if isinstance(exc, DataContractError):
            exc = noting_missing(exc, missing_tables(source))
        err.print(f"error: {exc}", markup=False, highlight=False)
        if json_path is not None:  # a batch job reads the failure where it reads a report
            used = reference or dt.datetime.now(dt.UTC).date()  # validation's own default
            write_failure_json(exc, json_path, mode=mode, reference_date=used)
        raise typer.Exit(EXIT_DATA) from None
    failed = None
    try:  # after the report: it shows which checks emptied the table, and the others' counts
        if mode == "quarantine":
            refuse_rejected_whole(result.report, rejected_dir)
        refuse_missing_tables(result.report, source)
    except DataContractError as exc:
        failed = noting_missing(exc, [t for t in TABLE_NAMES if t not in result.report.tables])
    Console().print(report_table(result.report))
    if json_path is not None:  # once, with what refused the run if anything did
        write_report_json(result.report, json_path, failed=failed)
    if mode == "quarantine":
        where = f" to {rejected_dir}" if rejected_dir else ""
        Console().print(f"{result.report.rejected:,} row(s) rejected{where}.", highlight=False)
        if result.report.rejected and rejected_dir is None:
            err.print("hint: pass --rejected-dir D to keep the rejected rows with their reasons")
    if failed is not None:
        err.print(f"error: {failed}", markup=False, highlight=False)
        raise typer.Exit(EXIT_DATA)


# --- features: point-in-time feature table (riskstrat.features) -----------------------


@app.command("features")
def features(
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
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
    threads: int = typer.Option(2, "--threads", min=1, help="DuckDB threads."),
    memory_limit: str = typer.Option(
        "6GB", "--memory-limit", help="DuckDB memory limit (score's feature stage defaults to 2GB)."
    ),
    mode: str = typer.Option("strict", "--mode", help=MODE_HELP),
) -> None:
    """Build point-in-time features (one row per person and as-of date) into a Parquet file.

    The tables are validated first, as every command does: in strict mode a bad row fails (exit 1); in quarantine mode bad rows are set aside and counted on stderr.

    Exit codes: 0 ok; 1 data failure; 2 usage or configuration error (a --memory-limit too small for the data among them).
    """
    import time

    from rich.console import Console

    from riskstrat.data import write_parquet_atomic
    from riskstrat.features import build_features, load_feature_spec
    from riskstrat.features._settings import check_memory_limit

    check_mode(mode)
    check_dates(as_of)
    check_out_file(out)
    started = time.perf_counter()
    # A bad --as-of or --population is usage; anything else is the data's fault.
    with exit_codes(usage_prefixes=("as_of", "population", "memory_limit")):
        feature_spec = load_feature_spec(spec)
        check_memory_limit(memory_limit)  # before the data is read
        tables = load_validated(data, mode, as_of)
        frame = build_features(
            tables,
            as_of,
            spec=feature_spec,
            population=population,
            threads=threads,
            memory_limit=memory_limit,
            validate=False,  # validated above, in the mode asked for
        )
    write_parquet_atomic(frame, out)
    n_features = frame.shape[1] - 2
    Console().print(
        f"Wrote {out}: {len(frame):,} rows, {n_features} features, "
        f"{frame['as_of'].nunique()} as-of date(s) in {time.perf_counter() - started:.1f} s.",
        highlight=False,
        soft_wrap=True,
    )
