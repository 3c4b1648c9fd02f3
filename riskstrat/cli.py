"""The ``riskstrat`` command: one subcommand per front door.

Each subcommand is a thin wrapper: it parses options, calls the public Python API and
prints a summary. Exit codes: 0 success, 1 data or validation failure, 2 usage or
configuration error (``riskstrat score`` adds 3: model verification failure).

The commands live in ``riskstrat._commands``, one module per stage; importing them here
registers them on ``app``, in the order ``riskstrat --help`` lists them.
"""

from __future__ import annotations

# isort: off
# Registration order is the order of the pipeline in ``riskstrat --help``.
from riskstrat._commands import synth  # noqa: F401
from riskstrat._commands import data  # noqa: F401
from riskstrat._commands import rules  # noqa: F401
from riskstrat._commands import train  # noqa: F401
from riskstrat._commands import models  # noqa: F401
from riskstrat._commands import score  # noqa: F401

# isort: on
from riskstrat._commands._app import EXIT_DATA, EXIT_OK, EXIT_USAGE, app, reflow_help

reflow_help(app)

__all__ = ["EXIT_DATA", "EXIT_OK", "EXIT_USAGE", "app"]
