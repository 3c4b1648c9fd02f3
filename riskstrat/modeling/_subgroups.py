"""Metrics per group of each sensitive attribute on the test quarter, small cells suppressed.

Leaving race/ethnicity and sex out of the inputs does not make a model fair: a model
calibrated overall can still over-predict for one group and under-predict for another,
because the records show a group's need differently (less outpatient care for the same
need, say) or because the attribute itself carries risk the inputs cannot see. So every
scorer is disaggregated by each sensitive attribute: how many people and events, the
observed rate, the mean predicted risk against it (and against the oracle's, on synthetic
data), the AUROC within the group, and at one programme's capacity how many of the group
the scorer would select and what share of the group's events those are.

One capacity only: every capacity selects from the same ranking, so the lists are nested,
and two capacities' counts per group would give away how many of a group sit between them.
Selections are whole people (ties at the cut-off broken by row order, which is person_id
order), since an expected count of 0.4 of a person would tell how many of a group tie.

The table is an aggregate, and no count of 1 to 10 people can be read from it or worked out
from it with the published totals (:mod:`riskstrat.modeling._disclosure`): groups under 11
people are pooled (:func:`pooled`); a figure is hidden with the counts it would reveal; and
figures are rounded to three decimals (an AUROC at full precision is a fraction whose
denominator, events x non-events, names the counts). The ``all`` row is the whole test
quarter, whose totals ``metrics.csv`` publishes anyway; its selections are counted at a
capacity whose precision ``metrics.csv`` shows for every scorer (see
:mod:`riskstrat.modeling._capacity_steps`), so they give back nothing hidden there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from riskstrat.modeling._disclosure import MIN_CELL, Derived, suppress
from riskstrat.modeling._group_selection import (
    RATES,
    add_ratios,
    beyond_chance_metric,
    rate_metric,
    ratio_metric,
    selected_oe_metric,
    selection_figures,
)
from riskstrat.modeling._intervals import (
    auroc_interval,
    holm_reject,
    observed_to_expected_interval,
    observed_to_expected_p_value,
    wilson_interval,
)
from riskstrat.modeling._metric_labels import round_outward_avoiding
from riskstrat.modeling._pooled import pooled
from riskstrat.modeling._subgroup_names import ALL
from riskstrat.modeling._subgroup_places import (
    Places,
    grouped_sums,
    nested,
    place_figures,
    selected_rows,
    without_small_steps,
)

BEYOND_CHANCE = "observed_to_expected_beyond_chance"
DECIMALS = 3  # of every figure that is not a count (counts are whole people)
OBSERVED = "observed"
COLUMNS: tuple[str, ...] = (
    "attribute",
    "group",
    "scorer",
    "metric",
    "estimate",
    "lower",
    "upper",
    "suppressed",
)
NOT_ALIGNED = "{what}: expected {n} values aligned with the outcome, got {m}"
NOT_OUTCOMES = "y: expected the test quarter's outcomes as 0 or 1, got values such as {shown}"
NOT_SCORES = "scores: expected a mapping of scorer name to probabilities, got a {kind}"
# A metric's confidence interval per group: columns lower and upper, indexed by group.
Bounds = dict[str, pd.DataFrame]
RESERVED_GROUP = (
    "groups: {attribute} has a group named {name!r}, the name of the whole test quarter's row; "
    "recode it"
)


def subgroup_capacity(ks: Mapping[str, int], n_rows: int) -> tuple[str, int] | None:
    """The capacity the table selects at: the largest under half the test rows.

    The most places gives the steadiest shares per group; past half the rows nearly
    everyone is selected and the shares say little. None when no capacity fits.
    """
    fitting = {p: int(k) for p, k in ks.items() if 0 < 2 * int(k) < n_rows}
    if not fitting:
        return None
    programme = max(fitting, key=lambda p: (fitting[p], p))
    return programme, fitting[programme]


def _observed(y: np.ndarray, groups: np.ndarray) -> pd.DataFrame:
    table = grouped_sums({"n": np.ones(len(y)), "events": y}, groups)
    return table.assign(observed_rate=table["events"] / table["n"])


def _auroc(
    y: np.ndarray, key: np.ndarray, groups: np.ndarray, group: str, z: float
) -> tuple[float, float, float]:
    """AUROC within one group (``all``: everyone) and DeLong's interval; NaN without both
    outcomes."""
    rows = np.ones(len(y), dtype=bool) if group == ALL else groups == group
    y_group = y[rows]
    if not 0 < y_group.sum() < len(y_group):
        return np.nan, np.nan, np.nan
    return (float(roc_auc_score(y_group, key[rows])), *auroc_interval(y_group, key[rows], z))


def _scorer(
    y: np.ndarray,
    p: np.ndarray,
    key: np.ndarray,
    groups: np.ndarray,
    capacity: tuple[str, int] | None,
    z: float,
) -> tuple[pd.DataFrame, Bounds]:
    columns = {"n": np.ones(len(y)), "events": y, "risk": p}
    if capacity is not None:
        chosen = selected_rows(key, capacity[1]).astype(np.float64)
        columns |= {"selected": chosen, "hits": chosen * y, "selected_risk": chosen * p}
    sums = grouped_sums(columns, groups)
    n, events = sums["n"], sums["events"]
    table = pd.DataFrame(index=sums.index)
    table["mean_risk"] = sums["risk"] / n
    table["observed_to_expected"] = events / sums["risk"]
    lower, upper = observed_to_expected_interval(events.to_numpy(), sums["risk"].to_numpy(), z)
    p_value = observed_to_expected_p_value(events.to_numpy(), sums["risk"].to_numpy())
    # Two decimals, as shown: the bounds' width is a function of the expected count, and
    # at full precision they would pin it far closer than the mean risk does. With no
    # event the upper bound is 3.69 / expected alone, which even rounded pins it closer.
    none = events.to_numpy() == 0
    # Rounded outward, so the interval shown still holds the one computed.
    lower = np.where(none, np.nan, round_outward_avoiding(lower, 2, "lower"))
    upper = np.where(none, np.nan, round_outward_avoiding(upper, 2, "upper"))
    interval = {"lower": lower, "upper": upper, "p_value": p_value}
    bounds = {"observed_to_expected": pd.DataFrame(interval, sums.index)}
    auroc = np.array([_auroc(y, key, groups, group, z) for group in sums.index]).reshape(-1, 3)
    table["auroc"] = auroc[:, 0]
    bounds["auroc"] = pd.DataFrame({"lower": auroc[:, 1], "upper": auroc[:, 2]}, sums.index)
    if capacity is not None:
        programme = capacity[0]
        table[f"selected_at_k_{programme}"] = sums["selected"]
        table[f"selected_events_at_k_{programme}"] = sums["hits"]
        figures, intervals = selection_figures(y, chosen, groups, sums, programme, z)
        table[list(figures.columns)] = figures
        bounds |= intervals
    return table, bounds


def _cells(
    observed: pd.DataFrame,
    scored: Mapping[str, pd.DataFrame],
    programmes: Mapping[str, str],
    inside: list[tuple[str, str]],
) -> tuple[pd.DataFrame, dict[str, Derived]]:
    """The counts a reader sees, per group and the ``all`` row, and their differences:
    within each selection (``programmes``: where each of ``scored`` selects), and between
    two selections one of which holds the other (``inside``: inner, outer)."""
    cells = {"n": observed["n"], "e": observed["events"]}
    derived = {"n-e": Derived({"n": 1, "e": -1}, "e")}
    for name, programme in programmes.items():
        s, h = f"s:{name}", f"h:{name}"
        cells[s] = scored[name][f"selected_at_k_{programme}"]
        cells[h] = scored[name][f"selected_events_at_k_{programme}"]
        derived |= {
            f"n-{s}": Derived({"n": 1, s: -1}, s),  # not selected
            f"{s}-{h}": Derived({s: 1, h: -1}, h),  # selected without the event
            f"e-{h}": Derived({"e": 1, h: -1}, h),  # events not selected
            f"rest:{name}": Derived({"n": 1, "e": -1, s: -1, h: 1}, h),
        }
    for inner, outer in inside:
        s, h, s_out, h_out = f"s:{inner}", f"h:{inner}", f"s:{outer}", f"h:{outer}"
        derived |= {  # in the outer selection, not the inner: people, events, non-events
            f"{s_out}-{s}": Derived({s_out: 1, s: -1}, s),
            f"{h_out}-{h}": Derived({h_out: 1, h: -1}, h),
            f"{s_out}-{h_out}-{s}+{h}": Derived({s_out: 1, h_out: -1, s: -1, h: 1}, h),
        }
    return pd.DataFrame(cells).round().astype(np.int64), derived


def _masks(
    observed: pd.DataFrame,
    scored: Mapping[str, pd.DataFrame],
    programmes: Mapping[str, str],
    inside: list[tuple[str, str]],
    min_cell: int,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Which figures to hide (True), from which counts are hidden."""
    cells, derived = _cells(observed, scored, programmes, inside)
    groups = cells.drop(index=ALL)
    hidden = suppress(groups, cells.loc[ALL], derived, size="n", min_cell=min_cell)
    total = pd.DataFrame(False, index=[ALL], columns=hidden.columns)  # published anyway
    hidden = pd.concat([hidden, total]).astype(bool)
    whole = pd.Series(False, index=cells.index)
    whole[groups.index] = (groups["n"] > 0) & (groups["n"] < min_cell)
    n, e = hidden["n"], hidden["e"]
    observed_mask = pd.DataFrame(
        {"n": n, "events": e, "observed_rate": n | e}, index=observed.index
    )
    masks = {}
    for name, table in scored.items():
        mask = pd.DataFrame(False, index=table.index, columns=table.columns)
        mask.loc[whole, :] = True
        # Every scorer's mean risks, weighted by the groups' sizes, add up to its overall
        # mean: with a size hidden they would solve for it. O/E is the observed rate over
        # the mean risk; an AUROC's denominator is events x non-events, so it is a clue to
        # the count it is hiding. (Places chosen outright have none of these.)
        own = {"mean_risk": n, "observed_to_expected": n | e, "auroc": n | e | whole}
        for column, rows in own.items():
            if column in mask.columns:
                mask.loc[rows, column] = True
        if name in programmes:
            programme = programmes[name]
            s, h = hidden[f"s:{name}"], hidden[f"h:{name}"]
            # Selected events rank above the unselected non-events, so the AUROC bounds
            # the selection counts it sits beside.
            if "auroc" in mask.columns:
                mask.loc[s | h, "auroc"] = True
            mask.loc[s, f"selected_at_k_{programme}"] = True
            mask.loc[h, f"selected_events_at_k_{programme}"] = True
            # Each rate with the counts it divides.
            counts = {"n": n, "events": e, "selected": s, "hits": h}
            counts |= {"non_events": n | e, "false_alarms": s | h}
            for rate, (top, bottom) in RATES.items():
                mask.loc[counts[top] | counts[bottom], rate_metric(rate, programme)] = True
            if selected_oe_metric(programme) in mask.columns:
                mask.loc[s | h, selected_oe_metric(programme)] = True
        masks[name] = mask
    return observed_mask, masks


