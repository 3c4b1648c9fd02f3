"""The evaluation plots draw what the metrics compute."""

from __future__ import annotations

import numpy as np
import pytest

from riskstrat.modeling._intervals import wilson_interval
from riskstrat.modeling._metrics import expected_calibration_error
from riskstrat.modeling._plots import _binned, evaluation_plots


def test_the_calibration_curve_shows_the_gaps_the_ece_adds_up(tmp_path) -> None:
    rng = np.random.default_rng(3)
    p = np.round(rng.beta(1, 6, 4000), 2)
    y = (rng.random(4000) < np.clip(p * 1.3, 0, 1)).astype(float)
    mean_p, rate, size = _binned(y, p, 10)
    assert size.sum() == 4000
    assert np.sum(size * np.abs(rate - mean_p)) / 4000 == pytest.approx(
        expected_calibration_error(y, p, n_bins=10), abs=1e-12
    )
    paths = evaluation_plots(y, {"model": p, "other": p * 0.9}, tmp_path, ks={"isr": 50})
    assert sorted(paths) == ["calibration", "pr", "precision_at_k", "roc"]
    assert all(path.stat().st_size > 10_000 for path in paths.values())


@pytest.mark.parametrize(("rate", "n"), [(0.0, 11), (1.0, 6)])
def test_a_bin_with_no_events_or_all_events_still_draws(tmp_path, rate, n) -> None:
    # At these sizes the Wilson bounds land a rounding error past the rate itself.
    low, high = wilson_interval(np.array([rate]), np.array([float(n)]))
    assert min(rate - low[0], high[0] - rate) < 0
    p = np.linspace(0.05, 0.95, 10 * n)
    y = (p > 0.5).astype(float)  # the lowest bin has no event, the highest only events
    paths = evaluation_plots(y, {"model": p}, tmp_path)
    assert paths["calibration"].stat().st_size > 0


def _steps_hide_small_counts(events: np.ndarray, others: np.ndarray) -> bool:
    """Whether every step of cumulative counts (from 0) adds 0 or at least 11 of each."""
    steps = np.diff(np.r_[0.0, events]), np.diff(np.r_[0.0, others])
    return all(((d < 1e-6) | (d > 11 - 1e-6)).all() for d in steps)


