"""Scoring configuration (``configs/tiers.yaml``), risk percentiles and acuity tiers.

A percentile here is the share of the scored population with a strictly lower risk, times
100: the lowest-risk person sits at 0 and nobody reaches 100, so ``min: 95`` selects
exactly the top 5 % when risks are distinct. Ties share the lower percentile, so a tier
never splits people with the same risk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from riskstrat._config import config_error, default_config_path, load_config
from riskstrat.data._codes import PROGRAMS

TIERS_NOT_DESCENDING = (
    "levels must be listed highest acuity first with strictly falling min; got {mins}"
)
TIERS_NO_FLOOR = "the last level must have min 0 so that everyone gets a tier; got {value}"
TIER_MIN_RANGE = "min must be within {low}-{high} for basis {basis!r}; got {value}"
TIER_DUPLICATE = "tier names must be unique; {name!r} appears twice"
CASELOAD_POSITIVE = "caseload must be a positive whole number; got {value}"
UNKNOWN_PROGRAM = "{value!r} is not a programme code; expected one of {expected}"
RISK_OUT_OF_RANGE = "risk must be probabilities within 0-1 with no missing values; {count} are not"


@dataclass(frozen=True)
class TierLevel:
    """One acuity tier: its name, the minimum percentile or probability, and its caseload."""

    name: str
    min: float
    caseload: int


@dataclass(frozen=True)
class TierConfig:
    """Ordered acuity tiers (highest first) and the basis their cut-offs refer to."""

    basis: Literal["percentile", "probability"]
    levels: tuple[TierLevel, ...]

    def __post_init__(self) -> None:
        path = "tiers.levels"
        if not self.levels:
            raise config_error(path, "at least one level is required")
        high = 100.0 if self.basis == "percentile" else 1.0
        seen: set[str] = set()
        for i, level in enumerate(self.levels):
            if level.name in seen:
                raise config_error(f"{path}[{i}].name", TIER_DUPLICATE.format(name=level.name))
            seen.add(level.name)
            if not 0.0 <= level.min < high:
                raise config_error(
                    f"{path}[{i}].min",
                    TIER_MIN_RANGE.format(low=0, high=high, basis=self.basis, value=level.min),
                )
            if level.caseload <= 0:
                raise config_error(
                    f"{path}[{i}].caseload", CASELOAD_POSITIVE.format(value=level.caseload)
                )
        mins = [level.min for level in self.levels]
        if any(a <= b for a, b in zip(mins, mins[1:], strict=False)):
            raise config_error(path, TIERS_NOT_DESCENDING.format(mins=mins))
        if mins[-1] != 0.0:
            raise config_error(
                f"{path}[{len(mins) - 1}].min", TIERS_NO_FLOOR.format(value=mins[-1])
            )

    @property
    def names(self) -> tuple[str, ...]:
        """Tier names, highest acuity first."""
        return tuple(level.name for level in self.levels)


@dataclass(frozen=True)
class SelectionConfig:
    """How care-coordination conflicts are resolved and how long an offer holds (see
    :func:`select_cohort` and ``riskstrat.scoring._offers``)."""

    rule: Literal["priority"] = "priority"
    priority: tuple[str, ...] = ()
    reoffer_after_months: int = 6

    def __post_init__(self) -> None:
        if self.reoffer_after_months < 0:
            raise config_error(
                "selection.reoffer_after_months",
                f"must be 0 or more; got {self.reoffer_after_months}",
            )
        for i, program in enumerate(self.priority):
            if program not in PROGRAMS:
                raise config_error(
                    f"selection.priority[{i}]",
                    UNKNOWN_PROGRAM.format(value=program, expected=list(PROGRAMS)),
                )


@dataclass(frozen=True)
class ExplanationConfig:
    """How many SHAP factors to list per selected person, and the optional audit sample."""

    top_k: int = 5
    min_contribution: float = 0.01
    audit_sample: int = 0
    audit_seed: int = 0

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise config_error("explanations.top_k", f"must be at least 1; got {self.top_k}")
        if self.audit_sample < 0:
            raise config_error(
                "explanations.audit_sample", f"must be 0 or more; got {self.audit_sample}"
            )


@dataclass(frozen=True)
class ScoringConfig:
    """Everything in ``configs/tiers.yaml``."""

    tiers: TierConfig
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    explanations: ExplanationConfig = field(default_factory=ExplanationConfig)


def load_scoring_config(path: str | Path | Mapping | None = None) -> ScoringConfig:
    """Load ``configs/tiers.yaml`` (or ``path``) into a :class:`ScoringConfig`.

    Parameters
    ----------
    path : str, Path, mapping or None
        A YAML file, an already-parsed mapping, or None for the default ``configs/tiers.yaml``.

    Returns
    -------
    ScoringConfig

    Raises
    ------
    riskstrat._config.ConfigError
        With the dotted path of an unknown, missing or invalid key.
    """
    source = default_config_path("tiers.yaml") if path is None else path
    if isinstance(source, Mapping):
        source = dict(source)
    return load_config(ScoringConfig, source, root="")


def risk_percentile(risk: pd.Series | np.ndarray) -> np.ndarray:
    """Percentile of each risk among all risks given: 100 x share with a strictly lower risk.

    Parameters
    ----------
    risk : Series or ndarray of float
        Calibrated probabilities of everyone scored.

    Returns
    -------
    ndarray of float
        Values in [0, 100); ties share the same (lower) value.
    """
    values = np.asarray(risk, dtype="float64")
    n = values.size
    if n == 0:
        return np.zeros(0)
    order = np.sort(values)
    below = np.searchsorted(order, values, side="left")
    return below * (100.0 / n)


def assign_tiers(
    risk: pd.Series | np.ndarray,
    percentile: pd.Series | np.ndarray,
    tiers: TierConfig,
) -> np.ndarray:
    """Tier name for each person: the first level whose ``min`` the person reaches.

    Parameters
    ----------
    risk : Series or ndarray of float
        Calibrated probabilities (used when ``tiers.basis == "probability"``).
    percentile : Series or ndarray of float
        From :func:`risk_percentile` (used when ``tiers.basis == "percentile"``).
    tiers : TierConfig

    Returns
    -------
    ndarray of str
    """
    risk = np.asarray(risk, dtype="float64")
    bad = int(np.count_nonzero(~np.isfinite(risk) | (risk < 0) | (risk > 1)))
    if bad:
        raise ValueError(RISK_OUT_OF_RANGE.format(count=bad))
    basis = np.asarray(percentile if tiers.basis == "percentile" else risk, dtype="float64")
    # Levels are sorted by falling min, so the highest level reached is the first one whose
    # min is <= the value: count the mins above the value.
    mins_ascending = np.array([level.min for level in reversed(tiers.levels)])
    idx_from_low = np.searchsorted(mins_ascending, basis, side="right") - 1
    names = np.array(tiers.names[::-1], dtype=object)
    return names[idx_from_low]


def care_manager_fte(tier_counts: Mapping[str, int], tiers: TierConfig) -> dict[str, float]:
    """Care-manager full-time equivalents needed for a cohort, by tier and in total.

    Each tier's count is divided by its caseload (reported to 2 decimals); ``total_whole``
    rounds the exact total up, since a partial caseload still needs a person to carry it.

    Parameters
    ----------
    tier_counts : mapping of tier name to number of persons
    tiers : TierConfig

    Returns
    -------
    dict
        ``{tier: fte, ..., "total": fte, "total_whole": whole FTEs rounded up}``.
    """
    out: dict[str, float] = {}
    for level in tiers.levels:
        out[level.name] = round(tier_counts.get(level.name, 0) / level.caseload, 2)
    total = tier_fte(tier_counts, tiers)
    out["total"] = round(total, 2)
    out["total_whole"] = float(math.ceil(round(total, 9)))
    return out


def tier_fte(tier_counts: Mapping[str, int], tiers: TierConfig) -> float:
    """Unrounded FTE for persons counted by tier, each tier at its own caseload."""
    return sum(tier_counts.get(level.name, 0) / level.caseload for level in tiers.levels)