def subgroup_metrics(
    y: np.ndarray,
    scores: Mapping[str, np.ndarray],
    groups: pd.DataFrame,
    *,
    capacity: tuple[str, int] | None = None,
    rankings: Mapping[str, np.ndarray] | None = None,
    reference: str = "model",
    oracle: str = "oracle",
    min_cell: int = MIN_CELL,
    confidence_z: float = 1.96,
    places: Sequence[Places] = (),
) -> pd.DataFrame:
    """Every scorer's figures per group of each sensitive attribute, small cells suppressed.

    Parameters
    ----------
    y : array of 0/1
        Test-quarter outcomes.
    scores : mapping of scorer name to calibrated probabilities
        Aligned with ``y`` (model, baselines, oracle).
    groups : DataFrame
        One column per sensitive attribute, aligned with ``y``
        (:func:`riskstrat.modeling.sensitive_groups`).
    capacity : (programme, k), optional
        Where the selection figures select (:func:`subgroup_capacity`); none without it.
    rankings : mapping of scorer name to ranking key, optional
        The order a scorer selects in (probability, ties by raw score:
        :func:`riskstrat.modeling._metrics.ranking_key`); default the probability.
    reference, oracle : str
        With both among ``scores``, rows ``<reference>_vs_<oracle>`` hold
        ``diff_mean_risk``: the reference's mean risk minus the true mean risk per group.
    min_cell : int
        Smallest count shown (11: counts of 1 to 10 are hidden).
    confidence_z : float
        z of the intervals (1.96: 95%): Wilson for the observed rate, exact Poisson for
        each scorer's O/E (:func:`riskstrat.modeling._intervals.observed_to_expected_interval`).
    places : sequence of Places
        Places chosen outright (each programme's own rule, the model within its eligible:
        :mod:`riskstrat.modeling._subgroup_places`): their selection figures under their
        scorer's name, counted in the same disclosure system.

    Returns
    -------
    DataFrame
        Long format, columns ``COLUMNS``: ``attribute``, ``group`` (``"all"`` for the
        whole test quarter), ``scorer`` (``"observed"`` for ``n``, ``events`` and
        ``observed_rate`` with its interval), ``metric``, ``estimate`` (NaN where
        hidden), ``lower`` and ``upper`` (the observed rate's and each O/E's interval,
        hidden with the estimate) and ``suppressed``.
    """
    if not isinstance(scores, Mapping):
        raise TypeError(NOT_SCORES.format(kind=type(scores).__name__))
    y = np.asarray(y, dtype=np.float64)
    if not np.isin(y, (0.0, 1.0)).all():  # probabilities given as outcomes, say
        shown = sorted(set(y[~np.isin(y, (0.0, 1.0))].tolist()))[:3]
        raise ValueError(NOT_OUTCOMES.format(shown=shown))
    if capacity is not None:
        capacity = (str(capacity[0]), int(capacity[1]))
    rankings = rankings or {}
    for name, s in {**scores, **rankings}.items():
        if len(s) != len(y):
            raise ValueError(NOT_ALIGNED.format(what=name, n=len(y), m=len(s)))
    if len(groups) != len(y):
        raise ValueError(NOT_ALIGNED.format(what="groups", n=len(y), m=len(groups)))
    for place in places:
        for what, values in (("places", place.chosen), ("risk", place.risk)):
            if values is not None and len(values) != len(y):
                raise ValueError(
                    NOT_ALIGNED.format(what=f"{place.key} {what}", n=len(y), m=len(values))
                )
    programme = None if capacity is None else capacity[0]
    # Where each table selects and the scorer it shows as: every scorer at the capacity,
    # then the places chosen outright.
    programmes = {name: programme for name in scores} if programme is not None else {}
    selections = {}
    if programme is not None:
        for name, s in scores.items():
            selections[name] = selected_rows(rankings.get(name, s), capacity[1])
    places = without_small_steps(y, places, selections)
    programmes |= {place.key: place.programme for place in places}
    labels = {name: name for name in scores} | {p.key: p.scorer for p in places}
    selections |= {p.key: p.chosen for p in places}
    inside = nested(selections)
    parts, tested = [], []
    for attribute in groups.columns:
        g = groups[attribute].astype("str").to_numpy()
        if (g == ALL).any():
            raise ValueError(RESERVED_GROUP.format(attribute=attribute, name=ALL))
        g = pooled(g, min_cell)
        observed = _observed(y, g)
        scored, bounds = {}, {}
        for name, s in scores.items():
            scored[name], bounds[name] = _scorer(
                y,
                np.asarray(s, dtype=np.float64),
                np.asarray(rankings.get(name, s), dtype=np.float64),
                g,
                capacity,
                confidence_z,
            )
        for place in places:
            scored[place.key], bounds[place.key] = place_figures(y, place, g, confidence_z)
        observed_hidden, hidden = _masks(observed, scored, programmes, inside, min_cell)
        if programmes:
            observed, observed_hidden = add_ratios(
                observed, observed_hidden, scored, bounds, hidden, programmes, confidence_z
            )
        lower, upper = wilson_interval(
            observed["observed_rate"].to_numpy(), observed["n"].to_numpy(), confidence_z
        )
        rate = {"observed_rate": pd.DataFrame({"lower": lower, "upper": upper}, observed.index)}
        parts.append(_long(attribute, OBSERVED, observed, observed_hidden, rate))
        for name, table in scored.items():
            label = labels[name]
            parts.append(_long(attribute, label, table, hidden[name], bounds[name]))
            oe = "observed_to_expected"
            if oe in bounds[name]:
                p_value = bounds[name][oe]["p_value"]
                tested.append((attribute, label, BEYOND_CHANCE, p_value, hidden[name][oe]))
            for rate in RATES if name in programmes else ():
                ratio = ratio_metric(rate, programmes[name])
                flag = beyond_chance_metric(rate, programmes[name])
                p_value = bounds[name][ratio]["p_value"]
                tested.append((attribute, label, flag, p_value, hidden[name][ratio]))
        if reference in scored and oracle in scored:
            diff = scored[reference][["mean_risk"]] - scored[oracle][["mean_risk"]]
            mask = hidden[reference][["mean_risk"]]
            diff.columns = mask.columns = ["diff_mean_risk"]
            parts.append(_long(attribute, f"{reference}_vs_{oracle}", diff, mask))
    parts += _beyond_chance(tested, alpha=2 * float(norm.sf(confidence_z)))
    return pd.concat(parts, ignore_index=True)[list(COLUMNS)]


