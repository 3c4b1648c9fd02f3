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
from riskstrat.modeling._programme_rule import programme_places, published_lists
from riskstrat.modeling._report import places_section
from riskstrat.modeling._subgroup_names import ALL, MODEL_WITHIN_ELIGIBLE, PROGRAMME_ELIGIBLE
from riskstrat.modeling._subgroup_places import Places, nested, without_small_steps

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
    rule = Places(PROGRAMME_ELIGIBLE, "fsp", listed)
    table = subgroup_metrics(y, {"model": np.full(100, 0.4)}, groups, places=[rule], min_cell=1)
    v = _lookup(table)
    assert v[("a", PROGRAMME_ELIGIBLE, "selected_at_k_fsp")] == 15
    assert v[("a", PROGRAMME_ELIGIBLE, "selected_events_at_k_fsp")] == 12
    assert v[("b", PROGRAMME_ELIGIBLE, "selected_at_k_fsp")] == 24
    assert v[(ALL, PROGRAMME_ELIGIBLE, "selected_at_k_fsp")] == 39
    assert v[("a", PROGRAMME_ELIGIBLE, "selection_rate_at_k_fsp")] == pytest.approx(0.375)
    assert v[("a", PROGRAMME_ELIGIBLE, "recall_at_k_fsp")] == pytest.approx(0.6)
    assert v[("b", PROGRAMME_ELIGIBLE, "recall_at_k_fsp")] == pytest.approx(0.5)
    assert v[("a", PROGRAMME_ELIGIBLE, "precision_at_k_fsp")] == pytest.approx(0.8)
    assert v[("b", PROGRAMME_ELIGIBLE, "precision_at_k_fsp")] == pytest.approx(0.375)
    assert v[("b", PROGRAMME_ELIGIBLE, "false_positive_rate_at_k_fsp")] == pytest.approx(
        15 / 42, abs=5e-4
    )
    # Ratios to b, the larger group: a's recall 0.6 / 0.5, precision 0.8 / 0.375.
    assert v[("a", PROGRAMME_ELIGIBLE, "recall_ratio_at_k_fsp")] == pytest.approx(1.2)
    assert v[("a", PROGRAMME_ELIGIBLE, "precision_ratio_at_k_fsp")] == pytest.approx(
        2.133, abs=5e-4
    )
    assert v[("b", PROGRAMME_ELIGIBLE, "recall_ratio_at_k_fsp")] == 1.0
    # A rule predicts no probability: no O/E among its places.
    metrics = set(table.loc[table["scorer"] == PROGRAMME_ELIGIBLE, "metric"])
    assert not any(m.startswith("observed_to_expected") for m in metrics)
    # No capacity: the table's own selection is none of these.
    assert selection_programme(table) is None


def test_the_model_within_the_eligible_carries_its_o_e() -> None:
    y = np.r_[np.ones(30), np.zeros(30), np.ones(15), np.zeros(25)]  # 25 events left out
    risk = np.full(100, 0.5)
    chosen = np.r_[np.ones(20, bool), np.zeros(10, bool), np.ones(20, bool), np.zeros(50, bool)]
    groups = pd.DataFrame({"g": ["a", "b"] * 50})
    model = Places(MODEL_WITHIN_ELIGIBLE, "toc", chosen, risk)
    v = _lookup(subgroup_metrics(y, {"model": risk}, groups, places=[model], min_cell=1))
    # 40 places, 20 events, 20 expected: O/E 1 overall.
    assert v[(ALL, MODEL_WITHIN_ELIGIBLE, "observed_to_expected_at_k_toc")] == pytest.approx(1.0)


def _rows(scores: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame({RULE_SCORE.format(p): s for p, s in scores.items()})


def test_a_rule_lists_its_eligible_and_the_model_chooses_only_beyond_k() -> None:
    n = 1_000
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=n) < 0.5).astype(float)
    rank = rng.uniform(size=n)
    score = np.where(np.arange(n) < 200, 1000.0 + np.arange(n) % 4, np.arange(n) % 4)
    rows = _rows({"a": score, "b": score})
    places = programme_places(y, rows, rank, rank, {"a": 300, "b": 140})
    by = {(p.scorer, p.programme): p for p in places}
    # a: 200 eligible, 300 places: everyone eligible has one, and the model picks nothing.
    assert set(by) == {
        (PROGRAMME_ELIGIBLE, "a"),
        (PROGRAMME_ELIGIBLE, "b"),
        (MODEL_WITHIN_ELIGIBLE, "b"),
    }
    # b: the rule lists all 200 eligible (whatever the places); the model's 140 places are
    # its 140 highest risks among them.
    for programme in ("a", "b"):
        listed = by[(PROGRAMME_ELIGIBLE, programme)]
        assert np.flatnonzero(listed.chosen).tolist() == list(range(200))
        assert listed.risk is None
    model = by[(MODEL_WITHIN_ELIGIBLE, "b")]
    assert model.chosen.sum() == 140 and not model.chosen[200:].any()
    assert rank[model.chosen].min() > rank[:200][~model.chosen[:200]].max()
    assert model.risk is rank


