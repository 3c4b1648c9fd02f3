"""Subgroup metrics: hand-computed figures, fairlearn as a reference, small-cell suppression."""

from __future__ import annotations

import io
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate
from sklearn.metrics import precision_score, roc_auc_score

from riskstrat.modeling import MIN_CELL, sensitive_groups, subgroup_metrics
from riskstrat.modeling._disclosure import Derived, suppress
from riskstrat.modeling._group_selection import add_ratios
from riskstrat.modeling._intervals import (
    auroc_interval,
    holm_reject,
    observed_to_expected_interval,
    rate_ratio_p_value,
    wilson_interval,
)
from riskstrat.modeling._subgroup_names import ALL, NOT_RECORDED
from riskstrat.modeling._subgroup_report import (
    _ratio,
    calibrated_groups_note,
    miscalibrated_groups,
    miscalibration_note,
)
from riskstrat.modeling._subgroups import (
    BEYOND_CHANCE,
    pooled,
    selected_rows,
    subgroup_capacity,
)

from .conftest import pinned_small_counts, readable_small_counts


def approx3(value: float) -> object:
    """Figures are published to three decimals."""
    return pytest.approx(value, abs=5e-4)


def lookup(table: pd.DataFrame, attribute: str = "g") -> pd.Series:
    rows = table[table["attribute"] == attribute]
    return rows.set_index(["group", "scorer", "metric"])["estimate"]


def test_figures_match_a_hand_computed_example() -> None:
    y = np.array([1, 0, 1, 0, 1, 1, 0, 0, 0])
    p = np.array([0.9, 0.2, 0.6, 0.4, 0.8, 0.3, 0.5, 0.1, 0.2])
    groups = pd.DataFrame({"g": list("aaaabbbbb")})
    table = subgroup_metrics(y, {"model": p}, groups, capacity=("x", 3), min_cell=1)
    v = lookup(table)
    assert v[("a", "observed", "n")] == 4 and v[("a", "observed", "events")] == 2
    assert v[("a", "observed", "observed_rate")] == 0.5
    assert v[("a", "model", "mean_risk")] == approx3(0.525)
    assert v[("a", "model", "observed_to_expected")] == approx3(2 / 2.1)
    assert v[("a", "model", "auroc")] == 1.0
    assert v[("b", "model", "mean_risk")] == approx3(0.38)
    # b's events score 0.8 and 0.3 against non-events 0.5, 0.1, 0.2: 5 of 6 pairs.
    assert v[("b", "model", "auroc")] == approx3(5 / 6)
    # The top 3 (0.9, 0.8, 0.6) are two of a (both events) and one of b (an event).
    assert v[("a", "model", "selected_at_k_x")] == 2
    assert v[("a", "model", "recall_at_k_x")] == 1.0
    assert v[("b", "model", "selected_at_k_x")] == 1
    assert v[("b", "model", "selection_rate_at_k_x")] == approx3(0.2)
    assert v[("b", "model", "recall_at_k_x")] == 0.5
    assert v[(ALL, "observed", "n")] == 9
    assert v[(ALL, "model", "selected_at_k_x")] == 3
    assert v[(ALL, "model", "auroc")] == approx3(roc_auc_score(y, p))


def test_fairness_figures_at_k_match_a_hand_computed_example() -> None:
    # The example above: the top 3 are a's two events (0.9, 0.6) and one of b's (0.8).
    y = np.array([1, 0, 1, 0, 1, 1, 0, 0, 0])
    p = np.array([0.9, 0.2, 0.6, 0.4, 0.8, 0.3, 0.5, 0.1, 0.2])
    table = subgroup_metrics(
        y, {"model": p}, pd.DataFrame({"g": list("aaaabbbbb")}), capacity=("x", 3), min_cell=1
    )
    v = lookup(table)
    figures = table.set_index(["group", "scorer", "metric"])
    # a: 2 of 4 selected, both events; b: 1 of 5, an event, with 2 events and 3 without.
    assert v[("a", "model", "precision_at_k_x")] == 1.0
    assert v[("b", "model", "recall_at_k_x")] == 0.5
    assert v[("a", "model", "false_positive_rate_at_k_x")] == 0.0
    assert v[(ALL, "model", "false_positive_rate_at_k_x")] == 0.0
    # Events among the selected over their predicted events: 2 / 1.5 and 1 / 0.8.
    assert v[("a", "model", "observed_to_expected_at_k_x")] == approx3(2 / 1.5)
    assert v[("b", "model", "observed_to_expected_at_k_x")] == approx3(1.25)
    # Ratios to b, the larger group, which reads 1 with no interval.
    assert v[("a", "model", "selection_rate_ratio_at_k_x")] == approx3(0.5 / 0.2)
    assert v[("a", "model", "recall_ratio_at_k_x")] == approx3(2.0)
    assert v[("b", "model", "selection_rate_ratio_at_k_x")] == 1.0
    assert np.isnan(figures.loc[("b", "model", "selection_rate_ratio_at_k_x"), "lower"])
    # Neither group has a false positive: their ratio is 0 / 0.
    assert np.isnan(v[("a", "model", "false_positive_rate_ratio_at_k_x")])
    assert np.isnan(v[(ALL, "model", "selection_rate_ratio_at_k_x")])
    # Katz: log(2.5) -/+ 1.96 sqrt(1/2 - 1/4 + 1/1 - 1/5), rounded outward to 3 decimals.
    spread = 1.96 * np.sqrt(1.05)
    ratio = figures.loc[("a", "model", "selection_rate_ratio_at_k_x")]
    assert ratio["lower"] == math.floor(2.5 * np.exp(-spread) * 1000) / 1000
    assert ratio["upper"] == math.ceil(2.5 * np.exp(spread) * 1000) / 1000
    # Wilson for a's 2 of 4 selected; DeLong for b's AUROC.
    low, high = wilson_interval(np.array([0.5]), np.array([4.0]))
    rate = figures.loc[("a", "model", "selection_rate_at_k_x")]
    assert (rate["lower"], rate["upper"]) == (approx3(low[0]), approx3(high[0]))
    low, high = auroc_interval(y[4:], p[4:])
    auroc = figures.loc[("b", "model", "auroc")]
    assert (auroc["lower"], auroc["upper"]) == (approx3(low), approx3(high))


