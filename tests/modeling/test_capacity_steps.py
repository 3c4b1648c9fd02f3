"""Precision at nested capacities: no step between two published ones gives away 1 to 10 people."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskstrat.modeling._capacity_steps import (
    hidden_capacities,
    hide_capacity_steps,
    published_capacities,
)
from riskstrat.modeling._programme_rule import LIFT_SCORER, MODEL_AT_RULE_PLACES


def _ranked(*blocks: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Outcomes in rank order from (people, events) blocks, events first in each block."""
    y = np.concatenate([np.r_[np.ones(e), np.zeros(n - e)] for n, e in blocks])
    return y, -np.arange(len(y), dtype=float)  # the first row ranks highest


def test_a_step_of_eight_non_events_hides_the_larger_capacity() -> None:
    # The demo's ISR and RBC: 179 of the top 225 and 201 of the top 255 had the event, so
    # ranks 226-255 held 22 events and 8 non-events.
    y, ranking = _ranked((225, 179), (30, 22), (745, 300))
    assert hidden_capacities(y, ranking, {"rbc": 225, "isr": 255}) == {"isr"}
    # Missed by one either way: 11 non-events (or none) in the step is safe to show.
    y, ranking = _ranked((225, 179), (33, 22), (742, 300))
    assert hidden_capacities(y, ranking, {"rbc": 225, "isr": 258}) == set()
    y, ranking = _ranked((225, 179), (22, 22), (753, 300))
    assert hidden_capacities(y, ranking, {"rbc": 225, "isr": 247}) == set()


def test_the_first_capacity_given_wins_a_clash() -> None:
    # ISR and TOC come first in model.metrics.capacity_programs: the targets.
    y, ranking = _ranked((225, 179), (30, 22), (745, 300))
    assert hidden_capacities(y, ranking, {"isr": 255, "rbc": 225}) == {"rbc"}
    # A later one is checked against both neighbours already shown.
    y, ranking = _ranked((200, 100), (30, 15), (5, 5), (765, 100))
    assert hidden_capacities(y, ranking, {"a": 200, "c": 235, "b": 230}) == {"b"}


def test_the_step_is_taken_from_the_last_capacity_shown() -> None:
    # 200 -> 205 is a step of 5 people (hidden); 200 -> 230 is 30 people with 15 and 15.
    y, ranking = _ranked((200, 100), (5, 5), (25, 10), (770, 100))
    assert hidden_capacities(y, ranking, {"a": 200, "b": 205, "c": 230}) == {"b"}


def test_a_capacity_near_everyone_is_hidden_when_the_rest_are_few() -> None:
    # Everyone is published (the quarter's rows and events): 995 of 1,000 leaves 5 people.
    y, ranking = _ranked((500, 200), (495, 100), (5, 2))
    assert hidden_capacities(y, ranking, {"a": 500, "b": 995}) == {"b"}
    assert hidden_capacities(y, ranking, {"a": 500, "b": 1_000, "c": 5_000}) == set()


def test_a_capacitys_own_count_is_published_as_its_precision() -> None:
    # 5 non-events among 40 places: the programme's precision, the figure it is judged by.
    y, ranking = _ranked((40, 35), (960, 100))
    assert hidden_capacities(y, ranking, {"a": 40}) == set()
    # What is hidden is a step between two capacities, and from one to everyone.
    assert hidden_capacities(y, ranking, {"a": 40, "b": 45}) == {"b"}


def test_a_capacity_of_fewer_than_11_places_is_never_shown() -> None:
    # capacity_scale on a small county: ISR's 255 places became 5, and "0.600" was 3 people.
    y, ranking = _ranked((5, 3), (995, 100))
    assert hidden_capacities(y, ranking, {"isr": 5}) == {"isr"}
    # 10 places are still a group under 11; 11 are not.
    assert hidden_capacities(y, ranking, {"isr": 10}) == {"isr"}
    y, ranking = _ranked((11, 0), (989, 100))
    assert hidden_capacities(y, ranking, {"isr": 11}) == set()


def test_hidden_figures_and_the_comparisons_that_give_them_back() -> None:
    y, ranking = _ranked((225, 179), (30, 22), (16, 16), (729, 300))
    other = ranking[::-1].copy()  # another scorer: its own steps
    rows = []
    for scorer in ("model", "rule"):
        for p in ("rbc", "isr"):
            rows += [(scorer, f"precision_at_k_{p}"), (scorer, f"recall_at_k_{p}")]
    for p in ("rbc", "isr"):
        rows += [("model_vs_rule", f"diff_precision_at_k_{p}")]
        rows += [("model_vs_rule", f"lift_precision_at_k_{p}")]
    rows += [
        ("programme_rule", "places_reentry"),
        (MODEL_AT_RULE_PLACES, "precision_at_k_reentry"),
        (LIFT_SCORER, "lift_precision_at_k_reentry"),
        ("model", "auroc"),
    ]
    metrics = pd.DataFrame(rows, columns=["scorer", "metric"]).assign(
        estimate=0.5, lower=0.4, upper=0.6
    )
    metrics.loc[metrics["metric"] == "places_reentry", "estimate"] = 271.0
    out = hide_capacity_steps(
        metrics, y, {"model": ranking, "rule": other}, {"rbc": 225, "isr": 255}
    )
    hidden = set(map(tuple, out.loc[out["estimate"].isna(), ["scorer", "metric"]].to_numpy()))
    # The model's ISR (8 non-events past RBC's 225) and its figure at the rule's 271
    # places (8 non-events past 225, the last shown), what compares them, nothing else.
    assert hidden == {
        ("model", "precision_at_k_isr"),
        ("model", "recall_at_k_isr"),
        ("model_vs_rule", "diff_precision_at_k_isr"),
        ("model_vs_rule", "lift_precision_at_k_isr"),
        (MODEL_AT_RULE_PLACES, "precision_at_k_reentry"),
        (LIFT_SCORER, "lift_precision_at_k_reentry"),
    }
    assert out.loc[out["estimate"].isna(), ["lower", "upper"]].isna().all().all()
    # The curves keep clear of what is shown: the rule's 225 and 255, the model's 225 alone
    # (its 255 and its figure at the rule's 271 places are hidden).
    published = published_capacities(out, ["model", "rule"], {"rbc": 225, "isr": 255}, len(y))
    assert published == {"model": [225], "rule": [225, 255]}
    out.loc[out["scorer"] == MODEL_AT_RULE_PLACES, "estimate"] = 0.5
    shown = published_capacities(out, ["model"], {"rbc": 225, "isr": 255}, len(y))
    assert shown == {"model": [225, 271]}  # shown, the rule's places are the model's too