@pytest.mark.parametrize(("k", "shown"), [(50, False), (49, True), (59, False), (60, True)])
def test_a_programme_with_1_to_10_eligible_left_without_a_place_is_left_out(k, shown) -> None:
    # 60 eligible: 10 left without a place (k = 50) or 1 (k = 59) is a count the
    # programme-rule table hides, and the all row of the list would give it back.
    n = 300
    y = np.zeros(n)
    y[:60:2] = 1  # 30 events, 30 non-events on the list
    # The rule's places take those with the event first: the ones it leaves out have none.
    score = np.where(np.arange(n) < 60, 1000.0 + y, 0.0)
    rank = np.arange(n, dtype=float)
    places = programme_places(y, _rows({"a": score}), rank, rank, {"a": k})
    assert bool(places) is shown


def test_the_models_places_are_left_out_with_the_list_they_come_from() -> None:
    # 100 eligible, 5 of them without the event: the list is left out, and so are the
    # model's 50 places (50 events, none without: they would show on their own), which alone
    # would let a reader bound each group's eligible left without one.
    n = 400
    y = np.zeros(n)
    y[:95] = 1
    y[200:300] = 1  # events beyond the list
    score = np.where(np.arange(n) < 100, 1000.0 + (np.arange(n) < 50), 0.0)
    rank = -np.arange(n, dtype=float)  # rows 0-49 first
    assert programme_places(y, _rows({"a": score}), rank, rank, {"a": 50}) == []
    # With 11 without the event, both are shown.
    y[84:95] = 0
    places = programme_places(y, _rows({"a": score}), rank, rank, {"a": 50})
    assert [p.scorer for p in places] == [PROGRAMME_ELIGIBLE, MODEL_WITHIN_ELIGIBLE]


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
    places = [Places(PROGRAMME_ELIGIBLE, "fsp", fsp), Places(PROGRAMME_ELIGIBLE, "isr", isr)]
    table = subgroup_metrics(
        y, {"model": np.full(len(y), 0.3)}, pd.DataFrame({"g": g}), places=places
    )
    v = _lookup(table)
    fsp_a, isr_a = (
        v[("a", PROGRAMME_ELIGIBLE, "selected_at_k_fsp")],
        v[("a", PROGRAMME_ELIGIBLE, "selected_at_k_isr")],
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
    places = [Places(PROGRAMME_ELIGIBLE, "fsp", fsp), Places(PROGRAMME_ELIGIBLE, "isr", isr)]
    frame = pd.DataFrame({"g": g})
    table = subgroup_metrics(y, {"model": np.full(len(y), 0.3)}, frame, places=places)
    assert not _pinned(table, g, y, {p.key: p.chosen for p in places})
    v = _lookup(table)
    shown = [
        v[("a", PROGRAMME_ELIGIBLE, f"{count}_at_k_{p}")]
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
        Places(PROGRAMME_ELIGIBLE, "outer", outer),
        Places(PROGRAMME_ELIGIBLE, "inner", inner),
        Places(MODEL_WITHIN_ELIGIBLE, "outer", within, risk),
    ]
    scores = {"model": risk, "rule": rng.uniform(size=len(g))}
    table = subgroup_metrics(
        y, scores, pd.DataFrame({"g": g}), capacity=("p", int(len(g) * 0.3)), places=places
    )
    # Those the table shows (a step of 1 to 10 to another list leaves one out).
    metrics = set(zip(table["scorer"], table["metric"], strict=True))
    places = [p for p in places if (p.scorer, f"selected_at_k_{p.programme}") in metrics]
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


def _result(table: pd.DataFrame, capacities: dict[str, int]) -> SimpleNamespace:
    return SimpleNamespace(subgroups=table, capacities=capacities)


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
        Places(PROGRAMME_ELIGIBLE, "fsp", listed),
        Places(MODEL_WITHIN_ELIGIBLE, "fsp", within, risk),
    ]
    table = subgroup_metrics(y, {"model": risk}, groups, places=places)
    eligible, k = int(listed.sum()), int(within.sum())
    result = _result(table, {"fsp": k})
    assert place_tables(result) == [(PROGRAMME_ELIGIBLE, "fsp"), (MODEL_WITHIN_ELIGIBLE, "fsp")]
    title = places_title(result, PROGRAMME_ELIGIBLE, "fsp", "race")
    assert title == (
        f"fsp: the {eligible:,} people its rule lists ({k:,} places: the model's choice in "
        "the next table) by race; ratios to race A"
    )
    model_title = places_title(result, MODEL_WITHIN_ELIGIBLE, "fsp", "race")
    assert model_title.startswith(f"fsp: the model's {k:,} places among the {eligible:,} eligible")
    roomy = places_title(_result(table, {"fsp": eligible}), PROGRAMME_ELIGIBLE, "fsp", "sex")
    assert f"({eligible:,} places: room for all of them, the model changes no one" in roomy
    rows = places_rows(result, "race", PROGRAMME_ELIGIBLE, "fsp")
    assert [r[0] for r in rows] == ["A", "B", "C", ALL]
    assert len(rows[0]) == len(places_header(PROGRAMME_ELIGIBLE)) == 9  # no O/E for a rule
    assert len(places_header(MODEL_WITHIN_ELIGIBLE)) == 10
    # B's recall ratio, about 3, is flagged beyond chance and named on the console.
    recall_ratio = rows[1][4]
    assert recall_ratio.endswith(" *") and 2.3 < float(recall_ratio.split()[0]) < 3.8
    assert "fsp (rule) race B: recall" in flagged_places(result)
    assert "fsp (rule) race B: listed" in flagged_places(result)
    text = "\n".join(places_section(result))
    assert text.count("### fsp: ") == 4  # two scorers by two attributes
    assert text.startswith("## Each programme's own list by group")
    assert places_header(PROGRAMME_ELIGIBLE)[1] == "listed"


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
    # ISR: 60 eligible, 33 with the event; the rule's 40 places hold 23 (metrics.csv, ties at
    # their expected value), so the 20 it leaves out hold 10: ISR is left out.
    # SUD-ENS: all 30 eligible have a place, 15 with the event; the model chooses no one.
    assert places[(PROGRAMME_ELIGIBLE, "sud_ens")].chosen.sum() == 30
    assert (MODEL_WITHIN_ELIGIBLE, "sud_ens") not in places
    # FSP (3 of 15 eligible without a place), TOC (5 eligible), RBC (none) and Re-entry (3
    # events among 20) are left out too.
    assert set(places) == {(PROGRAMME_ELIGIBLE, "sud_ens")}
    # With ISR's rows 45-59 given the event, the 20 left out hold 20 events, none without:
    y[45:60] = 1
    isr = {(p.scorer, p.programme) for p in programme_places(y, rows, rank, rank, ks)}
    assert (PROGRAMME_ELIGIBLE, "isr") in isr