def test_fairness_rates_agree_with_fairlearn_and_with_the_counts() -> None:
    rng = np.random.default_rng(12)
    g = rng.choice(["u", "v", "w"], size=2_000, p=[0.5, 0.3, 0.2])
    p = rng.uniform(0.02, 0.7, size=2_000)
    y = (rng.uniform(size=2_000) < p).astype(float)
    table = subgroup_metrics(y, {"model": p}, pd.DataFrame({"g": g}), capacity=("x", 300))
    v = lookup(table)
    chosen = selected_rows(p, 300)
    frame = MetricFrame(
        metrics={"fpr": false_positive_rate, "precision": precision_score},
        y_true=y,
        y_pred=chosen,
        sensitive_features=g,
    )
    for group, row in frame.by_group.iterrows():
        s = v[(group, "model", "selected_at_k_x")]
        h = v[(group, "model", "selected_events_at_k_x")]
        n, e = v[(group, "observed", "n")], v[(group, "observed", "events")]
        assert v[(group, "model", "precision_at_k_x")] == approx3(row["precision"])
        assert v[(group, "model", "precision_at_k_x")] == approx3(h / s)
        assert v[(group, "model", "false_positive_rate_at_k_x")] == approx3(row["fpr"])
        assert v[(group, "model", "false_positive_rate_at_k_x")] == approx3((s - h) / (n - e))
    # u is the largest group: the reference.
    assert v[("u", "model", "precision_ratio_at_k_x")] == 1.0
    assert v[("w", "model", "precision_ratio_at_k_x")] == approx3(
        frame.by_group.loc["w", "precision"] / frame.by_group.loc["u", "precision"]
    )


def test_selection_takes_whole_people_ties_to_the_earlier_rows() -> None:
    # Whole people: an expected 0.4 of a person would tell how many of a group tie.
    assert selected_rows(np.array([3, 2, 2, 2, 1]), 2).tolist() == [True, True, False, False, False]
    assert selected_rows(np.array([3, 2]), 5).all()
    # Ranked by the tie-broken key, not the probability.
    y = np.array([1, 0, 0, 1])
    table = subgroup_metrics(
        y,
        {"rule": np.array([0.5, 0.5, 0.5, 0.1])},
        pd.DataFrame({"g": list("abba")}),
        capacity=("x", 1),
        rankings={"rule": np.array([0.0, 2.0, 1.0, 0.0])},
        min_cell=1,
    )
    v = lookup(table)
    assert v[("a", "rule", "selected_at_k_x")] == 0 and v[("b", "rule", "selected_at_k_x")] == 1


def test_the_capacity_is_the_largest_under_half_the_rows() -> None:
    ks = {"isr": 255, "toc": 900, "fsp": 15_000}
    assert subgroup_capacity(ks, 19_118) == ("toc", 900)
    assert subgroup_capacity(ks, 1_801) == ("toc", 900)
    assert subgroup_capacity(ks, 1_800) == ("isr", 255)
    assert subgroup_capacity(ks, 500) is None
    assert subgroup_capacity({}, 1_000) is None


def test_figures_agree_with_fairlearn() -> None:
    rng = np.random.default_rng(4)
    n = 3_000
    groups = rng.choice(["u", "v", "w"], size=n, p=[0.6, 0.3, 0.1])
    p = rng.uniform(0.02, 0.6, size=n)
    y = (rng.uniform(size=n) < p).astype(float)
    table = subgroup_metrics(y, {"model": p}, pd.DataFrame({"g": groups}))
    v = lookup(table)
    frame = MetricFrame(
        metrics={
            "n": lambda t, _s: len(t),
            "rate": lambda t, _s: t.mean(),
            "risk": lambda _t, s: s.mean(),
            "auroc": roc_auc_score,
        },
        y_true=y,
        y_pred=p,
        sensitive_features=groups,
    )
    for group, row in frame.by_group.iterrows():
        assert v[(group, "observed", "n")] == row["n"]
        assert v[(group, "observed", "observed_rate")] == approx3(row["rate"])
        assert v[(group, "model", "mean_risk")] == approx3(row["risk"])
        assert v[(group, "model", "auroc")] == approx3(row["auroc"])


