"""Checks a scoring run makes before it computes anything, and the model it loads.

Each refuses a run that would otherwise finish and hand over a wrong cohort: a model whose
inputs are defined differently now, data a quarter older than the as-of date, a persons
table rejected whole, an empty column the model reads.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from riskstrat._config import ConfigError, ConfigNotFoundError, default_config_path
from riskstrat._dates import REFERENCE_AHEAD, as_date, today_if_before
from riskstrat.scoring._errors import ModelVerificationError, ScoringConfigError, ScoringDataError

logger = logging.getLogger(__name__)

BAD_AS_OF = "as_of: expected a date YYYY-MM-DD, got {value!r}"
BAD_SHA256 = (
    "model_sha256 (--model-sha256): expected 64 hexadecimal digits (what "
    "`riskstrat models verify` prints), got {value!r}"
)
BAD_REFERENCE = "reference_date (--reference-date): expected a date YYYY-MM-DD, got {value!r}"
AS_OF_AHEAD = (
    "as_of {as_of} is after today ({today}): the days up to it have not happened, so no "
    "source can hold their events, and the features and rules would read them as days "
    "without any; expected an as-of date no later than today"
)
REFERENCE_LETS = (
    "it would let an as-of date up to it be scored, and rows dated up to it pass as not in "
    "the future"
)
NOT_A_QUARTER = (
    "as_of {as_of} is not the first day of a quarter (1 January, April, July or October); "
    "capacities are places a quarter, so this run offers a quarter's places from that day"
)
BAD_MODE = "mode: expected 'strict' or 'quarantine', got {mode!r}"
# Named as the Python API's parameter and the command's option, for both kinds of caller.
NO_DATA = "data_dir (--data) {path}: no such folder or DuckDB database file"
REJECTED_NEEDS_QUARANTINE = (
    "rejected_dir (--rejected-dir) needs mode 'quarantine' (--mode quarantine); strict mode "
    "sets no row aside"
)
DATA_NOT_A_PATH = (
    "data_dir: expected the path of a folder of tables or a DuckDB database file, got a "
    "{kind}; a cohort's manifest records the sha256 of the files it was scored from"
)
AFTER_DATA = (
    "as_of {as_of} is {days:,} days after the data's last recorded event ({last}): every "
    "feature would read that gap as months without events; expected an as-of date at most "
    "{limit} days after the data ends (score the quarter the extract covers, or refresh it)"
)
DATA_ENDS_EARLY = (
    "data: the last recorded event in any source is {last}, {days:,} days before as_of "
    "{as_of}: the events of those days are not seen, so a release, discharge or crisis in "
    "them neither counts in the features nor makes anyone eligible (a recent-episode rule "
    "lists fewer people); expected an extract through the day before the as-of date, or the "
    "as-of date of the quarter the extract covers"
)
NO_HISTORY = (
    "data: the earliest recorded event is {first}, on or after as_of {as_of}: no source "
    "covers the time before the as-of date, so nobody has a history to be scored by; "
    "expected an as-of date after the data begin"
)
SHORT_HISTORY = (
    "data: the earliest recorded event is {first}, {days:,} days before as_of "
    "{as_of}, and the features look back {lookback:,} days: counts over longer windows read "
    "short, and persons with no contact since {first} are not scored, though their records "
    "may lie before it; expected an extract reaching {lookback:,} days back (a full "
    "history), or a later as-of date"
)
NO_EVENTS = "data: no table records any event date; expected the linked event tables"
SOURCES_STOPPED = (
    "data: {stopped} before {end}, the day {why}, a silence their own rates of events make "
    "improbable: the sources do not end together. Either those stopped early (a late "
    "extract: features and eligibility rules would read the months since as none, and the "
    "cohort be chosen without them) or {last_table} holds stray late dates; expected every "
    "source extracted to the same day (refresh the extract, or correct the dates)"
)
SOURCE_BEHIND = (
    "data: {table} ends {last}, {days:,} days before {end}, the day {why}: a silence its own "
    "rate of events makes improbable. If its extract is behind the others, its features "
    "and rules read those days as none, and the cohort is chosen without them; expected "
    "every source extracted to the same day"
)
EMPTY_INPUTS = (
    "data: {columns} hold no value (the column is absent or empty), but the model's inputs "
    "{names} are computed from them and would read 0 or never for everyone, and be given "
    "as reasons; expected the column filled as in training, or a model trained without "
    "those inputs (model.exclude_features)"
)
EMPTY_TABLES = (
    "data: {tables}: no rows (a file with a header only, or no file), but the model's inputs "
    "{names} count its events and would read 0 or never for everyone, and the cohort be "
    "chosen without them; expected the table's rows (refresh the extract), or a model "
    "trained without those inputs (model.exclude_features)"
)
EMPTIER_LATELY = (
    "data: {column} is empty on {lately} of the rows of the {days} days before the as-of date, against "
    "{before} before (a claims lag, or a feed that stopped filling it): on those rows "
    "{means}, and the model's inputs {names} read them so; expected the column filled "
    "as in training (a later extract), or the cohort read with this in mind"
)
MOSTLY_EMPTY = (
    "data: {column} is empty on {lately} of the rows of the {days} days before the as-of "
    "date and {before} before: on those rows {means}, and the model's inputs {names} read "
    "them so; expected the column filled as in training"
)
NOT_A_BUNDLE = (
    "model (--model) {path}: not a model bundle (it holds {found}, no checksums.json or "
    "metadata.json); expected a folder `riskstrat train --out` or `riskstrat models export` "
    "wrote, or a registry alias or version"
)
NOT_PINNED = (
    "model {ref}: bundle sha256 {actual} is not the expected {expected} "
    "(model_sha256, --model-sha256)"
)
REDEFINED = (
    "model {ref}: {count} of its input features are defined differently in the feature spec "
    "than when it was trained: {names}; expected the definitions it was trained on (restore "
    "them in {spec_file}, the feature spec this run read, or retrain)"
)


CONFIG_NOT_A_FILE = (
    "{name}: expected the path of a YAML file (the manifest records its sha256, so that the "
    "cohort can be reproduced), got a {kind}; to change a capacity or a rule, copy "
    "configs/{name}.yaml, edit it and pass its path"
)


def check_config_paths(**configs: object) -> None:
    """Refuse a config given as an object: a cohort's configs are files it can name."""
    for name, value in configs.items():
        if value is not None and not isinstance(value, str | os.PathLike):
            raise ScoringConfigError(CONFIG_NOT_A_FILE.format(name=name, kind=type(value).__name__))