def test_a_list_5_people_away_from_one_that_holds_it_is_left_out() -> None:
    # A reviewer's case: list b is list a less 5 people, all in group C, with room for
    # everyone. Both shown, the all rows (192 against 187) and the groups shown equal
    # would say C holds those 5; so b goes, and a stays.
    rng = np.random.default_rng(1)
    n = 400
    g = np.array(["A"] * 200 + ["B"] * 120 + ["C"] * 80)
    y = (rng.random(n) < 0.4).astype(float)
    model = rng.random(n) + 0.8 * y
    listed_a = rng.random(n) < 0.5
    listed_b = listed_a.copy()
    listed_b[np.flatnonzero(listed_a & (g == "C"))[:5]] = False
    rows = _rows({"a": np.where(listed_a, 1000.0, 0.0), "b": np.where(listed_b, 1000.0, 0.0)})
    places = programme_places(y, rows, model, model, {"a": 1000, "b": 1000})
    assert [p.programme for p in places] == ["a", "b"]  # each fine on its own
    table = subgroup_metrics(
        y, {"model": model}, pd.DataFrame({"g": g}), capacity=("x", 150), places=places
    )
    shown = set(table.loc[table["scorer"] == PROGRAMME_ELIGIBLE, "metric"])
    assert "selected_at_k_a" in shown and "selected_at_k_b" not in shown


