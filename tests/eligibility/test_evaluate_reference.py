"""The vectorised evaluator agrees with a plain per-row reading of the rules."""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta

from riskstrat.eligibility import evaluate_programs, load_programs
from riskstrat.eligibility._programs import Rule, iter_leaves

_OPS = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


def _leaf(rule: Rule, row: dict) -> bool:
    value = row[rule.feature]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return False
    if rule.op == "in":
        return value in rule.value
    if rule.op == "within_months":  # calendar months back, by the day
        as_of = row["as_of"].date()
        return value <= (as_of - (as_of - relativedelta(months=rule.value))).days
    return bool(_OPS[rule.op](value, rule.value))


def _rule(rule: Rule, row: dict) -> bool:
    if rule.kind == "leaf":
        return _leaf(rule, row)
    results = [_rule(child, row) for child in rule.children]
    return {"all": all(results), "any": any(results), "none": not any(results)}[rule.kind]


def _random_features(programs, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # As-of dates whose months back differ in length (and 31 May, whose 3 months back has
    # no 31st), so a day-count reading of within_months would disagree somewhere.
    days = pd.to_datetime(["2025-01-01", "2025-03-01", "2024-02-29", "2025-05-31", "2025-07-01"])
    frame = pd.DataFrame({"person_id": [f"p{i}" for i in range(n)], "as_of": rng.choice(days, n)})
    used = {leaf.feature for c in programs for leaf, _ in iter_leaves(programs[c].criteria, c)}
    for name in sorted(used):
        if name.startswith(("has_", "is_", "in_", "on_")) or name.endswith(("_now", "homeless")):
            frame[name] = rng.random(n) < 0.5
        elif name == "mcas_latest":
            scores = rng.integers(17, 86, n).astype(float)
            scores[rng.random(n) < 0.3] = np.nan  # never assessed
            frame[name] = scores
        else:
            frame[name] = rng.integers(0, 100 if name.startswith(("age", "days")) else 8, n)
    return frame


def test_vectorised_matches_per_row_reference() -> None:
    programs = load_programs()
    features = _random_features(programs, 300, seed=3)
    long = evaluate_programs(features, programs)
    rows = features.to_dict("records")
    for code in programs:
        got = long[long["program"] == code]
        expected_eligible = [_rule(programs[code].criteria, row) for row in rows]
        assert got["eligible"].tolist() == expected_eligible, code
        leaves = list(
            dict.fromkeys(leaf.code for leaf, _ in iter_leaves(programs[code].criteria, code))
        )
        by_code = {leaf.code: leaf for leaf, _ in iter_leaves(programs[code].criteria, code)}
        expected_codes = [[c for c in leaves if _leaf(by_code[c], row)] for row in rows]
        assert got["criteria_met"].tolist() == expected_codes, code
        assert [len(r) for r in got["reasons"]] == [len(c) for c in expected_codes]
    # The random frame makes every programme both met and missed somewhere.
    assert long.groupby("program")["eligible"].agg(["min", "max"]).eq([False, True]).all().all()
