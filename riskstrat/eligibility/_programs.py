"""Programme rules: ``configs/programs.yaml`` as frozen dataclasses, checked at load time.

Rules are structured YAML (leaves ``{code, feature, op, value, text}`` and ``all`` /
``any`` / ``none`` groups), never evaluated Python. Loading checks every key, operator,
programme code and feature name and fails with the dotted path of the first bad key,
for example ``programs.isr.criteria.all[2].feature: unknown feature 'psych_adm'``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from riskstrat._config import (
    UNKNOWN_KEY,
    ConfigError,
    ReadOnlyMap,
    config_error,
    default_config_path,
    load_config,
    read_yaml,
)
from riskstrat.data._codes import PROGRAMS
from riskstrat.features._checks import LIST_SEPARATOR, SEPARATOR_IN_TEXT

OPS = (">=", ">", "<=", "<", "==", "!=", "in", "within_months")

UNKNOWN_FEATURE = "unknown feature {feature!r}"
UNKNOWN_PROGRAM = "unknown programme code {code!r}; expected one of {expected}"
NODE_SHAPE = "give exactly one of 'all', 'any', 'none' or a leaf with 'feature'"
LEAF_MISSING = "a leaf needs {key!r}"
GROUP_EMPTY = "a group needs at least one rule"
GROUP_EXTRA = "a group takes no {key!r} (only leaves have codes, operators and values)"
IN_NEEDS_LIST = "op 'in' needs a list value, got {value!r}"
SCALAR_VALUE = "op {op!r} needs one number, true/false or text, got {value!r}"
MONTHS_VALUE = "op 'within_months' needs a whole number of months (1 or more), got {value!r}"
CASELOAD_VALUE = "expected clients per care-manager FTE, a number above 0, got {value!r}"
CASELOAD_NOT_CC = (
    "only a care-coordination programme's staff are counted (care_coordination: true); "
    "remove it, or mark the programme"
)
RENEWAL_FEATURE = (
    "an offer is renewed by an event on or after its date: expected a days_since feature, "
    "got {feature!r} ({kind})"
)
MONTHS_FEATURE = (
    "op 'within_months' reads days before the as-of date: expected a days_since feature, "
    "got {feature!r} ({kind})"
)
DUPLICATE_CODE = "code {code!r} is used for two different rules in programme {program!r}"
WRONG_KIND = "feature {feature!r} is {kind}: expected {expected}, got {value!r}"
BOOL_ORDER = "feature {feature!r} is true/false: expected op ==, != or in, got {op!r}"
BAD_TEMPLATE = "text template {text!r} may only use {{value}} and {{threshold}}"
PRIORITY_NOT_CC = "{code!r} is not a care-coordination programme (care_coordination: false)"
PRIORITY_MISSING = "care-coordination programmes missing from the priority order: {missing}"

TOP_KEYS = ("care_coordination_priority", "screening", "blocks", "programs")


@dataclass(frozen=True)
class Rule:
    """A leaf (``feature op value``) or a group (``all`` / ``any`` / ``none`` of rules)."""

    all: tuple[Rule, ...] | None = None
    any: tuple[Rule, ...] | None = None
    none: tuple[Rule, ...] | None = None
    code: str | None = None
    feature: str | None = None
    # within_months: a days_since feature at most the days back to the same day N calendar
    # months before the as-of date ("released within 3 months"; 90 days missed 91 and 92).
    op: Literal[">=", ">", "<=", "<", "==", "!=", "in", "within_months"] | None = None
    value: Any = None
    text: str | None = None

    @property
    def kind(self) -> str:
        """``leaf``, ``all``, ``any`` or ``none``."""
        for name in ("all", "any", "none"):
            if getattr(self, name) is not None:
                return name
        return "leaf"

    @property
    def children(self) -> tuple[Rule, ...]:
        """The rules of a group (empty for a leaf)."""
        return getattr(self, self.kind) if self.kind != "leaf" else ()


@dataclass(frozen=True)
class Screening:
    """A criterion that needs point-of-care screening (not computable from data).

    ``route`` marks another way into the programme rather than a condition: the
    programme also admits people who meet it instead of a part of the data rule (a
    disability instead of the conditions or hospital use the data shows). Nobody the rule
    lists needs it confirmed, and people who qualify only through it come by referral, not
    from the cohort list.
    """

    code: str
    text: str
    route: bool = False


@dataclass(frozen=True)
class Capacity:
    """How many people a programme can take: ``count`` per ``month``, ``year`` or in total."""

    count: int
    per: Literal["month", "year", "total"]


@dataclass(frozen=True)
class Program:
    """One programme: its data rule, screening items, capacity and duration."""

    name: str
    criteria: Rule
    care_coordination: bool = False
    capacity: Capacity | None = None
    caseload: str | None = None
    duration_months: float | None = None
    screening: tuple[Screening, ...] = ()
    # False for a programme outside WPC-LA (DMH's FSP), whose clients need not meet the
    # common items (Medi-Cal coverage).
    common_screening: bool = True
    # A days_since feature whose event, on or after an open offer's date, starts a new
    # episode the programme serves (Re-entry: a new release): the offer is closed, and the
    # person may be offered the programme again at once.
    renewed_by: str | None = None
    # Clients one care-manager FTE carries in this care-coordination programme; None: the
    # acuity tiers' caseloads (configs/tiers.yaml), as HCSS weighs its caseload by risk.
    caseload_per_fte: float | None = None


@dataclass(frozen=True)
class Programs:
    """All programmes (in config order), common screening and care-coordination priority."""

    programs: Mapping[str, Program]
    care_coordination_priority: tuple[str, ...]
    screening: tuple[Screening, ...] = ()

    def __iter__(self) -> Iterator[str]:
        return iter(self.programs)

    def __len__(self) -> int:
        return len(self.programs)

    def __repr__(self) -> str:
        return (
            f"Programs({list(self.programs)}, "
            f"care_coordination_priority={list(self.care_coordination_priority)})"
        )

    def __getitem__(self, code: str) -> Program:
        return self.programs[code]

    @property
    def care_coordination(self) -> tuple[str, ...]:
        """Codes of the mutually exclusive care-coordination programmes, in priority order."""
        return self.care_coordination_priority

    def screening_for(self, code: str) -> tuple[Screening, ...]:
        """Common screening items (unless the programme opts out) followed by its own."""
        program = self.programs[code]
        return (self.screening if program.common_screening else ()) + program.screening

    def to_confirm(self, code: str) -> tuple[Screening, ...]:
        """The screening items of programme ``code`` that are conditions, not routes."""
        return tuple(item for item in self.screening_for(code) if not item.route)


def iter_leaves(rule: Rule, path: str) -> Iterator[tuple[Rule, str]]:
    """Every leaf of ``rule`` with its dotted path, depth first in config order."""
    if rule.kind == "leaf":
        yield rule, path
        return
    for i, child in enumerate(rule.children):
        yield from iter_leaves(child, f"{path}.{rule.kind}[{i}]")


def feature_names_of(feature_spec: Any) -> set[str] | None:
    """Feature names from a feature spec, a frame's columns or an iterable of names."""
    if feature_spec is None:
        return None
    # Imported here: the features package imports nothing from eligibility, but loading it
    # (DuckDB) is only worth it when a spec is actually given.
    from riskstrat.features import FeatureSpec, expand_features

    if isinstance(feature_spec, FeatureSpec):
        return {feature.name for feature in expand_features(feature_spec)}
    for attr in ("feature_names", "names"):
        names = getattr(feature_spec, attr, None)
        if names is not None:
            return set(names() if callable(names) else names)
    features = getattr(feature_spec, "features", None)
    if features is not None:
        if isinstance(features, Mapping):
            return set(features)
        return {getattr(f, "name", f) for f in features}
    if isinstance(feature_spec, Iterable):
        return set(feature_spec)
    raise TypeError(f"feature_spec: cannot read feature names from {type(feature_spec).__name__}")


