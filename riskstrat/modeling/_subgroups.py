"""Metrics per group of each sensitive attribute on the test quarter, small cells suppressed.

Leaving race/ethnicity and sex out of the inputs does not make a model fair: a model
calibrated overall can still over-predict for one group and under-predict for another,
because the records show a group's need differently (less outpatient care for the same
need, say) or because the attribute itself carries risk the inputs cannot see. So every
scorer is disaggregated by each sensitive attribute: how
many people and events, the observed rate, the mean predicted risk against it (and against
the oracle's, on synthetic data), the AUROC within the group, and at each programme's
capacity how many of the group the scorer would select and what share of the group's
events those are.

The table is an aggregate, and any count of 1 to 10 people is suppressed, as in CMS cell
size rules: the group's whole row when it has fewer than 11 people, its event-based figures
when it has 1 to 10 events or non-events, its selection figures when 1 to 10 of it would be
selected or 1 to 10 of those selected have the event. The totals are published, so where
one cell alone is hidden in a column the next smallest is hidden too (complementary
suppression); otherwise the hidden one is a subtraction away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from riskstrat.modeling._metrics import wilson_interval

MIN_CELL = 11
ALL = "all"
OBSERVED = "observed"
NOT_RECORDED = "not recorded"
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
NO_ATTRIBUTE = (
    "persons: no column {missing} for the subgroup metrics; expected the sensitive attributes "
    "of model.sensitive_features ({attributes}) in the persons table"
)
NOT_ALIGNED = "{what}: expected {n} values aligned with the outcome, got {m}"
# A scorer's figures that need the group's event count (hidden with it).
EVENT_METRICS = ("observed_to_expected", "auroc")


def sensitive_groups(
    rows: pd.DataFrame, persons: pd.DataFrame, attributes: Sequence[str]
) -> pd.DataFrame:
    """Each test row's value of every sensitive attribute, from the persons table.

    Parameters
    ----------
    rows : DataFrame
        Test rows with ``person_id``.
    persons : DataFrame
        The linked persons table (``person_id`` and the attributes).
    attributes : sequence of str
        Columns of ``persons`` (``model.sensitive_features``).

    Returns
    -------
    DataFrame
        One column per attribute, aligned with ``rows`` (same length and order, a fresh
        index); a missing value or a person not in ``persons`` reads ``"not recorded"``.
    """
    missing = [a for a in attributes if a not in persons.columns]
    if missing:
        raise ValueError(NO_ATTRIBUTE.format(missing=missing, attributes=list(attributes)))
    table = persons.drop_duplicates("person_id").set_index(
        persons.drop_duplicates("person_id")["person_id"].astype("str")
    )
    ids = rows["person_id"].astype("str")
    out = {}
    for attribute in attributes:
        values = table[attribute].astype("object").reindex(ids)
        out[attribute] = values.where(values.notna(), NOT_RECORDED).astype("str").to_numpy()
    return pd.DataFrame(out)


def selection_weights(key: np.ndarray, k: int) -> np.ndarray:
    """How much of each row a top-``k`` list by ``key`` selects (higher first).

    Rows above the cut-off count 1, rows below 0, and rows tied at the cut-off share the
    places left, so a coarse score (the rule's criteria count) selects each of them at its
    expected value under random tie-breaking, as :func:`precision_at_k` counts them.
    """
    key = np.asarray(key, dtype=np.float64)
    k = min(int(k), len(key))
    weights = np.zeros(len(key))
    if k <= 0:
        return weights
    cut = np.sort(key)[::-1][k - 1]
    above, tied = key > cut, key == cut
    weights[above] = 1.0
    weights[tied] = (k - above.sum()) / tied.sum()
    return weights


def _grouped(columns: Mapping[str, np.ndarray], groups: np.ndarray) -> pd.DataFrame:
    """Sums per group, then an ``all`` row of the totals; groups in sorted order."""
    sums = pd.DataFrame(columns).groupby(groups, sort=True).sum()
    sums.loc[ALL] = sums.sum()
    sums.index = sums.index.astype("str").rename("group")
    return sums


def _observed(y: np.ndarray, groups: np.ndarray) -> pd.DataFrame:
    table = _grouped({"n": np.ones(len(y)), "events": y}, groups)
    return table.assign(observed_rate=table["events"] / table["n"])


def _scorer(
    y: np.ndarray,
    p: np.ndarray,
    key: np.ndarray,
    groups: np.ndarray,
    ks: Mapping[str, int],
) -> pd.DataFrame:
    columns = {"n": np.ones(len(y)), "events": y, "risk": p}
    for programme, k in ks.items():
        w = selection_weights(key, k)
        columns[f"selected_at_k_{programme}"] = w
        columns[f"selected_events_at_k_{programme}"] = w * y
    sums = _grouped(columns, groups)
    n, events = sums["n"], sums["events"]
    table = pd.DataFrame(index=sums.index)
    table["mean_risk"] = sums["risk"] / n
    table["observed_to_expected"] = events / sums["risk"]
    table["auroc"] = [_auroc(y, key, groups, group) for group in sums.index]
    for programme in ks:
        selected = sums[f"selected_at_k_{programme}"]
        hits = sums[f"selected_events_at_k_{programme}"]
        table[f"selected_at_k_{programme}"] = selected
        table[f"selected_events_at_k_{programme}"] = hits
        table[f"selection_rate_at_k_{programme}"] = selected / n
        table[f"recall_at_k_{programme}"] = (hits / events).where(events > 0)
    return table


def _auroc(y: np.ndarray, key: np.ndarray, groups: np.ndarray, group: str) -> float:
    """AUROC within one group (``all``: everyone); NaN without both outcomes."""
    rows = np.ones(len(y), dtype=bool) if group == ALL else groups == group
    y_group = y[rows]
    if not 0 < y_group.sum() < len(y_group):
        return np.nan
    return float(roc_auc_score(y_group, key[rows]))


def small_cells(counts: pd.Series, min_cell: int = MIN_CELL) -> pd.Series:
    """Cells to hide in one column of counts whose total is published.

    A count from 1 to ``min_cell - 1`` is hidden (expected counts of tied selections
    included: 0.4 of a person is still under 11). If that leaves exactly one hidden cell,
    the smallest shown non-zero cell is hidden with it, or the total would give it away.
    ``counts`` holds the groups only (not the total).
    """
    hidden = (counts > 0) & (counts < min_cell)
    if hidden.sum() == 1:
        shown = counts[~hidden & (counts > 0)]
        if len(shown):
            hidden[shown.idxmin()] = True
    return hidden


def _suppress(
    observed: pd.DataFrame,
    scored: Mapping[str, pd.DataFrame],
    ks: Mapping[str, int],
    min_cell: int,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Masks (True: hidden) of the observed table and of each scorer's table.

    The ``all`` row is never hidden: it is the published total.
    """
    groups = observed.drop(index=ALL)
    whole = small_cells(groups["n"], min_cell)
    events_hidden = (
        whole
        | small_cells(groups["events"].where(~whole, 0), min_cell)
        | small_cells((groups["n"] - groups["events"]).where(~whole, 0), min_cell)
    )

    def rows(mask: pd.Series) -> pd.Index:
        return mask.index[mask.to_numpy()]

    observed_mask = pd.DataFrame(False, index=observed.index, columns=observed.columns)
    observed_mask.loc[rows(whole), "n"] = True
    observed_mask.loc[rows(events_hidden), ["events", "observed_rate"]] = True
    masks = {}
    for name, table in scored.items():
        mask = pd.DataFrame(False, index=table.index, columns=table.columns)
        mask.loc[rows(whole), :] = True
        mask.loc[rows(events_hidden), list(EVENT_METRICS)] = True
        for programme in ks:
            selected = table.loc[groups.index, f"selected_at_k_{programme}"].where(~whole, 0)
            hits = table.loc[groups.index, f"selected_events_at_k_{programme}"].where(~whole, 0)
            out_selected = whole | small_cells(selected, min_cell)
            out_hits = out_selected | events_hidden | small_cells(hits, min_cell)
            for metric in ("selected_at_k", "selection_rate_at_k"):
                mask.loc[rows(out_selected), f"{metric}_{programme}"] = True
            for metric in ("selected_events_at_k", "recall_at_k"):
                mask.loc[rows(out_hits), f"{metric}_{programme}"] = True
        masks[name] = mask
    return observed_mask, masks


def subgroup_metrics(
    y: np.ndarray,
    scores: Mapping[str, np.ndarray],
    groups: pd.DataFrame,
    *,
    ks: Mapping[str, int] | None = None,
    rankings: Mapping[str, np.ndarray] | None = None,
    reference: str = "model",
    oracle: str = "oracle",
    min_cell: int = MIN_CELL,
    confidence_z: float = 1.96,
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
        (:func:`sensitive_groups`).
    ks : mapping of programme to k, optional
        Capacities for the selection figures.
    rankings : mapping of scorer name to ranking key, optional
        The order a scorer selects in (probability, ties by raw score:
        :func:`riskstrat.modeling._metrics.ranking_key`); default the probability.
    reference, oracle : str
        With both among ``scores``, rows ``<reference>_vs_<oracle>`` hold
        ``diff_mean_risk``: the reference's mean risk minus the true mean risk per group.
    min_cell : int
        Smallest count shown (11: counts of 1 to 10 are hidden).
    confidence_z : float
        z of the Wilson interval of the observed rate (1.96: 95%).

    Returns
    -------
    DataFrame
        Long format, columns ``COLUMNS``: ``attribute``, ``group`` (``"all"`` for the
        whole test quarter), ``scorer`` (``"observed"`` for ``n``, ``events`` and
        ``observed_rate`` with its interval), ``metric``, ``estimate`` (NaN where
        hidden), ``lower``, ``upper`` and ``suppressed``.
    """
    y = np.asarray(y, dtype=np.float64)
    ks = {name: int(k) for name, k in (ks or {}).items()}
    rankings = rankings or {}
    for name, s in {**scores, **rankings}.items():
        if len(s) != len(y):
            raise ValueError(NOT_ALIGNED.format(what=name, n=len(y), m=len(s)))
    if len(groups) != len(y):
        raise ValueError(NOT_ALIGNED.format(what="groups", n=len(y), m=len(groups)))
    parts = []
    for attribute in groups.columns:
        g = groups[attribute].astype("str").to_numpy()
        observed = _observed(y, g)
        scored = {
            name: _scorer(
                y,
                np.asarray(s, dtype=np.float64),
                np.asarray(rankings.get(name, s), dtype=np.float64),
                g,
                ks,
            )
            for name, s in scores.items()
        }
        observed_hidden, hidden = _suppress(observed, scored, ks, min_cell)
        parts.append(_observed_rows(attribute, observed, observed_hidden, confidence_z))
        for name, table in scored.items():
            parts.append(_long(attribute, name, table, hidden[name]))
        if reference in scored and oracle in scored:
            diff = scored[reference][["mean_risk"]] - scored[oracle][["mean_risk"]]
            mask = hidden[reference][["mean_risk"]]
            diff.columns = mask.columns = ["diff_mean_risk"]
            parts.append(_long(attribute, f"{reference}_vs_{oracle}", diff, mask))
    return pd.concat(parts, ignore_index=True)[list(COLUMNS)]


def _observed_rows(
    attribute: str, observed: pd.DataFrame, hidden: pd.DataFrame, z: float
) -> pd.DataFrame:
    long = _long(attribute, OBSERVED, observed, hidden)
    lower, upper = wilson_interval(
        observed["observed_rate"].to_numpy(), observed["n"].to_numpy(), z
    )
    rate = (long["metric"] == "observed_rate") & ~long["suppressed"]
    where = observed.index.get_indexer(long.loc[rate, "group"])
    long.loc[rate, "lower"] = lower[where]
    long.loc[rate, "upper"] = upper[where]
    return long


def _long(attribute: str, scorer: str, table: pd.DataFrame, hidden: pd.DataFrame) -> pd.DataFrame:
    """One row per (group, metric), groups in the table's order, metrics in its column order."""
    hidden = hidden.reindex(index=table.index, columns=table.columns, fill_value=True).astype(bool)
    n_groups, n_metrics = table.shape
    return pd.DataFrame(
        {
            "attribute": attribute,
            "group": np.repeat(table.index.to_numpy(), n_metrics),
            "scorer": scorer,
            "metric": np.tile(table.columns.to_numpy(), n_groups),
            "estimate": table.where(~hidden).to_numpy().ravel(),
            "lower": np.nan,
            "upper": np.nan,
            "suppressed": hidden.to_numpy().ravel(),
        }
    )
