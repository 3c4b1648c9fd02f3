"""Evaluation plots (PNG, rendered with matplotlib's Agg canvas).

Figures are built from ``matplotlib.figure.Figure`` on an Agg canvas rather than through
pyplot, so batch jobs never need a display and a notebook's own backend is left alone.
Plots show aggregates only (curves and binned rates), never individual records.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import (
    average_precision_score,
    roc_auc_score,
)

from riskstrat.modeling._calibration_measures import equal_mass_bins
from riskstrat.modeling._disclosure import MIN_CELL, small_count
from riskstrat.modeling._intervals import wilson_interval

PLOT_NAMES: tuple[str, ...] = ("calibration", "roc", "pr", "precision_at_k")


def _binned(y: np.ndarray, p: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean prediction, observed rate and row count per bin (the ECE's bins)."""
    order, run_starts, share = equal_mass_bins(p, n_bins)
    # Per run of equal probability: rows, sum of p, sum of y; then each bin's share of them.
    per_run = np.add.reduceat(np.column_stack([np.ones(len(p)), p, y])[order], run_starts)
    size, sum_p, sum_y = per_run.T @ share
    return sum_p / size, sum_y / size, size


def shown_bins(
    mean_p: np.ndarray, rate: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calibration bins merged until none holds 1 to 10 events or non-events.

    A bin's observed rate times its size is a count of people's outcomes; each bin with 1
    to 10 events (or non-events) is pooled with its neighbour nearer in rate, as the
    calibrator pools its plateaus. One bin is everyone, whose totals are published anyway.
    """
    bins = [[s * m, s * r, s] for m, r, s in zip(mean_p, rate, size, strict=True)]
    while len(bins) > 1:
        small = [
            i
            for i, (_, events, n) in enumerate(bins)
            if small_count(events) or small_count(n - events)
        ]
        if not small:
            break
        i = small[0]
        if i == 0 or (
            i + 1 < len(bins) and _gap(bins[i], bins[i + 1]) < _gap(bins[i], bins[i - 1])
        ):
            j = i + 1
        else:
            j = i - 1
        a, b = sorted((i, j))
        bins[a] = [x + y for x, y in zip(bins[a], bins[b], strict=True)]
        del bins[b]
    sums = np.asarray(bins, dtype=np.float64).reshape(-1, 3)
    return sums[:, 0] / sums[:, 2], sums[:, 1] / sums[:, 2], sums[:, 2]


def _capacity_points(
    y: np.ndarray,
    scores: Mapping[str, np.ndarray],
    ranked: Mapping[str, np.ndarray],
    ks: Mapping[str, int] | None,
    published: Sequence[int],
) -> dict[str, tuple[float, float]]:
    """Per programme whose capacity's precision the tables show for the model: the mean
    risk of the model's top k and the share of them with the event (``mean_risk_at_k``
    and ``precision_at_k``, ties at their expected value); none shown, none drawn."""
    if "model" not in scores or not ks:
        return {}
    shown = {p: k for p, k in ks.items() if 0 < k < len(y) and k in set(published)}
    if not shown:
        return {}
    rank = np.asarray(ranked["model"], dtype=float)
    at = np.array(list(shown.values()), dtype=float)
    risk = expected_hits(np.asarray(scores["model"], dtype=float), rank, at) / at
    rate = expected_hits(y, rank, at) / at
    return {p: (float(r), float(o)) for p, r, o in zip(shown, risk, rate, strict=True)}


def _gap(a: list[float], b: list[float]) -> float:
    return abs(a[1] / a[2] - b[1] / b[2])


class ShownFigure(Figure):
    """A figure a notebook shows as an image by itself: without pyplot no backend
    registers a display for figures, and one would print as ``<Figure size ...>``."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=110)
        return buffer.getvalue()