def _sized(sizes: dict[str, int], events: dict[str, int] | None = None) -> tuple:
    """Outcomes, a score and groups with the given sizes and events per group."""
    y, g = [], []
    for group, size in sizes.items():
        k = (events or {}).get(group, size // 2)
        y += [1.0] * k + [0.0] * (size - k)
        g += [group] * size
    y = np.array(y)
    return y, np.linspace(0.9, 0.1, len(y)), pd.DataFrame({"g": g})


def shown(table: pd.DataFrame, scorer: str, metric: str) -> dict[str, bool]:
    rows = table[(table["scorer"] == scorer) & (table["metric"] == metric)]
    return dict(zip(rows["group"], ~rows["suppressed"], strict=True))


def test_groups_under_eleven_are_pooled_with_the_smallest_other_group() -> None:
    y, p, groups = _sized({"ten": 10, "also_ten": 10, "eleven": 11, "big": 60})
    table = subgroup_metrics(y, {"model": p}, groups)
    assert MIN_CELL == 11
    v = lookup(table)
    # Two tens alone would make a pool of 20 that says each has exactly 10.
    assert v[("pooled: also_ten, eleven, ten", "observed", "n")] == 31
    assert set(table["group"]) == {"pooled: also_ten, eleven, ten", "big", ALL}
    assert not readable_small_counts(table)


def test_a_pool_takes_groups_until_its_size_bounds_nothing() -> None:
    # A reader knows the pool is the small groups (1 to 10 each) and the smallest others
    # (11 up to the smallest shown). 3 + 12 would put the 3 at 15 - 11 or less, 1 to 4;
    # 3 + 12 + 30 leaves it 1 to 10 (45 - 22 = 23 at most).
    assert set(pooled(np.repeat(["a", "b", "c", "d"], [3, 12, 30, 500]))) == {
        "pooled: a, b, c",
        "d",
    }
    # 3 + 12 beside a 14: 15 - 14 = 1 at least, 15 - 11 = 4 at most; 3 + 12 + 14 still
    # caps it at 29 - 22 = 7, so everything is pooled.
    assert set(pooled(np.repeat(["a", "b", "c", "d"], [3, 12, 14, 500]))) == {"pooled: a, b, c, d"}
    # 5 + 40 beside a 300: the 5 could be anything from 1 to 10 (45 - 11..300).
    assert set(pooled(np.repeat(["a", "b", "c"], [5, 40, 300]))) == {"pooled: a, b", "c"}


def test_a_pool_under_eleven_takes_the_smallest_other_group() -> None:
    # "ten" alone, hidden for its size, would be the total minus the others.
    y, p, groups = _sized({"ten": 10, "twelve": 12, "big": 60})
    table = subgroup_metrics(y, {"model": p}, groups)
    assert lookup(table)[("pooled: ten, twelve", "observed", "n")] == 22
    assert pooled(np.array(["a"] * 5 + ["b"] * 3), 11).tolist() == ["pooled: a, b"] * 8
    assert not readable_small_counts(table)


def test_hidden_cells_never_add_up_to_a_small_count() -> None:
    # Two small groups of 4 and 5: hidden together they are 9, so a third goes.
    cells = pd.DataFrame({"n": [4, 5, 30, 40]}, index=list("abcd"))
    hidden = suppress(cells, cells.sum(), {})
    assert hidden["n"].tolist() == [True, True, True, False]


def test_a_difference_within_a_group_is_protected_by_hiding_its_designated_cell() -> None:
    # 40 people and 35 events show 5 non-events: the events go (and, alone in their
    # column, a second group's events with them).
    cells = pd.DataFrame({"n": [40, 50, 60], "e": [35, 20, 30]}, index=list("abc"))
    hidden = suppress(cells, cells.sum(), {"n-e": Derived({"n": 1, "e": -1}, "e")})
    assert hidden.to_dict("list") == {"n": [False] * 3, "e": [True, True, False]}


def test_ten_events_hide_the_event_figures_and_eleven_show_them() -> None:
    y, p, groups = _sized({"x": 30, "y": 30, "z": 30}, events={"x": 10, "y": 10, "z": 11})
    table = subgroup_metrics(y, {"model": p}, groups)
    assert shown(table, "observed", "events") == {"x": False, "y": False, "z": True, ALL: True}
    assert shown(table, "model", "auroc") == {"x": False, "y": False, "z": True, ALL: True}
    # The groups are big enough: their size and mean risk stay.
    assert all(shown(table, "observed", "n").values())
    assert all(shown(table, "model", "mean_risk").values())
    rate = table[(table["metric"] == "observed_rate") & (table["group"] == "x")]
    assert rate[["estimate", "lower", "upper"]].isna().all(axis=None)
    assert not readable_small_counts(table)


def test_an_observed_rates_interval_is_rounded_outward_to_three_decimals() -> None:
    y, p, groups = _sized({"x": 30, "y": 30, "z": 30}, events={"x": 12, "y": 15, "z": 11})
    table = subgroup_metrics(y, {"model": p}, groups)
    rate = table[table["metric"] == "observed_rate"].set_index("group")
    for group, events, n in (("z", 11, 30), (ALL, 38, 90)):
        low, high = wilson_interval(np.array([events / n]), np.array([n]), 1.959964)
        # The tightest three-decimal interval holding the exact one (to nearest, a bound
        # can fall inside it: 0.12597 shown as 0.126).
        assert rate.loc[group, "lower"] == math.floor(low[0] * 1000) / 1000
        assert rate.loc[group, "upper"] == math.ceil(high[0] * 1000) / 1000


def test_each_o_e_carries_its_exact_poisson_interval_hidden_with_it() -> None:
    y, p, groups = _sized({"x": 30, "y": 30, "z": 30}, events={"x": 10, "y": 10, "z": 11})
    table = subgroup_metrics(y, {"model": p}, groups)
    ratio = table[table["metric"] == "observed_to_expected"].set_index("group")
    low, high = observed_to_expected_interval(np.array([11, 31]), np.array([p[60:].sum(), p.sum()]))
    # Bounds to two decimals, as shown (at full precision they would pin the expected
    # count), rounded outward: the tightest interval at two decimals that holds the exact one.
    shown = ratio.loc[["z", ALL], ["lower", "upper"]].to_numpy()
    assert shown.tolist() == [
        [math.floor(low[0] * 100) / 100, math.ceil(high[0] * 100) / 100],
        [math.floor(low[1] * 100) / 100, math.ceil(high[1] * 100) / 100],
    ]
    # x's and y's 10 events are hidden, and with them their O/E and the interval around it.
    assert ratio.loc[["x", "y"], ["estimate", "lower", "upper"]].isna().all(axis=None)
    # Intervals belong to the observed rate, the O/E and the AUROC here (no capacity).
    assert set(table.loc[table["lower"].notna(), "metric"]) == {
        "observed_rate",
        "observed_to_expected",
        "auroc",
    }


def test_a_group_without_events_shows_its_o_e_but_no_interval() -> None:
    # The upper bound would be 3.69 / expected: even rounded, it pins the expected count
    # closer than the mean risk does.
    y, p, groups = _sized({"x": 40, "y": 40}, events={"x": 0, "y": 20})
    table = subgroup_metrics(y, {"model": p}, groups, min_cell=1)
    ratio = table[table["metric"] == "observed_to_expected"].set_index("group")
    assert ratio.loc["x", "estimate"] == 0 and ratio.loc["x", ["lower", "upper"]].isna().all()
    assert ratio.loc["y", ["lower", "upper"]].notna().all()
    # Flagged all the same (40 people at 0.5 to 0.9 expect about 28 events), without a
    # bracket of NaNs.
    assert miscalibrated_groups(SimpleNamespace(subgroups=table))[0] == "g x 0.00"


def test_a_group_the_model_misses_is_named_and_a_calibrated_one_is_not() -> None:
    """Known truth: the oracle draws the outcomes; the model is the truth for one group and
    a quarter too low for the other."""
    rng = np.random.default_rng(5)
    true = rng.beta(0.6, 3.5, 6000)
    y = (rng.random(true.size) < true).astype(float)
    g = np.repeat(["a", "b"], 3000)
    model = np.where(g == "b", 0.75 * true, true)
    table = subgroup_metrics(y, {"model": model, "oracle": true}, pd.DataFrame({"sex": g}))
    ratio = table[table["metric"] == "observed_to_expected"].set_index(["scorer", "group"])
    b = ratio.loc[("model", "b")]
    assert 1 < b["lower"] <= 1 / 0.75 <= b["upper"]
    result = SimpleNamespace(subgroups=table)
    assert miscalibrated_groups(result) == [
        f"sex b {b['estimate']:.2f} [{b['lower']:.2f}, {b['upper']:.2f}]"
    ]
    assert miscalibrated_groups(result, scorer="oracle") == []
    assert miscalibrated_groups(result)[0] in miscalibration_note(result)
    assert calibrated_groups_note(result) is None
    assert miscalibration_note(SimpleNamespace(subgroups=None)) is None
    # The oracle alone: none named, and the reader is told so.
    truth = SimpleNamespace(subgroups=table[table["scorer"] == "oracle"].assign(scorer="model"))
    assert miscalibration_note(truth) is None
    assert calibrated_groups_note(truth).startswith(
        "no group's calibration differs beyond chance (model O/E; exact Poisson test, "
        "Holm-adjusted over the 2 groups shown; "
    )
    assert calibrated_groups_note(SimpleNamespace(subgroups=None)) is None


def test_an_o_e_interval_that_excludes_1_never_reads_as_reaching_it() -> None:
    # The demo's SPA 2: 569 events against 623.4 expected, O/E 0.913 [0.839, 0.991]
    # (exact Poisson), which rounded outward to two places read [0.83, 1.00].
    rows = [
        ("model", "spa", "2", "observed_to_expected", 0.9127, 0.8392, 0.9908),
        ("model", "spa", "2", BEYOND_CHANCE, 1.0, np.nan, np.nan),
    ]
    columns = ["scorer", "attribute", "group", "metric", "estimate", "lower", "upper"]
    result = SimpleNamespace(subgroups=pd.DataFrame(rows, columns=columns))
    assert miscalibrated_groups(result) == ["spa 2 0.91 [0.83, 0.991]"]
    # Nor its estimate outside it: 0.996 [0.99, 0.9991] is not 1.00.
    narrow = result.subgroups.assign(estimate=[0.9962, 1.0], lower=[0.9931, np.nan])
    narrow["upper"] = [0.99912, np.nan]
    assert miscalibrated_groups(SimpleNamespace(subgroups=narrow)) == ["spa 2 0.996 [0.99, 0.9992]"]


def test_ten_selected_are_hidden_and_eleven_shown() -> None:
    # Scores put 10 of "x", 10 of "y" then 11 of "z" on top; the top 31 are those.
    g = np.repeat(["x", "y", "z"], 40)
    score = np.zeros(120)
    score[:10], score[40:50], score[80:91] = 3.0, 3.0, 3.0
    y = np.tile(np.r_[np.ones(20), np.zeros(20)], 3)
    table = subgroup_metrics(y, {"model": score}, pd.DataFrame({"g": g}), capacity=("p", 31))
    assert shown(table, "model", "selected_at_k_p") == {
        "x": False,
        "y": False,
        "z": True,
        ALL: True,
    }
    v = lookup(table)
    assert v[("z", "model", "selected_at_k_p")] == 11
    assert v[(ALL, "model", "selected_at_k_p")] == 31
    assert not readable_small_counts(table)


@pytest.mark.parametrize("seed", range(40))
def test_no_small_count_can_be_worked_out_of_a_random_table(seed) -> None:
    # Random groups from 1 to 400 people, event rates from 0 to 1, three scorers and a
    # capacity: whatever is shown, no count of 1 to 10 follows from it.
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1, 3, 7, 10, 11, 12, 15, 25, 60, 150, 400], size=rng.integers(2, 7))
    g = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    rate = rng.uniform(0, 1, size=len(sizes))[np.repeat(np.arange(len(sizes)), sizes)]
    y = (rng.uniform(size=len(g)) < rate).astype(float)
    scores = {
        name: rng.uniform(size=len(g)) * (1 + y * lift)
        for name, lift in (("model", 1.0), ("rule", 0.3), ("oracle", 2.0))
    }
    k = int(rng.integers(1, len(g)))
    table = subgroup_metrics(y, scores, pd.DataFrame({"g": g}), capacity=("p", k))
    # As published: the figures a reader has are those of the CSV.
    table = pd.read_csv(io.StringIO(table.to_csv(index=False)))
    assert not readable_small_counts(table), readable_small_counts(table)
    assert not pinned_small_counts(table), pinned_small_counts(table)
    # What the two attacks do not model is hidden with the counts: mean risks weighted
    # by a hidden size, and an AUROC beside hidden selection counts.
    hidden = table.set_index(["group", "scorer", "metric"])["suppressed"]
    for (group, scorer, metric), gone in hidden.items():
        if metric == "mean_risk" and hidden[(group, "observed", "n")]:
            assert gone, (group, scorer)
        if metric == "auroc" and (
            hidden[(group, scorer, "selected_at_k_p")]
            or hidden[(group, scorer, "selected_events_at_k_p")]
        ):
            assert gone, (group, scorer)
        # The O/E interval's width gives its group's events away, and so does the flag
        # beside it: both go with the event count.
        if (
            metric in ("observed_to_expected", BEYOND_CHANCE)
            and hidden[(group, "observed", "events")]
        ):
            assert gone, (group, scorer, metric)
    # Every rate, ratio and O/E among the selected shows only with the counts it is made of
    # (a ratio: and the reference's), which the attacks above then account for.
    people = {"n": ("observed", "n"), "events": ("observed", "events")}
    flags = table[table["metric"] == "reference_group"].set_index("group")["estimate"]
    reference = flags[flags == 1].index
    for (group, scorer, metric), gone in hidden.items():
        if gone or group == ALL or not metric.endswith("_at_k_p") or metric.startswith("selected"):
            continue
        counts = [people["n"], people["events"], (scorer, "selected_at_k_p")]
        counts.append((scorer, "selected_events_at_k_p"))
        if metric.startswith("selection_rate"):
            counts = [people["n"], (scorer, "selected_at_k_p")]
        elif metric.startswith("recall"):
            counts = [people["events"], (scorer, "selected_events_at_k_p")]
        elif metric.startswith(("precision", "observed_to_expected")):
            counts = counts[2:]
        whose = [group, *reference] if "_ratio_" in metric else [group]
        for who in whose:
            for count in counts:
                assert not hidden[(who, *count)], (group, scorer, metric, who, count)
    bounds = table[table["lower"].notna()].set_index(["group", "scorer", "metric"])
    for group, scorer, metric in bounds.index:
        assert not hidden[(group, scorer, metric)]
        if metric in ("observed_rate", "observed_to_expected"):
            assert not hidden[(group, "observed", "events")]


