"""From features, eligibility and a model to the cohort table (in memory, no I/O).

Order of work: calibrated risk for everyone scored -> percentile and tier -> selection per
programme -> SHAP factors for the selected persons only (plus an optional audit sample),
so explaining cost follows the cohort size, not the county's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from riskstrat._dates import as_date
from riskstrat.scoring._explain import FACTOR_SEPARATOR
from riskstrat.scoring._explain_persons import explain_persons
from riskstrat.scoring._ids import UNKNOWN_SPA, isin, spa_labels
from riskstrat.scoring._offers import (
    empty_ledger,
    held_by,
    last_offered,
    open_offers,
    renewed,
    replaced_earlier,
    superseded,
    taken_up,
)
from riskstrat.scoring._schemas import COHORT_COLUMNS
from riskstrat.scoring._selection import (
    ProgramSlots,
    care_coordination_programs,
    enrolled_pairs,
    net_of_enrolment,
    select_cohort,
)
from riskstrat.scoring._tiers import (
    ScoringConfig,
    assign_tiers,
    load_scoring_config,
    risk_percentile,
)

ELIGIBILITY_COLUMNS: tuple[str, ...] = ("person_id", "program", "eligible", "criteria_met")
REASON_SEPARATOR = "; "
MISSING_COLUMNS = "{table}: missing column(s) {missing}; expected at least {expected}"
DUPLICATE_PERSONS = "features: {count} duplicate person_id value(s); expected one row per person"
UNKNOWN_PERSONS = (
    "eligibility: {count} person_id value(s) are not in the features table; "
    "expected eligibility computed from the same features"
)
DOUBLE_CARE_COORDINATION = (
    "selection: {count} person(s) selected for more than one care-coordination programme"
)
NO_AS_OF = (
    "as_of: not given, and features holds {count} distinct as_of date(s); expected the date "
    "scored, as_of=, or one as_of column value"
)
NO_RAISING_FACTOR = "no factor raises this person's risk above the model's baseline"


class RiskModel(Protocol):
    """What the scorer needs from a model bundle (``riskstrat.modeling.ModelBundle``)."""

    features: tuple[str, ...]
    sha256: str

    @property
    def version(self) -> str: ...

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray: ...

    def raw_score(self, X: pd.DataFrame) -> np.ndarray: ...

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame: ...


@dataclass(frozen=True)
class ScoredCohort:
    """In-memory result of :func:`build_cohort`.

    Attributes
    ----------
    cohort : DataFrame
        One row per eligible (person, programme), columns ``COHORT_COLUMNS``, sorted by
        (program, rank).
    persons : DataFrame
        One row per scored person: ``person_id``, ``risk``, ``percentile``, ``tier``.
    explanations : DataFrame
        Long SHAP factors of selected (and audit-sample) persons, ``EXPLANATION_COLUMNS``.
        A person whose contributions are all below the minimum has no rows.
    explained_ids : ndarray of str
        Everyone explained (selected plus audit sample), sorted.
    slots : mapping of programme code to ProgramSlots, optional
        The places selection filled, caseloads netted of current enrolment.
    offers_open : int
        Earlier offers still open on the as-of date (held back).
    offers_taken_up : int
        Earlier offers within the re-offer window that were taken up (an enrolment started
        since), so closed.
    offers_replaced : int
        Open care-coordination offers replaced by a later offer (an earlier quarter's or
        this one's) of a higher-priority care-coordination programme to the same person:
        they hold nothing and keep no place.
    offers_renewed : int
        Open offers closed by a new episode of their programme since (``renewed_by``: a
        release after a Re-entry offer), not taken up: the person may be offered it again.
    offers_not_eligible : int
        Open offers whose person no longer meets the programme's rule (or has died or left
        the data): outreach may want to stop, or to check why.
    """

    cohort: pd.DataFrame
    persons: pd.DataFrame
    explanations: pd.DataFrame
    explained_ids: np.ndarray
    slots: Mapping[str, ProgramSlots] | None = None
    offers_open: int = 0
    offers_taken_up: int = 0
    offers_replaced: int = 0
    offers_renewed: int = 0
    offers_not_eligible: int = 0


def score_persons(
    features: pd.DataFrame, model: RiskModel, config: ScoringConfig | None = None
) -> pd.DataFrame:
    """Calibrated risk, percentile and tier for every row of ``features``.

    Parameters
    ----------
    features : DataFrame
        One row per person with ``person_id`` and the model's features.
    model : RiskModel
    config : ScoringConfig, optional
        Default: ``configs/tiers.yaml``.

    Returns
    -------
    DataFrame
        ``person_id``, ``risk``, ``raw_score``, ``percentile``, ``tier`` in the order of
        ``features``. ``raw_score`` (the uncalibrated model score) breaks ties in ``risk``:
        isotonic calibration maps many raw scores onto one probability, and the model still
        ranks those people.
    """
    config = config if config is not None else load_scoring_config()
    if "person_id" not in features.columns:
        raise ValueError(
            MISSING_COLUMNS.format(table="features", missing=["person_id"], expected=["person_id"])
        )
    dupes = int(features["person_id"].duplicated().sum())
    if dupes:
        dates = features["as_of"].nunique() if "as_of" in features.columns else 1
        hint = (
            f" (the features hold {dates} as-of dates: score one, features[features.as_of == date])"
            if dates > 1
            else ""
        )
        raise ValueError(DUPLICATE_PERSONS.format(count=dupes) + hint)
    risk = np.asarray(model.predict_proba(features), dtype="float64")
    raw_score = np.asarray(model.raw_score(features), dtype="float64")
    percentile = risk_percentile(risk)
    tier = assign_tiers(risk, percentile, config.tiers)
    return pd.DataFrame(
        {
            "person_id": features["person_id"].astype("str").to_numpy(),
            "risk": risk,
            "raw_score": raw_score,
            "percentile": percentile,
            "tier": pd.array(tier, dtype="str"),
        }
    )


def build_cohort(
    features: pd.DataFrame,
    eligibility: pd.DataFrame,
    model: RiskModel,
    config: ScoringConfig,
    slots: Mapping[str, ProgramSlots],
    labels: Mapping[str, str] | None = None,
    stage: Callable[[str], AbstractContextManager[Any]] | None = None,
    describe: Callable[[str, object], str] | None = None,
    offers: pd.DataFrame | None = None,
    as_of: dt.date | str | None = None,
    enrolments: pd.DataFrame | None = None,
    spa: pd.Series | None = None,
) -> ScoredCohort:
    """Risk, tier, selection and explanations for one as-of date.

    Parameters
    ----------
    features : DataFrame
        One row per scored person (``person_id`` plus the model's features and the
        ``enrolled_<program>_now`` flags).
    eligibility : DataFrame
        Long ``person_id``, ``program``, ``eligible``, ``criteria_met`` (codes as a list or a
        string) and optionally ``reasons`` (their texts), as from
        ``riskstrat.eligibility.evaluate_programs``. Without ``reasons`` the cohort's
        ``reasons`` are empty.
    model : RiskModel
        A loaded ``ModelBundle``.
    config : ScoringConfig
    slots : mapping of programme code to ProgramSlots
    labels : mapping of feature name to readable label, optional
        Default: those of ``configs/features.yaml``, worded as ``riskstrat score`` words
        them (see :func:`riskstrat.scoring.explain_persons`).
    stage : callable, optional
        ``stage(name)`` returns a context manager wrapped around each step ("risk",
        "selection", "explanations"), used for progress bars and timings.
    describe : callable, optional
        ``describe(feature, value) -> phrase`` for factor texts (see
        :func:`riskstrat.scoring.top_factors`).
    offers : DataFrame, optional
        Earlier offers (``person_id``, ``program``, ``offered_on``; the previous run's
        ledger), shown as ``last_offered``. Those made less than
        ``config.selection.reoffer_after_months`` before ``as_of`` and not taken up since
        (see ``enrolments``) are still open: not offered again (``offered_recently``).
    as_of : date or str, optional
        The date scored, written on every cohort row; by default the single ``as_of`` of
        ``features`` (as ``riskstrat.features.build_features`` returns it).
    enrolments : DataFrame, optional
        The enrollments table (``person_id``, ``program``, ``start_date``). An open offer
        whose programme (for care coordination, any care-coordination programme) the person
        started on or after the offer and before ``as_of`` was taken up: it is closed.
        Without it, every offer within the window stays open.
    spa : Series, optional
        Each person's Service Planning Area, indexed by person_id (null = unknown), as the
        persons table's ``spa``: the cohort's ``spa`` ("1"-"8" or "unknown"; "" without it).

    Returns
    -------
    ScoredCohort
    """
    stage = stage or (lambda _name: contextlib.nullcontext())
    as_of = _scored_date(features, as_of)
    missing = [c for c in ELIGIBILITY_COLUMNS if c not in eligibility.columns]
    if missing:
        raise ValueError(
            MISSING_COLUMNS.format(
                table="eligibility", missing=missing, expected=ELIGIBILITY_COLUMNS
            )
        )
    with stage("risk"):
        persons = score_persons(features, model, config)
    with stage("selection"):
        elig = eligibility.loc[:, list(ELIGIBILITY_COLUMNS)].copy()
        elig["reasons"] = eligibility["reasons"] if "reasons" in eligibility.columns else ""
        elig["person_id"] = elig["person_id"].astype("str")
        elig["program"] = elig["program"].astype("str")
        elig["eligible"] = elig["eligible"].fillna(False).astype(bool)
        # Only eligible pairs become cohort rows; dropping the rest first keeps a county-wide
        # run from carrying (persons x programmes) rows through selection.
        elig = elig.loc[elig["eligible"].to_numpy()]
        elig["criteria_met"] = _criteria_text(elig["criteria_met"])
        elig["reasons"] = _criteria_text(elig["reasons"], REASON_SEPARATOR)
        candidates = elig.merge(persons, on="person_id", how="left", validate="many_to_one")
        unknown = int(candidates["risk"].isna().sum())
        if unknown:
            raise ValueError(UNKNOWN_PERSONS.format(count=unknown))
        enrolled = enrolled_pairs(features)
        offers = empty_ledger() if offers is None else offers
        held = open_offers(offers, as_of, config.selection.reoffer_after_months)
        cc = care_coordination_programs(slots)
        closed = (
            np.zeros(len(held), dtype=bool)
            if enrolments is None
            else taken_up(held, enrolments, as_of, cc)
        )
        renewals = renewed(held, features, as_of, {c: slots[c].renewed_by for c in slots})
        held = held.loc[~closed & ~renewals].reset_index(drop=True)
        # A person's later care-coordination offer replaces their earlier ones.
        earlier = replaced_earlier(held, cc)
        held, replaced = held.loc[~earlier].reset_index(drop=True), int(earlier.sum())
        given = slots
        while True:
            # An open offer keeps a caseload place only for someone still here to take it:
            # a person who died or left the data since is not scored.
            waiting = held.loc[isin(held["person_id"], persons["person_id"])]
            slots = net_of_enrolment(given, enrolled, offered=waiting)
            selected = select_cohort(candidates, slots, enrolled=enrolled, offered=held)
            # Offered a higher-priority care-coordination programme now, a person's open
            # offer of a lower one is replaced: it keeps no place, and selection runs again.
            # The offers only shrink, so this ends.
            gone = superseded(held, selected, as_of, cc)
            if not gone.any():
                break
            held, replaced = held.loc[~gone].reset_index(drop=True), replaced + int(gone.sum())
        selected["last_offered"] = last_offered(selected, offers)
        priority = {code: slots[code].priority for code in cc}
        selected["held_by"] = held_by(selected, held, enrolled, priority)
        _check_single_care_coordination(selected, slots)
    with stage("explanations"):
        explained_ids = _persons_to_explain(selected, persons, config)
        explanations = explain_persons(
            features,
            explained_ids,
            model,
            labels,
            config,
            selected_ids=_selected_ids(selected),
            describe=describe,
        )
        factor_text = (
            explanations.loc[~explanations["audit_sample"]]
            .groupby("person_id", sort=False)["text"]
            .agg(FACTOR_SEPARATOR.join)
        )
        # A selected person (an uncapped programme reaches low risks) may have no factor
        # pushing risk up; say so rather than leave the reason blank.
        # (object first: with nobody explained the map is all-NaN float.)
        top = selected["person_id"].map(factor_text).astype(object).fillna(NO_RAISING_FACTOR)
        region = spa_labels(spa, selected["person_id"]) if spa is not None else None
        selected = selected.assign(
            spa=selected["person_id"].map(region).astype(object).fillna(UNKNOWN_SPA)
            if region is not None
            else "",
            top_factors=np.where(selected["selected"], top, ""),
            model_version=str(model.version),
            as_of=[as_of] * len(selected),
        )
        cohort = selected.loc[:, list(COHORT_COLUMNS)].reset_index(drop=True)
        cohort = cohort.astype(
            {
                "top_factors": "str",
                "model_version": "str",
                "tier": "str",
                "held_by": "str",
                "spa": "str",
            }
        )
    return ScoredCohort(
        cohort=cohort,
        persons=persons,
        explanations=explanations,
        explained_ids=explained_ids,
        slots=slots,
        offers_open=len(held),
        offers_not_eligible=_not_eligible_now(held, cohort),
        offers_taken_up=int(closed.sum()),
        offers_renewed=int((renewals & ~closed).sum()),
        offers_replaced=replaced,
    )


def _not_eligible_now(held: pd.DataFrame, cohort: pd.DataFrame) -> int:
    """Open offers with no eligible cohort row of their (person, programme) now."""
    if held.empty:
        return 0
    now = pd.MultiIndex.from_frame(cohort.loc[cohort["eligible"], ["person_id", "program"]])
    pairs = pd.MultiIndex.from_frame(held[["person_id", "program"]].astype("str"))
    return int((~pairs.isin(now)).sum())


def _scored_date(features: pd.DataFrame, as_of: dt.date | str | None) -> dt.date:
    if as_of is not None:
        return as_date(as_of)
    dates = features["as_of"].dropna().unique() if "as_of" in features.columns else []
    if len(dates) != 1:
        raise ValueError(NO_AS_OF.format(count=len(dates)))
    return as_date(pd.Timestamp(dates[0]).date())


def _criteria_text(values: pd.Series, separator: str = ";") -> pd.Series:
    def one(value: Any) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, str):
            return value
        return separator.join(str(v) for v in value)

    return pd.Series([one(v) for v in values], index=values.index, dtype="str")


def _selected_ids(selected: pd.DataFrame) -> np.ndarray:
    return np.sort(selected.loc[selected["selected"], "person_id"].unique().astype(str))


def _check_single_care_coordination(
    selected: pd.DataFrame, slots: Mapping[str, ProgramSlots]
) -> None:
    cc = care_coordination_programs(slots)
    held = selected.loc[selected["selected"] & selected["program"].isin(cc), "person_id"]
    count = int(held.duplicated().sum())
    if count:  # pragma: no cover - guards select_cohort's own invariant
        raise AssertionError(DOUBLE_CARE_COORDINATION.format(count=count))


def _persons_to_explain(
    selected: pd.DataFrame, persons: pd.DataFrame, config: ScoringConfig
) -> np.ndarray:
    chosen = _selected_ids(selected)
    n_audit = config.explanations.audit_sample
    if n_audit == 0:
        return chosen
    others = persons["person_id"].loc[~isin(persons["person_id"], chosen)]
    others = np.sort(others.to_numpy(dtype=object).astype(str))
    rng = np.random.default_rng(config.explanations.audit_seed)
    sample = rng.choice(others, size=min(n_audit, others.size), replace=False)
    return np.sort(np.concatenate([chosen, sample]))
