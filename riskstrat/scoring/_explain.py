"""Readable top factors from per-person SHAP contributions.

Contributions are LightGBM ``pred_contrib`` values on the model's raw score (log-odds):
for every person they sum with the base value to the raw score. Factors listed are the
largest positive contributions (what pushed this person's risk up), largest first, so a
care manager reads "why this person" rather than "why not".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

# "Never" sentinel of days-since features (features contract, NEVER_DAYS).
NEVER_DAYS = 9999

# Count features read naturally as "7 <label>".
_COUNT_FEATURE = re.compile(
    r"(visits|admissions|bookings|fills|episodes|overdoses|referrals|starts|conditions)"
    r"(_\d+d|_all)?$|^n_"
)
_FLAG_FEATURE = re.compile(r"^(has|is|in|enrolled|incarcerated|on|homeless|chronic)_|_now$")

CONTRIB_SHAPE = (
    "contributions: shape {shape} does not match values {values} (rows, features must agree)"
)
FACTOR_SEPARATOR = "; "


# The contract's money column: a feature named after it is an amount.
AMOUNT = "paid_amount"


def describe_with_label(feature: str, value: object, label: str) -> str:
    """Readable phrase for one feature value, e.g. ``"7 psychiatric admissions, last 12 months"``.

    Worded from the label and the name's pattern alone, for features of no spec; for the
    spec's own features, :func:`riskstrat.features.describe_value` words each by its
    definition (as ``riskstrat score`` does).

    Parameters
    ----------
    feature : str
        Feature name (its pattern decides the phrasing).
    value : object
        The person's value.
    label : str
        Human-readable label of the feature.

    Returns
    -------
    str
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return f"{label}: unknown"
    if isinstance(value, bool | np.bool_) or (
        _FLAG_FEATURE.search(feature) and _is_number(value) and float(value) in (0.0, 1.0)
    ):
        return label if bool(value) else f"{label}: no"
    if _is_number(value):
        number = float(value)
        if feature.startswith("days_since") and number >= NEVER_DAYS:
            return f"{label}: never"
        text = f"{number:g}" if number == int(number) else f"{number:.2f}"
        if AMOUNT in feature:  # whole dollars, as the spec's wording has them
            text = f"{number:,.0f}"
        if _COUNT_FEATURE.search(feature):
            return f"{text} {label}"
        return f"{label} {text}"
    return f"{label} {value}"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def top_factors(
    contributions: pd.DataFrame,
    values: pd.DataFrame,
    labels: Mapping[str, str],
    top_k: int = 5,
    min_contribution: float = 0.01,
    describe: Callable[[str, object], str] | None = None,
) -> pd.DataFrame:
    """The ``top_k`` largest positive contributions per row, with readable text.

    Parameters
    ----------
    contributions : DataFrame
        One row per person, one column per feature (raw-score units), same row order as
        ``values``. A base-value column, if present, must be dropped beforehand.
    values : DataFrame
        The persons' feature values, containing every column of ``contributions``.
    labels : mapping of feature name to label
        Features without a label use their name with spaces.
    top_k : int
    min_contribution : float
        Contributions below this are not listed.
    describe : callable, optional
        ``describe(feature, value) -> phrase`` (for example the feature spec's own
        ``riskstrat.features.describe_value``); by default :func:`describe_with_label` with
        ``labels``.

    Returns
    -------
    DataFrame
        Long format: ``row`` (position in the input), ``factor_rank`` (1 = largest),
        ``feature``, ``value`` (as text), ``contribution``, ``text``
        (``"<phrase>: +0.14"``), sorted by (row, factor_rank).
    """
    features = list(contributions.columns)
    matrix = contributions.to_numpy(dtype="float64")
    if matrix.shape[0] != len(values) or any(f not in values.columns for f in features):
        raise ValueError(CONTRIB_SHAPE.format(shape=matrix.shape, values=values.shape))
    k = min(top_k, len(features))
    # Stable sort on (-contribution, column position) so equal contributions keep spec order.
    order = np.argsort(-matrix, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(matrix, order, axis=1)
    rows, ranks = np.nonzero(top >= max(min_contribution, np.finfo(float).tiny))
    columns = order[rows, ranks]
    feature_names = np.array(features, dtype=object)[columns]
    records = []
    value_columns = {f: values[f].to_numpy(dtype=object) for f in set(feature_names)}
    # Whole dollars, as the text says: cents are a finer trace of one bill than a list needs.
    amounts = getattr(describe, "amounts", None)
    if amounts is None:
        amounts = {f for f in features if AMOUNT in f}
    for row, rank, feature, contribution in zip(
        rows, ranks, feature_names, top[rows, ranks], strict=True
    ):
        value = value_columns[feature][row]
        if describe is not None:
            phrase = describe(feature, value)
        else:
            phrase = describe_with_label(
                feature, value, labels.get(feature, feature.replace("_", " "))
            )
        records.append(
            (
                int(row),
                int(rank) + 1,
                feature,
                _value_text(value, feature in amounts),
                float(contribution),
                f"{_tidy(phrase)}: {contribution:+.2f}",
            )
        )
    return pd.DataFrame.from_records(
        records, columns=["row", "factor_rank", "feature", "value", "contribution", "text"]
    ).astype({"row": "int64", "factor_rank": "int64", "feature": "str", "value": "str"})


def _tidy(phrase: str) -> str:
    """Keep one colon per factor (before the contribution): "X: yes" -> "X", "X: 3" -> "X = 3"."""
    if phrase.endswith(": yes"):
        return phrase[: -len(": yes")]
    if phrase.endswith(": no"):
        return f"no {phrase[: -len(': no')]}"
    head, sep, tail = phrase.rpartition(": ")
    return f"{head} = {tail}" if sep else phrase


def _value_text(value: object, amount: bool) -> str:
    if _missing(value):
        return ""
    if amount and _is_number(value):
        return f"{float(value):.0f}"
    return str(value)


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
