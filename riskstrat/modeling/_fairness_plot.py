"""The model's places by group as a picture: each group's rates over the largest group's.

A forest plot, one panel per attribute: per group, the ratio of its share selected, its
recall, its precision and its false-positive rate to the reference group's
(:mod:`riskstrat.modeling._group_selection`), with Katz's 95% intervals, and the O/E among
its selected people with the exact Poisson interval, on a log scale where 0.5 and 2 are as
far from 1. Only figures the table shows are drawn: a hidden figure is not drawn.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from riskstrat.modeling._group_selection import (
    ratio_metric,
    selected_oe_metric,
    selection_programme,
    table_reference,
)
from riskstrat.modeling._importance_and_group_plots import subgroup_plot
from riskstrat.modeling._subgroup_names import ALL

FAIRNESS_PLOT = "fairness"
SCORER = "model"
OE = "observed_to_expected"
# Ratio, label, marker and colour; drawn one above another within a group's row.
DRAWN: tuple[tuple[str, str, str, str], ...] = (
    ("selection_rate", "share selected", "o", "tab:blue"),
    ("recall", "recall (share of events selected)", "s", "tab:orange"),
    ("precision", "precision (share of the selected with the event)", "D", "tab:green"),
    ("false_positive_rate", "false-positive rate", "^", "tab:red"),
    # Not a ratio to the reference: events among the group's selected over those predicted,
    # calibration where the places are, on the same scale with 1 as its mark too.
    (OE, "O/E among the selected (1: as predicted)", "v", "tab:purple"),
)
RATIO_NAMES = {
    "selection_rate": "selected",
    "recall": "recall",
    "precision": "precision",
    "false_positive_rate": "FPR",
    OE: "O/E",
}
_OFFSET = 0.15  # of a row, between the markers of one group
TICKS = (0.05, 0.1, 0.2, 0.5, 0.8, 1, 1.25, 2, 5, 10, 20)


def fairness_plot(
    subgroups: pd.DataFrame, out_dir: str | Path, *, k: int, title: str = ""
) -> Path | None:
    """Ratios to the reference group per group, one panel per attribute; None when the
    table selects at no capacity.

    Parameters
    ----------
    subgroups : DataFrame
        From :func:`riskstrat.modeling.subgroup_metrics`, with a capacity.
    out_dir : str or Path
        Created if missing; the plot is ``fairness.png``.
    k : int
        The capacity the table selects at, for the title.
    title : str
        Prefix of the title (e.g. the outcome).
    """
    programme = selection_programme(subgroups)
    if programme is None:
        return None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = subgroups[(subgroups["scorer"] == SCORER) & (subgroups["group"] != ALL)]
    attributes = list(dict.fromkeys(table["attribute"]))
    heights = [max(1, table.loc[table["attribute"] == a, "group"].nunique()) for a in attributes]
    fig = Figure(figsize=(8, 0.45 * sum(heights) + 1.2 * len(attributes) + 1.0))
    fig.set_layout_engine("constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(attributes), 1, squeeze=False, height_ratios=heights, sharex=True)[:, 0]
    for ax, attribute in zip(axes, attributes, strict=True):
        _panel(ax, subgroups, attribute, programme)
    for ax in axes:
        ax.axvline(1.0, color="grey", linewidth=1, zorder=1)
        ax.set_xscale("log")
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelbottom=True)
    low, high = axes[0].get_xlim()
    ticks = [t for t in TICKS if low <= t <= high]
    for ax in axes:  # plain numbers: 10^-1 says little to a reader of ratios
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
    axes[-1].set_xlabel(
        "ratio to the reference group, Katz's 95% interval;\nO/E among the selected, exact "
        "Poisson 95% interval (log scale)"
    )
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=2,
            fontsize=8,
            frameon=False,
        )
    heading = f"the model's top {k:,} ({programme}'s places, no eligibility rule) by group"
    fig.suptitle(f"{title}: {heading}" if title else heading)
    fig.savefig(out / f"{FAIRNESS_PLOT}.png", dpi=110)
    return out / f"{FAIRNESS_PLOT}.png"


def _panel(ax: object, subgroups: pd.DataFrame, attribute: str, programme: str) -> None:
    rows = subgroups[(subgroups["attribute"] == attribute) & (subgroups["group"] != ALL)]
    reference = table_reference(subgroups, attribute)
    values = rows[rows["scorer"] == SCORER].set_index(["group", "metric"])
    groups = list(dict.fromkeys(rows["group"]))[::-1]  # the first group at the top
    where = pd.Series(np.arange(len(groups), dtype=float), index=groups)
    missing, zero = set(), set()
    for i, (rate, label, marker, colour) in enumerate(DRAWN):
        metric = selected_oe_metric(programme) if rate == OE else ratio_metric(rate, programme)
        ratio = {
            g: values.loc[(g, metric), "estimate"] for g in groups if (g, metric) in values.index
        }
        # A ratio of 0 (none of the group selected, say) has no place on a log scale: named
        # in the title instead, where the largest disparity would otherwise go unseen.
        zero |= {f"{g} ({RATIO_NAMES[rate]})" for g, r in ratio.items() if r == 0}
        shown = [g for g in groups if np.isfinite(ratio.get(g, np.nan)) and ratio[g] > 0]
        missing |= {g for g in groups if not np.isfinite(ratio.get(g, np.nan))}
        if not shown:
            continue
        part = values.loc[[(g, metric) for g in shown]]
        estimate = part["estimate"].to_numpy()
        # The reference's own ratio is 1 with no interval: drawn as a point.
        lower = np.where(np.isfinite(part["lower"]), part["lower"], estimate)
        upper = np.where(np.isfinite(part["upper"]), part["upper"], estimate)
        y = where[shown].to_numpy() + ((len(DRAWN) - 1) / 2 - i) * _OFFSET
        ax.errorbar(
            estimate,
            y,
            xerr=[estimate - lower, upper - estimate],
            fmt=marker,
            color=colour,
            capsize=2,
            markersize=5,
            label=label,
        )
    names = [f"{g} (reference)" if g == reference else g for g in groups]
    ax.set_yticks(where.to_numpy(), [_short(n) for n in names])
    ax.set_ylim(-0.6, len(groups) - 0.4)
    note = f"; ratio 0, not drawn: {', '.join(sorted(zero))}" if zero else ""
    missing = ", ".join(sorted(missing))
    note += f"; some ratios not drawn (hidden or undefined): {missing}" if missing else ""
    ax.set_title("\n".join(textwrap.wrap(attribute + note, 90)), fontsize=9, loc="left")


def _short(label: str, width: int = 32) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def by_group_plots(
    subgroups: pd.DataFrame, out_dir: str | Path, capacity: tuple[str, int] | None, title: str
) -> dict[str, Path]:
    """``subgroups.png`` (calibration by group) and, at a capacity, ``fairness.png``."""
    plots = {"subgroups": subgroup_plot(subgroups, out_dir, title=title)}
    if capacity is not None and (
        path := fairness_plot(subgroups, out_dir, k=capacity[1], title=title)
    ):
        plots[FAIRNESS_PLOT] = path
    return plots