def check_arguments(
    data_dir: object,
    as_of: object,
    mode: str,
    rejected_dir: object,
    memory_limit: str,
    model_sha256: object = None,
    reference_date: object = None,
) -> tuple[pd.Timestamp, dt.date]:
    """Refuse arguments a run cannot use, before the model or the data are read; returns
    the as-of date and the validation's reference date (today by default)."""
    from riskstrat.features._settings import check_memory_limit

    if model_sha256 is not None and not (
        isinstance(model_sha256, str) and re.fullmatch(r"[0-9a-fA-F]{64}", model_sha256)
    ):
        # A pin that is no sha256 is a typo in the job, not a bundle that failed its check.
        raise ScoringConfigError(BAD_SHA256.format(value=model_sha256))

    if mode not in ("strict", "quarantine"):
        raise ScoringConfigError(BAD_MODE.format(mode=mode))
    if rejected_dir is not None and mode != "quarantine":
        raise ScoringConfigError(REJECTED_NEEDS_QUARANTINE)
    if rejected_dir is not None and isinstance(data_dir, str | os.PathLike):
        from riskstrat.data._whole_tables import check_rejected_dir

        try:
            check_rejected_dir(rejected_dir, data_dir)
        except ConfigError as exc:
            raise ScoringConfigError(
                str(exc).replace("rejected_dir", "rejected_dir (--rejected-dir)", 1)
            ) from exc
    try:
        as_of_ts = pd.Timestamp(as_date(as_of))
    except ValueError as exc:
        raise ScoringConfigError(BAD_AS_OF.format(value=as_of)) from exc
    try:
        today = (
            dt.datetime.now(dt.UTC).date()
            if reference_date is None
            else as_date(reference_date, "reference_date")
        )
    except ValueError as exc:
        raise ScoringConfigError(BAD_REFERENCE.format(value=reference_date)) from exc
    if reference_date is not None and (real := today_if_before(today)):
        raise ScoringConfigError(
            REFERENCE_AHEAD.format(
                what="reference_date (--reference-date)",
                reference=today,
                today=real,
                lets=REFERENCE_LETS,
            )
        )
    if as_of_ts.date() > today:
        raise ScoringConfigError(
            AS_OF_AHEAD.format(
                as_of=as_of_ts.date(),
                today=f"{today}, the reference date" if reference_date is not None else today,
            )
        )
    if not isinstance(data_dir, str | os.PathLike):
        # Tables in memory cannot be fingerprinted for the manifest as the files are.
        raise ScoringConfigError(DATA_NOT_A_PATH.format(kind=type(data_dir).__name__))
    if not Path(data_dir).exists():
        # A mistyped path is a usage error, and said at once.
        raise ScoringConfigError(NO_DATA.format(path=data_dir))
    if not (as_of_ts.day == 1 and as_of_ts.month in (1, 4, 7, 10)):
        # Capacities are places a quarter and --previous expects a run a quarter apart: a
        # cron job run on the wrong day would still score, so it is said.
        logger.warning(NOT_A_QUARTER.format(as_of=as_of_ts.date()))
    try:
        check_memory_limit(memory_limit)
    except ValueError as exc:
        raise ScoringConfigError(
            str(exc).replace("memory_limit", "memory_limit (--memory-limit)", 1)
        ) from exc
    return as_of_ts, today


