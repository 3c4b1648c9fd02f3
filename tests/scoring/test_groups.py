"""Who is eligible and who is offered, by group: counts against hand-built counties, and no
count of 1 to 10 readable from the table by anyone who knows how it was made."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from riskstrat.modeling._disclosure import Derived, narrow_cells, suppress
from riskstrat.modeling._subgroup_names import ALL
from riskstrat.scoring._groups import (
    ANY_PROGRAMME,
    COUNTS,
    _derived,
    group_counts,
    group_records,
    groups_markdown,
    most_overrepresented,
)
from riskstrat.scoring._selection import ProgramSlots

AS_OF = dt.date(2025, 1, 1)
MIN_CELL = 11
CARE_COORDINATION = ("reentry", "rbc")  # one place at most per person


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
    ids = persons["person_id"]
    return group_counts(ids, persons, cohort, list(programmes), AS_OF, CARE_COORDINATION)


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
    # One group each (sex F, SPA 1, everyone 35 on the as-of date) is the county: the all
    # rows alone.
    assert _cell(table, "sex", ALL, "reentry") == (130, 55, 33)
    assert _cell(table, "spa", ALL, "fsp") == (130, 11, 0)
    assert table.loc[table["attribute"] == "age_band", "group"].unique().tolist() == [ALL]
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
    # Its total too: 1 to 10 people (summary.json, for the staff, has it).
    assert _cell(table, "race_ethnicity", ALL, "rbc") == (120, None, None)
    # Nor are they in "any programme", where Black less Re-entry would give RBC's six.
    assert _cell(table, "race_ethnicity", "Black", ANY_PROGRAMME) == (40, 20, 20)
    assert _cell(table, "race_ethnicity", ALL, ANY_PROGRAMME) == (120, 35, 35)
    assert _audit(table) == []


def _built(groups: dict[str, int], rows: dict[str, tuple[range, range]]):
    """Persons of each race (``groups``: how many) and a cohort where, in every group, the
    people at positions ``rows[programme][0]`` are eligible and ``[1]`` selected."""
    persons = pd.DataFrame(
        [
            {"person_id": f"{race[:3]}{i:04d}", "race_ethnicity": race, "sex": "F", "spa": 1}
            for race, n in groups.items()
            for i in range(n)
        ]
    ).assign(birth_date=pd.Timestamp("1990-01-01"))
    cohort = pd.DataFrame(
        [
            {"person_id": f"{race[:3]}{i:04d}", "program": programme, "selected": i in chosen}
            for race in groups
            for programme, (eligible, chosen) in rows.items()
            for i in eligible
        ]
    )
    return persons, cohort


def test_people_eligible_for_two_programmes_are_not_given_away():
    # In each group 30 eligible for FSP and 20 for Re-entry, 45 for either: 5 for both,
    # which the three shown counts would give (a reviewer's case).
    rows = {"fsp": (range(0, 30), range(0)), "reentry": (range(25, 45), range(0))}
    persons, cohort = _built({"Black": 100, "White": 100, "Hispanic/Latino": 100}, rows)
    table = _table(persons, cohort)
    assert _audit(table) == []
    for group in ("Black", "White", "Hispanic/Latino"):
        cells = [_cell(table, "race_ethnicity", group, p)[1] for p in ("fsp", "reentry", "any")]
        assert None in cells


def test_one_programmes_list_within_anothers_gives_no_difference_away():
    # ISR's eligible all among FSP's (25 of FSP's 30 in each group): the 5 eligible for FSP
    # and not ISR are people a reader who knows the rules can count. Re-entry's 30 others
    # keep "any programme" from giving it already.
    rows = {
        "fsp": (range(0, 30), range(0)),
        "isr": (range(0, 25), range(0)),
        "reentry": (range(50, 80), range(0)),
    }
    persons, cohort = _built({"Black": 100, "White": 100, "Hispanic/Latino": 100}, rows)
    table = _table(persons, cohort, ("fsp", "isr", "reentry"))
    nests = [(("isr", "eligible"), ("fsp", "eligible"))]
    assert _audit(table, nests=nests) == []
    for group in ("Black", "White", "Hispanic/Latino"):
        cells = [_cell(table, "race_ethnicity", group, p)[1] for p in ("fsp", "isr")]
        assert None in cells


def test_people_offered_no_care_coordination_are_not_given_away():
    # A care-coordination place is one per person: offered any programme (40) less offered
    # Re-entry (20) or RBC (15) leaves the 5 offered FSP alone.
    rows = {
        "reentry": (range(0, 20), range(0, 20)),
        "rbc": (range(20, 35), range(20, 35)),
        "fsp": (range(24, 40), range(24, 40)),
    }
    persons, cohort = _built({"Black": 100, "White": 100, "Hispanic/Latino": 100}, rows)
    table = _table(persons, cohort, ("fsp", "reentry", "rbc"))
    assert _audit(table) == []
    for group in ("Black", "White", "Hispanic/Latino"):
        cells = [_cell(table, "race_ethnicity", group, p)[2] for p in ("reentry", "rbc", "any")]
        assert None in cells


def test_a_small_overlap_held_by_one_group_is_not_given_away():
    # 5 people eligible for both programmes, all Black (a reviewer's case): the county's 5
    # is worked out from the totals, so no group may be shown as the only one holding it.
    persons, _ = _built({"Black": 100, "White": 100, "Hispanic/Latino": 100}, {})
    rows = []
    for race in ("Black", "White", "Hispanic/Latino"):
        ids = [f"{race[:3]}{i:04d}" for i in range(100)]
        start = 25 if race == "Black" else 30
        rows += [
            {"person_id": i, "program": "fsp", "selected": k < 20} for k, i in enumerate(ids[:30])
        ]
        rows += [
            {"person_id": i, "program": "reentry", "selected": k < 12}
            for k, i in enumerate(ids[start : start + 20])
        ]
    cohort = pd.DataFrame(rows)
    table = _table(persons, cohort)
    totals = _true_totals(persons, cohort, ["fsp", "reentry"])
    assert totals[(ANY_PROGRAMME, "eligible")] == 145
    assert _audit(table, ["fsp", "reentry"], totals) == []


def test_a_hidden_total_worked_out_gives_no_group_away():
    # Care coordination only: offered any programme = offered HCSS + SUD-ENS + Re-entry,
    # so Re-entry's 5 offers (hidden: 1 to 10) are worked out, all to Black people; shown
    # 0s for the others would give the 5 to them.
    offered = {"Black": 5, "White": 0, "Hispanic/Latino": 0}
    persons, cohort = _built({race: 100 for race in offered}, {})
    rows = []
    for race, n in offered.items():
        ids = [f"{race[:3]}{i:04d}" for i in range(100)]
        rows += [
            {"person_id": i, "program": "hcss", "selected": k < 20} for k, i in enumerate(ids[:30])
        ]
        rows += [
            {"person_id": i, "program": "sud_ens", "selected": k < 15}
            for k, i in enumerate(ids[30:50])
        ]
        rows += [
            {"person_id": i, "program": "reentry", "selected": k < n}
            for k, i in enumerate(ids[50:62])
        ]
    cohort = pd.DataFrame(rows)
    programmes = ["hcss", "reentry", "sud_ens"]
    table = group_counts(persons["person_id"], persons, cohort, programmes, AS_OF, programmes)
    assert _cell(table, "race_ethnicity", ALL, "reentry") == (300, 36, None)
    totals = _true_totals(persons, cohort, programmes)
    assert _audit(table, programmes, totals, care_coordination=programmes) == []


@pytest.mark.parametrize(("born", "band"), [("2007-01-01", "18-25"), ("2007-01-02", "0-17")])
def test_the_age_band_is_the_age_on_the_as_of_date(born, band):
    # 18 on the as-of date itself counts as 18; a day short of it, as a child.
    persons, cohort = _county({"Black": (22, {"reentry": (11, 11)})}, born=born)
    adults, _ = _county({"White": (22, {})})  # 35 on the as-of date
    table = _table(pd.concat([persons, adults], ignore_index=True), cohort)
    bands = table.loc[table["attribute"] == "age_band", "group"].unique().tolist()
    assert bands == sorted([band, "26-44"]) + [ALL]
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
    slots = {"reentry": ProgramSlots("reentry", None, True, 1)}
    records = group_records(scored, persons, slots, AS_OF)
    text = "\n".join(groups_markdown(records))
    assert "### By race/ethnicity" in text
    row = next(line for line in text.splitlines() if line.startswith("| White |"))
    # 40 of the 130 scored; the 5 eligible hidden (as is whatever would give them away).
    assert row.startswith("| White | 40 (30.8%) | – · ")
    assert "| all | 130 | 60 · 38 | 60 · 38 |" in text
    # The console's line: Hispanic/Latino people are 33 of the 60 eligible (55.0%) and 50
    # of the 130 scored (38.5%); Black people 22 of 60 and 40 of 130, a smaller gap.
    assert most_overrepresented(records) == (
        "race/ethnicity Hispanic/Latino: 55.0% of those eligible for any programme, 38.5% of "
        "those scored"
    )


def _audit(
    table: pd.DataFrame,
    broad: list[str] | None = None,
    totals: dict | None = None,
    care_coordination: tuple[str, ...] | list[str] = CARE_COORDINATION,
    nests: tuple = (),
) -> list[tuple]:
    """(attribute, what, range) a reader can pin within 1 to 10 from the table alone.

    Written apart from the module's own audit: per attribute, one integer program whose
    unknowns are every hidden count, the ``all`` row's included (a reader knows a total
    only where it is shown). A reader knows: each group's people scored are one count in
    every programme's rows; the groups add up to ``all``; selected <= eligible <= scored;
    each programme shown by group (``broad``: those with 11 or more eligible in all) <=
    any programme <= their sum; a person holds one care-coordination place at most; and,
    given ``totals`` ({(programme, count): true total}), every total, hidden or not (the
    strongest reader: one who worked the hidden ones out); and, for each ``nests`` pair
    ((programme, count), (programme, count)), that the first list lies within the second.
    Pinned, for a group (a
    county-wide count is not a group's):
    a hidden count, or a count of people a reader could take (scored - eligible,
    eligible - selected, scored - selected, any - one programme, the programmes' sum -
    any, any selected - the care-coordination selected), whose least and greatest values
    both lie in 1 to 10.
    """
    found = []
    for attribute, rows in table.groupby("attribute", sort=False):
        found += _audit_attribute(attribute, rows, broad, totals or {}, care_coordination, nests)
    return found


def _audit_attribute(attribute, rows, broad, totals, care_coordination, nests=()):
    groups = [g for g in rows["group"].unique() if g != ALL]
    every = [p for p in rows["programme"].unique()]
    programmes = [p for p in every if p != ANY_PROGRAMME]
    if broad is None:  # those whose total eligible is shown and 11 or more
        whole = rows[rows["group"] == ALL].set_index("programme")["eligible"]
        broad = [p for p in programmes if whole[p] >= MIN_CELL or whole[p] == 0]
    broad = [p for p in programmes if p in broad]
    value = {}
    for r in rows.itertuples():
        for c in COUNTS:
            key = (r.group, "*", "scored") if c == "scored" else (r.group, r.programme, c)
            value[key] = getattr(r, c)
            if r.group == ALL and (r.programme, c) in totals:
                value[key] = totals[(r.programme, c)]
    keys = {k: i for i, k in enumerate(k for k in value if pd.isna(value[k]))}
    if not keys:
        return []

    def linear(terms):
        row, constant = np.zeros(len(keys)), 0.0
        for coefficient, (g, p, c) in terms:
            key = (g, "*", "scored") if c == "scored" else (g, p, c)
            if key in keys:
                row[keys[key]] += coefficient
            else:
                constant += coefficient * float(value[key])
        return row, constant

    rows_a, lo, hi = [], [], []

    def add(terms, low, high):
        row, constant = linear(terms)
        if row.any():
            rows_a.append(row)
            lo.append(low - constant)
            hi.append(high - constant)

    for p in every:
        for c in ("scored", "eligible", "selected"):
            add([(1, (g, p, c)) for g in groups] + [(-1, (ALL, p, c))], 0, 0)
    differences = []
    for g in [*groups, ALL]:
        for p in every:
            differences += [
                [(1, (g, p, "scored")), (-1, (g, p, "eligible"))],
                [(1, (g, p, "eligible")), (-1, (g, p, "selected"))],
                [(1, (g, p, "scored")), (-1, (g, p, "selected"))],
            ]
        for c in ("eligible", "selected"):
            differences += [[(1, (g, ANY_PROGRAMME, c)), (-1, (g, p, c))] for p in broad]
            if broad:
                differences.append([(1, (g, p, c)) for p in broad] + [(-1, (g, ANY_PROGRAMME, c))])
        for (p_in, c_in), (p_out, c_out) in nests:
            differences.append([(1, (g, p_out, c_out)), (-1, (g, p_in, c_in))])
        held = [p for p in broad if p in care_coordination]
        if held:
            differences.append(
                [(1, (g, ANY_PROGRAMME, "selected"))] + [(-1, (g, p, "selected")) for p in held]
            )
    for terms in differences:
        add(terms, 0, np.inf)
    constraint = LinearConstraint(np.array(rows_a), lo, hi)
    targets = [[(1, k)] for k in keys] + differences
    pinned = []
    for terms in targets:
        if any(g == ALL for _k, (g, _p, _c) in terms):
            continue  # a county-wide count
        objective, constant = linear(terms)
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


def _true_totals(persons, cohort, broad):
    totals = {}
    for programme, rows in cohort.groupby("program"):
        totals[(programme, "eligible")] = len(rows)
        totals[(programme, "selected")] = int(rows["selected"].sum())
    wide = cohort[cohort["program"].isin(broad)]
    totals[(ANY_PROGRAMME, "eligible")] = wide["person_id"].nunique()
    totals[(ANY_PROGRAMME, "selected")] = wide.loc[wide["selected"], "person_id"].nunique()
    for programme in [*{p for p, _c in totals}]:
        totals[(programme, "scored")] = len(persons)
    return totals


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
    cohort, held = [], set()
    for programme, share in (("fsp", 0.3), ("reentry", 0.15), ("rbc", 0.05)):
        lean = rng.random(len(races))  # groups eligible at different rates
        by_race = dict(zip(races, lean, strict=True))
        for person, race in zip(persons["person_id"], persons["race_ethnicity"], strict=True):
            if rng.random() < share * 2 * by_race[race]:
                chosen = rng.random() < 0.8
                if programme in CARE_COORDINATION:
                    chosen = chosen and person not in held
                    held |= {person} if chosen else set()
                cohort.append({"person_id": person, "program": programme, "selected": chosen})
    return persons, pd.DataFrame(cohort, columns=["person_id", "program", "selected"])


@pytest.mark.parametrize("seed", range(12))
def test_no_count_of_one_to_ten_can_be_read_or_worked_out(seed):
    persons, cohort = _random_county(np.random.default_rng(seed))
    programmes = ("fsp", "reentry", "rbc")
    table = _table(persons, cohort, programmes)
    shown = table[list(COUNTS)].to_numpy(dtype=float).ravel()
    shown = shown[~np.isnan(shown)]
    assert not ((shown >= 1) & (shown < MIN_CELL)).any()
    eligible = cohort["program"].value_counts()
    broad = [p for p in programmes if not 1 <= eligible.get(p, 0) < MIN_CELL]
    assert _audit(table, broad, _true_totals(persons, cohort, broad)) == []
    # The totals shown are the true ones.
    for programme in programmes:
        rows = cohort[cohort["program"] == programme]
        truth = (len(persons), len(rows), int(rows["selected"].sum()))
        total = _cell(table, "sex", ALL, programme)
        assert all(t is None or t == v for t, v in zip(total, truth, strict=True))


def test_the_audit_settles_a_table_highs_presolve_calls_infeasible():
    # A reviewer's fuzz case: the true counts satisfy every relation, yet HiGHS's presolve
    # called the audit's problems infeasible, and the audit passed what it could not check:
    # SPA 1's 3 Re-entry offers stood hidden beside SPA 2's 0 under a total of 3.
    columns = ["scored", "eligible:fsp", "selected:fsp", "eligible:reentry", "selected:reentry"]
    columns += ["eligible:sud_ens", "selected:sud_ens", "eligible:any", "selected:any"]
    cells = pd.DataFrame(
        [[189, 0, 0, 12, 3, 8, 4, 20, 7], [169, 0, 0, 9, 0, 8, 1, 17, 1]],
        index=["1", "2"],
        columns=columns,
    )
    hidden = pd.DataFrame(False, index=cells.index, columns=columns)
    hidden[["eligible:reentry", "eligible:sud_ens", "selected:sud_ens", "selected:any"]] = True
    hidden.loc["1", "selected:reentry"] = True
    derived = _derived(
        dict.fromkeys(["fsp", "reentry", "sud_ens", ANY_PROGRAMME]), [], ["reentry", "sud_ens"]
    )
    pinned = narrow_cells(cells, cells.sum(), derived, hidden, MIN_CELL, under_small_totals=True)
    assert ("1", "selected:reentry") in pinned
    shown = suppress(cells, cells.sum(), derived, size="scored", under_small_totals=True)
    assert shown.loc["2", "selected:reentry"]  # SPA 2's 0 is hidden too


def test_a_solution_that_breaks_the_constraints_settles_nothing(monkeypatch, caplog):
    # A solver that answers "optimal" with counts no table could have (HiGHS's presolve has
    # done so): the audit passes nothing on them, hides every count it cannot settle, and
    # says so, with a count and no values.
    import riskstrat.modeling._disclosure as disclosure

    def wrong(objective, **problem):
        return SimpleNamespace(success=True, x=np.full(len(objective), 10_000.0))

    monkeypatch.setattr(disclosure, "milp", wrong)
    cells = pd.DataFrame({"n": [40, 50, 60], "e": [25, 15, 30]}, index=["a", "b", "c"])
    cells.loc["b", "e"] = 5  # hidden: the audit must settle a and c's ranges about it
    derived = {"n_e": Derived({"n": 1, "e": -1}, "e")}
    with caplog.at_level("WARNING", logger="riskstrat.modeling._disclosure"):
        hidden = suppress(cells, cells.sum(), derived)
    assert hidden["e"].all()
    # The messages, not caplog.text: its timestamps hold digits too (00:09:44.025 did).
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "disclosure audit: the solver settled no range for" in said
    assert "25" not in said and "30" not in said
