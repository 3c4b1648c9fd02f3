"""The Typer application and exit codes shared by every subcommand module."""

from __future__ import annotations

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
