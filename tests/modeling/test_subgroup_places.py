"""Each programme's own places by group: hand-computed figures, who is left out, and no
small count readable from the larger table they join."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from riskstrat.modeling import subgroup_metrics
from riskstrat.modeling._group_selection import selection_programme
from riskstrat.modeling._places_report import (
    flagged_places,
    place_tables,
    places_header,
    places_rows,
    places_title,
)
from riskstrat.modeling._programme_rule import programme_places
from riskstrat.modeling._report import places_section
from riskstrat.modeling._subgroup_names import ALL, MODEL_WITHIN_ELIGIBLE, PROGRAMME_RULE
from riskstrat.modeling._subgroup_places import Places, nested

RULE_SCORE = "rule_score_{}"


def _lookup(table: pd.DataFrame, attribute: str = "g") -> pd.Series:
    rows = table[table["attribute"] == attribute]
    return rows.set_index(["group", "scorer", "metric"])["estimate"]


def test_a_rules_places_by_group_match_a_hand_count() -> None:
    # a: 40 people, 20 events; the rule lists 15 of a (12 with the event).
    # b: 60 people, 18 events; the rule lists 24 of b (9 with the event).
    y = np.r_[np.repeat([1, 0], [20, 20]), np.repeat([1, 0], [18, 42])].astype(float)
    listed = np.zeros(100, dtype=bool)
    listed[np.r_[0:12, 20:23]] = True  # a: 12 events, 3 without
    listed[np.r_[40:49, 58:73]] = True  # b: 9 events, 15 without
    groups = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 60})
    rule = Places(PROGRAMME_RULE, "fsp", listed)
    table = subgroup_metrics(y, {"model": np.full(100, 0.4)}, groups, places=[rule], min_cell=1)
    v = _lookup(table)
    assert v[("a", PROGRAMME_RULE, "selected_at_k_fsp")] == 15
    assert v[("a", PROGRAMME_RULE, "selected_events_at_k_fsp")] == 12
    assert v[("b", PROGRAMME_RULE, "selected_at_k_fsp")] == 24
    assert v[(ALL, PROGRAMME_RULE, "selected_at_k_fsp")] == 39
    assert v[("a", PROGRAMME_RULE, "selection_rate_at_k_fsp")] == pytest.approx(0.375)
    assert v[("a", PROGRAMME_RULE, "recall_at_k_fsp")] == pytest.approx(0.6)
    assert v[("b", PROGRAMME_RULE, "recall_at_k_fsp")] == pytest.approx(0.5)
    assert v[("a", PROGRAMME_RULE, "precision_at_k_fsp")] == pytest.approx(0.8)
    assert v[("b", PROGRAMME_RULE, "precision_at_k_fsp")] == pytest.approx(0.375)
    assert v[("b", PROGRAMME_RULE, "false_positive_rate_at_k_fsp")] == pytest.approx(
        15 / 42, abs=5e-4
    )
    # Ratios to b, the larger group: a's recall 0.6 / 0.5, precision 0.8 / 0.375.
    assert v[("a", PROGRAMME_RULE, "recall_ratio_at_k_fsp")] == pytest.approx(1.2)
    assert v[("a", PROGRAMME_RULE, "precision_ratio_at_k_fsp")] == pytest.approx(2.133, abs=5e-4)
    assert v[("b", PROGRAMME_RULE, "recall_ratio_at_k_fsp")] == 1.0
    # A rule predicts no probability: no O/E among its places.
    metrics = set(table.loc[table["scorer"] == PROGRAMME_RULE, "metric"])
    assert not any(m.startswith("observed_to_expected") for m in metrics)
    # No capacity: the table's own selection is none of these.
    assert selection_programme(table) is None


def test_the_model_within_the_eligible_carries_its_o_e() -> None:
    y = np.r_[np.ones(30), np.zeros(70)]
    risk = np.full(100, 0.5)
    chosen = np.r_[np.ones(20, bool), np.zeros(10, bool), np.ones(20, bool), np.zeros(50, bool)]
    groups = pd.DataFrame({"g": ["a", "b"] * 50})
    model = Places(MODEL_WITHIN_ELIGIBLE, "toc", chosen, risk)
    v = _lookup(subgroup_metrics(y, {"model": risk}, groups, places=[model], min_cell=1))
    # 40 places, 20 events, 20 expected: O/E 1 overall.
    assert v[(ALL, MODEL_WITHIN_ELIGIBLE, "observed_to_expected_at_k_toc")] == pytest.approx(1.0)


def _rows(scores: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame({RULE_SCORE.format(p): s for p, s in scores.items()})


def test_a_rule_fills_min_k_eligible_and_the_model_chooses_only_beyond_k() -> None:
    n = 400
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=n) < 0.5).astype(float)
    rank = rng.uniform(size=n)
    score = np.where(np.arange(n) < 60, 1000.0 + np.arange(n) % 4, np.arange(n) % 4)
    rows = _rows({"a": score, "b": score})
    places = programme_places(y, rows, rank, rank, {"a": 100, "b": 40})
    by = {(p.scorer, p.programme): p for p in places}
    # a: 60 eligible, 100 places: the rule's places are the 60, and the model picks nothing.
    assert set(by) == {(PROGRAMME_RULE, "a"), (PROGRAMME_RULE, "b"), (MODEL_WITHIN_ELIGIBLE, "b")}
    assert by[(PROGRAMME_RULE, "a")].chosen.sum() == 60
    assert by[(PROGRAMME_RULE, "a")].chosen[:60].all()
    # b: 40 of the 60 eligible, by criteria met (3 first), and by the model's rank.
    rule, model = by[(PROGRAMME_RULE, "b")], by[(MODEL_WITHIN_ELIGIBLE, "b")]
    assert rule.chosen.sum() == model.chosen.sum() == 40
    assert not (rule.chosen[60:] | model.chosen[60:]).any()
    assert score[rule.chosen].min() >= score[:60][~rule.chosen[:60]].max()
    assert rank[model.chosen].min() > rank[:60][~model.chosen[:60]].max()
    assert model.risk is rank and rule.risk is None


@pytest.mark.parametrize(("eligible", "shown"), [(10, False), (11, True)])
def test_ten_places_are_left_out_and_eleven_kept(eligible, shown) -> None:
    n = 200
    y = np.zeros(n)
    y[100:] = 1  # no event among the places: 0 is no one to single out
    score = np.where(np.arange(n) < eligible, 1000.0, 0.0)
    places = programme_places(y, _rows({"a": score}), np.zeros(n), np.zeros(n), {"a": 50})
    assert bool(places) is shown


@pytest.mark.parametrize(("events", "shown"), [(10, False), (11, True), (39, True), (40, False)])
def test_places_holding_1_to_10_events_or_non_events_are_left_out(events, shown) -> None:
    # 50 places: 10 events (or 10 non-events) would be a count of 1 to 10.
    n = 300
    y = np.zeros(n)
    y[:events] = 1
    score = np.where(np.arange(n) < 50, 1000.0, 0.0)
    places = programme_places(y, _rows({"a": score}), np.zeros(n), np.zeros(n), {"a": 60})
    assert bool(places) is shown


def test_nested_selections_are_found_one_way_or_both() -> None:
    a = np.array([1, 1, 0, 0], bool)
    b = np.array([1, 1, 1, 0], bool)
    c = np.array([0, 0, 1, 1], bool)
    assert nested({"a": a, "b": b, "c": c}) == [("a", "b")]
    assert set(nested({"a": a, "a2": a.copy()})) == {("a", "a2"), ("a2", "a")}
    assert nested({"none": np.zeros(4, bool), "b": b}) == []


def test_a_small_difference_between_nested_places_is_not_shown() -> None:
    # ISR's eligible all within FSP's: in group a, FSP lists 25 and ISR 20, so 5 of a are
    # FSP's alone. Both counts are 11 or more, but a reader who knows the rules nest takes
    # the difference: one of them must go.
    n_a, n_b = 200, 300
    g = np.array(["a"] * n_a + ["b"] * n_b)
    y = np.zeros(n_a + n_b)
    y[::3] = 1
    fsp = np.zeros_like(y, dtype=bool)
    isr = np.zeros_like(fsp)
    fsp[:25], isr[:20] = True, True
    fsp[n_a : n_a + 80], isr[n_a : n_a + 40] = True, True
    places = [Places(PROGRAMME_RULE, "fsp", fsp), Places(PROGRAMME_RULE, "isr", isr)]
    table = subgroup_metrics(
        y, {"model": np.full(len(y), 0.3)}, pd.DataFrame({"g": g}), places=places
    )
    v = _lookup(table)
    fsp_a, isr_a = (
        v[("a", PROGRAMME_RULE, "selected_at_k_fsp")],
        v[("a", PROGRAMME_RULE, "selected_at_k_isr")],
    )
    assert np.isnan(fsp_a) or np.isnan(isr_a), (fsp_a, isr_a)
    assert not _pinned(table, g, y, {p.key: p.chosen for p in places})


def test_a_small_difference_of_non_events_between_nested_places_is_not_shown() -> None:
    # Group a: FSP lists 50 (35 with the event), ISR 25 of them (14 with it). Every count
    # and the differences of people (25) and events (21) are 11 or more, but FSP's people
    # without the event outside ISR are 15 - 11 = 4.
    n_a, n_b = 200, 300
    g = np.array(["a"] * n_a + ["b"] * n_b)
    y = np.zeros(n_a + n_b)
    y[:100] = 1
    y[n_a : n_a + 120] = 1
    fsp = np.zeros_like(y, dtype=bool)
    fsp[np.r_[0:35, 100:115]] = True
    isr = np.zeros_like(fsp)
    isr[np.r_[0:14, 100:111]] = True
    fsp[np.r_[n_a : n_a + 60, n_a + 150 : n_a + 190]] = True
    isr[np.r_[n_a : n_a + 30, n_a + 150 : n_a + 170]] = True
    places = [Places(PROGRAMME_RULE, "fsp", fsp), Places(PROGRAMME_RULE, "isr", isr)]
    frame = pd.DataFrame({"g": g})
    table = subgroup_metrics(y, {"model": np.full(len(y), 0.3)}, frame, places=places)
    assert not _pinned(table, g, y, {p.key: p.chosen for p in places})
    v = _lookup(table)
    shown = [
        v[("a", PROGRAMME_RULE, f"{count}_at_k_{p}")]
        for count in ("selected", "selected_events")
        for p in ("fsp", "isr")
    ]
    assert np.isnan(shown).any(), shown


def _pinned(
    table: pd.DataFrame, g: np.ndarray, y: np.ndarray, selections: dict[str, np.ndarray]
) -> list[str]:
    """An attack of the test's own: every count the table hides (people, events, and per
    selection those given a place and the events among them) is an unknown whole number;
    a reader knows the totals, the counts shown, that every count and every difference
    within a selection is at least 0, and (knowing the rules) which selections hold
    others. A count or difference pinned within 1 to 10 is a disclosure."""
    table = pd.read_csv(io.StringIO(table.to_csv(index=False)))  # as published
    shown = table[~table["suppressed"]].set_index(["group", "scorer", "metric"])["estimate"]
    groups = sorted(set(table["group"]) - {ALL})
    if len(groups) != len(set(g)):
        return []  # pooled: the test's groups are not the table's
    truth = {}
    where = {"n": ("observed", "n"), "e": ("observed", "events")}
    for key, chosen in selections.items():
        scorer, programme = key.split("@")
        where[f"s:{key}"] = (scorer, f"selected_at_k_{programme}")
        where[f"h:{key}"] = (scorer, f"selected_events_at_k_{programme}")
        for group in groups:
            truth[(group, f"s:{key}")] = int(chosen[g == group].sum())
            truth[(group, f"h:{key}")] = int((chosen & (y == 1))[g == group].sum())
    for group in groups:
        truth[(group, "n")], truth[(group, "e")] = int((g == group).sum()), int(y[g == group].sum())
    value = {}
    for group in [*groups, ALL]:
        for cell, at in where.items():
            got = shown.get((group, *at))
            value[(group, cell)] = None if got is None or np.isnan(got) else got
    unknown = [k for k, v in value.items() if k[0] != ALL and v is None]
    if not unknown:
        return []
    index = {k: i for i, k in enumerate(unknown)}
    rows, low, high = [], [], []

    def linear(terms):
        row, constant = np.zeros(len(unknown)), 0.0
        for k, w in terms.items():
            if k in index:
                row[index[k]] += w
            else:
                constant += w * value[k]
        return row, constant

    def add(terms, lo, hi):
        row, constant = linear(terms)
        rows.append(row)
        low.append(lo - constant)
        high.append(hi - constant)

    for cell in where:
        total = value[(ALL, cell)]
        add({(group, cell): 1 for group in groups}, total, total)
    differences = {"n-e": {"n": 1, "e": -1}}
    for key in selections:
        s, h = f"s:{key}", f"h:{key}"
        differences |= {
            f"n-{s}": {"n": 1, s: -1},
            f"{s}-{h}": {s: 1, h: -1},
            f"e-{h}": {"e": 1, h: -1},
            f"rest:{key}": {"n": 1, "e": -1, s: -1, h: 1},
        }
    for inner, outer in nested(selections):
        s, h, so, ho = f"s:{inner}", f"h:{inner}", f"s:{outer}", f"h:{outer}"
        differences |= {
            f"{so}-{s}": {so: 1, s: -1},
            f"{ho}-{h}": {ho: 1, h: -1},
            f"{so}-{ho}-{s}+{h}": {so: 1, ho: -1, s: -1, h: 1},
        }
    targets = {(group, cell): {(group, cell): 1} for group, cell in unknown}
    for group in groups:
        for name, terms in differences.items():
            keyed = {(group, c): w for c, w in terms.items()}
            add(keyed, 0, np.inf)
            if any(k in index for k in keyed):
                targets[(group, name)] = keyed
    problem = {
        "constraints": LinearConstraint(np.array(rows), low, high),
        "bounds": Bounds(0, value[(ALL, "n")]),
        "integrality": np.ones(len(unknown)),
    }
    found = []
    for (group, name), terms in targets.items():
        objective, constant = linear(terms)
        least, most = milp(objective, **problem), milp(-objective, **problem)
        assert least.success and most.success  # the truth is a solution
        lo, hi = round(least.fun + constant), round(-most.fun + constant)
        if lo >= 1 and hi < 11:
            found.append(f"{group}: {name} in [{lo}, {hi}]")
    return found


@pytest.mark.parametrize("seed", range(12))
def test_no_small_count_of_the_places_can_be_worked_out_of_a_random_table(seed) -> None:
    # Random groups, two programmes whose rules nest (one's eligible all within the
    # other's), the model choosing within the larger, and the whole-quarter capacity
    # beside them; whatever is shown, no count of 1 to 10 follows from it.
    rng = np.random.default_rng(100 + seed)
    sizes = rng.choice([12, 15, 25, 40, 60, 150, 400], size=rng.integers(2, 5))
    g = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    y = (rng.uniform(size=len(g)) < rng.uniform(0.2, 0.6)).astype(float)
    need = rng.uniform(size=len(g)) + 0.4 * y
    outer = need > np.quantile(need, rng.uniform(0.5, 0.8))
    inner = outer & (need > np.quantile(need, rng.uniform(0.8, 0.95)))
    risk = np.clip(need / 1.4, 0, 1)
    k = int(outer.sum() * 0.7)
    within = np.zeros(len(g), dtype=bool)
    within[np.flatnonzero(outer)[np.argsort(-risk[outer], kind="stable")[:k]]] = True
    places = [
        Places(PROGRAMME_RULE, "outer", outer),
        Places(PROGRAMME_RULE, "inner", inner),
        Places(MODEL_WITHIN_ELIGIBLE, "outer", within, risk),
    ]
    scores = {"model": risk, "rule": rng.uniform(size=len(g))}
    table = subgroup_metrics(
        y, scores, pd.DataFrame({"g": g}), capacity=("p", int(len(g) * 0.3)), places=places
    )
    selections = {p.key: p.chosen for p in places}
    assert not _pinned(table, g, y, selections)
    # Every rate and ratio of the places shows only with the counts it divides.
    hidden = table.set_index(["group", "scorer", "metric"])["suppressed"]
    for p in places:
        for rate, counts in {
            "selection_rate": ("selected_at_k_", ("observed", "n")),
            "recall": ("selected_events_at_k_", ("observed", "events")),
            "precision": ("selected_at_k_", "selected_events_at_k_"),
        }.items():
            for group in sorted(set(g)):
                if hidden[(group, p.scorer, f"{rate}_at_k_{p.programme}")]:
                    continue
                for count in counts:
                    at = count if isinstance(count, tuple) else (p.scorer, count + p.programme)
                    assert not hidden[(group, *at)], (group, p.key, rate, at)


def _result(table: pd.DataFrame, eligible: dict[str, float]) -> SimpleNamespace:
    metrics = pd.DataFrame(
        {
            "scorer": PROGRAMME_RULE,
            "metric": [f"eligible_{p}" for p in eligible],
            "estimate": list(eligible.values()),
        }
    )
    return SimpleNamespace(subgroups=table, metrics=metrics, capacities={"p": 30})


def test_the_report_has_a_table_per_programme_scorer_and_attribute() -> None:
    rng = np.random.default_rng(5)
    n = 6_000  # large enough that every count here, and every difference, is 11 or more
    groups = pd.DataFrame(
        {
            "race": rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2]),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    y = (rng.uniform(size=n) < 0.3).astype(float)
    # The rule lists B's people with the event three times as readily as A's.
    lift = np.where(groups["race"] == "B", 0.6, 0.2)
    listed = rng.uniform(size=n) < np.where(y == 1, lift, 0.05)
    risk = rng.uniform(size=n)
    within = listed & (risk > np.quantile(risk[listed], 0.4))
    places = [
        Places(PROGRAMME_RULE, "fsp", listed),
        Places(MODEL_WITHIN_ELIGIBLE, "fsp", within, risk),
    ]
    table = subgroup_metrics(y, {"model": risk}, groups, places=places)
    result = _result(table, {"fsp": float(listed.sum())})
    assert place_tables(result) == [(PROGRAMME_RULE, "fsp"), (MODEL_WITHIN_ELIGIBLE, "fsp")]
    title = places_title(result, PROGRAMME_RULE, "fsp", "race")
    assert title.startswith(f"fsp: its rule's {int(listed.sum()):,} places (everyone eligible")
    assert title.endswith("ratios to race A")
    model_title = places_title(result, MODEL_WITHIN_ELIGIBLE, "fsp", "race")
    assert f"the model's {int(within.sum()):,} places among the eligible" in model_title
    rows = places_rows(result, "race", PROGRAMME_RULE, "fsp")
    assert [r[0] for r in rows] == ["A", "B", "C", ALL]
    assert len(rows[0]) == len(places_header(PROGRAMME_RULE)) == 9  # no O/E for a rule
    assert len(places_header(MODEL_WITHIN_ELIGIBLE)) == 10
    # B's recall ratio, about 3, is flagged beyond chance and named on the console.
    recall_ratio = rows[1][4]
    assert recall_ratio.endswith(" *") and 2.3 < float(recall_ratio.split()[0]) < 3.8
    assert "fsp (rule) race B: recall" in flagged_places(result)
    text = "\n".join(places_section(result))
    assert text.count("### fsp: ") == 4  # two scorers by two attributes
    assert text.startswith("## Each programme's own places by group")


def test_hidden_eligible_is_said_as_what_hiding_says() -> None:
    y = np.r_[np.ones(40), np.zeros(60)]
    chosen = np.r_[np.ones(30, bool), np.zeros(40, bool), np.ones(30, bool)]
    groups = pd.DataFrame({"g": ["a", "b"] * 50})
    table = subgroup_metrics(
        y, {"model": np.full(100, 0.4)}, groups, places=[Places(PROGRAMME_RULE, "p", chosen)]
    )
    title = places_title(_result(table, {"p": np.nan}), PROGRAMME_RULE, "p", "g")
    assert "the first 60 of the eligible (1 to 10 more than the places) by criteria met" in title


def test_places_by_hand_on_the_programme_rule_example() -> None:
    # The layout of test_metrics' programme-rule example, as whole people.
    n = 200
    rows_ = np.arange(n)
    y = np.zeros(n)
    for first, last in ((0, 17), (30, 44), (100, 114), (130, 132), (160, 187)):
        y[first : last + 1] = 1
    rows = _rows(
        {
            "isr": np.select([rows_ < 30, rows_ < 60], [1002.0, 1001.0], 2.0),
            "sud_ens": np.where((rows_ >= 100) & (rows_ < 130), 1000.0, 0.0),
            "toc": np.where(rows_ < 5, 1001.0, 3.0),
            "rbc": np.full(n, 4.0),
            "reentry": np.where((rows_ >= 130) & (rows_ < 150), 1000.0, 1.0),
            "fsp": np.where((rows_ >= 60) & (rows_ < 75), 1000.0, 0.0),
        }
    )
    ks = {"isr": 40, "sud_ens": 100, "toc": 15, "rbc": 15, "reentry": 20, "fsp": 12}
    rank = rows_.astype(float)
    places = {(p.scorer, p.programme): p for p in programme_places(y, rows, rank, rank, ks)}
    # ISR: 40 of 60: rows 0-29, then the earliest ten of the tied rows 30-59 (30-39):
    # 18 + 10 events as whole people (the expected value, 23, is metrics.csv's). The model
    # within the eligible: rows 20-59, 15 events.
    isr = places[(PROGRAMME_RULE, "isr")].chosen
    assert np.flatnonzero(isr).tolist() == list(range(40)) and y[isr].sum() == 28
    within = places[(MODEL_WITHIN_ELIGIBLE, "isr")].chosen
    assert np.flatnonzero(within).tolist() == list(range(20, 60)) and y[within].sum() == 15
    # SUD-ENS: all 30 eligible, 15 with the event; the model chooses no one.
    assert places[(PROGRAMME_RULE, "sud_ens")].chosen.sum() == 30
    assert (MODEL_WITHIN_ELIGIBLE, "sud_ens") not in places
    # FSP: 12 of 15, no event: 0 is no one to single out, and 12 non-events may show.
    assert places[(PROGRAMME_RULE, "fsp")].chosen.sum() == 12
    assert (MODEL_WITHIN_ELIGIBLE, "fsp") in places
    # TOC (5 places), RBC (none) and Re-entry (3 events among 20) are left out.
    assert {p for _, p in places} == {"isr", "sud_ens", "fsp"}
