"""``score_cohort``: the quarterly batch run from a data folder to an output folder.

validate -> features -> eligibility -> calibrated risk -> percentile and tier -> selection
-> explanations -> write (atomically). Failures map to the command's exit codes through
the :class:`ScoringError` subclasses: 1 data, 2 usage or configuration, 3 model verification.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from riskstrat._atomic import staged_files
from riskstrat._config import ConfigError, default_config_path, mixed_origins
from riskstrat._signals import mark_done
from riskstrat.scoring._cohort import build_cohort
from riskstrat.scoring._errors import (
    ModelVerificationError,
    ScoringConfigError,
    ScoringDataError,
    TablesRejectedError,
    registry_refused,
)
from riskstrat.scoring._explain_persons import ModelConsistencyError
from riskstrat.scoring._groups import group_records
from riskstrat.scoring._manifest import (
    InputsChangedError,
    build_manifest,
    check_unchanged,
    cohort_run_of,
    input_stats,
    is_cohort_run,
)
from riskstrat.scoring._offers import (
    OFFER_TYPES,
    OFFERS_FILE,
    empty_ledger,
    offer_starts,
    replaced_offers,
    updated_ledger,
)
from riskstrat.scoring._out_errors import output_refused
from riskstrat.scoring._outputs import OUTPUT_FILES, write_outputs
from riskstrat.scoring._preflight import (
    NOT_PINNED,
    PROTECTED_INPUTS,
    check_arguments,
    check_config_paths,
    check_coverage,
    check_definitions,
    check_inputs,
    check_out,
    contract_config,
    load_model,
)
from riskstrat.scoring._previous import (
    check_same_county,
    checked_gaps,
    offer_facts,
    read_previous_offers,
)
from riskstrat.scoring._reading import reading_facts
from riskstrat.scoring._rejected_dir import kept_rows_dir
from riskstrat.scoring._report import build_summary, reconcile, screening_items
from riskstrat.scoring._selection import slots_from_programs
from riskstrat.scoring._stages import _Stages
from riskstrat.scoring._tiers import load_scoring_config
from riskstrat.scoring._write import OutputExistsError, atomic_output_dir, write_json, write_parquet

logger = logging.getLogger(__name__)

QUARANTINED = (
    "quarantined {total:,} input row(s) that failed the data contract ({tables}); the cohort "
    "is chosen without them. Their checks are counted in manifest.json{where}"
)
NO_PERSONS_SCORED = "features: nobody was scored as of {as_of}; check the data's date range"


@dataclass(frozen=True)
class CohortResult:
    """What :func:`score_cohort` produced.

    Attributes
    ----------
    out : Path
        The output folder.
    cohort, explanations : DataFrame
        As written to ``cohort.parquet`` and ``explanations.parquet``.
    summary : dict
        As written to ``summary.json``.
    manifest : dict
        As written to ``manifest.json``.
    timings : dict of str to float
        Seconds per stage (not written to any file: outputs stay byte-identical).
    """

    out: Path
    cohort: pd.DataFrame
    explanations: pd.DataFrame
    summary: dict[str, Any]
    manifest: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        # The default printed both tables' first rows, person ids included.
        return (
            f"CohortResult(out={self.out!r}, as_of={self.manifest.get('as_of')!r}, "
            f"cohort_rows={len(self.cohort):,}, explanation_rows={len(self.explanations):,})"
        )


def score_cohort(
    data_dir: str | Path,
    as_of: dt.date | str,
    model: str | Path,
    out: str | Path,
    *,
    programs: str | Path | None = None,
    tiers: str | Path | None = None,
    mode: Literal["strict", "quarantine"] = "strict",
    overwrite: bool = False,
    progress: bool = False,
    memory_limit: str = "2GB",
    model_sha256: str | None = None,
    tracking_uri: str | None = None,
    previous: str | Path | None = None,
    rejected_dir: str | Path | None = None,
    reference_date: dt.date | str | None = None,
    allow_gap: bool = False,
    new_chain: bool = False,
) -> CohortResult:
    """Score the population as of a date and write the quarterly cohort to ``out``.

    Parameters
    ----------
    data_dir : str or Path
        Folder of ``<table>.parquet`` / ``<table>.csv`` files (or a DuckDB database file).
    as_of : date or str (YYYY-MM-DD)
        Features see only events before this date.
    model : str or Path
        Registry alias (``"champion"``), registry version, or a bundle folder.
    out : str or Path
        Output folder; written atomically, refused if it exists unless ``overwrite``.
    programs, tiers : str or Path, optional
        ``configs/programs.yaml`` and ``configs/tiers.yaml`` by default.
    mode : {"strict", "quarantine"}
        Bad input rows fail the run (strict) or are set aside and counted (quarantine).
    overwrite : bool
        Replace an existing ``out`` folder.
    progress : bool
        Show a progress bar per stage.
    memory_limit : str
        DuckDB's working memory for the feature stage (it spills beyond that). The
        validated tables already sit in memory, so a small limit keeps the run's peak low:
        at 1,000,000 persons, 2GB gives about 6.7 GB peak against about 9.4 GB with 6GB.
    model_sha256 : str, optional
        The bundle sha256 the batch job expects (``riskstrat models verify`` prints it);
        any other model is refused. A registered model is pinned by its registry tag
        anyway; a bundle folder is otherwise checked against its own checksums only.
    tracking_uri : str, optional
        The MLflow registry a registry reference is looked up in (default:
        ``MLFLOW_TRACKING_URI``, then ``configs/model.yaml``'s tracking section).
    previous : str or Path, optional
        The output folder of an earlier run (normally last quarter's). Its offer ledger
        ``offers.parquet`` is verified against its manifest; pairs offered less than
        ``selection.reoffer_after_months`` before ``as_of`` are not offered again (status
        ``offered_recently``) unless taken up (an enrolment started since), and the
        ledger written here carries them on. Without it, nobody is held back and the
        ledger starts afresh: refused, while an earlier quarter's run stands beside ``out``,
        unless ``new_chain``. A run two quarters or more before ``as_of`` is refused unless
        ``allow_gap``: the offers of a run in between would not be known.
    rejected_dir : str or Path, optional
        Quarantine mode only: where the rows set aside are written
        (``<table>.parquet``, with their check and reason), as ``riskstrat validate`` does.
    reference_date : date or str, optional
        The validation's today (default: today, UTC): dates after it fail the contract's
        ``future_date`` check, and ``as_of`` may not be after it. The manifest records it
        (``validation_reference_date``); a run's own reproduces it on a later day.

    Returns
    -------
    CohortResult

    Raises
    ------
    ScoringDataError, ScoringConfigError, ModelVerificationError
        With ``exit_code`` 1, 2 and 3.
    """
    out = Path(out)
    check_config_paths(programs=programs, tiers=tiers)
    as_of_ts, reference = check_arguments(
        data_dir, as_of, mode, rejected_dir, memory_limit, model_sha256, reference_date
    )
    iso = as_of_ts.date().isoformat()
    unread = check_out(out, iso, overwrite, previous, rejected_dir, new_chain)
    replacing = overwrite and is_cohort_run(out)
    try:
        replaceable = atomic_output_dir(out, overwrite=overwrite, replaceable=cohort_run_of(iso))
        # The rejected rows land with the cohort, after it: a stopped run leaves neither.
        staged = staged_files(rejected_dir, (TablesRejectedError,), kept_rows_dir(rejected_dir))
        with staged as rejected_work, replaceable as tmp, _Stages(progress) as stage:
            result = _run(
                data_dir,
                as_of_ts,
                model,
                tmp,
                programs,
                tiers,
                mode,
                stage,
                memory_limit,
                model_sha256,
                tracking_uri,
                previous,
                rejected_dir,
                reference,
                rejected_work,
                allow_gap,
                unread,
            )
            # Before the swap, while the replaced run's offers are still there to compare.
            if replacing and (changed := replaced_offers(out, tmp, as_of_ts.date())):
                logger.warning(changed)
        mark_done()  # the cohort and its rejected rows are in place: a SIGTERM now exits 0
    except OutputExistsError as exc:
        raise ScoringConfigError(str(exc)) from exc
    except OSError as exc:
        refused = output_refused(exc, out, rejected_dir, previous)
        if refused is None:
            raise
        raise refused from exc
    return CohortResult(out=out, **result, timings=stage.timings)


def _run(
    data_dir: str | Path,
    as_of: pd.Timestamp,
    model_ref: str | Path,
    tmp: Path,
    programs_path: str | Path | None,
    tiers_path: str | Path | None,
    mode: str,
    stage: _Stages,
    memory_limit: str,
    model_sha256: str | None = None,
    tracking_uri: str | None = None,
    previous: str | Path | None = None,
    rejected_dir: str | Path | None = None,
    reference_date: dt.date | None = None,
    rejected_work: Path | None = None,
    allow_gap: bool = False,
    unread: dt.date | None = None,
) -> dict[str, Any]:
    # Stage packages are imported here, not at module level: importing riskstrat.scoring
    # for its pure functions should not pull in DuckDB, LightGBM and MLflow.
    from mlflow.exceptions import MlflowException

    from riskstrat.data import DataContractError, load_tables, refuse_rejected_whole
    from riskstrat.data._contract_config import default_extra_instruments
    from riskstrat.eligibility import evaluate_programs, load_programs
    from riskstrat.features import (
        build_features,
        feature_labels,
        load_feature_spec,
        value_describer,
    )
    from riskstrat.modeling import BundleError, ModelReferenceError, TrackingError
    from riskstrat.modeling._model_config import protected_inputs

    with stage("configs"):
        try:
            tiers_file = Path(tiers_path or default_config_path("tiers.yaml"))
            programs_file = Path(programs_path or default_config_path("programs.yaml"))
            config = load_scoring_config(tiers_file)
            spec = load_feature_spec()
            programs = load_programs(programs_file, feature_spec=spec)
            slots = slots_from_programs(programs, priority=config.selection.priority)
            # Read first: a broken contract.yaml is a usage error, said before the data is read.
            extra_instruments = default_extra_instruments()
            configs = {
                "tiers.yaml": tiers_file,
                "programs.yaml": programs_file,
                # The feature spec and condition groups in force (defaults of their stages).
                "features.yaml": default_config_path("features.yaml"),
                "conditions.yaml": default_config_path("conditions.yaml"),
                **contract_config(),
            }
        except ConfigError as exc:
            raise ScoringConfigError(str(exc)) from exc
        given = {"tiers.yaml": tiers_path, "programs.yaml": programs_path}
        looked_up = {n: p for n, p in configs.items() if given.get(n) is None}
        if mixed := mixed_origins(looked_up):
            logger.warning(mixed)
        earlier = None if previous is None else read_previous_offers(previous, as_of.date())
        ledger = empty_ledger() if earlier is None else earlier.ledger
        gaps = checked_gaps(earlier, as_of.date(), allow_gap)
    with stage("model"):
        try:
            pin = None if model_sha256 is None else model_sha256.lower()
            bundle, model_ref_text, registered = load_model(model_ref, tracking_uri, pin)
        except (ModelReferenceError, ConfigError) as exc:
            # A mistyped alias, version, store or model config: a usage error, not a
            # failed check.
            raise ScoringConfigError(str(exc)) from exc
        except MlflowException as exc:  # the store refused the lookup itself
            raise registry_refused(exc) from exc
        except (BundleError, TrackingError) as exc:
            raise ModelVerificationError(str(exc)) from exc
        if pin is not None and bundle.sha256 != pin:  # a registered model, checked by its tag
            raise ModelVerificationError(
                NOT_PINNED.format(ref=model_ref_text, actual=bundle.sha256, expected=model_sha256)
            )
        check_definitions(bundle, spec, model_ref_text, configs["features.yaml"])
        protected = protected_inputs(list(bundle.features))
        if protected:
            logger.warning(PROTECTED_INPUTS.format(ref=model_ref_text, names=", ".join(protected)))
    with stage("validate"):
        try:
            inputs_at_start = input_stats(data_dir) if Path(data_dir).exists() else {}
            tables, report = load_tables(
                data_dir,
                mode=mode,
                extra_instruments=extra_instruments,
                # Written aside, moved in with the cohort (staged_files).
                rejected_dir=rejected_work or rejected_dir,
                reference_date=reference_date,
                as_of=as_of,
            )
        except NotADirectoryError as exc:  # one table's file given as --data
            raise ScoringConfigError(str(exc)) from exc
        except (DataContractError, FileNotFoundError, ValueError) as exc:
            raise ScoringDataError(str(exc)) from exc
        try:
            refuse_rejected_whole(report, kept_rows_dir(rejected_dir))
        except DataContractError as exc:
            raise TablesRejectedError(str(exc)) from exc
        quarantined = {name: t.rejected for name, t in sorted(report.tables.items()) if t.rejected}
        if quarantined:
            # Said even under --quiet: rows left out change who is listed.
            logger.warning(
                QUARANTINED.format(
                    total=sum(quarantined.values()),
                    tables=", ".join(f"{name} {n:,}" for name, n in quarantined.items()),
                    where=f" and in {rejected_dir}" if rejected_dir is not None else "",
                )
            )
    unknown = (
        None
        if earlier is None
        else check_same_county(earlier, tables["persons"]["person_id"], str(previous))
    )
    check_inputs(tables, spec, bundle.features, as_of)
    history = check_coverage(tables, as_of, spec.population_lookback_days)
    with stage("features"):
        try:
            # Validated when loaded, in the mode asked for: not again.
            features = build_features(
                tables, as_of.date(), spec, memory_limit=memory_limit, validate=False
            )
        except MemoryError as exc:  # "memory_limit: ..." is the --memory-limit setting: exit 2
            error = ScoringConfigError if str(exc).startswith("memory_limit") else ScoringDataError
            raise error(str(exc) or "out of memory building features") from exc
        # Only persons is needed from here on (reconciliation, SPA); dropping the event
        # tables frees most of the memory the loader took before the model runs.
        persons = tables["persons"]
        starts = offer_starts(tables["enrollments"], ledger, as_of)
        del tables
        if features.empty:
            raise ScoringDataError(NO_PERSONS_SCORED.format(as_of=as_of.date()))
    with stage("eligibility"):
        eligibility = evaluate_programs(features, programs)
    describe = value_describer(spec)
    spa = persons.set_index(persons["person_id"].astype("str"))["spa"]
    try:
        scored = build_cohort(
            features,
            eligibility,
            bundle,
            config,
            slots,
            feature_labels(spec),
            stage=stage,
            describe=describe,
            offers=ledger,
            as_of=as_of.date(),
            enrolments=starts,
            spa=spa,
        )
    except ModelConsistencyError as exc:
        raise ModelVerificationError(str(exc)) from exc
    except BundleError as exc:
        raise ScoringDataError(str(exc)) from exc
    with stage("write"):
        reconciliation = reconcile(
            persons, scored.persons["person_id"], as_of, report.persons_rejected
        )
        header = {
            "as_of": as_of.date().isoformat(),
            "model": {"version": bundle.version, "outcome": bundle.outcome},
            "mode": mode,
            # Quarantined input rows per table (counts only; the rows are not kept).
            "rejected_rows": {name: t.rejected for name, t in sorted(report.tables.items())},
            "previous_offers": offer_facts(earlier, scored, config, as_of.date(), gaps, unknown),
            "history": history,
            "screening": screening_items(programs),
            "reading": reading_facts(scored.persons, config, bundle.metadata, slots),
            "by_group": group_records(scored, persons, scored.slots or slots, as_of.date()),
        }
        summary = build_summary(scored, slots, config, spa, reconciliation, header)
        write_outputs(tmp, scored, summary, config.tiers.names)
        write_parquet(
            updated_ledger(ledger, scored.cohort, as_of.date()),
            tmp / OFFERS_FILE,
            types=OFFER_TYPES,
        )
        manifest = build_manifest(
            data_dir=data_dir,
            as_of=as_of.date(),
            report=report,
            configs=configs,
            model=bundle,
            model_ref=model_ref_text,
            registered=registered,
            mode=mode,
            out_dir=tmp,
            output_files=OUTPUT_FILES,
            previous=earlier and {"as_of": earlier.as_of, "sha256": earlier.sha256},
            offers_since=as_of.date() if earlier is None else earlier.since,
            offers_gaps=gaps,
            unread_beside=unread,
            rejected_dir=rejected_work,
            rejected_folder=rejected_dir and Path(rejected_dir).name,
        )
        write_json(manifest, tmp / "manifest.json")
        try:  # after the hashes: a change while they were taken is caught too
            check_unchanged(data_dir, inputs_at_start)
        except InputsChangedError as exc:
            raise ScoringDataError(str(exc)) from exc
    return {
        "cohort": scored.cohort,
        "explanations": scored.explanations,
        "summary": summary,
        "manifest": manifest,
    }