def _beyond_chance(
    tested: list[tuple[str, str, str, pd.Series, pd.Series]], alpha: float
) -> list[pd.DataFrame]:
    """Rows flagging, 1 or 0, a group's figure that differs from 1 beyond chance under
    Holm's test: ``observed_to_expected_beyond_chance`` (each O/E) and
    ``<rate>_ratio_beyond_chance_at_k_<p>`` (each ratio to the reference group).

    One family per scorer and kind: every O/E a scorer shows (all attributes), and every
    ratio it shows (all attributes and rates, some 80 in the demo). With eleven groups
    tested at 5% each, a calibrated model would be flagged somewhere in about one test
    quarter in six (17.5% in tests/modeling/test_intervals.py). Hidden with the figure; the
    ``all`` row, whose calibration the headline metrics judge, is left blank.
    """
    families: dict[tuple[str, bool], list] = {}
    for attribute, scorer, flag, p, hidden in tested:
        shown = p.where(~hidden.reindex(p.index, fill_value=True) & (p.index != ALL))
        key = (scorer, flag == BEYOND_CHANCE)
        families.setdefault(key, []).append((attribute, scorer, flag, shown, hidden))
    rows = []
    for parts in families.values():
        family = pd.concat([shown for *_rest, shown, _h in parts]).to_numpy()
        flags = np.where(np.isnan(family), np.nan, holm_reject(family, alpha))
        cuts = np.cumsum([len(shown) for *_rest, shown, _h in parts])[:-1]
        for (attribute, scorer, name, shown, hidden), flag in zip(
            parts, np.split(flags, cuts), strict=True
        ):
            table = pd.DataFrame({name: flag}, index=shown.index)
            mask = pd.DataFrame({name: hidden.reindex(shown.index, fill_value=True)})
            rows.append(_long(attribute, scorer, table, mask))
    return rows


def _long(
    attribute: str,
    scorer: str,
    table: pd.DataFrame,
    hidden: pd.DataFrame,
    bounds: Bounds | None = None,
) -> pd.DataFrame:
    """One row per (group, metric), groups in the table's order, metrics in its column order;
    a metric's interval (``bounds``) is hidden with its estimate."""
    hidden = hidden.reindex(index=table.index, columns=table.columns, fill_value=True).astype(bool)
    n_groups, n_metrics = table.shape
    limits = {}
    for side in ("lower", "upper"):
        frame = pd.DataFrame(np.nan, index=table.index, columns=table.columns)
        for metric, interval in (bounds or {}).items():
            frame[metric] = interval[side]
        shown = frame.where(~hidden).to_numpy(dtype=float)
        limits[side] = round_outward_avoiding(shown, DECIMALS, side).ravel()
    return pd.DataFrame(
        {
            "attribute": attribute,
            "group": np.repeat(table.index.to_numpy(), n_metrics),
            "scorer": scorer,
            "metric": np.tile(table.columns.to_numpy(), n_groups),
            "estimate": table.where(~hidden).round(DECIMALS).to_numpy().ravel(),
            **limits,
            "suppressed": hidden.to_numpy().ravel(),
        }
    )