def feature_kinds_of(feature_spec: Any) -> dict[str, str] | None:
    """Each feature's kind (``bool``, ``int``, ``float``, or ``days_since`` for days before
    the as-of date) when ``feature_spec`` is a spec."""
    from riskstrat.features import FeatureSpec, expand_features

    if not isinstance(feature_spec, FeatureSpec):
        return None
    return {
        f.name: "days_since" if f.aggregate == "days_since" else f.dtype
        for f in expand_features(feature_spec)
    }


def _default_feature_spec() -> Any:
    # The feature spec is the authority on names and kinds; without the features package
    # the check is left to evaluate_programs, which needs every feature as a column anyway.
    try:
        from riskstrat.features import load_feature_spec
    except ImportError:
        return None
    return load_feature_spec()


def load_programs(path: str | Path | Mapping | None = None, feature_spec: Any = None) -> Programs:
    """Load and check the programme rules.

    Parameters
    ----------
    path : str, Path, mapping or None
        A YAML file, an already-parsed mapping, or None for ``configs/programs.yaml``.
    feature_spec : FeatureSpec, iterable of str or None
        Feature names the rules may use. None uses the default feature spec when the
        features package is available.

    Returns
    -------
    Programs

    Raises
    ------
    riskstrat._config.ConfigError
        Naming the dotted path of the first bad key.
    """
    if isinstance(path, Mapping):
        data = path
    else:
        data = read_yaml(default_config_path("programs.yaml") if path is None else path)
    if not isinstance(data, Mapping):
        raise ConfigError(f"programs: expected a mapping, got {data!r}")
    for key in data:
        if key not in TOP_KEYS:
            raise ConfigError(UNKNOWN_KEY.format(path=key, key=key, expected=list(TOP_KEYS)))
    if not isinstance(data.get("programs"), Mapping):
        raise config_error("programs", "expected a mapping of programme code to programme")
    if feature_spec is None:
        feature_spec = _default_feature_spec()
    names = feature_names_of(feature_spec)
    kinds = feature_kinds_of(feature_spec) if feature_spec is not None else None

    programs: dict[str, Program] = {}
    for code, raw in data["programs"].items():
        if code not in PROGRAMS:
            raise config_error(
                f"programs.{code}", UNKNOWN_PROGRAM.format(code=code, expected=list(PROGRAMS))
            )
        program = load_config(Program, raw, root=f"programs.{code}")
        _check_rule(program.criteria, f"programs.{code}.criteria", names, kinds)
        _check_renewal(program, f"programs.{code}.renewed_by", names, kinds)
        _check_caseload(program, f"programs.{code}.caseload_per_fte")
        if program.capacity is not None and program.capacity.count < 0:
            # A negative count read as no places: nobody selected, and exit 0.
            raise config_error(
                f"programs.{code}.capacity.count",
                f"expected a number of people, 0 or more, got {program.capacity.count}",
            )
        _check_codes(code, program)
        programs[code] = program
    screening = tuple(
        load_config(Screening, item, root=f"screening[{i}]")
        for i, item in enumerate(data.get("screening") or [])
    )
    raw_priority = data.get("care_coordination_priority") or []
    if not isinstance(raw_priority, list) or not all(isinstance(c, str) for c in raw_priority):
        raise config_error("care_coordination_priority", "expected a list of programme codes")
    priority = tuple(raw_priority)
    _check_priority(priority, programs)
    return Programs(
        programs=ReadOnlyMap(programs),
        care_coordination_priority=priority,
        screening=screening,
    )


