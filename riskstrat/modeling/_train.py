"""Train, calibrate and evaluate a risk model on temporal splits of the panel.

``train`` is a straight line of small steps (choose dates, build the panel, fit,
calibrate, evaluate, bundle, track); each step is a function of its own so a notebook
can run any of them alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator

from riskstrat._atomic import atomic_output_dir, check_replaceable_dir
from riskstrat._config import ConfigDirError, ConfigError, default_config_path, mixed_origins
from riskstrat.data._checked import checked_tables
from riskstrat.data._codes import TABLE_NAMES
from riskstrat.features._digest import definition_digests
from riskstrat.features._settings import check_memory_limit
from riskstrat.modeling._audit_groups import groups_of_test_rows
from riskstrat.modeling._bundle_files import check_replaceable
from riskstrat.modeling._calibration import temper_extremes
from riskstrat.modeling._capacities import programme_capacities
from riskstrat.modeling._estimators import input_columns, make_estimator
from riskstrat.modeling._evaluate import evaluate
from riskstrat.modeling._fingerprint import data_fingerprint
from riskstrat.modeling._importance import feature_importance
from riskstrat.modeling._model_config import (
    ModelConfig,
    config_source,
    load_model_config,
    plain_config,
)
from riskstrat.modeling._panel import (
    build_panel,
    check_panel_outcome,
    feature_matrix,
    input_record,
    labelled_rows,
    missing_allowed,
    rows_at,
    select_features,
)
from riskstrat.modeling._plan import coverage_warnings, plan_splits, splits_for_panel
from riskstrat.modeling._publish import (
    config_digests,
    looked_up_configs,
    make_bundle,
    publish,
    will_track,
)
from riskstrat.modeling._report import (
    EVALUATION,
    evaluation_folder,
    relocate_plots,
    write_evaluation,
)
from riskstrat.modeling._result import TrainResult
from riskstrat.modeling._rolling import rolling_rows
from riskstrat.modeling._spec_checks import check_feature_names, check_label_tables, check_outcome
from riskstrat.modeling._timechop import TemporalSplit
from riskstrat.modeling._tracking import check_store
from riskstrat.modeling._truth import check_truth_quarters, covered_truth, read_truth
from riskstrat.modeling._warnings import run_warnings

logger = logging.getLogger(__name__)

TRAIN_STAGES: tuple[str, ...] = (
    "load data",
    "build panel",
    "fit and calibrate",
    "evaluate",
    "rolling origin",
    "bundle",
    "importance",
    "tracking",
)
ONE_CLASS = (
    "{which} rows for {outcome!r} (as-of {dates}): expected both outcomes, got {n} row(s) "
    "with {events} event(s)"
)
NO_DATA = "train: give tables (a mapping or a folder) or a prebuilt panel"


def fit_calibrated(
    kind: str,
    config: ModelConfig,
    train_rows: pd.DataFrame,
    calibration_rows: pd.DataFrame,
    columns: list[str],
    outcome: str,
) -> CalibratedClassifierCV:
    """Fit estimator ``kind`` on the training rows, then calibrate it on the later slice.

    Parameters
    ----------
    kind : str
        A key of ``MODEL_KINDS``.
    config : ModelConfig
    train_rows, calibration_rows : DataFrame
        Labelled panel rows.
    columns : list of str
        The estimator's input columns.
    outcome : str

    Returns
    -------
    CalibratedClassifierCV
        ``CalibratedClassifierCV(FrozenEstimator(model), method=config.calibration)``;
        isotonic plateaus of fewer than 11 rows, or of 1 to 10 events or non-events,
        pooled and those at exactly 0 or 1 tempered (:func:`temper_extremes`).
    """
    for which, rows in (("training", train_rows), ("calibration", calibration_rows)):
        check_both_classes(rows, outcome, which)
    model = make_estimator(kind, config)
    model.fit(feature_matrix(train_rows, columns), train_rows[outcome].to_numpy(dtype=int))
    calibrated = CalibratedClassifierCV(FrozenEstimator(model), method=config.calibration)
    X_cal = feature_matrix(calibration_rows, columns)
    calibrated.fit(X_cal, calibration_rows[outcome].to_numpy(dtype=int))
    if config.calibration == "isotonic":
        temper_extremes(calibrated, X_cal, calibration_rows[outcome].to_numpy(dtype=int))
    return calibrated


def check_both_classes(
    rows: pd.DataFrame, outcome: str, which: str, dates: Sequence[dt.date] = ()
) -> None:
    """Raise ``ValueError`` naming the slice, outcome and dates unless 0s and 1s both occur."""
    y = rows[outcome].to_numpy()
    if len(np.unique(y)) < 2:
        dates = sorted({pd.Timestamp(d).date().isoformat() for d in rows["as_of"]}) or [
            pd.Timestamp(d).date().isoformat() for d in dates
        ]
        raise ValueError(
            ONE_CLASS.format(
                which=which, outcome=outcome, dates=dates, n=len(y), events=int(y.sum())
            )
        )


def _fit_split(
    config: ModelConfig, rows: pd.DataFrame, split: TemporalSplit, features: list[str]
) -> tuple[CalibratedClassifierCV, dict[str, tuple[CalibratedClassifierCV, list[str]]]]:
    train_rows = rows_at(rows, split.train_as_of)
    cal_rows = rows_at(rows, split.calibration_as_of)
    fit = {}
    for kind in dict.fromkeys((config.kind, *config.metrics.baselines)):
        columns = input_columns(kind, config, features)
        fit[kind] = (
            fit_calibrated(kind, config, train_rows, cal_rows, columns, config.outcome),
            columns,
        )
    model = fit[config.kind][0]
    baselines = {k: v for k, v in fit.items() if k != config.kind}
    return model, baselines


def train(
    config: ModelConfig | str | Path | Mapping | None = None,
    tables: Mapping[str, pd.DataFrame] | str | Path | None = None,
    *,
    panel: pd.DataFrame | None = None,
    truth: pd.DataFrame | str | Path | None = None,
    out: str | Path | None = None,
    tracking_uri: str | None = None,
    config_paths: tuple[str | Path, ...] = (),
    feature_spec: object | None = None,
    outcome_spec: object | None = None,
    progress: Callable[[str], None] | None = None,
    track: bool | None = None,
    memory_limit: str | None = None,
) -> TrainResult:
    """Train and calibrate a model on temporal splits; evaluate it on the test quarter.

    Parameters
    ----------
    config : ModelConfig, path, mapping or None
        ``configs/model.yaml`` (default) or its parsed ``model`` section.
    tables : mapping of table name to DataFrame, or a folder of tables
        The linked input data. Not needed when ``panel`` is given.
    panel : DataFrame, optional
        A prebuilt panel (:func:`build_panel`); needs ``model.split.data_end`` or
        ``panel.attrs["data_end"]``, and the attrs build_panel sets: the feature columns
        (only these are inputs) and each outcome's window (its horizon must be the
        splits').
    truth : DataFrame or path, optional
        The synthetic county's truth table, for the oracle comparison.
    out : str or Path, optional
        Folder for the model bundle; plots and ``metrics.csv`` go to ``<out>-evaluation``
        (next to it, since a bundle folder holds only checksummed files).
    tracking_uri : str, optional
        Log to MLflow at this URI.
    config_paths : tuple of paths
        Configuration files to attach to the tracked run; default the model config file
        ``config`` names (``configs/model.yaml`` when ``config`` is None), or the file a
        ``ModelConfig`` was loaded from, as it read then (none after ``updated()``).
    feature_spec, outcome_spec : optional
        Passed to the feature and outcome stages.
    progress : callable, optional
        Called with each stage name of ``TRAIN_STAGES`` as it starts.
    track : bool, optional
        Log the run to MLflow and register the model: True always, False never (whatever
        the environment says), None (default) when ``tracking_uri`` is given,
        ``model.tracking.enabled`` is true or ``MLFLOW_TRACKING_URI`` is set.
    memory_limit : str, optional
        DuckDB's memory limit in building the features (default :func:`build_panel`'s).

    Returns
    -------
    TrainResult
    """
    step = progress or (lambda _stage: None)
    config_file = config if isinstance(config, str | Path) else None
    if isinstance(config, str | Path) and not config_paths:
        config_paths = (config,)  # the run logs the file it was given, as the CLI's do
    elif config is None and not config_paths:
        config_paths = (default_config_path("model.yaml"),)
    # As score does: a configs/ folder holding some of the files overrides only those.
    looked_up = looked_up_configs(
        model=config is None, feature_spec=feature_spec, outcome_spec=outcome_spec
    )
    if mixed := mixed_origins(looked_up):
        logger.warning(mixed)
    # A config loaded from a file in the notebook: the run logs that file, as the CLI's does.
    copies = {}
    if isinstance(config, ModelConfig) and not config_paths and (source := config_source(config)):
        copies = dict([source])
    if not isinstance(config, ModelConfig):
        config = load_model_config(config)
    else:
        # A config changed with dataclasses.replace has skipped the loader's checks: a
        # string date or a mistyped baseline would fail deep in training, named wrongly.
        config = load_model_config(plain_config(config))
    if panel is None:
        try:
            check_outcome(config.outcome, outcome_spec, horizon_months=config.split.horizon_months)
            check_feature_names(config, feature_spec)
        except ConfigError as exc:
            if config_file is None:
                raise
            raise ConfigError(f"{exc} (in {config_file})") from exc  # where the name was typed
    else:
        # A prebuilt panel carries its own labels and feature list: labelled_rows and
        # select_features check those, this the window its labels were counted over.
        check_panel_outcome(panel, config)
    ks = programme_capacities(config)  # before any data is read: a typo fails fast
    if memory_limit is not None:
        check_memory_limit(memory_limit)
    # So are an output that is not a bundle and a store that cannot take the run.
    if out is not None:
        check_replaceable(Path(out), overwrite=True)
        check_replaceable_dir(evaluation_folder(out), EVALUATION)
    if will_track(config, tracking_uri, track):
        check_store(tracking_uri, config.tracking, outcome=config.outcome)
    step("load data")
    truth, oracle, truth_source = read_truth(truth, tables)
    if panel is None:
        if tables is None:
            raise ValueError(NO_DATA)
        # A folder, or tables in memory not from riskstrat.data.load_tables, is validated.
        # (A folder must hold every table; tables in memory read a missing one as empty.)
        required = TABLE_NAMES if isinstance(tables, str | Path) else ("persons",)
        tables, report = checked_tables(tables, required=required)
        if required == TABLE_NAMES:  # a folder: every table is there, perhaps empty
            check_label_tables(tables, config.outcome, outcome_spec)
        fingerprint = data_fingerprint(tables)
        splits = plan_splits(config, tables)
        check_truth_quarters(truth, splits, truth_source)
        warnings = []
        if config.split.data_end is not None:
            warnings = coverage_warnings(config.split.data_end, tables)
            for warning in warnings:
                logger.warning("%s", warning)
        inputs = input_record(tables, report, warnings)
        step("build panel")
        dates = sorted({d for s in splits for d in s.as_of_dates})
        # The outcome stage takes the last day covered; splits use the first day after it.
        last_day = splits[0].data_end - dt.timedelta(days=1)
        panel = build_panel(
            tables,
            dates,
            feature_spec,
            outcome_spec,
            data_end=last_day,
            validate=False,
            memory_limit=memory_limit,
        )
        definitions = definition_digests(feature_spec)
    else:
        step("build panel")
        fingerprint = data_fingerprint({"panel": panel})
        splits = splits_for_panel(config, panel)
        check_truth_quarters(truth, splits, truth_source)
        inputs = None
        definitions = None  # the panel's columns may come from any spec
    features = select_features(panel, config)
    rows = labelled_rows(panel, config.outcome)
    if truth is not None:  # before any fitting: a missing quarter would otherwise fail late
        for s in splits:
            test = rows_at(rows, [s.test_as_of])
            covered_truth(test, truth, config.outcome, f" on {s.test_as_of}", truth_source)
    step("fit and calibrate")
    split = splits[0]
    calibrated, baselines = _fit_split(config, rows, split, features)
    step("evaluate")
    test_rows = rows_at(rows, [split.test_as_of])
    check_both_classes(test_rows, config.outcome, "test", [split.test_as_of])
    m = config.metrics
    folder = evaluation_folder(out) if out is not None else None
    # Written aside and moved into place whole: a failed or killed run leaves the last
    # evaluation as it was, never this run's plots beside that run's tables.
    writing = (
        atomic_output_dir(folder, overwrite=True, replaceable=EVALUATION)
        if folder is not None
        else nullcontext()
    )
    with writing as staging:
        plots_dir = staging / "plots" if staging is not None and m.plots else None
        evaluation = evaluate(
            calibrated,
            test_rows,
            outcome=config.outcome,
            feature_names=input_columns(config.kind, config, features),
            baselines=baselines,
            truth=truth,
            capacities=ks,
            n_bootstrap=m.n_bootstrap,
            seed=m.seed,
            ece_bins=m.ece_bins,
            confidence=m.confidence,
            plots_dir=plots_dir,
            groups=groups_of_test_rows(test_rows, tables, config),
        )
        step("rolling origin")
        rolling = []
        for i, s in enumerate(splits):
            if i == 0:
                scorers = {"model": (calibrated, input_columns(config.kind, config, features))}
                scorers.update(baselines)
            else:
                model_i, baselines_i = _fit_split(config, rows, s, features)
                scorers = {"model": (model_i, input_columns(config.kind, config, features))}
                scorers.update(baselines_i)
            test = rows_at(rows, [s.test_as_of])
            check_both_classes(test, config.outcome, "test", [s.test_as_of])
            rolling.extend(rolling_rows(config, test, s, scorers, ks, truth))
        counts = {}
        for which, dates in (
            ("train", split.train_as_of),
            ("calibration", split.calibration_as_of),
            ("test", (split.test_as_of,)),
        ):
            part = rows_at(rows, dates)
            counts[f"{which}_rows"] = len(part)
            counts[f"{which}_events"] = int(part[config.outcome].sum())
            # Panel rows = labelled rows + these (censored: died or data ended inside the window).
            counts[f"{which}_left_out"] = len(rows_at(panel, dates)) - len(part)
        result = TrainResult(
            config=config,
            outcome=config.outcome,
            kind=config.kind,
            calibrated=calibrated,
            feature_names=input_columns(config.kind, config, features),
            split=split,
            evaluation=evaluation,
            rolling=pd.DataFrame(rolling),
            baselines=baselines,
            capacities=ks,
            counts=counts,
            oracle=oracle,
            data_fingerprint=fingerprint,
            inputs=inputs,
            feature_definitions=_recorded(
                definitions, input_columns(config.kind, config, features)
            ),
            missing_allowed=missing_allowed(
                panel,
                input_columns(config.kind, config, features),
                _nullable(feature_spec) if definitions is not None else (),
            ),
            configs=config_digests(
                config_paths, copies, feature_spec=feature_spec, outcome_spec=outcome_spec
            ),
        )

        step("bundle")
        bundle = make_bundle(result)
        if bundle is not None:
            step("importance")
            importance = feature_importance(
                bundle, test_rows, _feature_labels(feature_spec), seed=m.seed
            )
            result = dataclasses.replace(result, bundle=bundle, importance=importance)
        if folder is not None:
            result = write_evaluation(result, staging, plots=m.plots)
    if folder is not None:
        result = relocate_plots(result, staging, folder)
    # Said where a notebook sees them too, not only in the evaluation's summary.md.
    for warning in run_warnings(result):
        logger.warning("%s", warning)

    return publish(
        result,
        out=out,
        tracking_uri=tracking_uri,
        config_paths=config_paths,
        config_copies=copies,
        step=step,
        feature_spec=feature_spec,
        outcome_spec=outcome_spec,
        track=track,
    )


def _recorded(definitions: dict[str, str] | None, inputs: list[str]) -> dict[str, str] | None:
    """The definition digests of the model's inputs (derived columns have none)."""
    if definitions is None:
        return None
    return {name: definitions[name] for name in inputs if name in definitions}


def _nullable(feature_spec: object | None) -> list[str]:
    """The spec's features that are null for a person without events (min, max, latest)."""
    from riskstrat.features import load_feature_spec
    from riskstrat.features._spec import expand_features

    spec = feature_spec or load_feature_spec()
    return [f.name for f in expand_features(spec) if f.empty == "null"]


def _feature_labels(feature_spec: object | None) -> dict[str, str]:
    """Labels of the feature spec the panel was built with (names where there are none)."""
    from riskstrat.features import feature_labels

    try:
        return feature_labels(feature_spec)
    except ConfigError as exc:  # a prebuilt panel need not match a spec on disk: names do
        if isinstance(exc, ConfigDirError):
            raise  # but a mistyped config folder is no spec left out
        return {}