def test_the_model_vs_oracle_rows_are_the_difference_of_mean_risks() -> None:
    y, p, groups = _sized({"a": 40, "b": 40})
    truth = np.where(groups["g"] == "a", 0.3, 0.6)
    table = subgroup_metrics(y, {"model": p, "oracle": truth}, groups)
    v = lookup(table)
    for group in ("a", "b", ALL):
        expected = v[(group, "model", "mean_risk")] - v[(group, "oracle", "mean_risk")]
        assert v[(group, "model_vs_oracle", "diff_mean_risk")] == approx3(expected)


def test_groups_come_from_the_persons_table_in_row_order() -> None:
    persons = pd.DataFrame(
        {
            "person_id": ["p1", "p2", "p3"],
            "sex": ["F", "M", None],
            "race_ethnicity": ["White", "Black", "White"],
        }
    )
    rows = pd.DataFrame({"person_id": ["p3", "p1", "p9", "p1"]})
    groups = sensitive_groups(rows, persons, ["sex", "race_ethnicity"])
    assert groups["sex"].tolist() == [NOT_RECORDED, "F", NOT_RECORDED, "F"]
    assert groups["race_ethnicity"].tolist() == ["White", "White", NOT_RECORDED, "White"]
    with pytest.raises(ValueError, match=r"persons: no column \['disability'\]"):
        sensitive_groups(rows, persons, ["disability"])


