"""The importance and by-group plots (PNG, on matplotlib's Agg canvas, as in :mod:`._plots`).

Aggregates only: mean contributions per feature, and figures per group with counts of 1
to 10 people left out.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from riskstrat.modeling._importance import HIGHEST, LOWERS, LOWEST, MIXED, RAISES, UNUSED
from riskstrat.modeling._plots import new_figure, save_png


def importance_plot(
    importance: pd.DataFrame, out_dir: str | Path, *, top: int = 20, title: str = ""
) -> Path:
    """Horizontal bars of the ``top`` features by mean absolute contribution.

    Parameters
    ----------
    importance : DataFrame
        From :func:`riskstrat.modeling._importance.feature_importance` (largest first).
    out_dir : str or Path
        Created if missing; the plot is ``importance.png``.
    top : int
        How many features to show.
    title : str
        Prefix of the title (e.g. the outcome).

    Returns
    -------
    Path
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shown = importance.head(top).iloc[::-1]  # largest at the top
    fig, ax = new_figure(8, 0.3 * len(shown) + 1.2)
    kinds = [_kind(d) for d in shown["direction"]]
    colours = [DIRECTION_COLOURS.get(k, "grey") for k in kinds]
    # Rank first: two features with the same (or same truncated) label keep their own bars.
    names = [f"{r.rank}. {_short(str(r.label))}" for r in shown.itertuples(index=False)]
    ax.barh(names, shown["mean_abs_contribution"], color=colours)
    ax.set(xlabel="mean |contribution| to the score (log-odds), test quarter")
    ax.set_title(f"{title}: what drives the score" if title else "what drives the score")
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(
        handles=[
            Patch(color=c, label=DIRECTION_LEGEND.get(d, d))
            for d, c in DIRECTION_COLOURS.items()
            if d in set(kinds)
        ],
        loc="lower right",
        fontsize=8,
    )
    return save_png(fig, out / "importance.png")


DIRECTION_COLOURS = {
    RAISES: "tab:blue",
    LOWERS: "tab:orange",
    HIGHEST: "tab:purple",
    LOWEST: "tab:green",
    MIXED: "grey",
    UNUSED: "lightgrey",
}
DIRECTION_LEGEND = {HIGHEST: "highest in between", LOWEST: "lowest in between"}


def _kind(direction: str) -> str:
    """A direction without its value range (``highest at 18 to 25`` is ``highest at``)."""
    return next((k for k in (HIGHEST, LOWEST) if direction.startswith(k)), direction)


def _short(label: str, width: int = 60) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def subgroup_plot(subgroups: pd.DataFrame, out_dir: str | Path, *, title: str = "") -> Path:
    """Observed rate (95% Wilson interval) against mean predicted risk, per group.

    One panel per sensitive attribute, one line per group: the model's mean risk (and the
    oracle's, when present) beside the observed rate, so a group the model under- or
    over-predicts stands out. Groups hidden whole are named, not drawn; a group whose
    observed rate is hidden is drawn with its mean risks only.

    Parameters
    ----------
    subgroups : DataFrame
        From :func:`riskstrat.modeling.subgroup_metrics`.
    out_dir : str or Path
        Created if missing; the plot is ``subgroups.png``.
    title : str
        Prefix of the title (e.g. the outcome).

    Returns
    -------
    Path
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    attributes = list(dict.fromkeys(subgroups["attribute"]))
    lookup = subgroups.set_index(["attribute", "group", "scorer", "metric"])
    heights = [len(set(subgroups.loc[subgroups["attribute"] == a, "group"])) for a in attributes]
    fig = Figure(
        figsize=(8, 0.35 * sum(heights) + 1.2 * len(attributes) + 0.8), layout="constrained"
    )
    FigureCanvasAgg(fig)
    # One scale for every panel: each panel on its own scale made a gap of 0.02 look as
    # wide in one attribute as 0.05 in another.
    axes = fig.subplots(len(attributes), 1, squeeze=False, height_ratios=heights, sharex=True)[:, 0]
    markers = {"model": ("o", "tab:blue"), "oracle": ("x", "tab:green")}
    for ax, attribute in zip(axes, attributes, strict=True):
        rate = lookup.loc[(attribute, slice(None), "observed", "observed_rate")]
        groups = list(rate.index.get_level_values("group"))
        risk = lookup.loc[(attribute, slice(None), "model", "mean_risk")]["estimate"]
        risk = risk.set_axis(list(risk.index.get_level_values("group")))
        drawn = [g for g in groups if np.isfinite(risk[g])][::-1]  # first group at the top
        if not drawn:
            ax.set_title(f"{attribute}: every group under 11 people", fontsize=9, loc="left")
            continue
        where = pd.Series(np.arange(len(drawn)), index=drawn)
        shown = rate.set_axis(groups)[lambda r: r["estimate"].notna()]
        ax.errorbar(
            shown["estimate"],
            where[shown.index],
            xerr=[shown["estimate"] - shown["lower"], shown["upper"] - shown["estimate"]],
            fmt="s",
            color="black",
            capsize=3,
            label="observed rate (95% interval)",
        )
        for scorer, (marker, colour) in markers.items():
            if (attribute, drawn[0], scorer, "mean_risk") not in lookup.index:
                continue
            values = [lookup.loc[(attribute, g, scorer, "mean_risk"), "estimate"] for g in drawn]
            ax.scatter(
                values, where, marker=marker, color=colour, zorder=3, label=f"{scorer} mean risk"
            )
        ax.set_yticks(where, [_short(n, 32) for n in drawn])
        notes = []
        if len(drawn) < len(groups):
            notes.append(
                "under 11 people, not drawn: " + ", ".join(sorted(set(groups) - set(drawn)))
            )
        if len(shown) < len(drawn):
            no_rate = [g for g in drawn[::-1] if g not in shown.index]
            notes.append("observed rate hidden: " + ", ".join(no_rate))
        ax.set_title(
            "\n".join(textwrap.wrap("; ".join([attribute, *notes]), 90)), fontsize=9, loc="left"
        )
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(labelbottom=True)  # sharex would leave numbers under the last only
    axes[-1].set_xlabel("rate over the outcome window, test quarter (one scale for all panels)")
    # Below the panels, not inside one, where it hid a group's markers.
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8, frameon=False
    )
    fig.suptitle(f"{title}: by group" if title else "by group")
    # Laid out by the constrained engine, which keeps room for the legend outside the panels.
    fig.savefig(out / "subgroups.png", dpi=110)
    return out / "subgroups.png"
