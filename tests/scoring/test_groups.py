"""Who is eligible and who is offered, by group: counts against hand-built counties, and no
count of 1 to 10 readable from the table by anyone who knows how it was made."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from riskstrat.modeling._subgroup_names import ALL
from riskstrat.scoring._groups import (
    ANY_PROGRAMME,
    COUNTS,
    group_counts,
    group_records,
    groups_markdown,
)

AS_OF = dt.date(2025, 1, 1)
MIN_CELL = 11


def _county(groups: dict[str, tuple[int, dict[str, tuple[int, int]]]], born="1990-01-01"):
    """Persons and a cohort from ``{race: (scored, {programme: (eligible, selected)})}``:
    in each group the first people are eligible and the first of those selected."""
    persons, cohort = [], []
    for race, (scored, programmes) in groups.items():
        ids = [f"{race[:3]}{i:04d}" for i in range(scored)]
        persons += [
            {"person_id": i, "race_ethnicity": race, "sex": "F", "birth_date": born, "spa": 1}
            for i in ids
        ]
        for programme, (eligible, selected) in programmes.items():
            cohort += [
                {"person_id": i, "program": programme, "selected": n < selected}
                for n, i in enumerate(ids[:eligible])
            ]
    persons = pd.DataFrame(persons).assign(birth_date=lambda t: pd.to_datetime(t["birth_date"]))
    cohort = pd.DataFrame(cohort, columns=["person_id", "program", "selected"])
    return persons, cohort


def _table(persons, cohort, programmes=("fsp", "reentry")):
    return group_counts(persons["person_id"], persons, cohort, list(programmes), AS_OF)


def _cell(table, attribute, group, programme):
    row = table[
        (table["attribute"] == attribute)
        & (table["group"] == group)
        & (table["programme"] == programme)
    ]
    assert len(row) == 1
    return tuple(None if pd.isna(v) else int(v) for v in row[list(COUNTS)].iloc[0])


def test_counts_are_the_hand_built_ones_where_nothing_is_small():
    persons, cohort = _county(
        {
            "Black": (40, {"reentry": (22, 11)}),
            "White": (40, {}),
            "Hispanic/Latino": (50, {"reentry": (33, 22), "fsp": (11, 0)}),
        }
    )
    table = _table(persons, cohort)
    race = "race_ethnicity"
    assert _cell(table, race, "Black", "reentry") == (40, 22, 11)
    assert _cell(table, race, "White", "reentry") == (40, 0, 0)
    assert _cell(table, race, "Hispanic/Latino", "reentry") == (50, 33, 22)
    assert _cell(table, race, "Hispanic/Latino", "fsp") == (50, 11, 0)
    assert _cell(table, race, "Black", "fsp") == (40, 0, 0)
    # Any programme: Hispanic/Latino people eligible for FSP are the first 11 of the 33
    # eligible for Re-entry, so 33 eligible for one or the other and 22 offered.
    assert _cell(table, race, "Hispanic/Latino", ANY_PROGRAMME) == (50, 33, 22)
    assert _cell(table, race, ALL, "reentry") == (130, 55, 33)
    assert _cell(table, race, ALL, ANY_PROGRAMME) == (130, 55, 33)
    # One group each: sex F, SPA 1, everyone 35 on the as-of date.
    assert _cell(table, "sex", "F", "reentry") == (130, 55, 33)
    assert _cell(table, "spa", "1", "fsp") == (130, 11, 0)
    assert _cell(table, "age_band", "26-44", ANY_PROGRAMME) == (130, 55, 33)
    assert table["attribute"].unique().tolist() == ["race_ethnicity", "sex", "age_band", "spa"]
    groups = table.loc[table["attribute"] == race, "group"].unique().tolist()
    assert groups == ["Black", "Hispanic/Latino", "White", ALL]
    assert table.loc[table["group"] == "Black", "programme"].tolist() == [
        "fsp",
        "reentry",
        ANY_PROGRAMME,
    ]


@pytest.mark.parametrize(("eligible", "shown"), [(11, True), (10, False)])
def test_eleven_eligible_are_shown_and_ten_hidden(eligible, shown):
    persons, cohort = _county(
        {
            "Asian/Pacific Islander": (30, {"reentry": (eligible, 0)}),
            "Black": (40, {"reentry": (25, 0)}),
            "White": (45, {"reentry": (30, 0)}),
            "Hispanic/Latino": (50, {"reentry": (35, 0)}),
        }
    )
    table = _table(persons, cohort)
    _scored, count, _selected = _cell(table, "race_ethnicity", "Asian/Pacific Islander", "reentry")
    assert count == (eligible if shown else None)
    if not shown:  # and not worked out from the total and the others either
        assert _audit(table) == []


def test_a_programme_with_under_eleven_eligible_in_all_shows_none_by_group():
    persons, cohort = _county(
        {
            "Black": (40, {"reentry": (20, 20)}),
            "White": (40, {"reentry": (15, 15)}),
            "Other/Multiple": (40, {}),
        }
    )
    # Ten people eligible for RBC alone: six Black, four White, none eligible for Re-entry.
    rbc = [f"Bla{i:04d}" for i in range(34, 40)] + [f"Whi{i:04d}" for i in range(36, 40)]
    cohort = pd.concat(
        [cohort, pd.DataFrame({"person_id": rbc, "program": "rbc", "selected": True})],
        ignore_index=True,
    )
    table = _table(persons, cohort, ("rbc", "reentry"))
    by_group = table[(table["programme"] == "rbc") & (table["group"] != ALL)]
    assert by_group["eligible"].isna().all() and by_group["selected"].isna().all()
    assert _cell(table, "race_ethnicity", ALL, "rbc") == (120, 10, 10)  # summary.json's total
    # Nor are they in "any programme", where Black less Re-entry would give RBC's six.
    assert _cell(table, "race_ethnicity", "Black", ANY_PROGRAMME) == (40, 20, 20)
    assert _cell(table, "race_ethnicity", ALL, ANY_PROGRAMME) == (120, 35, 35)
    assert _audit(table) == []


@pytest.mark.parametrize(("born", "band"), [("2007-01-01", "18-25"), ("2007-01-02", "0-17")])
def test_the_age_band_is_the_age_on_the_as_of_date(born, band):
    # 18 on the as-of date itself counts as 18; a day short of it, as a child.
    persons, cohort = _county({"Black": (22, {"reentry": (11, 11)})}, born=born)
    table = _table(persons, cohort)
    assert table.loc[table["attribute"] == "age_band", "group"].unique().tolist() == [band, ALL]
    assert _cell(table, "age_band", band, "reentry") == (22, 11, 11)


def test_people_not_in_the_persons_table_or_unrecorded_are_a_group_of_their_own():
    persons, cohort = _county({"Black": (20, {"reentry": (11, 11)}), "White": (20, {})})
    persons.loc[persons.index[:12], "spa"] = pd.NA
    table = _table(persons, cohort)
    assert _cell(table, "spa", "not recorded", ANY_PROGRAMME)[0] == 12


def test_summary_markdown_shows_shares_and_marks_hidden_counts():
    persons, cohort = _county(
        {
            "Black": (40, {"reentry": (22, 11)}),
            "White": (40, {"reentry": (5, 5)}),
            "Hispanic/Latino": (50, {"reentry": (33, 22)}),
        }
    )
    scored = SimpleNamespace(persons=persons[["person_id"]], cohort=cohort)
    records = group_records(scored, persons, ["reentry"], AS_OF)
    text = "\n".join(groups_markdown(records))
    assert "### By race/ethnicity" in text
    row = next(line for line in text.splitlines() if line.startswith("| White |"))
    # 40 of the 130 scored; the 5 eligible hidden (as is whatever would give them away).
    assert row.startswith("| White | 40 (30.8%) | – · ")
    assert "| all | 130 | 60 · 38 | 60 · 38 |" in text


def _audit(table: pd.DataFrame) -> list[tuple]:
    """(attribute, group, what) a reader can pin within 1 to 10, knowing everything shown,
    every total, and how the counts relate across programmes.

    Written apart from the module's own audit: per attribute, one integer program over
    every hidden count at once, with each group's people scored the same in every
    programme, selected <= eligible <= scored, each programme's count <= any programme's,
    and any programme's <= the programmes' sum. Pinned: a hidden count, or a difference a
    reader could take (scored - eligible, eligible - selected, any programme's - one
    programme's), whose least and greatest values both lie in 1 to 10.
    """
    found = []
    for attribute, rows in table.groupby("attribute", sort=False):
        found += _audit_attribute(attribute, rows)
    return found


def _audit_attribute(attribute, rows):
    groups = [g for g in rows["group"].unique() if g != ALL]
    whole = rows[rows["group"] == ALL].set_index("programme")
    # A programme with 1 to 10 eligible in all is not in "any programme" (nor by group).
    programmes = [
        p
        for p in whole.index
        if p != ANY_PROGRAMME and not 1 <= whole.loc[p, "eligible"] < MIN_CELL
    ]
    every = list(whole.index)
    value = {
        (r.group, r.programme, c): getattr(r, c)
        for r in rows.itertuples()
        for c in COUNTS
        if r.group != ALL
    }
    totals = {
        (r.programme, c): getattr(r, c) for r in rows.itertuples() if r.group == ALL for c in COUNTS
    }
    # One unknown per hidden count; people scored are one count per group.
    keys = {}
    for g, p, c in value:
        key = (g, "*", "scored") if c == "scored" else (g, p, c)
        if pd.isna(value[(g, p, c)]) and key not in keys:
            keys[key] = len(keys)
    if not keys:
        return []

    def term(g, p, c):
        key = (g, "*", "scored") if c == "scored" else (g, p, c)
        return key, (0.0 if key in keys else float(value[(g, p, c)]))

    rows_a, lo, hi = [], [], []

    def add(terms, low, high):
        row, constant = np.zeros(len(keys)), 0.0
        for coefficient, (g, p, c) in terms:
            key, shown = term(g, p, c)
            if key in keys:
                row[keys[key]] += coefficient
            constant += coefficient * shown
        if row.any():
            rows_a.append(row)
            lo.append(low - constant)
            hi.append(high - constant)

    for p in every:
        for c in ("eligible", "selected"):
            add([(1, (g, p, c)) for g in groups], totals[(p, c)], totals[(p, c)])
    add(
        [(1, (g, every[0], "scored")) for g in groups],
        totals[(every[0], "scored")],
        totals[(every[0], "scored")],
    )
    differences = []
    for g in groups:
        for p in every:
            differences += [
                [(1, (g, p, "scored")), (-1, (g, p, "eligible"))],
                [(1, (g, p, "eligible")), (-1, (g, p, "selected"))],
            ]
        for p in programmes:
            for c in ("eligible", "selected"):
                differences.append([(1, (g, ANY_PROGRAMME, c)), (-1, (g, p, c))])
        for c in ("eligible", "selected"):
            add([(1, (g, p, c)) for p in programmes] + [(-1, (g, ANY_PROGRAMME, c))], 0, np.inf)
    for terms in differences:
        add(terms, 0, np.inf)
    constraint = LinearConstraint(np.array(rows_a), lo, hi)
    targets = [[(1, k)] for k in value if pd.isna(value[k])] + differences
    pinned = []
    for terms in targets:
        published = sum(c * totals[(p, n)] for c, (_g, p, n) in terms)
        if published < MIN_CELL:
            continue  # the totals give it (a count of at most 10 in all), not the table
        objective, constant = np.zeros(len(keys)), 0.0
        for coefficient, (g, p, c) in terms:
            key, shown = term(g, p, c)
            if key in keys:
                objective[keys[key]] += coefficient
            constant += coefficient * shown
        if not objective.any():
            continue
        ends = []
        for sign in (1, -1):
            result = milp(
                sign * objective,
                constraints=constraint,
                integrality=np.ones(len(keys)),
                bounds=Bounds(0, np.inf),
            )
            assert result.success, result.message
            ends.append(sign * result.fun + constant)
        if min(ends) >= 1 and max(ends) < MIN_CELL:
            pinned.append((attribute, terms, ends))
    return pinned


def _random_county(rng):
    races = ["Black", "White", "Hispanic/Latino", "Asian/Pacific Islander", "Other/Multiple"]
    sizes = rng.integers(1, 120, size=len(races))
    persons = pd.DataFrame(
        {
            "person_id": [f"p{i:05d}" for i in range(sizes.sum())],
            "race_ethnicity": np.repeat(races, sizes),
            "sex": rng.choice(["F", "M", "X", "U"], size=sizes.sum(), p=[0.5, 0.45, 0.03, 0.02]),
            "birth_date": pd.to_datetime("1950-01-01")
            + pd.to_timedelta(rng.integers(0, 365 * 70, size=sizes.sum()), unit="D"),
            "spa": rng.integers(1, 4, size=sizes.sum()),
        }
    )
    cohort = []
    for programme, share in (("fsp", 0.3), ("reentry", 0.15), ("rbc", 0.05)):
        lean = rng.random(len(races))  # groups eligible at different rates
        by_race = dict(zip(races, lean, strict=True))
        for person, race in zip(persons["person_id"], persons["race_ethnicity"], strict=True):
            if rng.random() < share * 2 * by_race[race]:
                cohort.append(
                    {"person_id": person, "program": programme, "selected": rng.random() < 0.8}
                )
    return persons, pd.DataFrame(cohort, columns=["person_id", "program", "selected"])


@pytest.mark.parametrize("seed", range(12))
def test_no_count_of_one_to_ten_can_be_read_or_worked_out(seed):
    persons, cohort = _random_county(np.random.default_rng(seed))
    table = _table(persons, cohort, ("fsp", "reentry", "rbc"))
    shown = table.loc[table["group"] != ALL, list(COUNTS)].to_numpy(dtype=float).ravel()
    shown = shown[~np.isnan(shown)]
    assert not ((shown >= 1) & (shown < MIN_CELL)).any()
    assert _audit(table) == []
    # Totals are what summary.json publishes: exact.
    for programme in ("fsp", "reentry", "rbc"):
        rows = cohort[cohort["program"] == programme]
        total = _cell(table, "sex", ALL, programme)
        assert total == (len(persons), len(rows), int(rows["selected"].sum()))