def test_scores_of_another_length_are_refused() -> None:
    with pytest.raises(
        ValueError, match="model: expected 3 values aligned with the outcome, got 2"
    ):
        subgroup_metrics(
            np.array([0, 1, 0]), {"model": np.array([0.1, 0.2])}, pd.DataFrame({"g": list("abc")})
        )


def test_a_group_named_like_the_total_row_is_refused() -> None:
    with pytest.raises(ValueError, match="g has a group named 'all'"):
        subgroup_metrics(
            np.array([0, 1]), {"model": np.array([0.1, 0.2])}, pd.DataFrame({"g": ["all", "b"]})
        )


def test_the_attack_finds_what_hiding_small_cells_alone_leaves() -> None:
    # The check above must be able to fail: hide only the counts under 11 themselves and
    # the total gives the small group away.
    y, p, groups = _sized({"a": 5, "b": 30, "c": 40})
    table = subgroup_metrics(y, {"model": p}, groups, min_cell=1)
    naive = table.copy()
    small = naive["metric"].isin(["n", "events"]) & naive["estimate"].between(1, 10)
    naive.loc[small, ["estimate", "suppressed"]] = [np.nan, True]
    assert "g/model: n of ['a'] adds up to 5" in readable_small_counts(naive)


def test_the_integer_program_finds_a_count_pinned_by_the_total() -> None:
    # The check above must be able to fail: a hidden 3-person group beside a shown 60 is
    # the total's 63 minus 60.
    y, p, groups = _sized({"a": 3, "b": 60}, events={"a": 3})
    table = subgroup_metrics(y, {"model": p}, groups, min_cell=1)
    table.loc[table["group"] == "a", ["estimate", "suppressed"]] = [np.nan, True]
    assert "g/a: n is between 3 and 3" in pinned_small_counts(table)


