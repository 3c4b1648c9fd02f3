"""Who a scorer would give one programme's places to, per group: the fairness figures at k.

A model calibrated in every group can still hand out the places unevenly, and the usual
questions about it are rates over the people selected at the capacity (the ``k`` highest):

- ``selection_rate``: the share of the group selected (demographic parity; the
  four-fifths rule compares its ratios);
- ``recall``: the share of the group's events among those selected (the true-positive
  rate: equal opportunity);
- ``precision``: the share of the group's selected people who have the event (predictive
  parity);
- ``false_positive_rate``: the share of the group's people without the event who are
  selected all the same (predictive equality);
- ``observed_to_expected`` among the selected: calibration where the places are, since a
  group's O/E over all its people is mostly the many low risks.

fairlearn's :class:`~fairlearn.metrics.MetricFrame` computes the four rates per group and
overall. Each rate gets a Wilson interval, each O/E an exact Poisson one, and each rate a
ratio to the reference group (the largest group shown: the majority group, as Aequitas
takes it by default) with Katz's log interval; the reference's own ratio is 1 with no
interval. Every figure is a function of counts the table shows where it is shown
(:mod:`riskstrat.modeling._subgroups` hides it with them), so the intervals and ratios
give away no count the table hides.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import partial

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import precision_score

from riskstrat.modeling._intervals import (
    observed_to_expected_interval,
    rate_ratio_interval,
    rate_ratio_p_value,
    wilson_interval,
)
from riskstrat.modeling._metric_labels import round_outward_avoiding
from riskstrat.modeling._subgroup_names import ALL, PLACE_SCORERS, POOLED, REFERENCE, UNKNOWN

# Each rate: its numerator and denominator among the group sums.
RATES: dict[str, tuple[str, str]] = {
    "selection_rate": ("selected", "n"),
    "recall": ("hits", "events"),
    "precision": ("hits", "selected"),
    "false_positive_rate": ("false_alarms", "non_events"),
}
_FAIRLEARN = {
    "selection_rate": selection_rate,
    "recall": true_positive_rate,
    "precision": partial(precision_score, zero_division=np.nan),
    "false_positive_rate": false_positive_rate,
}


def beyond_chance_metric(rate: str, programme: str) -> str:
    """The rows flagging a ratio that differs from 1 beyond chance (Holm)."""
    return f"{rate}_ratio_beyond_chance_at_k_{programme}"


def rate_metric(rate: str, programme: str) -> str:
    """The table's name of a rate at ``programme``'s capacity."""
    return f"{rate}_at_k_{programme}"


def ratio_metric(rate: str, programme: str) -> str:
    """The table's name of a rate's ratio to the reference group."""
    return f"{rate}_ratio_at_k_{programme}"


def selected_oe_metric(programme: str) -> str:
    """The table's name of the O/E among the selected."""
    return f"observed_to_expected_at_k_{programme}"


def reference_group(sizes: pd.Series) -> str | None:
    """The largest group a reader sees by name: not the whole quarter, not a pool of small
    groups, not the people whose attribute is not recorded or coded unknown (ties: the
    first name)."""
    named = sizes[
        (sizes.index != ALL)
        & ~sizes.index.str.startswith(POOLED)
        & ~sizes.index.isin(list(UNKNOWN))
        & (sizes > 0)
    ]
    if named.empty:
        return None
    return str(sorted(named.index, key=lambda g: (-named[g], g))[0])


def _fairlearn_rates(y: np.ndarray, chosen: np.ndarray, groups: np.ndarray) -> pd.DataFrame:
    # One weighted row per (group, outcome, selected): the same rates as one row per person
    # (every rate here is a ratio of weighted counts), where fairlearn's per-row stacking
    # took some 4 s a call at 200,000 rows.
    rows = pd.DataFrame(
        {"group": groups, "y": y.astype(np.int64), "chosen": chosen.astype(np.int64)}
    )
    cells = rows.value_counts(sort=False).reset_index(name="weight")
    weight = cells["weight"].to_numpy(dtype=np.float64)
    frame = MetricFrame(
        metrics=_FAIRLEARN,
        y_true=cells["y"].to_numpy(),
        y_pred=cells["chosen"].to_numpy(),
        sensitive_features=cells["group"],
        sample_params={name: {"sample_weight": weight} for name in _FAIRLEARN},
    )
    rates = frame.by_group.copy()
    rates.index = rates.index.astype("str")
    rates.loc[ALL] = frame.overall
    return rates.astype(np.float64)


