"""Lists of different rankings in metrics.csv: none 1 to 10 people's outcomes from one that
holds it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskstrat.modeling import evaluate
from riskstrat.modeling._list_steps import hide_list_steps, list_figures, list_order
from riskstrat.modeling._subgroup_names import MODEL_WITHIN_ELIGIBLE, PROGRAMME_RULE

N = 2_000
WITHIN = {
    (MODEL_WITHIN_ELIGIBLE, "precision_at_k_reentry"),
    (MODEL_WITHIN_ELIGIBLE, "recall_at_k_reentry"),
}


class Column:
    """A model whose probability is the row's ``risk``."""

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        risk = X["risk"].to_numpy(dtype=np.float64)
        return np.column_stack([1 - risk, risk])


def _county(step_events: int) -> pd.DataFrame:
    """The model ranks row 0 highest. Re-entry lists the model's top 255 (ISR's capacity),
    22 people ranked 501-522 and 100 ranked lower; its 277 places among them by the model
    are the top 255 and the 22: the step from ISR's list holds ``step_events`` events."""
    rng = np.random.default_rng(4)
    y = (rng.random(N) < 0.3).astype(float)
    y[500:522] = 0
    y[500 : 500 + step_events] = 1
    eligible = np.zeros(N, dtype=bool)
    eligible[:255] = eligible[500:522] = eligible[1500:1600] = True
    # The rule's own order puts the lower-ranked 100 first and the 22 last: its places are
    # another list, which holds neither the model's.
    criteria = np.select([np.arange(N) >= 1500, np.arange(N) < 255], [3.0, 1.0], 0.0)
    return pd.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(N)],
            "as_of": pd.Timestamp("2024-10-01"),
            "psych_crisis": y,
            "risk": np.linspace(0.9, 0.01, N),
            "rule_score_reentry": np.where(eligible, 1000.0 + criteria, criteria),
        }
    )


def _hidden(metrics: pd.DataFrame) -> set[tuple[str, str]]:
    gone = metrics["estimate"].isna()
    return set(map(tuple, metrics.loc[gone, ["scorer", "metric"]].to_numpy()))


def _evaluated(step_events: int) -> pd.DataFrame:
    rows = _county(step_events)
    return evaluate(
        Column(),
        rows,
        outcome="psych_crisis",
        feature_names=["risk"],
        capacities={"isr": 255, "reentry": 277},
        n_bootstrap=20,
    ).metrics


@pytest.mark.parametrize("step_events", [1, 10, 12, 21])
def test_the_models_places_among_the_eligible_go_when_they_stand_1_to_10_from_its_top_k(
    step_events,
) -> None:
    # A reviewer's case (metrics.csv alone): the two precisions give the 22 people's
    # outcomes when 1 to 10 of them had the event, or 1 to 10 did not.
    metrics = _evaluated(step_events)
    assert _hidden(metrics) >= WITHIN
    within = metrics[metrics["scorer"] == MODEL_WITHIN_ELIGIBLE]
    assert within[["lower", "upper"]].isna().all().all()  # no bound tells what is hidden


@pytest.mark.parametrize("step_events", [0, 11, 22])
def test_a_step_of_none_11_or_all_events_keeps_them(step_events) -> None:
    metrics = _evaluated(step_events)
    assert not WITHIN & _hidden(metrics)
    row = metrics.set_index(["scorer", "metric"]).loc[
        (MODEL_WITHIN_ELIGIBLE, "precision_at_k_reentry")
    ]
    y = _county(step_events)["psych_crisis"].to_numpy()
    by_hand = (y[:255].sum() + step_events) / 277
    assert row["estimate"] == pytest.approx(by_hand)
    assert np.isfinite(row["lower"]) and np.isfinite(row["upper"])


def test_only_the_list_at_fault_goes() -> None:
    # Missed by one: the two tables differ in the model's places among the eligible alone.
    assert _hidden(_evaluated(10)) ^ _hidden(_evaluated(11)) == WITHIN