def test_complementary_suppression_hides_the_same_group_for_every_scorer() -> None:
    # U and X select 1 to 10 people each, so one more group's selections must go. By the
    # count, scorer a's smaller one was F's and scorer b's M's: no sex stayed comparable.
    # By size it is M's (300 people against F's 400) for both.
    sizes = {"F": 400, "M": 300, "U": 30, "X": 30}
    picked = {"a": {"F": 55, "M": 60, "U": 4, "X": 3}, "b": {"F": 63, "M": 52, "U": 4, "X": 3}}
    rng = np.random.default_rng(3)
    g = np.concatenate([[name] * n for name, n in sizes.items()])
    y = (rng.random(len(g)) < 0.5).astype(float)
    scores = {}
    for scorer, counts in picked.items():
        s = rng.random(len(g)) * 0.5
        for name, k in counts.items():
            s[np.flatnonzero(g == name)[:k]] += 1.0
        scores[scorer] = s
    k = sum(picked["a"].values())
    table = subgroup_metrics(y, scores, pd.DataFrame({"sex": g}), capacity=("isr", k))
    column = "selected_at_k_isr"
    hidden = {
        scorer: set(
            table.loc[
                (table["scorer"] == scorer) & (table["metric"] == column) & table["suppressed"],
                "group",
            ]
        )
        for scorer in picked
    }
    assert hidden["a"] == hidden["b"] == {"M", "U", "X"}