def test_a_list_holding_all_but_5_people_of_the_quarter_is_left_out() -> None:
    n = 300
    y = np.zeros(n)
    y[::2] = 1
    listed = np.ones(n, dtype=bool)
    listed[:5] = False
    groups = pd.DataFrame({"g": ["a", "b", "c"] * 100})
    places = [Places(PROGRAMME_ELIGIBLE, "p", listed)]
    table = subgroup_metrics(y, {"model": np.full(n, 0.5)}, groups, places=places)
    assert PROGRAMME_ELIGIBLE not in set(table["scorer"])
    listed[:11] = False  # 11 left out: 6 events, 5 non-events, still a count of 1 to 10
    table = subgroup_metrics(y, {"model": np.full(n, 0.5)}, groups, places=places)
    assert PROGRAMME_ELIGIBLE not in set(table["scorer"])
    listed[:22] = False  # 22: 11 and 11
    table = subgroup_metrics(y, {"model": np.full(n, 0.5)}, groups, places=places)
    assert PROGRAMME_ELIGIBLE in set(table["scorer"])


def test_the_models_places_go_when_the_eligible_they_leave_out_hold_1_to_10_events() -> None:
    # 200 eligible (100 with the event), 150 places: the model's 150 (rows 0-149) hold 95 of
    # the list's 100 events, so the 50 it leaves out hold 5. Its places are not shown; the
    # list is, and its title says so. (The rule's places, rows 50-199, leave out 50 people
    # all with the event: 0 without it is no one to single out.)
    n = 1_000
    y = np.zeros(n)
    y[:95] = 1
    y[150:155] = 1
    eligible = np.arange(n) < 200
    rank = -np.arange(n, dtype=float)
    score = np.where(eligible, 1000.0 + (np.arange(n) >= 50), 0.0)
    places = programme_places(y, _rows({"p": score}), rank, rank, {"p": 150})
    assert [p.scorer for p in places] == [PROGRAMME_ELIGIBLE, MODEL_WITHIN_ELIGIBLE]
    groups = pd.DataFrame({"g": np.where(np.arange(n) % 2 == 0, "a", "b")})
    table = subgroup_metrics(y, {"model": np.full(n, 0.2)}, groups, places=places)
    assert PROGRAMME_ELIGIBLE in set(table["scorer"])
    assert MODEL_WITHIN_ELIGIBLE not in set(table["scorer"])
    title = places_title(_result(table, {"p": 150}), PROGRAMME_ELIGIBLE, "p", "g")
    assert "150 places: the model's choice not shown" in title


@pytest.mark.parametrize(("left_events", "shown"), [(5, False), (20, True)])
def test_a_programme_goes_when_the_rules_places_leave_out_1_to_10_events(left_events, shown):
    # 200 eligible, 150 places: metrics.csv gives the events on the rule's 150 places,
    # the list's all row would give the events of the 50 it leaves out.
    n = 1_000
    eligible = np.arange(n) < 200
    y = np.zeros(n)
    y[:60] = 1  # on the rule's places (rows 0-149, criteria met 1)
    y[150 : 150 + left_events] = 1  # among the 50 it leaves out
    score = np.where(eligible, 1000.0 + (np.arange(n) < 150), 0.0)
    rank = np.arange(n, dtype=float)
    places = programme_places(y, _rows({"p": score}), rank, rank, {"p": 150})
    assert bool(places) is shown


def test_a_list_goes_with_the_models_places_when_the_step_between_them_is_small() -> None:
    # A reviewer's case: the model's places would be dropped alone, but metrics.csv gives
    # their events (model_within_eligible's precision), so the list's events, less those,
    # would still be the 3 events of the eligible the model leaves out. The list goes too.
    n = 2_000
    y = np.zeros(n)
    eligible = np.arange(n) < 400
    y[:150] = 1  # on the model's places (rows 0-199)
    y[200:203] = 1  # 3 among the 200 it leaves out
    y[600:900] = 1
    rank = -np.arange(n, dtype=float)
    rank[1000:1100] += n  # the model's top 200 of everyone: half of them not eligible
    # The rule's own places (rows 100-299) leave out 200 with 100 events: fine on its own.
    score = np.where(eligible, 1000.0 + ((np.arange(n) >= 100) & (np.arange(n) < 300)), 0.0)
    rows = _rows({"p": score})
    places = programme_places(y, rows, rank, rank, {"p": 200})
    assert [p.scorer for p in places] == [PROGRAMME_ELIGIBLE, MODEL_WITHIN_ELIGIBLE]
    ranked = published_lists(rows, {"model": rank}, {"p": 200})
    assert without_small_steps(y, places, ranked) == []