def _check_renewal(
    program: Program, path: str, names: set[str] | None, kinds: dict[str, str] | None
) -> None:
    feature = program.renewed_by
    if feature is None:
        return
    if names is not None and feature not in names:
        close = difflib.get_close_matches(feature, list(names), n=3)
        hint = f"; did you mean {close}?" if close else ""
        raise config_error(path, UNKNOWN_FEATURE.format(feature=feature) + hint)
    kind = (kinds or {}).get(feature, "days_since")
    if kind != "days_since":
        raise config_error(path, RENEWAL_FEATURE.format(feature=feature, kind=kind))


def _check_caseload(program: Program, path: str) -> None:
    value = program.caseload_per_fte
    if value is None:
        return
    if not (value > 0 and math.isfinite(value)):  # the loader has made it a number
        raise config_error(path, CASELOAD_VALUE.format(value=value))
    if not program.care_coordination:
        raise config_error(path, CASELOAD_NOT_CC)


def _check_priority(priority: tuple[str, ...], programs: Mapping[str, Program]) -> None:
    path = "care_coordination_priority"
    for i, code in enumerate(priority):
        if code not in programs:
            raise config_error(
                f"{path}[{i}]", UNKNOWN_PROGRAM.format(code=code, expected=list(programs))
            )
        if not programs[code].care_coordination:
            raise config_error(f"{path}[{i}]", PRIORITY_NOT_CC.format(code=code))
    missing = [c for c, p in programs.items() if p.care_coordination and c not in priority]
    if missing:
        raise config_error(path, PRIORITY_MISSING.format(missing=missing))