def selection_figures(
    y: np.ndarray,
    chosen: np.ndarray,
    groups: np.ndarray,
    sums: pd.DataFrame,
    programme: str,
    z: float,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The rates and O/E among the selected per group (``sums``' index: the groups then
    ``all``), with their intervals (columns ``lower`` and ``upper``); the ratios come once
    the table knows what it hides (:func:`ratio_figures`).

    ``sums`` holds per group ``n``, ``events``, ``selected``, ``hits`` (selected with the
    event) and ``selected_risk`` (the predicted events among the selected).
    """
    counts = sums.assign(
        non_events=sums["n"] - sums["events"], false_alarms=sums["selected"] - sums["hits"]
    )
    with warnings.catch_warnings():
        # A group with no event has no recall: fairlearn reads it as 0, masked below.
        warnings.simplefilter("ignore")
        rates = _fairlearn_rates(y, chosen, groups).reindex(sums.index)
    table = pd.DataFrame(index=sums.index)
    bounds: dict[str, pd.DataFrame] = {}
    for rate, (_top, bottom) in RATES.items():
        n = counts[bottom].to_numpy()
        name = rate_metric(rate, programme)
        table[name] = rates[rate].where(counts[bottom] > 0)
        with np.errstate(divide="ignore", invalid="ignore"):  # NaN with no one to count
            lower, upper = wilson_interval(table[name].to_numpy(), n, z)
        bounds[name] = pd.DataFrame({"lower": lower, "upper": upper}, index=sums.index)
    oe = selected_oe_metric(programme)
    expected = sums["selected_risk"].to_numpy()
    table[oe] = (sums["hits"] / sums["selected_risk"]).where(sums["selected_risk"] > 0)
    lower, upper = observed_to_expected_interval(sums["hits"].to_numpy(), expected, z)
    # Two decimals, as the group's O/E (riskstrat.modeling._subgroups): the bounds' width
    # pins the expected count.
    none = sums["hits"].to_numpy() == 0
    lower = np.where(none, np.nan, round_outward_avoiding(lower, 2, "lower"))
    upper = np.where(none, np.nan, round_outward_avoiding(upper, 2, "upper"))
    bounds[oe] = pd.DataFrame({"lower": lower, "upper": upper}, index=sums.index)
    return table, bounds


def ratio_figures(
    table: pd.DataFrame,
    observed: pd.DataFrame,
    mask: pd.DataFrame,
    reference: str | None,
    programme: str,
    z: float,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], pd.DataFrame]:
    """Each rate's ratio to ``reference``'s, its Katz interval, and what to hide.

    Parameters
    ----------
    table : DataFrame
        One scorer's figures (:func:`selection_figures` among them, and the selection
        counts ``selected_at_k_<programme>``, ``selected_events_at_k_<programme>``).
    observed : DataFrame
        People ``n`` and ``events`` per group.
    mask : DataFrame of bool
        What the table hides of ``table``: a ratio is hidden with its group's rate and with
        the reference's, which a shown ratio and rate would otherwise give back.
    reference : str or None
        The group ratios are to (:func:`reference_group` of the sizes shown); None: no
        ratio.

    Returns
    -------
    (ratios, bounds, hidden)
        ``bounds`` per ratio: ``lower``, ``upper`` and the ``p_value`` of a ratio of 1
        (:func:`riskstrat.modeling._intervals.rate_ratio_p_value`). The reference reads 1
        with no interval; the ``all`` row has no ratio (NaN, not
        hidden); a ratio over a reference rate of 0 is NaN, not infinite.
    """
    selected = table[f"selected_at_k_{programme}"]
    hits = table[f"selected_events_at_k_{programme}"]
    counts = {"n": observed["n"], "events": observed["events"], "selected": selected}
    counts |= {"hits": hits, "non_events": observed["n"] - observed["events"]}
    counts["false_alarms"] = selected - hits
    ratios = pd.DataFrame(index=table.index)
    hidden = pd.DataFrame(False, index=table.index, columns=[])
    bounds = {}
    for rate, (top, bottom) in RATES.items():
        name, ratio = rate_metric(rate, programme), ratio_metric(rate, programme)
        if reference is None:
            ratios[ratio] = np.nan
            hidden[ratio] = True
            bounds[ratio] = pd.DataFrame(
                np.nan, index=table.index, columns=["lower", "upper", "p_value"]
            )
            continue
        base = table.loc[reference, name]
        with np.errstate(divide="ignore", invalid="ignore"):
            value = table[name] / base
        ratios[ratio] = value.where(np.isfinite(value) & (base > 0))
        lower, upper = rate_ratio_interval(
            counts[top].to_numpy(),
            counts[bottom].to_numpy(),
            counts[top][reference],
            counts[bottom][reference],
            z,
        )
        p_value = rate_ratio_p_value(
            counts[top].to_numpy(),
            counts[bottom].to_numpy(),
            counts[top][reference],
            counts[bottom][reference],
        )
        interval = pd.DataFrame(
            {"lower": lower, "upper": upper, "p_value": p_value}, index=table.index
        )
        interval.loc[[reference, ALL]] = np.nan  # the reference is 1 by definition
        ratios.loc[ALL, ratio] = np.nan
        bounds[ratio] = interval
        hidden[ratio] = mask[name] | bool(mask.loc[reference, name])
        hidden.loc[ALL, ratio] = False  # never a figure: nothing to hide
    return ratios, bounds, hidden


def add_ratios(
    observed: pd.DataFrame,
    observed_hidden: pd.DataFrame,
    scored: dict[str, pd.DataFrame],
    bounds: dict[str, dict[str, pd.DataFrame]],
    hidden: dict[str, pd.DataFrame],
    programmes: Mapping[str, str],
    z: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ratios to the reference group of every table in ``scored`` that selects
    (``programmes``: the programme each selects at), added in place to ``scored``,
    ``bounds`` and ``hidden``; the reference (the largest group whose size is shown) as the
    observed rows ``REFERENCE``: 1 for it, 0 for the other groups."""
    reference = reference_group(observed["n"][~observed_hidden["n"]])
    for name, programme in programmes.items():
        ratios, intervals, mask = ratio_figures(
            scored[name], observed, hidden[name], reference, programme, z
        )
        scored[name] = pd.concat([scored[name], ratios], axis=1)
        bounds[name] |= intervals
        hidden[name] = pd.concat([hidden[name], mask], axis=1)
    flag = pd.Series(0.0, index=observed.index)
    flag[ALL] = np.nan
    if reference is not None:
        flag[reference] = 1.0
    observed = observed.assign(**{REFERENCE: flag})
    return observed, observed_hidden.assign(**{REFERENCE: False})


def table_reference(subgroups: pd.DataFrame, attribute: str) -> str | None:
    """The group ``attribute``'s ratios are to, as the table names it (None: none)."""
    flags = subgroups[(subgroups["attribute"] == attribute) & (subgroups["metric"] == REFERENCE)]
    named = flags.loc[flags["estimate"] == 1, "group"]
    return None if named.empty else str(named.iloc[0])


def selection_programme(subgroups: pd.DataFrame) -> str | None:
    """The programme the subgroup table's scorers select at, as the k highest of the whole
    quarter (its ``selected_at_k_<p>`` rows; places chosen outright aside), or None."""
    prefix = "selected_at_k_"
    ranked = ~subgroups["scorer"].isin(list(PLACE_SCORERS))
    metrics = subgroups.loc[ranked, "metric"]
    metrics = metrics[metrics.str.startswith(prefix)]
    return None if metrics.empty else metrics.iloc[0].removeprefix(prefix)
