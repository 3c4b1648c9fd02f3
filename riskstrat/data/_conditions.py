"""ICD-10 -> condition groups (``configs/conditions.yaml``), in pandas and as portable SQL.

Both :func:`add_conditions` and :func:`conditions_case_sql` are compiled from the same
list of prefix rules, ordered from the most specific (longest prefix) to the least, so
the Python and SQL mappings cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Literal, get_args

import pandas as pd

from riskstrat._config import config_error, default_config_path, load_config

Family = Literal["smi", "mental_health", "sud", "overdose", "chronic_medical", "pregnancy", "other"]
FAMILIES: tuple[str, ...] = get_args(Family)

BAD_ICD_PATTERN = (
    "expected an ICD-10 prefix such as 'F31' or 'F32.3', or a range of equal-length "
    "prefixes such as 'F20-F29'; got {value!r}"
)
OVERLAPPING_RULES = (
    "{value!r} overlaps {other!r} of condition {condition!r} at the same specificity"
)
NO_ICD10_COLUMN = "table 'diagnoses': column 'icd10' is required to derive 'condition'"

# Normalised code: letter, then letters/digits (ICD-10-CM codes such as O9A, F1120).
_CODE = re.compile(r"^[A-Z][0-9A-Z]{1,6}$")

logger = logging.getLogger(__name__)


def normalise_icd10(code: str) -> str:
    """Upper-case an ICD-10 code and drop its dot and surrounding spaces ("f11.20" -> "F1120")."""
    return code.strip(" ").replace(".", "").upper()


@dataclasses.dataclass(frozen=True)
class Condition:
    """One condition group: a readable label, its family, whether chronic, its ICD-10 prefixes."""

    label: str
    family: Family
    chronic: bool
    icd10: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Rule:
    """A compiled prefix rule: ``lo <= code[:length] <= hi`` maps the code to ``condition``."""

    condition: str
    lo: str
    hi: str

    @property
    def length(self) -> int:
        return len(self.lo)


@dataclasses.dataclass(frozen=True)
class Conditions:
    """The condition groups of ``configs/conditions.yaml`` (keyed by condition name)."""

    conditions: dict[str, Condition]

    def __post_init__(self) -> None:
        # Compile (and so check) the rules at load time, not at first use.
        object.__setattr__(self, "_rules", _compile(self.conditions))

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Prefix rules, most specific first (the order both mappings apply them in)."""
        return self._rules  # type: ignore[attr-defined]

    @property
    def names(self) -> tuple[str, ...]:
        """Condition names in configuration order."""
        return tuple(self.conditions)

    def chronic(self) -> tuple[str, ...]:
        """Names of the conditions flagged chronic."""
        return tuple(name for name, c in self.conditions.items() if c.chronic)

    def in_family(self, family: str) -> tuple[str, ...]:
        """Names of the conditions of ``family`` (for example ``"sud"``)."""
        return tuple(name for name, c in self.conditions.items() if c.family == family)

    def map_code(self, code: str | None) -> str | None:
        """The condition of one ICD-10 code, or None when it is in no group."""
        if code is None or (not isinstance(code, str) and pd.isna(code)):
            return None
        norm = normalise_icd10(code)
        for rule in self.rules:
            if rule.lo <= norm[: rule.length] <= rule.hi:
                return rule.condition
        return None


def _parse_rule(name: str, index: int, value: str) -> Rule:
    path = f"conditions.conditions.{name}.icd10[{index}]"
    parts = [normalise_icd10(p) for p in value.split("-")]
    if len(parts) == 1:
        parts = parts * 2
    lo, hi = parts if len(parts) == 2 else ("", "")
    if not (_CODE.match(lo) and _CODE.match(hi)) or len(lo) != len(hi) or lo > hi:
        raise config_error(path, BAD_ICD_PATTERN.format(value=value))
    return Rule(condition=name, lo=lo, hi=hi)


def _compile(conditions: dict[str, Condition]) -> tuple[Rule, ...]:
    rules: list[tuple[Rule, str]] = []
    for name, condition in conditions.items():
        for i, value in enumerate(condition.icd10):
            rule = _parse_rule(name, i, value)
            for other, other_value in rules:
                # Two rules of one length that overlap would make the mapping order-dependent.
                if other.length == rule.length and rule.lo <= other.hi and other.lo <= rule.hi:
                    raise config_error(
                        f"conditions.conditions.{name}.icd10[{i}]",
                        OVERLAPPING_RULES.format(
                            value=value, other=other_value, condition=other.condition
                        ),
                    )
            rules.append((rule, value))
    # Longest prefix first: the most specific rule wins; ties cannot overlap (checked above).
    ordered = sorted((r for r, _ in rules), key=lambda r: (-r.length, r.lo))
    return tuple(ordered)


