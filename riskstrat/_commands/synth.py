"""``riskstrat synth``: the synthetic linked county."""

from __future__ import annotations

from pathlib import Path

import typer

from riskstrat._commands._app import EXIT_USAGE, app


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