def test_probabilities_given_as_outcomes_or_scores_not_named_are_said() -> None:
    y, p, groups = _sized({"x": 30, "y": 30}, events={"x": 12, "y": 15})
    with pytest.raises(ValueError) as info:
        subgroup_metrics(p, {"model": p}, groups)  # the risks where the outcomes go
    assert str(info.value).startswith("y: expected the test quarter's outcomes as 0 or 1, got")
    with pytest.raises(TypeError, match="scores: expected a mapping of scorer name to prob"):
        subgroup_metrics(y, [p], groups)
    assert len(subgroup_metrics(y.astype(bool), {"model": p}, groups))  # True/False are 0/1


def test_an_o_e_interval_excluding_1_is_not_stored_as_reaching_it() -> None:
    # 100 events where 122.0 are predicted: the exact upper bound is 0.9965, which two
    # decimals rounded outward would store as 1.00, an interval reaching the 1 it excludes.
    y, _, groups = _sized({"a": 300, "b": 300}, events={"a": 100, "b": 100})
    p = np.r_[np.full(300, 122.0 / 300), np.full(300, 100 / 300)]
    table = subgroup_metrics(y, {"model": p}, groups)
    ratio = table[(table["metric"] == "observed_to_expected")].set_index("group").loc["a"]
    _, high = observed_to_expected_interval(np.array([100]), np.array([122.0]))
    assert 0.99 < high[0] < 1
    assert ratio["upper"] == math.ceil(high[0] * 1000) / 1000 < 1
    assert ratio["lower"] == math.floor(ratio["lower"] * 100) / 100  # two decimals elsewhere
    # As the report shows it.
    assert _ratio(ratio) == f"{ratio['estimate']:.2f} [{ratio['lower']:.2f}, {ratio['upper']:.3f}]"


def test_a_count_pinned_through_a_group_all_selected_is_widened() -> None:
    # The pool of g0 (7) and g1 (25) is all selected, so its selected events are its 14
    # events; with the total of 19 that gave g2's 5 once both selected-event cells were
    # hidden and nothing was left in their column to hide (a reviewer's case).
    g = np.repeat(["g0", "g1", "g2"], [7, 25, 150])
    score = np.r_[np.ones(32), np.full(33, 0.9), np.full(117, 0.1)]
    y = np.r_[np.ones(14), np.zeros(18), np.ones(5), np.zeros(28), np.ones(40), np.zeros(77)]
    table = subgroup_metrics(y, {"model": score}, pd.DataFrame({"g": g}), capacity=("p", 65))
    assert not pinned_small_counts(table), pinned_small_counts(table)
    assert not readable_small_counts(table), readable_small_counts(table)


def test_the_reference_is_the_largest_named_group_and_is_marked() -> None:
    # "not recorded" is the largest group and the pool of x, y and a (the smallest other
    # group) the next: neither is a group to compare others with, so the reference is b.
    sizes = {"not recorded": 300, "Unknown": 250, "a": 190, "b": 200, "x": 5, "y": 6}
    g = np.repeat(list(sizes), list(sizes.values()))
    rng = np.random.default_rng(5)
    score = rng.uniform(size=len(g))
    y = (rng.uniform(size=len(g)) < score).astype(float)
    table = subgroup_metrics(y, {"model": score}, pd.DataFrame({"g": g}), capacity=("p", 150))
    flags = table[table["metric"] == "reference_group"].set_index("group")["estimate"]
    # The pool (201) and the contract's Unknown (250) are larger than b, but not compared with.
    assert flags.drop(ALL).to_dict() == {
        "Unknown": 0,
        "b": 1,
        "not recorded": 0,
        "pooled: a, x, y": 0,
    }
    assert np.isnan(flags[ALL])
    own = table[(table["group"] == "b") & table["metric"].str.contains("_ratio_")]
    assert (own.loc[~own["suppressed"], "estimate"] == 1.0).sum() >= 1, own
    # The whole quarter's row has no ratio, and nothing is hidden there.
    ratios = table[table["metric"].str.contains("_ratio_") & (table["group"] == ALL)]
    assert ratios["estimate"].isna().all() and not ratios["suppressed"].any()


def test_a_ratio_to_a_reference_rate_of_zero_is_undefined_not_infinite() -> None:
    # The reference b (the larger group) has no false positive: every selected one of b has
    # the event.
    g = np.repeat(["a", "b"], [100, 150])
    y = np.r_[np.tile([1.0, 0.0], 50), np.ones(50), np.zeros(100)]
    score = np.r_[np.linspace(0.9, 0.5, 100), np.full(50, 0.95), np.full(100, 0.1)]
    table = subgroup_metrics(y, {"model": score}, pd.DataFrame({"g": g}), capacity=("p", 110))
    v = lookup(table)
    assert v[("b", "model", "false_positive_rate_at_k_p")] == 0.0
    assert v[("a", "model", "false_positive_rate_at_k_p")] > 0
    assert np.isnan(v[("a", "model", "false_positive_rate_ratio_at_k_p")])