def new_figure(width: float, height: float) -> tuple[Figure, object]:
    fig = ShownFigure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def expected_hits(y: np.ndarray, score: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Events among the top ``k`` scores, ties counted at their expected value.

    Expected hits are piecewise linear in ``k`` between the ends of runs of tied
    scores, so interpolating between those points gives the same tie rule as
    :func:`riskstrat.modeling.precision_at_k`.
    """
    order = np.argsort(-score, kind="stable")
    ranked = score[order]
    ends = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]) + 1, len(score)]
    cum_hits = np.cumsum(y[order])[ends - 1]
    return np.interp(ks, np.r_[0, ends], np.r_[0.0, cum_hits])


def save_png(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def evaluation_plots(
    y: np.ndarray,
    scores: Mapping[str, np.ndarray],
    out_dir: str | Path,
    *,
    ks: Mapping[str, int] | None = None,
    n_bins: int = 10,
    title: str = "",
    rankings: Mapping[str, np.ndarray] | None = None,
    published: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, Path]:
    """Write calibration, ROC, precision-recall and precision-at-k plots as PNG files.

    The figures of :func:`evaluation_figures` (same parameters), saved in ``out_dir``
    (created if missing) as ``<name>.png``.

    Returns
    -------
    dict of plot name to file path
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = evaluation_figures(
        y, scores, ks=ks, n_bins=n_bins, title=title, rankings=rankings, published=published
    )
    return {name: save_png(fig, out / f"{name}.png") for name, fig in figures.items()}


def evaluation_figures(
    y: np.ndarray,
    scores: Mapping[str, np.ndarray],
    *,
    ks: Mapping[str, int] | None = None,
    n_bins: int = 10,
    title: str = "",
    rankings: Mapping[str, np.ndarray] | None = None,
    published: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, Figure]:
    """Calibration, ROC, precision-recall and precision-at-k plots as matplotlib figures.

    Parameters
    ----------
    y : array of 0/1
    scores : mapping of scorer name to calibrated probabilities
    ks : mapping of programme to capacity, optional
        Marked on the precision-at-k plot.
    n_bins : int
        Equal-mass bins of the calibration curve.
    title : str
        Prefix of every plot title (e.g. the outcome).
    rankings : mapping of scorer name to array, optional
        What the ROC, precision-recall and precision-at-k curves rank a scorer by, where it
        is not its probability (:func:`riskstrat.modeling._metrics.ranking_key`).
    published : mapping of scorer name to numbers of people, optional
        Where the metric tables show the scorer's precision; its curves keep clear of them
        (:func:`selection_grid`).

    Returns
    -------
    dict of plot name (``calibration``, ``roc``, ``pr``, ``precision_at_k``) to Figure
    """
    y = np.asarray(y, dtype=float)
    figures: dict[str, Figure] = {}
    ranked = {name: (rankings or {}).get(name, p) for name, p in scores.items()}

    fig, ax = new_figure(5, 5)
    top = 0.0
    for name, p in scores.items():
        mean_p, rate, size = shown_bins(*_binned(y, np.asarray(p, dtype=float), n_bins))
        line = ax.plot(mean_p, rate, marker="o", label=name)[0]
        if name == "model":
            # Whether a bin's gap is more than sampling noise (95% Wilson interval).
            low, high = wilson_interval(rate, size)
            # Rounding leaves the bounds a hair past a rate of 0 or 1; matplotlib refuses
            # negative error bars.
            ax.errorbar(
                mean_p,
                rate,
                yerr=[np.clip(rate - low, 0, None), np.clip(high - rate, 0, None)],
                fmt="none",
                capsize=3,
                color=line.get_color(),
            )
            top = max(top, high.max())
        top = max(top, mean_p.max(), rate.max())
    capacity = _capacity_points(y, scores, ranked, ks, (published or {}).get("model", ()))
    if capacity:
        # Where places are filled: the equal-mass bins stop well short of the top risks.
        risk, rate = (np.array(v) for v in zip(*capacity.values(), strict=True))
        ax.scatter(risk, rate, marker="D", facecolor="white", edgecolor="black", zorder=3)
        ax.scatter([], [], marker="D", facecolor="white", edgecolor="black", label="model's top k")
        for programme, point in capacity.items():
            ax.annotate(programme, point, xytext=(5, -9), textcoords="offset points", fontsize=7)
        top = max(top, risk.max(), rate.max())
    ax.plot([0, top], [0, top], color="grey", linestyle="--", label="perfect")
    ax.set(xlabel="mean predicted probability", ylabel="observed rate")
    # Three short lines: on one or two, the title ran past the figure's right edge.
    ax.set_title(
        f"{title} calibration".strip()
        + f"\n{n_bins} equal-mass bins; a bin with 1 to 10 events\nor non-events is pooled "
        "with a neighbour",
        fontsize=10,
    )
    if "model" in scores:
        ax.text(
            0.98,
            0.02,
            "model: 95% interval of each bin's observed rate",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            color="dimgrey",
        )
    ax.legend()
    figures["calibration"] = fig

    # Each scorer's curves are drawn at its own numbers of people selected, between which
    # no count of 1 to 10 people's outcomes can be read (selection_grid).
    grids = {
        name: selection_grid(
            y, np.asarray(p, dtype=float), published=(published or {}).get(name, ())
        )
        for name, p in ranked.items()
    }
    events, others = y.sum(), len(y) - y.sum()
    hits = {
        name: expected_hits(y, np.asarray(p, dtype=float), grids[name])
        for name, p in ranked.items()
    }

    fig, ax = new_figure(5, 5)
    for name, p in ranked.items():
        grid = grids[name]
        fpr = np.r_[0.0, (grid - hits[name]) / max(others, 1)]
        tpr = np.r_[0.0, hits[name] / max(events, 1)]
        ax.plot(fpr, tpr, label=f"{name} (AUROC {roc_auc_score(y, p):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--")
    ax.set(xlabel="false positive rate", ylabel="true positive rate")
    ax.set_title(f"{title} ROC".strip())
    ax.legend()
    figures["roc"] = fig

    fig, ax = new_figure(5, 5)
    for name, p in ranked.items():
        # Ties counted at their expected value, as precision at k counts them.
        recall, precision = hits[name] / max(events, 1), hits[name] / grids[name]
        ax.plot(recall, precision, label=f"{name} (AP {average_precision_score(y, p):.3f})")
    ax.axhline(y.mean(), color="grey", linestyle="--", label="prevalence")
    ax.set(xlabel="recall", ylabel="precision")
    ax.set_title(f"{title} precision-recall".strip())
    ax.legend()
    figures["pr"] = fig

    fig, ax = new_figure(6, 4)
    ks = dict(ks or {})
    k_max = min(len(y), max([*ks.values(), 100]) * 2)
    for name in ranked:
        grid = grids[name]
        shown = grid <= k_max
        ax.plot(grid[shown], hits[name][shown] / grid[shown], label=name)
    beyond = []
    # Labels at three heights in turn: capacities close together (225, 255) would overprint.
    for i, (programme, k) in enumerate(sorted(ks.items(), key=lambda item: item[1])):
        if k > k_max:
            beyond.append(f"{programme} (k={k:,})")
            continue
        ax.axvline(k, color="grey", linestyle=":")
        label = f"{programme} k={k:,}"
        # On a white ground: the curves cross the labels at the capacities that matter.
        ax.text(
            k,
            0.02 + 0.22 * (i % 3),
            label,
            rotation=90,
            va="bottom",
            ha="right",
            fontsize=8,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.0},
        )
    if beyond:
        note = f"beyond the {len(y):,} test rows: " + ", ".join(beyond)
        ax.text(0.99, 0.98, note, transform=ax.transAxes, ha="right", va="top", fontsize=7)
    # Log scale: capacities run from a few hundred to tens of thousands.
    ax.set_xscale("log")
    ax.set(xlabel="k (people selected, log scale)", ylabel="precision at k", ylim=(0, 1.02))
    ax.set_title(f"{title} precision at k".strip())
    # Outside the axes: inside, it covered the labels of the smallest capacities.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    figures["precision_at_k"] = fig
    for fig in figures.values():
        fig.tight_layout()  # as saved: the figures look as the PNG files do
    return figures


