"""The ``riskstrat`` command: one subcommand per front door.

Each subcommand is a thin wrapper: it parses options, calls the public Python API and
prints a summary. Exit codes: 0 success, 1 data or validation failure, 2 usage or
configuration error.
"""

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


# Subcommands register themselves below, one import each, so the CLI stays a thin index.
