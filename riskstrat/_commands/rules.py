"""``riskstrat eligibility`` and ``riskstrat outcomes``: programme rules and labels."""

from __future__ import annotations

from pathlib import Path

import typer

from riskstrat._commands._app import (
    DATA_HELP,
    MODE_HELP,
    app,
    check_data_end,
    check_dates,
    check_mode,
    check_out_file,
    exit_codes,
    load_validated,
)


@app.command("eligibility")
def eligibility_command(
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    as_of: list[str] = typer.Option(
        ..., "--as-of", help="As-of date YYYY-MM-DD; repeat for several dates."
    ),
    out: Path = typer.Option(..., "--out", help="Parquet file to write (atomically)."),
    programs: Path | None = typer.Option(
        None, "--programs", help="Programme rules (default configs/programs.yaml)."
    ),
    mode: str = typer.Option("strict", "--mode", help=MODE_HELP),
    threads: int = typer.Option(2, "--threads", min=1, help="DuckDB threads (the feature stage)."),
    memory_limit: str = typer.Option(
        "6GB", "--memory-limit", help="DuckDB memory limit (the feature stage)."
    ),
) -> None:
    """Evaluate every programme's eligibility rules for everyone as of a date.

    Writes one row per person, as-of date and programme (eligible, criteria met, readable reasons with the person's values, conditions to confirm at the point of care) and prints eligible counts per programme. Screening criteria (Medi-Cal, residence, disability, ...) never change the data-computed eligible flag.

    Exit codes: 0 ok; 1 data failure; 2 usage or configuration error (a --memory-limit too small for the data among them).
    """
    from rich.console import Console

    from riskstrat.eligibility import (
        counts_table,
        eligible_counts,
        evaluate_programs,
        load_programs,
        write_eligibility,
    )
    from riskstrat.features import build_features
    from riskstrat.features._settings import check_memory_limit

    check_mode(mode)
    check_dates(as_of)
    check_out_file(out)
    with exit_codes(usage_prefixes=("as_of", "memory_limit")):
        rules = load_programs(programs)
        check_memory_limit(memory_limit)  # before the data is read
        tables = load_validated(data, mode, as_of)
        features = build_features(  # validated above
            tables, as_of, threads=threads, memory_limit=memory_limit, validate=False
        )
        long = evaluate_programs(features, rules)
    write_eligibility(long, out)
    Console().print(counts_table(eligible_counts(long, rules)))
    Console().print(f"Wrote {out}: {len(long):,} rows.", highlight=False)


# --- outcomes: labels over a horizon (riskstrat.outcomes) ------------------------------


@app.command("outcomes")
def outcomes_command(
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    as_of: list[str] = typer.Option(
        ..., "--as-of", help="As-of date YYYY-MM-DD; repeat for several dates."
    ),
    out: Path = typer.Option(..., "--out", help="Parquet file to write (atomically)."),
    spec: Path | None = typer.Option(
        None, "--spec", help="Outcome definitions (default configs/outcomes.yaml)."
    ),
    data_end: str | None = typer.Option(
        None,
        "--data-end",
        help="Last day the data covers (default: the latest start, event, diagnosis, fill or "
        "assessment date; end and death dates do not count).",
    ),
    mode: str = typer.Option("strict", "--mode", help=MODE_HELP),
) -> None:
    """Build outcome labels over the horizon after each as-of date, with censoring flags.

    Labels count only events in [as-of, as-of + horizon) for persons alive on the as-of date; a person who dies, or whose data ends, before the horizon is flagged censored. Prints per-outcome event rates and censored counts.

    Exit codes: 0 ok; 1 data failure; 2 usage or configuration error.
    """
    from rich.console import Console

    from riskstrat.data import write_parquet_atomic
    from riskstrat.outcomes import (
        build_outcomes,
        load_outcome_spec,
        outcome_summary,
        summary_table,
    )

    check_mode(mode)
    check_dates(as_of)
    check_out_file(out)
    if data_end is not None:
        check_dates([data_end], "--data-end")
        check_data_end(data_end, as_of)
    with exit_codes():
        outcome_spec = load_outcome_spec(spec)
        tables = load_validated(data, mode)
        frame = build_outcomes(
            tables, as_of, spec=outcome_spec, data_end=data_end, validate=False
        )  # validated above
    write_parquet_atomic(frame, out)
    Console().print(summary_table(outcome_summary(frame, outcome_spec)))
    Console().print(f"Wrote {out}: {len(frame):,} rows.", highlight=False)
