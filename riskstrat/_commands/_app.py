"""The Typer application and exit codes shared by every subcommand module."""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import typer

from riskstrat._signals import install_interrupt, install_terminate


def _flags_show_no_type() -> None:
    """Print ``--quiet`` rather than ``--quiet <bool>`` in ``--help``.

    Typer 0.2x prints every option's type, flags included, which reads as if a flag took a
    value (``--overwrite true`` then fails with "unexpected extra argument"). Flags take
    none, so they show no type; every other option keeps its own.
    """
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "_riskstrat_flags", False):
        return  # an older Typer prints no type for flags; or patched already

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich._riskstrat_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_type()

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


class _StderrHandler(logging.Handler):
    """Writes each record as ``<level>: <message>`` to the stderr of the moment (a test
    runner swaps it), so that every warning reads the same in a cron log."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"{record.levelname.lower()}: {record.getMessage()}\n")
        except Exception:  # logging must never end the run
            self.handleError(record)


def _log_to_stderr() -> None:
    package = logging.getLogger("riskstrat")
    if not any(isinstance(h, _StderrHandler) for h in package.handlers):
        package.addHandler(_StderrHandler(logging.WARNING))


# Columns of output written to a file or a pipe: rich's 80 broke the lines of a cron log
# mid-list and clipped table headers ("observ…").
LOG_COLUMNS = 160


def _wide_when_logged() -> None:
    """Print ``LOG_COLUMNS`` wide when neither stdout nor stderr is a terminal (a cron job,
    a pipeline), unless COLUMNS says otherwise; a terminal keeps its own width. Left set
    when the command ends: the option parser prints its usage errors after that."""
    if "COLUMNS" in os.environ or sys.stdout.isatty() or sys.stderr.isatty():
        return
    os.environ["COLUMNS"] = str(LOG_COLUMNS)


def _exit_cleanly_on_sigterm(ctx: typer.Context) -> None:
    """For the command's run only: a caller that runs it in-process (a test, a notebook)
    gets its own handler back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        return  # signals are the main thread's only
    previous = install_terminate()
    ctx.call_on_close(lambda: signal.signal(signal.SIGTERM, previous))
    if (ctrl_c := install_interrupt()) is not None:
        ctx.call_on_close(lambda: signal.signal(signal.SIGINT, ctrl_c))


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        from riskstrat._provenance import code_sha256

        # The digest a manifest and a bundle record: an auditor checks the code installed
        # is the code that wrote them, whatever the version string says.
        typer.echo(f"riskstrat {version('riskstrat')} (code sha256 {code_sha256()})")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="Print the installed version and exit.",
    ),
) -> None:
    """Risk stratification and eligibility scoring for county health and social services."""
    _log_to_stderr()
    _wide_when_logged()
    _exit_cleanly_on_sigterm(ctx)


DATA_HELP = (
    "The linked data: a folder of <table>.parquet or <table>.csv files (or <table>/ folders "
    "of Parquet files), or a DuckDB database file."
)
MODES = ("strict", "quarantine")
MODE_HELP = "strict: a bad input row fails; quarantine: bad rows set aside."
BAD_MODE = "[red]error:[/red] --mode: expected strict or quarantine, got {mode!r}"


def check_mode(mode: str) -> None:
    """Exit with the usage code unless ``mode`` is strict or quarantine."""
    if mode not in MODES:
        _stderr().print(BAD_MODE.format(mode=mode))
        raise typer.Exit(EXIT_USAGE)