def check_definitions(bundle: Any, spec: Any, ref: str, spec_file: object) -> None:
    """Refuse a model whose inputs the current feature spec computes differently.

    Bundles saved before definitions were recorded carry none and pass unchecked.
    ``spec_file`` is where the spec was read (``$RISKSTRAT_CONFIG_DIR``, ``./configs`` or
    the package's), named in the error.
    """
    from riskstrat.features._digest import changed_definitions

    recorded = bundle.metadata.get("feature_definitions")
    if not recorded:
        return
    changed = changed_definitions(dict(recorded), spec)
    if changed:
        shown = ", ".join(changed[:10]) + (", ..." if len(changed) > 10 else "")
        raise ModelVerificationError(
            REDEFINED.format(ref=ref, count=len(changed), names=shown, spec_file=spec_file)
        )


def check_coverage(
    tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, lookback_days: int | None = None
) -> dict[str, Any]:
    """Refuse an as-of date more than a quarter past the data's last recorded event, and
    sources that stop before the as-of date while another runs on; warn of less history
    before the as-of date than the features look back.

    Each source is held to the day before the as-of date, or to the latest source's last
    day if that comes first (an extract a few weeks short of the as-of date is usual): one
    that stopped a quarter before it, or a stray late date in another, would let a cohort
    be chosen on months no other source covers.

    Returns
    -------
    dict
        ``first_event`` (ISO date of the earliest occurrence in any source),
        ``days_before_as_of``, ``last_event`` (each source's latest occurrence, ISO date),
        ``days_after_last_event`` (from the latest of those to the as-of date; over
        ``LAG_WARN_DAYS`` it is warned of) and ``sources_behind`` (the sources warned of
        as a month or more behind), for the run's summary.
    """
    from riskstrat.data._coverage import LAG_WARN_DAYS, STALE_DAYS, lagging_sources, occurrences

    found = occurrences(tables)
    if not found:
        raise ScoringDataError(NO_EVENTS)
    # The latest source, and among sources ending that day the one with the most persons.
    last_table = max(sorted(found), key=lambda t: (found[t].last, found[t].persons))
    last = found[last_table].last
    days = (as_of - last).days
    if days > STALE_DAYS:
        raise ScoringDataError(
            AFTER_DATA.format(as_of=as_of.date(), days=days, last=last.date(), limit=STALE_DAYS)
        )
    if days > LAG_WARN_DAYS:
        # Refused past a quarter; short of that a scheduler could run on last month's
        # extract and publish a cohort short of its recent episodes, exit 0.
        logger.warning(DATA_ENDS_EARLY.format(last=last.date(), days=days, as_of=as_of.date()))
    first = min(o.first for o in found.values())
    history = (as_of - first).days
    if history <= 0:
        # A mistyped year would otherwise score a cohort with no history, and exit 0.
        raise ScoringDataError(NO_HISTORY.format(as_of=as_of.date(), first=first.date()))
    if lookback_days is not None and history < lookback_days:
        logger.warning(
            SHORT_HISTORY.format(
                as_of=as_of.date(), first=first.date(), days=history, lookback=lookback_days
            )
        )
    day_before = as_of - pd.Timedelta(days=1)
    end = min(day_before, last)
    stopped = lagging_sources(found, end)
    why = "before the as-of date" if end == day_before else f"{last_table}'s last event falls on"
    if stopped:
        raise ScoringDataError(
            SOURCES_STOPPED.format(
                stopped=", ".join(
                    f"{table} ends {day.date()}, {lag:,} days" for table, day, lag in stopped
                ),
                end=end.date(),
                why=why,
                last_table=last_table,
            )
        )
    behind = lagging_sources(found, end, floor=LAG_WARN_DAYS)
    for table, day, lag in behind:
        logger.warning(
            SOURCE_BEHIND.format(table=table, last=day.date(), days=lag, end=end.date(), why=why)
        )
    return {
        "first_event": first.date().isoformat(),
        "days_before_as_of": history,
        # Each source's last occurrence, so an audit can see a short extract afterwards.
        "last_event": {table: o.last.date().isoformat() for table, o in sorted(found.items())},
        "days_after_last_event": days,
        "sources_behind": [table for table, _day, _lag in behind],
    }


