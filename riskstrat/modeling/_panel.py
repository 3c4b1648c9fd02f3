"""The person x as-of-date training panel: features, outcome labels and the rule score.

One private layer for the dataframe work of training: building the panel from the
feature and outcome stages, choosing the model's input columns (sensitive attributes
never slip in by default), dropping censored labels and turning features into the
float matrix the estimators read.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from riskstrat._dates import as_dates
from riskstrat.data._checked import checked_tables, load_checked
from riskstrat.data._coverage import (
    SET_DATA_END,
    STALE_DAYS,
    lagging_sources,
    occurrence_columns,
    occurrences,
)
from riskstrat.modeling._estimators import RULE_SCORE, all_rule_scores
from riskstrat.modeling._model_config import ModelConfig, is_sensitive

if TYPE_CHECKING:
    from riskstrat.features import FeatureSpec

logger = logging.getLogger(__name__)

KEYS: tuple[str, ...] = ("person_id", "as_of")
FEATURES_ATTR = "riskstrat_features"
# The programme rules' own inputs (rule_only in the feature spec): out of the default inputs.
RULE_ONLY_ATTR = "riskstrat_rule_only_features"
# Per outcome: its horizon in months, and whether its labels stay inside that horizon.
OUTCOMES_ATTR = "riskstrat_outcomes"
MISSING_COLUMNS = "panel: missing column(s) {missing}; expected {what}"
UNKNOWN_FEATURES = (
    "model.features: {missing} not features of the panel ({count} features available, "
    "listed in attrs['riskstrat_features']); outcome labels, censoring flags and rule "
    "scores are never model inputs"
)
LABEL_AS_INPUT = (
    "panel attrs['riskstrat_features'] lists {found}: outcome labels, censoring flags, "
    "follow-up ends or rule scores, which are never model inputs; expected feature columns only"
)
PANEL_OUTCOME_UNKNOWN = (
    "panel: attrs['riskstrat_outcomes'] does not describe outcome {name!r}; expected a panel "
    "from build_panel, which records each outcome's horizon, so training can check that "
    "its labels fit the temporal splits"
)
NO_FEATURES = "model.features: no model inputs left after excluding {excluded}"
NO_SENSITIVE_FEATURES = (
    "model.use_sensitive_features is true, but no model input derives from {sensitive}; "
    "expected features named like race_ethnicity_black or sex_female (configs/features.yaml)"
)
NO_DATES = "tables: no dated events found; cannot infer data_end (set model.split.data_end)"
SOURCES_DISAGREE = (
    "tables: the sources do not end together, so the data end cannot be inferred: "
    "{last_table} runs to {last}, but {lagging} end more than {days} days earlier, a silence "
    "their own rates of events make improbable. The data "
    "end decides which quarter is tested, and one read from {last_table} alone would count "
    "the months the others do not cover as months without events. A few stray dates in "
    "{last_table} do this as well as sources extracted on different days; {advice}"
)
NOT_BINARY_LABEL = (
    "panel column {column!r}: expected a 0/1 outcome label, got {count} other value(s); "
    "continuous outcomes (e.g. total_cost) belong to the pricing stage"
)


def load_tables(path: str | Path) -> dict[str, pd.DataFrame]:
    """The tables of :func:`riskstrat.data.load_checked` alone."""
    return load_checked(path)[0]


def input_record(
    tables: Mapping[str, pd.DataFrame], report: object | None, warnings: Sequence[str]
) -> dict[str, object]:
    """What a run read: rows used and set aside per table, and the warnings on its sources.

    ``report`` is the validation report of tables read from a folder; None for tables
    passed in memory, which are used as given.
    """
    set_aside = {}
    if report is not None:
        set_aside = {t: int(r.rejected) for t, r in report.tables.items() if r.rejected}
    return {
        "validated": report is not None,
        "rows_used": {t: int(len(df)) for t, df in tables.items()},
        "rows_set_aside": set_aside,
        "warnings": list(warnings),
    }


def infer_data_end(tables: Mapping[str, pd.DataFrame]) -> dt.date:
    """The day after the latest occurrence date in the tables.

    Birth, death and end dates do not count: a planned end or a death index extracted later
    would otherwise stretch the data end over months no source covered
    (``riskstrat.data.last_covered_day``). Sources whose latest occurrences lie more than
    a quarter apart (a silence improbable at the source's own rate of events) are refused:
    which of them ends the data is the analyst's call.

    Parameters
    ----------
    tables : mapping of table name to DataFrame

    Returns
    -------
    datetime.date

    Raises
    ------
    ValueError
        When no table has a dated event, or the sources do not end together.
    """
    found = occurrences(tables)
    if not found:
        raise ValueError(NO_DATES)
    last_table = max(found, key=lambda t: found[t].last)
    last = found[last_table].last
    lagging = lagging_sources(found, last)
    if lagging:
        raise ValueError(
            SOURCES_DISAGREE.format(
                last_table=last_table,
                last=last.date(),
                lagging=", ".join(f"{t} (to {day.date()})" for t, day, _lag in lagging),
                days=STALE_DAYS,
                advice=SET_DATA_END,
            )
        )
    return (last + pd.Timedelta(days=1)).date()


def infer_data_start(tables: Mapping[str, pd.DataFrame]) -> dt.date:
    """The earliest occurrence date (birth, death and end dates ignored)."""
    earliest = None
    for table, frame in tables.items():
        for column in occurrence_columns(table):
            if column not in frame.columns:
                continue
            value = pd.to_datetime(frame[column]).min()
            if pd.notna(value) and (earliest is None or value < earliest):
                earliest = value
    if earliest is None:
        raise ValueError(NO_DATES)
    return pd.Timestamp(earliest).date()


def build_panel(
    tables: Mapping[str, pd.DataFrame] | str | Path,
    as_of_dates: Sequence[dt.date],
    feature_spec: object | None = None,
    outcomes: object | None = None,
    *,
    data_end: dt.date | None = None,
    programs: object | None = None,
    validate: bool = True,
    memory_limit: str | None = None,
) -> pd.DataFrame:
    """Features, outcome labels and the rule-baseline score per person and as-of date.

    Parameters
    ----------
    tables : mapping of table name to DataFrame, or a folder path
    as_of_dates : sequence of datetime.date
        Quarter starts, for a panel to train on (the splits step by quarters; ``train``
        refuses other days by name).
    feature_spec : riskstrat.features.FeatureSpec, optional
        Default: ``configs/features.yaml``.
    outcomes : riskstrat.outcomes spec, optional
        Default: ``configs/outcomes.yaml``.
    data_end : datetime.date, optional
        Last day the data covers (for censoring, as ``riskstrat.outcomes`` takes it);
        inferred by the outcome stage if None.
    programs : riskstrat.eligibility.Programs, optional
        For the ``rule`` baseline score.
    validate : bool
        Hold tables in memory to the data contract as a folder is (default; see
        :func:`riskstrat.features.build_features`). False takes them as given.
    memory_limit : str, optional
        DuckDB's memory limit in building the features (default that of
        :func:`riskstrat.features.build_features`, 6GB).

    Returns
    -------
    DataFrame
        ``person_id``, ``as_of``, one column per feature, the outcome columns with their
        ``<outcome>_censored`` flags, ``rule_score`` and each programme's own
        ``rule_score_<programme>`` (:func:`all_rule_scores`); one row per person in the
        feature population per date. ``panel.attrs["riskstrat_features"]`` lists the
        feature columns and ``panel.attrs["data_end"]`` the day after the last day covered
        (``model.split.data_end``'s sense, as ISO text, so that ``to_parquet`` keeps it),
        so ``train(config, panel=panel)`` needs no more, also after a Parquet round trip.
    """
    from riskstrat.features import FeatureSpec, build_features, load_feature_spec
    from riskstrat.outcomes import build_outcomes, latest_event_date, load_outcome_spec

    if outcomes is None or isinstance(outcomes, str | Path | Mapping):
        outcomes = load_outcome_spec(outcomes)
    if not isinstance(feature_spec, FeatureSpec):  # read once: the features and attrs use it
        feature_spec = load_feature_spec(feature_spec)
    dates = as_dates(as_of_dates, "as_of_dates")  # before the data is read
    if isinstance(tables, str | Path):
        tables = load_tables(tables)
    elif validate:
        tables = checked_tables(tables)[0]
    # Checked once above: the stages take them as they are.
    limit = {} if memory_limit is None else {"memory_limit": memory_limit}
    features = build_features(tables, as_of=dates, spec=feature_spec, validate=False, **limit)
    feature_names = [c for c in features.columns if c not in KEYS]
    labels = build_outcomes(tables, as_of=dates, spec=outcomes, data_end=data_end, validate=False)
    features = _normalise_keys(features)
    labels = _normalise_keys(labels).drop(columns=feature_names, errors="ignore")
    panel = features.merge(labels, on=list(KEYS), how="left", validate="one_to_one")
    scores = all_rule_scores(features, programs)
    panel[RULE_SCORE] = scores.pop(RULE_SCORE).to_numpy()
    for column in scores.columns:
        # Whole numbers below 2**24 are exact in float32; it halves nine panel columns.
        panel[column] = scores[column].to_numpy(dtype="float32")
    panel.attrs[FEATURES_ATTR] = feature_names
    panel.attrs[RULE_ONLY_ATTR] = rule_only_features(feature_spec, feature_names)
    panel.attrs[OUTCOMES_ATTR] = outcome_windows(outcomes)
    # model.split.data_end's sense: the day after the last day covered, as train reads it.
    last = as_dates([data_end], "data_end")[0] if data_end else latest_event_date(tables).date()
    # As ISO text: pandas writes attrs to Parquet as JSON, which has no date, and a panel
    # saved with to_parquet and read back must train as it was built.
    panel.attrs["data_end"] = (last + dt.timedelta(days=1)).isoformat()
    return panel


def outcome_windows(spec: object) -> dict[str, dict[str, object]]:
    """Per outcome, its horizon in months and whether its labels stay within it.

    A readmission outcome with ``readmit_in_window: false`` counts readmissions up to
    ``readmit_max_days`` after the window's end, past what the splits keep apart.
    """
    return {
        name: {
            "horizon_months": spec.horizon(name),
            "within_horizon": all(
                e.measure != "readmission" or e.readmit_in_window for e in outcome.events
            ),
        }
        for name, outcome in spec.outcomes.items()
    }


def _is_label(column: str, panel: pd.DataFrame, outcome: str) -> bool:
    """Whether a panel column holds what happened after the as-of date, or a rule's score."""
    outcomes = {outcome, *(panel.attrs.get(OUTCOMES_ATTR) or {})}
    return (
        column in outcomes
        or (column.endswith("_censored") and column.removesuffix("_censored") in outcomes)
        or column == "followup_end"
        or column.startswith(RULE_SCORE)
    )


def check_panel_outcome(panel: pd.DataFrame, config: ModelConfig) -> None:
    """Refuse a prebuilt panel whose labels for ``config.outcome`` do not fit the splits.

    Raises
    ------
    ValueError
        When the panel does not record the outcome's window (as :func:`build_panel` does).
    riskstrat._config.ConfigError
        When its horizon differs from ``model.split.horizon_months`` or its labels reach
        past the horizon.
    """
    from riskstrat.modeling._label_window import check_label_window

    window = (panel.attrs.get(OUTCOMES_ATTR) or {}).get(config.outcome)
    if not isinstance(window, Mapping):
        raise ValueError(PANEL_OUTCOME_UNKNOWN.format(name=config.outcome))
    check_label_window(
        config.outcome,
        int(window["horizon_months"]),
        bool(window["within_horizon"]),
        horizon_months=config.split.horizon_months,
        source="the panel's attrs['riskstrat_outcomes']",
    )


def _normalise_keys(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [k for k in KEYS if k not in frame.columns]
    if missing:
        raise ValueError(MISSING_COLUMNS.format(missing=missing, what=list(KEYS)))
    return frame.assign(
        person_id=frame["person_id"].astype("str"),
        as_of=pd.to_datetime(frame["as_of"]).astype("datetime64[us]"),
    )


def rule_only_features(feature_spec: FeatureSpec, names: Sequence[str]) -> list[str]:
    """Which of ``names`` the spec marks ``rule_only``."""
    from riskstrat.features import expand_features

    marked = {f.name for f in expand_features(feature_spec) if f.rule_only}
    return [n for n in names if n in marked]


def select_features(panel: pd.DataFrame, config: ModelConfig) -> list[str]:
    """The model's input columns: configured, or every feature but the programme rules'
    own (``rule_only`` in the feature spec), minus exclusions.

    Sensitive attributes (``config.sensitive_features``, columns derived from them such as
    ``race_ethnicity_black``, and ``config.proxy_features`` that stand for them such as
    ``is_pregnant``) are dropped unless ``use_sensitive_features``.

    Parameters
    ----------
    panel : DataFrame
        From :func:`build_panel` (or with ``attrs["riskstrat_features"]`` set).
    config : ModelConfig

    Returns
    -------
    list of str
    """
    available = list(panel.attrs.get(FEATURES_ATTR) or [])
    if not available:
        raise ValueError(
            MISSING_COLUMNS.format(
                missing=[f"attrs[{FEATURES_ATTR!r}]"], what="a panel from build_panel"
            )
        )
    labels = [c for c in available if _is_label(c, panel, config.outcome)]
    if labels:
        raise ValueError(LABEL_AS_INPUT.format(found=labels))
    if config.features is not None:
        missing = [f for f in config.features if f not in available]
        if missing:
            raise ValueError(UNKNOWN_FEATURES.format(missing=missing, count=len(available)))
        chosen = list(config.features)
    else:
        rule_only = set(panel.attrs.get(RULE_ONLY_ATTR) or ())
        chosen = [f for f in available if f not in rule_only]
    excluded = set(config.exclude_features)
    if not config.use_sensitive_features:
        excluded |= {f for f in chosen if is_sensitive(f, config.withheld)}
    chosen = [f for f in chosen if f not in excluded]
    if not chosen:
        raise ValueError(NO_FEATURES.format(excluded=sorted(excluded)))
    if (
        config.use_sensitive_features
        and config.sensitive_features
        and not any(is_sensitive(f, config.sensitive_features) for f in chosen)
    ):
        # An opt-in that changes nothing would let a run claim what it never did; a proxy
        # alone (is_pregnant) is not the sex or race the opt-in names.
        raise ValueError(NO_SENSITIVE_FEATURES.format(sensitive=list(config.sensitive_features)))
    return chosen


def labelled_rows(panel: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Rows with an observed 0/1 label for ``outcome`` (censored rows dropped).

    Parameters
    ----------
    panel : DataFrame
    outcome : str

    Returns
    -------
    DataFrame
        With ``outcome`` as float 0/1.
    """
    if outcome not in panel.columns:
        raise ValueError(MISSING_COLUMNS.format(missing=[outcome], what="the outcome label"))
    keep = panel[outcome].notna()
    censored = f"{outcome}_censored"
    if censored in panel.columns:
        keep &= ~panel[censored].fillna(False).astype(bool)
    rows = panel.loc[keep]
    label = pd.to_numeric(rows[outcome], errors="coerce").astype("float64")
    # Count, never show, the offending values: they are person-level data (e.g. costs).
    other = int((label.notna() & ~label.isin([0.0, 1.0])).sum())
    if other:
        raise ValueError(NOT_BINARY_LABEL.format(column=outcome, count=other))
    dropped = len(panel) - len(rows)
    if dropped:
        logger.info("outcome %s: %d censored or unlabelled row(s) dropped", outcome, dropped)
    return rows.assign(**{outcome: label})


def feature_matrix(rows: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Float32 copy of ``columns`` (booleans as 0/1, missing values as NaN).

    Parameters
    ----------
    rows : DataFrame
    columns : sequence of str

    Returns
    -------
    DataFrame
        Same index and column order, dtype float32.
    """
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise ValueError(MISSING_COLUMNS.format(missing=missing, what="the model's input columns"))
    data = {
        c: pd.to_numeric(rows[c], errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan)
        for c in columns
    }
    return pd.DataFrame(data, index=rows.index, columns=list(columns))


def missing_allowed(
    panel: pd.DataFrame, columns: Sequence[str], nullable: Sequence[str] = ()
) -> list[str]:
    """The input columns a model may be given missing values in, in ``columns`` order.

    Those with a missing value somewhere in the panel, and those in ``nullable`` (the
    spec's min, max and latest features, null by definition for a person with no
    events). Elsewhere a missing value is a fault: LightGBM would score it as 0 unsaid.
    """
    seen = {c for c in columns if c in panel.columns and panel[c].isna().any()}
    return [c for c in columns if c in seen or c in set(nullable)]


def rows_at(rows: pd.DataFrame, dates: Sequence[dt.date]) -> pd.DataFrame:
    """Rows whose ``as_of`` is one of ``dates``."""
    wanted = pd.to_datetime(list(dates)).astype("datetime64[us]")
    return rows.loc[pd.to_datetime(rows["as_of"]).astype("datetime64[us]").isin(wanted)]
