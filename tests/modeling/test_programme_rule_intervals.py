"""Each resample of the programme-rule comparison is the point comparison on the resampled
rows: its own eligible, its own places, ties at the cut counted at their expected value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskstrat.modeling import programme_rule_metrics
from riskstrat.modeling._metrics import _resample_weights
from riskstrat.modeling._plots import expected_hits
from riskstrat.modeling._programme_rule_intervals import (
    resampled_programme_rules,
    weighted_hits,
)


@pytest.mark.parametrize("few_groups", [0, 64])  # summed by reordering, or by a product
def test_weighted_hits_are_the_hits_of_the_rows_repeated_by_their_weights(
    few_groups: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskstrat.modeling import _programme_rule_intervals as intervals

    monkeypatch.setattr(intervals, "_FEW_GROUPS", few_groups)
    rng = np.random.default_rng(5)
    n = 300
    y = (rng.random(n) < 0.3).astype(float)
    key = rng.integers(0, 40, n).astype(float)  # many ties
    W = rng.integers(0, 3, size=(25, n)).astype(float)
    k = rng.integers(0, 200, 25).astype(float)
    k[:3] = [0.0, W[1].sum(), W[2].sum() - 1]  # none, everyone, all but one
    got = weighted_hits(y, key, W, k)
    for b in range(len(W)):
        repeated = np.repeat(np.arange(n), W[b].astype(int))
        want = expected_hits(y[repeated], key[repeated], np.array([k[b]]))[0]
        assert got[b] == pytest.approx(want, abs=1e-9), b
    ones = weighted_hits(y, key, np.ones((1, n)), np.array([120.0]))
    assert ones[0] == pytest.approx(expected_hits(y, key, np.array([120.0]))[0])


def _rows(n: int = 400, seed: int = 1) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    risk = rng.random(n)
    y = (rng.random(n) < risk).astype(float)
    met = rng.integers(0, 4, n)
    eligible = rng.random(n) < 0.25 + 0.5 * risk  # about half, the likelier more often
    rows = pd.DataFrame({"rule_score_isr": np.where(eligible, 1000.0 + met, met)})
    return y, risk + rng.normal(0, 0.2, n), rows


def test_each_resample_fills_its_own_places_as_the_point_comparison_would() -> None:
    y, model, rows = _rows()
    ks = {"isr": 250}  # more places than eligible: the places move with the resample
    score = rows["rule_score_isr"].to_numpy()
    samples = resampled_programme_rules(
        y, model, {"isr": score}, ks, eligible_score=1000.0, n_bootstrap=20, seed=3
    )["isr"]
    W = _resample_weights(np.random.default_rng(3), len(y), 20)
    for b in (0, 7, 19):
        repeated = np.repeat(np.arange(len(y)), W[b].astype(int))
        point = programme_rule_metrics(y[repeated], model[repeated], rows.iloc[repeated], ks)
        value = point.set_index(["scorer", "metric"])["estimate"]
        assert samples["precision_rule"][b] == pytest.approx(
            value[("programme_rule", "precision_at_k_isr")]
        )
        assert samples["precision_model"][b] == pytest.approx(
            value[("model_at_programme_rule_places", "precision_at_k_isr")]
        )
        assert samples["lift"][b] == pytest.approx(
            value[("model_vs_programme_rule", "lift_precision_at_k_isr")]
        )


def test_published_figures_get_intervals_and_hidden_ones_none() -> None:
    y, model, rows = _rows()
    rows["rule_score_toc"] = np.where(np.arange(len(y)) < 5, 1001.0, 3.0)  # 5 eligible
    table = programme_rule_metrics(
        y, model, rows, {"isr": 120, "toc": 50}, n_bootstrap=200, seed=0, confidence=0.9
    )
    shown = table[np.isfinite(table["estimate"]) & ~table["metric"].str.match("eligible|places")]
    isr = shown[shown["metric"].str.endswith("_isr")]
    assert len(isr) == 7  # 3 precisions, 3 recalls, the lift
    assert (isr["lower"] <= isr["estimate"]).all() and (isr["estimate"] <= isr["upper"]).all()
    assert (isr["lower"] < isr["upper"]).all()
    # TOC's 5 eligible: nothing published, so no bound either.
    toc = table[table["metric"].str.endswith("_toc")]
    assert toc["lower"].isna().all() and toc["upper"].isna().all()
    # Counts carry no interval.
    counts = table[table["metric"].str.match("eligible|places")]
    assert counts["lower"].isna().all()


def test_the_resamples_are_those_of_the_main_table() -> None:
    from riskstrat.modeling import bootstrap_metrics

    # Everyone eligible, so the places are k in every resample: the model's interval on
    # them is the main table's precision at k, resample for resample (several chunks).
    rng = np.random.default_rng(8)
    n = 3000
    risk = rng.random(n)
    y = (rng.random(n) < 0.3 + 0.4 * risk).astype(float)  # top places: many of both
    rows = pd.DataFrame({"rule_score_isr": 1000.0 + rng.integers(0, 4, n)})
    people = rng.integers(0, 2000, n)  # some people on two rows, drawn together
    args = {"n_bootstrap": 3000, "seed": 4, "confidence": 0.9, "clusters": people}
    own = programme_rule_metrics(y, risk, rows, {"isr": 200}, **args)
    main = bootstrap_metrics(y, {"model": risk}, ks={"isr": 200}, **args)
    got = own.set_index(["scorer", "metric"]).loc[
        ("model_at_programme_rule_places", "precision_at_k_isr")
    ]
    want = main.set_index(["scorer", "metric"]).loc[("model", "precision_at_k_isr")]
    assert np.isfinite(got["estimate"]) and got["estimate"] == want["estimate"]
    assert (got["lower"], got["upper"]) == (want["lower"], want["upper"])
