"""The model's places by group as text and as a picture."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from riskstrat.modeling import subgroup_metrics
from riskstrat.modeling._fairness_plot import by_group_plots, fairness_plot
from riskstrat.modeling._fairness_report import (
    fairness_header,
    fairness_rows,
    fairness_title,
    impact_ratio,
)
from riskstrat.modeling._intervals import rate_ratio_interval
from riskstrat.modeling._metric_labels import bounds


@pytest.fixture(scope="module")
def result() -> SimpleNamespace:
    # Four groups; the top 600 of 2,000 by a score that favours v and w.
    # Two groups neither named nor compared: "not recorded", given the highest risks (the
    # highest share selected), and a pool of two small ones with x, given the lowest.
    rng = np.random.default_rng(21)
    g = rng.choice(["u", "v", "w", "x"], size=2_000, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    g[:400], g[400:405], g[405:412] = "not recorded", "y", "z"
    p = rng.uniform(0.02, 0.6, size=2_000) * np.where(np.isin(g, ["v", "w"]), 1.1, 1.0)
    p = p * np.where(g == "x", 0.3, 1.0)  # the pool (x, y, z) the lowest share selected
    p[:400], p[400:412] = 0.95, 0.01
    y = (rng.uniform(size=2_000) < p).astype(float)
    table = subgroup_metrics(y, {"model": p}, pd.DataFrame({"g": g}), capacity=("x", 600))
    return SimpleNamespace(subgroups=table, capacities={"x": 600})


def test_rows_follow_the_table_with_the_reference_at_1(result) -> None:
    assert fairness_title(result, "g") == (
        "by g: the model's top 600 of the whole test quarter (x's places, no eligibility rule "
        "applied); ratios to g u, the largest group shown"
    )
    header = fairness_header(result)
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in fairness_rows(result, "g")}
    assert list(rows) == ["not recorded", "pooled: x, y, z", "u", "v", "w", "all"]
    assert rows["u"]["ratio"] == "1.00"  # the last ratio column: false-positive rate's
    v = result.subgroups.set_index(["group", "scorer", "metric"])
    rate = v.loc[("v", "model", "selection_rate_at_k_x")]
    assert rows["v"]["selected"] == (
        f"{rate['estimate']:.3f} [{rate['lower']:.3f}, {rate['upper']:.3f}]"
    )


def test_the_impact_ratio_is_lowest_over_highest_share_selected(result) -> None:
    # Of the named groups, from their counts, with Katz's interval.
    v = result.subgroups.set_index(["group", "scorer", "metric"])["estimate"]
    named = ["u", "v", "w"]
    s = pd.Series({g: v[(g, "model", "selected_at_k_x")] for g in named})
    n = pd.Series({g: v[(g, "observed", "n")] for g in named})
    rates = s / n
    low, high = rates.idxmin(), rates.idxmax()
    line = impact_ratio(result, "g")
    model = line.split(": ", 1)[1].split("; ")[0].rstrip(".")
    assert model.startswith(f"model {low} {rates[low]:.3f} over {high} {rates[high]:.3f}")
    lower, upper = rate_ratio_interval(np.array([s[low]]), np.array([n[low]]), s[high], n[high])
    assert f"= {rates[low] / rates[high]:.2f} {bounds(lower[0], upper[0], 2)}" in model
    assert (", under 0.8" in model) == (rates[low] / rates[high] < 0.8)
    assert "pooled" not in line and "not recorded" not in line
    # Only the scorers in the table: here the model alone.
    assert "; rule " not in line and "; oracle " not in line


def test_the_plot_is_drawn_at_a_capacity_only(result, tmp_path) -> None:
    plots = by_group_plots(result.subgroups, tmp_path, ("x", 600), "outcome")
    assert set(plots) == {"subgroups", "fairness"}
    assert plots["fairness"].read_bytes().startswith(b"\x89PNG")
    none = result.subgroups[~result.subgroups["metric"].str.contains("_at_k_")]
    assert fairness_plot(none, tmp_path / "none", k=600) is None
    assert set(by_group_plots(none, tmp_path / "none", None, "outcome")) == {"subgroups"}


def test_a_ratio_of_0_is_left_off_the_log_scale_not_drawn_at_0(result, tmp_path) -> None:
    table = result.subgroups.copy()
    zero = (table["group"] == "w") & (table["metric"] == "selection_rate_ratio_at_k_x")
    table.loc[zero & (table["scorer"] == "model"), ["estimate", "lower", "upper"]] = [
        0.0,
        np.nan,
        np.nan,
    ]
    assert fairness_plot(table, tmp_path, k=600).is_file()


def test_a_ratio_beyond_chance_after_holm_is_starred(result) -> None:
    header = fairness_header(result)
    rows = {row[0]: row for row in fairness_rows(result, "g")}
    v = result.subgroups.set_index(["group", "scorer", "metric"])["estimate"]
    flagged = 0
    for group in ("v", "w", "not recorded"):
        for rate, column in zip(
            ("selection_rate", "recall", "precision", "false_positive_rate"),
            [i for i, name in enumerate(header) if name == "ratio"],
            strict=True,
        ):
            flag = v.get((group, "model", f"{rate}_ratio_beyond_chance_at_k_x"), np.nan)
            assert rows[group][column].endswith(" *") == (flag == 1), (group, rate)
            flagged += flag == 1
    # "not recorded", given the highest risks, is selected far beyond chance.
    assert rows["not recorded"][header.index("ratio")].endswith(" *") and flagged < 12
