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


def test_no_curve_shows_fewer_than_11_peoples_outcomes(tmp_path, monkeypatch) -> None:
    import riskstrat.modeling._plots as plots

    figures = {}
    save = plots._save
    monkeypatch.setattr(
        plots, "_save", lambda fig, path: figures.setdefault(path.stem, fig) and save(fig, path)
    )
    rng = np.random.default_rng(5)
    p = np.sort(rng.random(500))[::-1]
    y = (rng.random(500) < p).astype(float)
    y[:4] = [1, 1, 1, 0]  # the top four's outcomes, which the first points would give away
    evaluation_plots(y, {"model": p}, tmp_path, ks={"isr": 50})
    events, others = y.sum(), len(y) - y.sum()

    def line(name):
        axes = figures[name].axes[0]
        return next(l for l in axes.get_lines() if l.get_label().startswith("model"))

    # From one point to the next, at least 11 more people are selected: a step says how
    # many of them had the event, never which one.
    k = np.asarray(line("precision_at_k").get_xdata())
    assert k[0] == 11 and (np.diff(k) >= 11).all()
    fpr, tpr = (np.asarray(v) for v in line("roc").get_data())
    selected = np.rint(tpr * events + fpr * others)
    assert selected[0] == 0 and selected[1] == 11 and (np.diff(selected) >= 11).all()
    assert (fpr[-1], tpr[-1]) == (1.0, 1.0)
    recall, precision = (np.asarray(v) for v in line("pr").get_data())
    selected = np.rint(recall * events / precision)
    assert selected[0] == 11 and (np.diff(selected) >= 11).all()


@pytest.mark.parametrize("n", [0, 10, 11, 21, 22, 500, 19_118])
def test_the_selection_grid_is_never_finer_than_11(n) -> None:
    from riskstrat.modeling._plots import selection_grid

    grid = selection_grid(n)
    if n < 11:
        assert len(grid) == 0
        return
    assert grid[0] == (11 if n >= 22 else n) and grid[-1] == n and (np.diff(grid) >= 11).all()