def test_a_list_6_people_short_of_a_published_top_k_is_left_out() -> None:
    # A reviewer's case: the list is the model's top 260 (a capacity metrics.csv shows)
    # less 6 people; the table selects at another capacity.
    n = 2_000
    rng = np.random.default_rng(5)
    y = (rng.random(n) < 0.3).astype(float)
    rank = rng.random(n) + y
    order = np.argsort(-rank, kind="stable")
    listed = np.zeros(n, dtype=bool)
    listed[order[:260]] = True
    listed[order[[3, 40, 77, 120, 199, 250]]] = False
    rows = _rows({"a": np.where(listed, 1000.0, 0.0)})
    ks = {"a": 5_000, "isr": 260, "big": 900}
    places = programme_places(y, rows, rank, rank, ks)
    assert [p.programme for p in places] == ["a"]  # fine on its own
    assert without_small_steps(y, places, published_lists(rows, {"model": rank}, ks)) == []
    # Without that capacity there is nothing to step from.
    ks.pop("isr")
    assert without_small_steps(y, places, published_lists(rows, {"model": rank}, ks)) == places


def test_a_list_goes_when_the_models_places_went_for_another_step() -> None:
    # A reviewer's case: the model's places within the eligible (300) are 5 people from
    # its published top 295 and go; the list's events less theirs (metrics.csv gives them)
    # would still be the 8 events of the 200 eligible the model leaves out.
    rng = np.random.default_rng(7)
    n = 3_000
    model = np.sort(rng.random(n))[::-1]
    y = np.zeros(n)
    y[:295] = rng.random(295) < 0.85
    listed = np.zeros(n, dtype=bool)
    listed[:295] = True
    rest = 295 + np.flatnonzero(rng.random(n - 295) < 0.08)[:205]
    listed[rest] = True
    y[rest[:5]] = 1
    y[rest[5:][rng.permutation(200)[:8]]] = 1
    y[~listed] = np.maximum(y[~listed], rng.random(n)[~listed] < 0.25)
    rows = _rows({"a": np.where(listed, 1000.0, 0.0) + rng.integers(0, 4, n)})
    ks = {"isr": 295, "a": 300}
    places = programme_places(y, rows, model, model, ks)
    assert [p.scorer for p in places] == [PROGRAMME_ELIGIBLE, MODEL_WITHIN_ELIGIBLE]
    assert without_small_steps(y, places, published_lists(rows, {"model": model}, ks)) == []


def test_a_step_to_a_list_with_ties_at_its_cut_off_is_taken_at_expected_value() -> None:
    # A reviewer's case: the rule baseline's top 405 cuts 5 rows into a block of 20 tied
    # rows whose 4 events are its first 5. By row order the list's step to it holds no
    # event; metrics.csv counts the tie at its expected value: 15 x 4 / 20 = 3 events.
    rng = np.random.default_rng(2)
    n = 3_000
    y = (rng.random(n) < 0.3).astype(float)
    model = 1 / (1 + np.exp(-(1.5 * y + rng.normal(0, 1, n))))
    rule = np.zeros(n)
    rule[:400], rule[400:420], rule[420:] = 3, 2, rng.integers(0, 2, n - 420)
    y[400:420] = 0
    y[400:404] = 1
    rows = _rows({"a": np.where(rule >= 2, 1000.0, 0.0) + rng.integers(0, 3, n)})
    ks = {"a": 1_000, "x": 405}
    places = programme_places(y, rows, model, model, ks)
    assert [p.scorer for p in places] == [PROGRAMME_ELIGIBLE]
    ranked = published_lists(rows, {"model": model, "rule": rule}, ks)
    assert ranked["rule@k_x"][400:420].tolist() == [0.25] * 20
    assert without_small_steps(y, places, ranked) == []