def check_inputs(
    tables: Mapping[str, pd.DataFrame], spec: Any, names: Sequence[str], as_of: object = None
) -> None:
    """Refuse data that leaves a table or a column empty which the model's inputs read; warn
    of a column the inputs sum that is empty on many of the rows just before ``as_of``."""
    from riskstrat.data._codes import ABSENT_COLUMN_MEANS
    from riskstrat.data._whole_tables import share_text
    from riskstrat.features._inputs import (
        RECENT_DAYS,
        RECENT_EMPTY_SHARE,
        emptier_lately,
        empty_inputs,
        empty_tables,
    )
    from riskstrat.features._spec import expand_features

    wanted = set(names)
    inputs = [f for f in expand_features(spec) if f.name in wanted]
    missing = empty_tables(tables, inputs)
    if missing:
        names_read = sorted({name for group in missing.values() for name in group})
        shown = ", ".join(names_read[:8]) + (", ..." if len(names_read) > 8 else "")
        raise ScoringDataError(EMPTY_TABLES.format(tables=", ".join(sorted(missing)), names=shown))
    empty = empty_inputs(tables, inputs)
    if empty:
        inputs = sorted({name for group in empty.values() for name in group})
        shown = ", ".join(inputs[:8]) + (", ..." if len(inputs) > 8 else "")
        raise ScoringDataError(EMPTY_INPUTS.format(columns=", ".join(empty), names=shown))
    for column, lately, before, names in emptier_lately(tables, inputs, as_of):
        table, name = column.split(".")
        lagging = before is not None and lately >= 2 * before + RECENT_EMPTY_SHARE / 2
        logger.warning(
            (EMPTIER_LATELY if lagging else MOSTLY_EMPTY).format(
                column=column,
                lately=share_text(round(lately * 1000), 1000),
                days=RECENT_DAYS,
                before="no row" if before is None else share_text(round(before * 1000), 1000),
                means=ABSENT_COLUMN_MEANS.get((table, name), "the value reads as missing"),
                names=", ".join(names[:4]) + (", ..." if len(names) > 4 else ""),
            )
        )