def _check_rule(
    rule: Rule, path: str, names: set[str] | None, kinds: dict[str, str] | None = None
) -> None:
    groups = [k for k in ("all", "any", "none") if getattr(rule, k) is not None]
    is_leaf = rule.feature is not None
    if len(groups) + is_leaf != 1:
        raise config_error(path, NODE_SHAPE)
    if groups:
        for key in ("code", "op", "value", "text"):
            if getattr(rule, key) is not None:
                raise config_error(f"{path}.{key}", GROUP_EXTRA.format(key=key))
        if not rule.children:
            raise config_error(f"{path}.{groups[0]}", GROUP_EMPTY)
        for i, child in enumerate(rule.children):
            _check_rule(child, f"{path}.{groups[0]}[{i}]", names, kinds)
        return
    for key in ("code", "op", "value"):
        if getattr(rule, key) is None:
            raise config_error(path, LEAF_MISSING.format(key=key))
    if names is not None and rule.feature not in names:
        close = difflib.get_close_matches(rule.feature, list(names), n=3)
        hint = f"; did you mean {close}?" if close else ""
        raise config_error(f"{path}.feature", UNKNOWN_FEATURE.format(feature=rule.feature) + hint)
    if rule.op == "within_months":
        if isinstance(rule.value, bool) or not isinstance(rule.value, int) or rule.value < 1:
            raise config_error(f"{path}.value", MONTHS_VALUE.format(value=rule.value))
        kind = (kinds or {}).get(rule.feature, "days_since")
        if kind != "days_since":
            raise config_error(f"{path}.op", MONTHS_FEATURE.format(feature=rule.feature, kind=kind))
        return _check_text(rule, path)
    if rule.op == "in":
        if not isinstance(rule.value, list | tuple) or not all(_scalar(v) for v in rule.value):
            raise config_error(f"{path}.value", IN_NEEDS_LIST.format(value=rule.value))
    elif not _scalar(rule.value):
        raise config_error(f"{path}.value", SCALAR_VALUE.format(op=rule.op, value=rule.value))
    if kinds is not None and rule.feature in kinds:
        _check_kind(rule, path, kinds[rule.feature])
    _check_text(rule, path)


def _check_text(rule: Rule, path: str) -> None:
    if rule.text is not None:
        if LIST_SEPARATOR in rule.text:
            raise config_error(f"{path}.text", SEPARATOR_IN_TEXT.format(text=rule.text))
        try:
            rule.text.format(value="", threshold="")
        except (KeyError, IndexError, ValueError) as exc:
            raise config_error(f"{path}.text", BAD_TEMPLATE.format(text=rule.text)) from exc


def _check_kind(rule: Rule, path: str, kind: str) -> None:
    """A value of the feature's kind: "yes" against a true/false feature matched nobody."""
    values = rule.value if rule.op == "in" else [rule.value]
    if kind == "bool":
        fits, expected = all(isinstance(v, bool) for v in values), "true or false"
        if rule.op not in ("==", "!=", "in"):
            raise config_error(f"{path}.op", BOOL_ORDER.format(feature=rule.feature, op=rule.op))
    else:
        fits = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        expected = "a number"
    if not fits:
        raise config_error(
            f"{path}.value",
            WRONG_KIND.format(
                feature=rule.feature,
                kind={"bool": "true/false"}.get(kind, f"a number ({kind})"),
                expected=expected,
                value=rule.value,
            ),
        )


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _check_codes(program: str, spec: Program) -> None:
    seen: dict[str, Rule] = {}
    for leaf, path in iter_leaves(spec.criteria, f"programs.{program}.criteria"):
        # The same rule reused through a YAML anchor may keep its code; two different
        # rules may not share one (criteria_met would be ambiguous).
        if leaf.code in seen and seen[leaf.code] != leaf:
            raise config_error(
                f"{path}.code", DUPLICATE_CODE.format(code=leaf.code, program=program)
            )
        seen[str(leaf.code)] = leaf
