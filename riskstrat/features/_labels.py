"""Human-readable labels and sentences for feature values (explanations and reports)."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable

import numpy as np

from riskstrat.features._spec import (
    NEVER_DAYS,
    FeatureSpec,
    expand_features,
    load_feature_spec,
)


class UnknownFeatureError(KeyError):
    """A feature name the spec does not have; its message names the closest ones."""

    def __init__(self, name: str, known: list[str]) -> None:
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        super().__init__(
            f"unknown feature {name!r}{hint} (the spec's {len(known)} names: "
            "feature_labels() lists them)"
        )
        self._made_of = (name, known)

    def __reduce__(self):  # rebuilt from what made it: it crosses to a worker process
        return type(self), self._made_of

    def __str__(self) -> str:
        # KeyError's own quotes its message, as if it were the missing key.
        return str(self.args[0])


def feature_labels(spec: FeatureSpec | None = None) -> dict[str, str]:
    """Human-readable label of every feature, for explanations and reports.

    Parameters
    ----------
    spec : FeatureSpec, optional
        Defaults to :func:`load_feature_spec`.

    Returns
    -------
    dict
        ``{"psych_inpatient_admissions_365d": "psychiatric inpatient admissions, last 12
        months", ...}``
    """
    spec = spec or load_feature_spec()
    return {f.name: f.label for f in expand_features(spec)}


def describe_value(name: str, value: object, spec: FeatureSpec | None = None) -> str:
    """A sentence for one feature value, such as ``7 ED visits in the last 12 months``.

    Parameters
    ----------
    name : str
        A feature name of ``spec``.
    value : object
        The feature's value for one person.
    spec : FeatureSpec, optional
        Defaults to :func:`load_feature_spec`.

    Returns
    -------
    str
    """
    spec = spec or load_feature_spec()
    features = {f.name: f for f in expand_features(spec)}
    if name not in features:
        raise UnknownFeatureError(name, list(features))
    f = features[name]
    if value is None or value != value:  # None or NaN
        return f"{f.label}: not recorded"
    if f.dtype == "bool":
        return f"{f.label}: {'yes' if value else 'no'}"
    counted = f.aggregate in ("count", "count_distinct", "total_days", "overlap_count")
    if (counted or f.aggregate == "days_since") and not _count_like(value):
        # "True ED visit in the last 12 months" and "-3 ED visits" read as facts.
        raise ValueError(NOT_A_COUNT.format(name=name, value=value))
    if f.aggregate == "days_since":
        days = f"{int(value)} {'day' if int(value) == 1 else 'days'}"
        event = f.label.removeprefix("days since last ")
        if event != f.label:  # "last jail release 12 days ago" reads as a fact
            return f"no {event} on record" if value == NEVER_DAYS else f"last {event} {days} ago"
        return f"{f.label}: never" if value == NEVER_DAYS else f"{f.label}: {days}"
    if f.aggregate == "age" and _count_like(value):
        return f"aged {_fmt(value)}"
    if counted and f.base_label.startswith("number of ") and f.window is None:
        # "3 distinct chronic conditions diagnosed", not "3 number of ..."
        return f"{_fmt(value)} {_counted(f.base_label.removeprefix('number of '), value)}"
    if counted and f.window:
        return f"{_fmt(value)} {_counted(f.base_label, value)} in the {f.window_text}"
    if f.aggregate == "count" and f.window is None and f.label == f.base_label:
        return f"{_fmt(value)} {_counted(f.base_label, value)}"
    if f.column == "paid_amount" and isinstance(value, int | float):
        # Whole dollars: cents in a care team's list are noise, and a finer trace of a bill.
        if f.aggregate == "sum" and f.window and not f.filters:
            # All their care's bills (a filtered sum, "ED paid amount", keeps its label).
            amount = f"-${-value:,.0f}" if value < 0 else f"${value:,.0f}"
            return f"{amount} paid for their care in the {f.window_text}"
        return f"{f.label}: {value:,.0f}"
    return f"{f.label}: {_fmt(value)}"


def value_describer(spec: FeatureSpec | None = None) -> Callable[[str, object], str]:
    """:func:`describe_value` bound to one spec, each phrase built once.

    The ``describe`` that ``riskstrat score`` gives the factor texts; pass it to
    :func:`riskstrat.scoring.explain_persons` to word factors as a cohort does.

    Parameters
    ----------
    spec : FeatureSpec, optional
        Defaults to :func:`load_feature_spec`.

    Returns
    -------
    callable
        ``describe(name, value) -> str``.
    """
    spec = spec or load_feature_spec()

    # Factor values repeat (small counts, flags), so one phrase per (feature, value) is
    # built once instead of once per person.
    @functools.lru_cache(maxsize=65536)
    def describe(name: str, value: object) -> str:
        return describe_value(name, value, spec)

    # Amounts are worded in whole dollars; a list keeps them so (explanations' values).
    describe.amounts = frozenset(  # type: ignore[attr-defined]
        f.name for f in expand_features(spec) if f.column == "paid_amount"
    )
    return describe


# The plural nouns of the shipped labels; a county's own label keeps its wording.
_PLURAL = re.compile(
    r"\b(visits|fills|admissions|days|referrals|episodes|bookings|overdoses|starts|stays"
    r"|conditions)\b"
)


def _counted(label: str, value: object) -> str:
    """``label`` with its counted noun in the singular for a count of one."""
    if value != 1:
        return label
    return _PLURAL.sub(lambda m: m.group(1)[:-1], label, count=1)


NOT_A_COUNT = "{name}: counts days or events; expected a whole number >= 0, got {value!r}"


def _count_like(value: object) -> bool:
    """A whole number of at least 0 (an int, or a float without a fraction), not a flag."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return False
    return value >= 0 and float(value).is_integer()


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)