def selection_grid(
    y: np.ndarray, score: np.ndarray, points: int = 300, published: Sequence[int] = ()
) -> np.ndarray:
    """Numbers of people selected, by ``score``, at which its ROC, precision-recall and
    precision-at-k curves are drawn: about ``points`` of them, spaced on a log scale from
    ``MIN_CELL`` to ``n``, each moved on until the people added since the last point hold
    0 or at least ``MIN_CELL`` events and as many non-events.

    Drawn at every k, a curve's step from k - 1 to k says whether the k-th ranked person had
    the event; and between two points, however far apart, the curve says how many of the
    people between them did, and did not. So no count of 1 to 10 is drawn: not the events
    among the first 11 people (10 of 11 would say one had none), nor among those between
    two points, nor between a point and a number of people at which the metric tables
    publish the scorer's precision (``published``: ISR's 255 beside a point at 250 would
    say 5 of the 5 between had the event). Ties count at their expected value, as in
    :func:`expected_hits`.
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if n < MIN_CELL:
        return np.zeros(0, dtype=np.int64)
    ks = np.arange(n + 1)
    hits = np.r_[0.0, expected_hits(y, np.asarray(score, dtype=np.float64), ks[1:])]
    misses = ks - hits
    grid: list[int] = []
    last = 0
    for target in np.unique(np.round(np.geomspace(MIN_CELL, n, points)).astype(np.int64)):
        if target <= last:  # passed already, moving an earlier point on
            continue
        start = max(int(target), last + MIN_CELL)
        if start > n:
            break
        found = _first_shown(hits, misses, last, start)
        if found is None:
            break
        grid.append(found)
        last = found
    # The last point is everyone (ROC's (1, 1)): the totals are published anyway. Points
    # are dropped until the people after the last one kept may be drawn as one step.
    while grid and grid[-1] != n and not _shown_step(hits, misses, grid[-1], n):
        grid.pop()
    if not grid or grid[-1] != n:
        grid.append(n)
    return np.asarray(_clear_of(grid, published, hits, misses), dtype=np.int64)


def _clear_of(
    grid: list[int], published: Sequence[int], hits: np.ndarray, misses: np.ndarray
) -> list[int]:
    """``grid`` less the points whose step to a neighbouring published number is unsafe.

    Steps between published numbers are the metric tables' to keep safe; a step is a sum
    of steps between neighbours, so safe neighbours (0 or 11 and more each) keep every
    difference safe. Dropping a point joins its two steps, which may leave the joined one
    unsafe in turn: points are dropped until none is.
    """
    n = len(hits) - 1
    fixed = {int(k) for k in published if 0 < k < n}
    kept = [g for g in grid if g not in fixed]
    while fixed:
        known = sorted({0, *kept, *fixed})
        unsafe = [
            b
            for a, b, c in zip(known[:-1], known[1:], [*known[2:], None], strict=True)
            if b not in fixed
            and b != n
            and (
                not _shown_step(hits, misses, a, b)
                or (c is not None and not _shown_step(hits, misses, b, c))
            )
        ]
        if not unsafe:
            break
        kept.remove(unsafe[0])
    return kept


def _shown_step(hits: np.ndarray, misses: np.ndarray, a: int, b: int) -> bool:
    """Whether the people ranked a+1..b hold 0 or at least MIN_CELL events, and non-events."""
    return not (small_count(hits[b] - hits[a]) or small_count(misses[b] - misses[a]))


def _first_shown(hits: np.ndarray, misses: np.ndarray, a: int, start: int) -> int | None:
    """The first b >= start for which :func:`_shown_step` holds from a, or None."""
    # In windows that double: the point is usually near ``start``, and a scan to the end
    # for each of a few hundred points would read millions of rows each time.
    width = 1024
    while start < len(hits):
        stop = min(start + width, len(hits))
        events, others = hits[start:stop] - hits[a], misses[start:stop] - misses[a]
        ok = ~small_count(events) & ~small_count(others)
        found = np.flatnonzero(ok)
        if len(found):
            return int(start + found[0])
        start, width = stop, width * 2
    return None
