"""``riskstrat synth``: the synthetic linked county."""

from __future__ import annotations

from pathlib import Path

import typer

from riskstrat._atomic import atomic_file
from riskstrat._commands._app import EXIT_USAGE, app, check_dates, check_out_file, exit_codes


@app.command("synth")
def synth_command(
    persons: int = typer.Option(..., "--persons", help="Number of people to generate."),
    start: str = typer.Option(..., "--start", help="First day of data, YYYY-MM-DD."),
    end: str = typer.Option(..., "--end", help="Day after the last day of data, YYYY-MM-DD."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same arguments, same bytes."),
    out: Path = typer.Option(
        ...,
        "--out",
        help=(
            "Output folder for the tables, truth, manifest: new, empty, or an earlier "
            "synthetic county, which is replaced whole."
        ),
    ),
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
    """Generate a synthetic linked county with the true risks it used.

    Writes eight Parquet tables, truth/truth.parquet (the true 12-month outcome probabilities
    per person and quarter; key-value metadata county=sha256 of the arguments) and
    synth_manifest.json.
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
        err.print(f"error: {exc}", markup=False, highlight=False)
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
            err.print(f"error: {exc}", markup=False, highlight=False)
            raise typer.Exit(EXIT_USAGE) from None
        except FileExistsError as exc:  # --out holds something other than a county
            progress.stop()
            err.print(f"error: --out {exc}", markup=False, highlight=False)
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


# --- oracle: the point-in-time (as-of) oracle of a written county -----------------------


@app.command("oracle")
def oracle_command(
    data: Path = typer.Option(
        ..., "--data", help="County folder written by `riskstrat synth` (with its manifest)."
    ),
    as_of: list[str] = typer.Option(
        ...,
        "--as-of",
        help=(
            "Quarter start YYYY-MM-DD in the county's period; its 12-month outcome window is "
            "simulated, past the data's end too (a truth no training label can have there). "
            "Repeatable."
        ),
    ),
    draws: int = typer.Option(
        32, "--draws", help="Monte Carlo draws of the future per person; even (antithetic)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the Monte Carlo draws."),
    out: Path = typer.Option(..., "--out", help="Parquet file to write (atomically)."),
) -> None:
    """Compute the as-of oracle: true outcome probabilities given the as-of date's state.

    truth/truth.parquet (the path oracle) knows the latent risk path over the whole window,
    a bound no model can reach. The as-of oracle knows the person's state on the as-of date
    (frailty, the current episode, conditions, age, housing, alive) and averages over the
    future by Monte Carlo. The latent state is regenerated from synth_manifest.json and
    checked against persons.parquet and truth/truth.parquet first.

    Writes the columns of truth/truth.parquet, with key-value metadata riskstrat_oracle=as_of,
    draws=N and county (as in truth/truth.parquet). Exit codes: 0 ok; 1 the county does not
    match this generator; 2 usage error.
    """
    from rich.console import Console
    from rich.progress import Progress

    from riskstrat.synth import as_of_truth

    check_dates(as_of)
    check_out_file(out)
    err = Console(stderr=True, soft_wrap=True)
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("oracle", total=4 + len(set(as_of)))

        def step(stage: str) -> None:
            progress.update(task, advance=0 if stage == "population" else 1, description=stage)

        with exit_codes(usage_prefixes=("as_of", "draws")):
            frame = as_of_truth(data, as_of, draws=draws, seed=seed, progress=step)
    _write_oracle(frame, out)
    Console().print(
        f"Wrote {out}: {len(frame):,} rows, {frame['as_of'].nunique()} as-of date(s), "
        f"{draws} draws.",
        highlight=False,
        soft_wrap=True,
    )


def _write_oracle(frame, path: Path) -> None:
    """Parquet like truth/truth.parquet (as_of a DATE) plus the oracle's key-value metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.set_column(
        table.schema.get_field_index("as_of"), "as_of", table.column("as_of").cast(pa.date32())
    )
    meta = {key: str(value) for key, value in frame.attrs.items()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