def _metrics(rows: list[tuple[str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["scorer", "metric"])
    return frame.assign(estimate=0.5, lower=0.4, upper=0.6)


def test_of_two_lists_the_later_goes_and_everyone_stays() -> None:
    # The rule baseline's top 100 lies within the model's top 105: 5 people between them.
    y = np.r_[np.ones(50), np.zeros(950)]
    model = np.r_[np.ones(105), np.zeros(895)]
    rule = np.r_[np.ones(100), np.zeros(900)]
    lists = {"model@k_a": model, "rule@k_b": rule}
    metrics = _metrics(
        [
            ("model", "precision_at_k_a"),
            ("model", "recall_at_k_a"),
            ("rule", "precision_at_k_b"),
            ("rule", "recall_at_k_b"),
            ("model_vs_rule", "diff_precision_at_k_b"),
            ("model_vs_rule", "lift_precision_at_k_b"),
            ("model_vs_rule", "diff_precision_at_k_a"),
        ]
    )
    out = hide_list_steps(metrics, y, lists, ["model", "rule"], ["a", "b"])
    assert _hidden(out) == {
        ("rule", "precision_at_k_b"),
        ("rule", "recall_at_k_b"),
        ("model_vs_rule", "diff_precision_at_k_b"),
        ("model_vs_rule", "lift_precision_at_k_b"),
    }
    # A list already hidden is no step: nothing more goes.
    again = hide_list_steps(out, y, lists, ["model", "rule"], ["a", "b"])
    pd.testing.assert_frame_equal(again, out)
    # 11 people between them (all without the event): both stay.
    lists["model@k_a"] = np.r_[np.ones(111), np.zeros(889)]
    pd.testing.assert_frame_equal(
        hide_list_steps(metrics, y, lists, ["model", "rule"], ["a", "b"]), metrics
    )


def test_a_list_all_but_5_of_the_quarter_goes() -> None:
    y = np.r_[np.ones(300), np.zeros(700)]
    lists = {"model@k_a": np.r_[np.ones(995), np.zeros(5)]}
    metrics = _metrics([("model", "precision_at_k_a"), ("model", "recall_at_k_a")])
    assert _hidden(hide_list_steps(metrics, y, lists, ["model"], ["a"])) == {
        ("model", "precision_at_k_a"),
        ("model", "recall_at_k_a"),
    }


def test_the_order_keeps_capacities_first_the_model_first() -> None:
    keys = [
        f"{MODEL_WITHIN_ELIGIBLE}@toc",
        f"{PROGRAMME_RULE}@toc",
        "oracle@k_isr",
        "model@k_toc",
        "model@k_isr",
        "rule@k_isr",
    ]
    assert list_order(keys, ["model", "rule", "oracle"], ["isr", "toc"]) == [
        "model@k_isr",
        "model@k_toc",
        "rule@k_isr",
        "oracle@k_isr",
        f"{PROGRAMME_RULE}@toc",
        f"{MODEL_WITHIN_ELIGIBLE}@toc",
    ]


def test_a_lists_figures_are_those_that_give_its_events() -> None:
    assert list_figures("model@k_isr", ["model", "rule"]) == {
        ("model", "precision_at_k_isr"),
        ("model", "recall_at_k_isr"),
        ("model_vs_rule", "diff_precision_at_k_isr"),
        ("model_vs_rule", "diff_recall_at_k_isr"),
        ("model_vs_rule", "lift_precision_at_k_isr"),
    }
    assert list_figures(f"{PROGRAMME_RULE}@k_x", ["model"]) == {
        (PROGRAMME_RULE, "precision_at_k_k_x"),
        (PROGRAMME_RULE, "recall_at_k_k_x"),
        ("model_vs_programme_rule", "lift_precision_at_k_k_x"),
    }


def test_a_top_k_cutting_into_ties_holds_no_one_in_them_whole() -> None:
    # The single-feature baseline: 900 of 1,000 tied at zero, its top 105 the 100 above
    # them and 5 places shared among the 900. The model's top 100 are among the tied: the
    # baseline's list gives each of them 1/180 of a place and holds none of them whole.
    y = np.r_[np.ones(50), np.zeros(50), np.ones(30), np.zeros(870)]
    baseline = np.r_[np.ones(100), np.full(900, 5 / 900)]
    model = np.r_[np.zeros(100), np.ones(100), np.zeros(800)]
    lists = {"model@k_a": model, "single_feature@k_b": baseline}
    metrics = _metrics([("model", "precision_at_k_a"), ("single_feature", "precision_at_k_b")])
    out = hide_list_steps(metrics, y, lists, ["model", "single_feature"], ["a", "b"])
    pd.testing.assert_frame_equal(out, metrics)
    # Whole, the same 5 people more would be a step (100 -> 105 rows all in it).
    lists["single_feature@k_b"] = np.r_[np.ones(100), np.ones(5), np.zeros(895)]
    lists["model@k_a"] = np.r_[np.ones(100), np.zeros(900)]
    out = hide_list_steps(metrics, y, lists, ["model", "single_feature"], ["a", "b"])
    assert _hidden(out) == {("single_feature", "precision_at_k_b")}