def test_o_e_among_the_selected_excluding_1_is_not_stored_as_reaching_it() -> None:
    # Everyone selected: among a's selected 100 events where 122 are predicted; the exact
    # upper bound 0.9965 is stored as 0.997, not as 1.00, which would reach the 1 it excludes.
    y, _, groups = _sized({"a": 300, "b": 300}, events={"a": 100, "b": 100})
    p = np.r_[np.full(300, 122.0 / 300), np.full(300, 100 / 300)]
    table = subgroup_metrics(y, {"model": p}, groups, capacity=("p", 600))
    row = table.set_index(["group", "scorer", "metric"]).loc[
        ("a", "model", "observed_to_expected_at_k_p")
    ]
    _, high = observed_to_expected_interval(np.array([100]), np.array([122.0]))
    assert row["upper"] == math.ceil(high[0] * 1000) / 1000 < 1


def test_the_reference_is_the_largest_group_whose_size_is_shown() -> None:
    # a is larger but its size is hidden (as complementary suppression may hide it): the
    # ratios are to b, which a reader can see is the largest group shown.
    index = pd.Index(["a", "b", "c", ALL], name="group")
    observed = pd.DataFrame({"n": [300.0, 200, 100, 600], "events": [90.0, 60, 30, 180]}, index)
    observed_hidden = pd.DataFrame(False, index=index, columns=["n", "events"])
    observed_hidden.loc["a", "n"] = True
    table = pd.DataFrame(
        {
            "selected_at_k_p": [30.0, 40, 10, 80],
            "selected_events_at_k_p": [15.0, 20, 5, 40],
            "selection_rate_at_k_p": [0.1, 0.2, 0.1, 80 / 600],
            "recall_at_k_p": [15 / 90, 20 / 60, 5 / 30, 40 / 180],
            "precision_at_k_p": [0.5, 0.5, 0.5, 0.5],
            "false_positive_rate_at_k_p": [15 / 210, 20 / 140, 5 / 70, 40 / 420],
        },
        index,
    )
    scored, bounds = {"model": table}, {"model": {}}
    hidden = {"model": pd.DataFrame(False, index=index, columns=table.columns)}
    observed, flags = add_ratios(
        observed, observed_hidden, scored, bounds, hidden, {"model": "p"}, 1.96
    )
    assert observed["reference_group"].drop(ALL).to_dict() == {"a": 0, "b": 1, "c": 0}
    assert scored["model"].loc["c", "selection_rate_ratio_at_k_p"] == pytest.approx(0.5)


def test_ratios_beyond_chance_are_holms_over_every_ratio_the_scorer_shows() -> None:
    rng = np.random.default_rng(21)
    n = 3_000
    groups = pd.DataFrame(
        {
            "g": rng.choice(["u", "v", "w"], size=n, p=[0.5, 0.3, 0.2]),
            "h": rng.choice(["x", "y"], size=n),
        }
    )
    # w's risks run higher: it is selected about twice as often as u, beyond chance; x
    # and y differ by chance alone.
    p = np.clip(rng.uniform(0.02, 0.5, size=n) * np.where(groups["g"] == "w", 1.8, 1.0), 0, 1)
    y = (rng.uniform(size=n) < p).astype(float)
    table = subgroup_metrics(y, {"model": p}, groups, capacity=("k", 600))
    v = table.set_index(["attribute", "group", "scorer", "metric"])["estimate"]
    rates = {"selection_rate": ("selected", "n"), "recall": ("hits", "events")}
    rates |= {"precision": ("hits", "selected"), "false_positive_rate": ("fa", "ne")}
    family, keys = [], []
    for attribute in ("g", "h"):
        reference = v.xs((attribute, "observed", "reference_group"), level=(0, 2, 3))
        reference = reference[reference == 1].index[0]

        def counts(group, attribute=attribute):
            c = {"n": v[(attribute, group, "observed", "n")]}
            c["events"] = v[(attribute, group, "observed", "events")]
            c["selected"] = v[(attribute, group, "model", "selected_at_k_k")]
            c["hits"] = v[(attribute, group, "model", "selected_events_at_k_k")]
            c["fa"], c["ne"] = c["selected"] - c["hits"], c["n"] - c["events"]
            return c

        for group in sorted(set(groups[attribute]) - {reference}):
            own, base = counts(group), counts(reference)
            for rate, (top, bottom) in rates.items():
                family += list(
                    rate_ratio_p_value([own[top]], [own[bottom]], base[top], base[bottom])
                )
                keys.append((attribute, group, f"{rate}_ratio_beyond_chance_at_k_k"))
    expected = holm_reject(np.array(family))
    flags = {key: v[(key[0], key[1], "model", key[2])] for key in keys}
    assert [flags[key] for key in keys] == [float(e) for e in expected]
    assert flags[("g", "w", "selection_rate_ratio_beyond_chance_at_k_k")] == 1.0
    (h_key,) = [key for key in keys if key[0] == "h" and key[2].startswith("selection")]
    assert flags[h_key] == 0.0
    # The reference is not tested against itself, nor is the whole quarter.
    assert np.isnan(v[("g", "u", "model", "selection_rate_ratio_beyond_chance_at_k_k")])
    assert np.isnan(v[("g", ALL, "model", "selection_rate_ratio_beyond_chance_at_k_k")])