def load_model(
    ref: str | Path, tracking_uri: str | None = None, expected_sha256: str | None = None
) -> tuple[Any, str, dict[str, str] | None]:
    """The verified bundle for ``ref``, how the manifest names the reference (never a local
    path), and for a registered model the name and version the reference resolved to.

    A bundle folder whose sha256 is not ``expected_sha256`` is refused before any of its
    files is parsed (a registered model is checked against its registry tag first).
    """
    from riskstrat.modeling import ModelBundle, ModelReferenceError
    from riskstrat.modeling._bundle_files import CHECKSUMS_FILE, METADATA_FILE
    from riskstrat.modeling._model_config import configured_tracking
    from riskstrat.modeling._registry_refs import bundle_folder
    from riskstrat.modeling._tracking_registry import NO_BUNDLE_FOLDER, resolve_registered

    path = bundle_folder(ref)
    if path is not None:
        if not path.is_dir():
            raise ModelReferenceError(NO_BUNDLE_FOLDER.format(path=path))
        if not any((path / name).exists() for name in (CHECKSUMS_FILE, METADATA_FILE)):
            # A data folder or an evaluation folder named by mistake is a usage error; the
            # alarm of a failed check (exit 3) is kept for a bundle that was changed.
            names = sorted(p.name for p in path.iterdir())
            found = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            raise ModelReferenceError(NOT_A_BUNDLE.format(path=path, found=found or "nothing"))
        bundle = ModelBundle.load(path, expected_sha256=expected_sha256)
        return bundle, f"bundle:{path.resolve().name}", None
    # The model config's tracking section names the registry and the registered model.
    tracking = configured_tracking()
    bundle, name, version = resolve_registered(str(ref), tracking_uri, config=tracking)
    return bundle, f"registry:{ref}", {"name": name, "version": version}


PROTECTED_INPUTS = (
    "model {ref} takes {names} as input(s): sensitive attributes, or features "
    "standing in for one, that models withhold unless their config opts in; retrain without "
    "them unless the county chose to use them"
)


def check_out(
    out: Path,
    iso: str,
    overwrite: bool,
    previous: object,
    rejected_dir: object,
    new_chain: bool = False,
) -> dt.date | None:
    """Refuse an output folder this run cannot write, before the model or the data are read.

    Warns when an ``--overwrite`` would replace a run whose offers a later chain dropped.
    With no ``--previous``, refuses a run beside an earlier quarter's run (see
    :func:`~riskstrat.scoring._chain_beside.check_chain`). Returns the as-of date of the
    earlier run beside ``out`` that ``new_chain`` leaves unread, if any.
    """
    from riskstrat.scoring._chain_beside import check_chain
    from riskstrat.scoring._manifest import OTHER_QUARTER, chain_dropped, is_cohort_run, run_as_of
    from riskstrat.scoring._previous import check_apart
    from riskstrat.scoring._rejected_dir import check_rejected_beside

    unread = check_chain(out, dt.date.fromisoformat(iso), previous, new_chain)
    if previous is not None:
        check_apart(previous, out)
    # Said with or without --overwrite: replacing another quarter is never the fix.
    found = run_as_of(out) if is_cohort_run(out) else None
    if found is not None and found != iso:
        raise ScoringConfigError(OTHER_QUARTER.format(path=out, found=found, as_of=iso))
    if rejected_dir is not None:
        check_rejected_beside(out, rejected_dir, overwrite=overwrite)
    dropped = chain_dropped(out, previous) if found is not None and overwrite else None
    if dropped:
        logger.warning(dropped)
    return unread


def contract_config() -> dict[str, Path]:
    """``configs/contract.yaml`` for the manifest, when there is one."""
    from riskstrat.data._contract_config import CONTRACT_FILE

    try:
        return {CONTRACT_FILE: default_config_path(CONTRACT_FILE)}
    except ConfigNotFoundError:
        return {}