def test_no_curve_shows_fewer_than_11_peoples_outcomes(tmp_path, monkeypatch) -> None:
    import riskstrat.modeling._plots as plots

    figures = {}
    save = plots.save_png
    monkeypatch.setattr(
        plots, "save_png", lambda fig, path: figures.setdefault(path.stem, fig) and save(fig, path)
    )
    rng = np.random.default_rng(5)
    p = np.sort(rng.random(500))[::-1]
    y = (rng.random(500) < p).astype(float)
    y[:4] = [1, 1, 1, 0]  # the top four's outcomes, which the first points would give away
    y[11:22] = 1  # 10 of the first 11 had the event, which k = 11 would give away too
    y[10] = 0
    evaluation_plots(y, {"model": p}, tmp_path, ks={"isr": 50})
    events, others = y.sum(), len(y) - y.sum()

    def line(name):
        axes = figures[name].axes[0]
        return next(l for l in axes.get_lines() if l.get_label().startswith("model"))

    # Between one point and the next, the people added hold 0 or at least 11 events and as
    # many non-events: a step never says how many of 1 to 10 people had the event.
    k = np.asarray(line("precision_at_k").get_xdata())
    hits = np.asarray(line("precision_at_k").get_ydata()) * k
    assert k[0] > 11 and (np.diff(k) >= 11).all()
    assert _steps_hide_small_counts(hits, k - hits)
    fpr, tpr = (np.asarray(v) for v in line("roc").get_data())
    assert (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert _steps_hide_small_counts(tpr[1:] * events, fpr[1:] * others)
    recall, precision = (np.asarray(v) for v in line("pr").get_data())
    selected = recall * events / precision
    assert _steps_hide_small_counts(recall * events, selected - recall * events)


@pytest.mark.parametrize("n", [0, 10, 11, 21, 22, 500, 19_118])
def test_the_selection_grid_hides_every_count_of_1_to_10(n) -> None:
    from riskstrat.modeling._plots import expected_hits, selection_grid

    rng = np.random.default_rng(n)
    score = np.round(rng.random(n), 2)  # ties, counted at their expected value
    y = (rng.random(n) < score).astype(float)
    grid = selection_grid(y, score)
    if n < 11:
        assert len(grid) == 0
        return
    assert grid[-1] == n and (np.diff(grid) >= 11).all()
    hits = expected_hits(y, score, grid)
    if len(grid) > 1:  # not only everyone, whose totals the metrics publish anyway
        assert _steps_hide_small_counts(hits, grid - hits)
    if n >= 500:
        assert len(grid) >= (50 if n > 10_000 else 8)  # still a curve


@pytest.mark.parametrize("n", [500, 5_000, 19_118])
def test_the_selection_grid_keeps_clear_of_the_published_capacities(n) -> None:
    # The tables publish precision at ISR's 255, RBC's 225, SUD-ENS's 720 ...: a curve's
    # point a few people from one gives the events between them away.
    from riskstrat.modeling._plots import expected_hits, selection_grid

    rng = np.random.default_rng(n)
    score = np.round(rng.random(n), 3)
    y = (rng.random(n) < score).astype(float)
    published = [k for k in (225, 255, 720, 900, 3_750, 15_000) if k < n]
    plain = selection_grid(y, score)
    grid = selection_grid(y, score, published=published)
    assert grid[-1] == n and set(grid) <= set(plain) and not set(grid) & set(published)
    assert len(grid) >= 0.5 * len(plain)  # still a curve
    known = np.array(sorted({0, *grid.tolist(), *published}))
    hits = np.r_[0.0, expected_hits(y, score, known[1:])]
    tables = {0, *published, n}  # nobody, the capacities and everyone
    for i in range(1, len(known)):
        if known[i - 1] in tables and known[i] in tables:
            continue  # the tables' own step, which they keep safe or hide
        events, people = hits[i] - hits[i - 1], known[i] - known[i - 1]
        assert _steps_hide_small_counts(np.r_[0, events], np.r_[0, people - events])
    # Without any published number the grid is as it was.
    assert (selection_grid(y, score, published=[]) == plain).all()


def test_a_curve_point_five_people_from_a_published_capacity_is_dropped() -> None:
    from riskstrat.modeling._plots import selection_grid

    y = np.tile([1.0, 0.0], 300)
    score = np.linspace(1, 0, len(y))  # no ties: the order given
    assert 242 in selection_grid(y, score)  # 11 events and 11 non-events a step
    grid = selection_grid(y, score, published=[247])  # 3 events and 2 non-events between
    assert 242 not in grid and 247 not in grid
    assert 264 not in grid  # 17 past it: 9 events
    assert all(abs(g - 247) >= 22 for g in grid)
    assert 220 in grid and 286 in grid  # 27 before and 39 after: the steps are safe


def test_a_top_of_ranking_with_one_non_event_is_drawn_only_past_11_non_events() -> None:
    from riskstrat.modeling._plots import selection_grid

    # 40 events, then 1 non-event, then alternating: the first point must wait until 11
    # non-events are in (or include none).
    y = np.r_[np.ones(40), 0.0, np.tile([1.0, 0.0], 100)]
    score = np.linspace(1, 0, len(y))
    grid = selection_grid(y, score)
    assert grid[0] in range(11, 41)  # only events so far: 0 non-events is shown
    after = grid[grid > 40]
    first_after = after[0]
    non_events = 1 + (first_after - 41) // 2
    assert non_events >= 11


def test_calibration_bins_with_1_to_10_events_or_non_events_are_pooled() -> None:
    from riskstrat.modeling._plots import shown_bins

    # Bins of 100: 3 events in the first (pooled with the second, nearer in rate than
    # none), 20, 50, then 95 (5 non-events: pooled with the 50 bin, its only neighbour).
    size = np.full(4, 100.0)
    rate = np.array([0.03, 0.20, 0.50, 0.95])
    mean_p = np.array([0.05, 0.18, 0.52, 0.90])
    p, r, n = shown_bins(mean_p, rate, size)
    np.testing.assert_allclose(n, [200, 200])
    np.testing.assert_allclose(r, [0.115, 0.725])
    np.testing.assert_allclose(p, [0.115, 0.71])
    assert (n * r >= 11).all() and (n * (1 - r) >= 11).all()
    # Nothing to pool: the bins as they were; and everyone is one bin at worst.
    same = shown_bins(np.array([0.2, 0.5]), np.array([0.2, 0.5]), np.array([100.0, 100.0]))
    np.testing.assert_allclose(same[1], [0.2, 0.5])
    one = shown_bins(np.array([0.01, 0.02]), np.array([0.01, 0.02]), np.array([100.0, 100.0]))
    np.testing.assert_allclose(one[2], [200.0])


def test_every_title_fits_inside_its_figure() -> None:
    from riskstrat.modeling._plots import evaluation_figures

    # The calibration title ran past the right edge ("...; any w").
    rng = np.random.default_rng(0)
    p = rng.beta(1, 6, 5_000)
    y = (rng.random(5_000) < p).astype(int)
    scores = {"model": p, "rule": p * 0.9, "single_feature": p**1.1, "oracle": p}
    figures = evaluation_figures(y, scores, ks={"isr": 50, "toc": 200}, title="composite_adverse")
    for name, fig in figures.items():
        fig.tight_layout()
        renderer = fig.canvas.get_renderer()
        box, page = fig.axes[0].title.get_window_extent(renderer), fig.bbox
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and box.y1 <= page.y1, name


def test_the_calibration_plot_marks_the_top_k_at_each_published_capacity() -> None:
    from matplotlib.collections import PathCollection

    from riskstrat.modeling._plots import evaluation_figures

    # 1,000 rows at risks 0.001 to 1.0; the top 100 hold 80 events, the next 100 hold 30.
    p = np.arange(1, 1001) / 1000
    y = np.zeros(1000)
    y[-80:] = 1
    y[800:830] = 1
    ks = {"isr": 100, "toc": 200, "fsp": 5000}
    figure = evaluation_figures(y, {"model": p}, ks=ks, published={"model": [100, 200]})
    ax = figure["calibration"].axes[0]
    points = np.vstack([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    # Mean risk of the top 100 (0.901 to 1.0) and of the top 200 (0.801 to 1.0).
    np.testing.assert_allclose(points, [[0.9505, 0.8], [0.9005, 0.55]])
    assert [t.get_text() for t in ax.texts if t.get_text() in ks] == ["isr", "toc"]
    # A capacity the tables hide (or past the test rows) is not drawn: its precision would be.
    hidden = evaluation_figures(y, {"model": p}, ks=ks, published={"model": [200]})
    ax = hidden["calibration"].axes[0]
    assert [t.get_text() for t in ax.texts if t.get_text() in ks] == ["toc"]
    unknown = evaluation_figures(y, {"model": p}, ks=ks)["calibration"].axes[0]
    assert not [t for t in unknown.texts if t.get_text() in ks]  # nothing said published