@contextlib.contextmanager
def exit_codes(usage_prefixes: tuple[str, ...] = ("as_of",)) -> Iterator[None]:
    """Turn the stages' errors into a one-line message and the documented exit code.

    Configuration errors, missing files and a file given where a folder was expected are
    usage errors (2); a data-contract or value
    error is the data's fault (1) unless its message starts with one of ``usage_prefixes``
    (a bad ``--as-of``, for example).
    """
    from riskstrat._config import ConfigError
    from riskstrat.data import DataContractError

    try:
        yield
    except ConfigError as exc:  # before ValueError: ConfigError is one
        _stderr().print(f"error: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_USAGE) from exc
    except (FileNotFoundError, NotADirectoryError) as exc:
        # No data where --data points, or one table's file where a folder was expected.
        _stderr().print(f"error: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_USAGE) from exc
    except (DataContractError, ValueError, MemoryError) as exc:
        # A bare MemoryError has no words of its own.
        _stderr().print(f"error: {str(exc) or 'out of memory'}", highlight=False, markup=False)
        usage = str(exc).startswith(usage_prefixes)
        raise typer.Exit(EXIT_USAGE if usage else EXIT_DATA) from exc


def load_validated(data: Path, mode: str, as_of: list[str] | None = None) -> dict:
    """The tables at ``data`` validated as ``riskstrat validate`` does (persons required),
    to be read as of the latest of ``as_of`` if given (the warnings of unclosed terms).

    A missing table reads as no events: the features and outcomes built from the tables
    name it, with what reads it (``riskstrat.data._absent``). In quarantine mode a line
    counts the rows set aside per table (counts only), and a table rejected whole is
    refused. A run never drops rows or tables without a word.
    """
    from riskstrat._dates import as_date
    from riskstrat.data import load_tables, refuse_rejected_whole

    latest = max(as_date(d, "--as-of") for d in as_of) if as_of else None
    result = load_tables(data, mode=mode, required=("persons",), as_of=latest)
    refuse_rejected_whole(result.report)
    dropped = {t: r for t, r in result.report.tables.items() if r.rejected}
    if dropped:
        counts = "; ".join(f"{t} {r.rejected:,} of {r.rows_in:,}" for t, r in dropped.items())
        _stderr().print(
            f"quarantine: rows set aside: {counts} (riskstrat validate --mode quarantine "
            "--rejected-dir D writes them with their reasons)",
            highlight=False,
            markup=False,
        )
    return dict(result.tables)


def _stderr():
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


OUT_IS_A_FOLDER = (
    "error: {option} {path} is a folder; expected the path of the file to write (e.g. {example})"
)


def check_out_file(path: Path | None, option: str = "--out") -> None:
    """Exit with the usage code when an output file's path is a folder, before any work.

    Found only at the end, when the written file was to be moved into place, it cost the
    whole run and ended in a traceback.
    """
    if path is not None and path.is_dir():
        example = path / ("out.parquet" if option == "--out" else "validation.json")
        _stderr().print(
            OUT_IS_A_FOLDER.format(option=option, path=path, example=example),
            highlight=False,
            markup=False,
        )
        raise typer.Exit(EXIT_USAGE)


def check_dates(values: list[str], option: str = "--as-of") -> None:
    """Exit with the usage code, naming the option, unless every value is a date as every
    API reads one (:func:`riskstrat._dates.as_date`)."""
    from rich.markup import escape

    from riskstrat._dates import as_date

    for value in values:
        try:
            as_date(value, option)
        except ValueError as exc:
            message = str(exc)
            if "," in value:  # a list where the option is repeated instead
                message += f"; for several dates repeat the option: {option} A {option} B"
            _stderr().print(f"[red]error:[/red] {escape(message)}", highlight=False)
            raise typer.Exit(EXIT_USAGE) from None


def check_data_end(data_end: str, as_of: list[str]) -> None:
    """Exit with the usage code unless ``--data-end`` is on or after every ``--as-of``,
    before any data is read (the outcome stage refuses it too, but after loading)."""
    from riskstrat._dates import as_date

    latest = max(as_date(value) for value in as_of)
    if as_date(data_end) < latest:
        _stderr().print(
            f"[red]error:[/red] --data-end {data_end} is before --as-of {latest}: no day "
            "of that window would be observed; expected the last day the data covers",
            highlight=False,
        )
        raise typer.Exit(EXIT_USAGE)


def reflow_help(typer_app: typer.Typer) -> None:
    """Give every command of ``typer_app`` (and its sub-apps) its docstring as flowing help.

    Rich help keeps a docstring's single line breaks, so text wrapped at the source's line
    length breaks again at the terminal's and reads as ragged lines. Paragraphs are joined
    into one line each (blank lines still separate paragraphs) and the terminal wraps them.
    """
    for info in typer_app.registered_commands:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            info.help = _reflow(inspect.cleandoc(info.callback.__doc__))
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            reflow_help(group.typer_instance)


def read_paths_ourselves(typer_app: typer.Typer) -> None:
    """Leave whether a path can be read to the command, for every path of ``typer_app``.

    Click checks a path it is given for reading before the command runs, and says so in a
    boxed usage message a batch log's ``grep '^error:'`` misses; the command's own reading
    says it in one ``error:`` line naming the place (exit 2, as before).
    """
    for info in typer_app.registered_commands:
        if info.callback is None:
            continue
        for parameter in inspect.signature(info.callback).parameters.values():
            if hasattr(parameter.default, "readable"):
                parameter.default.readable = False
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            read_paths_ourselves(group.typer_instance)


def _reflow(text: str) -> str:
    return "\n\n".join(re.sub(r"\s*\n\s*", " ", p.strip()) for p in text.split("\n\n"))