def load_conditions(path: str | Path | None = None) -> Conditions:
    """Load the condition groups (default ``configs/conditions.yaml``).

    Parameters
    ----------
    path : str or Path, optional
        A YAML file with a top-level ``conditions`` mapping.

    Returns
    -------
    Conditions
        Frozen; unknown keys, bad ICD-10 patterns and overlapping rules raise ``ConfigError``.
    """
    return _load_cached(str(path or default_config_path("conditions.yaml")))


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Conditions:
    return load_config(Conditions, path, root="conditions")


def add_conditions(diagnoses: pd.DataFrame, conditions: Conditions | None = None) -> pd.DataFrame:
    """Add (or replace) the ``condition`` column of ``diagnoses`` from its ``icd10`` column.

    Parameters
    ----------
    diagnoses : DataFrame
        Must have an ``icd10`` column; codes may carry the dot or not, in any case.
    conditions : Conditions, optional
        Defaults to :func:`load_conditions`.

    Returns
    -------
    DataFrame
        A copy with ``condition`` (string; null when the code is in no group).
    """
    if "icd10" not in diagnoses.columns:
        raise KeyError(NO_ICD10_COLUMN)
    conditions = conditions or load_conditions()
    codes = diagnoses["icd10"]
    # Map each distinct code once: ICD-10 has ~70k codes, a county has millions of rows.
    positions, uniques = pd.factorize(codes, use_na_sentinel=True)
    # The extra last entry (null) is what position -1, a null code, takes.
    lookup = pd.array([conditions.map_code(str(code)) for code in uniques] + [None], dtype="str")
    mapped = pd.Series(lookup.take(positions), index=codes.index)
    out = diagnoses.copy()
    out["condition"] = mapped
    return out


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def conditions_case_sql(expr: str, conditions: Conditions | None = None) -> str:
    """A portable SQL ``CASE`` expression mapping the ICD-10 code in ``expr`` to its condition.

    Uses only ``upper``, ``trim``, ``replace``, ``substr`` and ``BETWEEN`` so the same text
    runs on DuckDB and Spark SQL. Gives exactly the mapping of :func:`add_conditions`.

    Parameters
    ----------
    expr : str
        A SQL expression yielding the code, for example ``"d.icd10"``.
    conditions : Conditions, optional
        Defaults to :func:`load_conditions`.

    Returns
    -------
    str
        ``CASE ... END``; NULL for codes in no group.
    """
    conditions = conditions or load_conditions()
    norm = f"upper(replace(trim({expr}), '.', ''))"
    whens = []
    # Rules of one length never overlap, so their order within the length is free: a
    # condition's single codes of one length share one IN list (overdose's later encounters
    # are 152 codes, tested on every diagnosis row before the shorter prefixes).
    by_length = sorted(conditions.rules, key=lambda r: (-r.length, r.condition, r.lo))
    for (length, condition), rules in groupby(by_length, lambda r: (r.length, r.condition)):
        part = f"substr({norm}, 1, {length})"
        singles = []
        for rule in rules:
            if rule.lo == rule.hi:
                singles.append(_sql_literal(rule.lo))
                continue
            test = f"{part} BETWEEN {_sql_literal(rule.lo)} AND {_sql_literal(rule.hi)}"
            whens.append(f"WHEN {test} THEN {_sql_literal(condition)}")
        if singles:
            whens.append(f"WHEN {part} IN ({', '.join(singles)}) THEN {_sql_literal(condition)}")
    return "CASE " + " ".join(whens) + " ELSE NULL END"


def warn_conditions_left_empty(diagnoses: pd.DataFrame, conditions: Conditions) -> None:
    """Warn when a given ``condition`` column is empty where ``icd10`` names a condition.

    The column's values are used as given, so a column filled in for a few rows (31 of
    them set, the rest empty) silently switched the ICD-10 mapping off for the rest: FSP
    eligibility fell from 90 people to 1.
    """
    empty = diagnoses["condition"].isna() & diagnoses["icd10"].notna()
    if not bool(empty.any()):
        return
    mapped = add_conditions(diagnoses.loc[empty, ["icd10"]], conditions)["condition"]
    missed = int(mapped.notna().sum())
    if missed:
        logger.warning(
            "diagnoses: %d of %d rows have an empty condition where their icd10 code is in a "
            "condition group; the condition column is used as given, so they count as no "
            "condition (leave the column out to derive every condition from icd10)",
            missed,
            len(diagnoses),
        )
