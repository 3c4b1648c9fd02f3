from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskstrat.scoring import (
    ProgramSlots,
    enrolled_pairs,
    net_of_enrolment,
    quarter_capacity,
    select_cohort,
    slots_from_programs,
)
from riskstrat.scoring._selection import DUPLICATE_PAIRS, MISSING_SLOTS


def _slots(**caps):
    """Care-coordination programmes isr > toc > reentry (priority), plus non-exclusive fsp."""
    prio = {"isr": 0, "toc": 1, "reentry": 2, "fsp": 3}
    return {
        p: ProgramSlots(p, caps.get(p), care_coordination=p != "fsp", priority=prio[p])
        for p in prio
    }


def _cands(rows):
    return pd.DataFrame(rows, columns=["person_id", "program", "eligible", "risk"])


def _chosen(result):
    picked = result.loc[result["selected"]]
    return {p: sorted(g["person_id"]) for p, g in picked.groupby("program")}


@pytest.mark.parametrize(
    ("amount", "per", "expected"),
    [(1250, "month", 3750), (900, "year", 225), (1020, "year", 255), (15000, "total", 15000)],
)
def test_quarter_capacity(amount, per, expected):
    assert quarter_capacity(amount, per) == expected


def test_quarter_capacity_unlimited_and_bad_period():
    assert quarter_capacity(None, "month") is None
    with pytest.raises(ValueError, match="'week' is not one of"):
        quarter_capacity(10, "week")


def test_capacity_cut_takes_highest_risk_and_breaks_ties_by_person_id():
    cands = _cands(
        [
            ("p3", "toc", True, 0.5),
            ("p1", "toc", True, 0.5),
            ("p2", "toc", True, 0.9),
            ("p4", "toc", True, 0.1),
            ("p5", "toc", False, 0.99),  # not eligible: never a candidate
        ]
    )
    result = select_cohort(cands, _slots(toc=2))
    assert list(result["person_id"]) == ["p2", "p1", "p3", "p4"]
    assert list(result["rank"]) == [1, 2, 3, 4]
    assert list(result["status"]) == ["selected", "selected", "over_capacity", "over_capacity"]


def test_calibrated_ties_are_broken_by_the_raw_score_before_person_id():
    # Isotonic calibration puts p1 and p3 on one probability; the model's raw score still
    # ranks p3 above p1, so p3 takes the last place.
    cands = _cands(
        [("p1", "toc", True, 0.5), ("p3", "toc", True, 0.5), ("p2", "toc", True, 0.9)]
    ).assign(raw_score=[0.1, 0.4, 2.0])
    result = select_cohort(cands, _slots(toc=2))
    assert list(result["person_id"]) == ["p2", "p3", "p1"]
    assert list(result["selected"]) == [True, True, False]


def test_person_eligible_for_isr_and_toc_gets_isr_and_toc_slot_passes_on():
    cands = _cands(
        [
            ("a", "isr", True, 0.9),
            ("a", "toc", True, 0.9),
            ("b", "toc", True, 0.8),
            ("c", "toc", True, 0.7),
        ]
    )
    result = select_cohort(cands, _slots(isr=1, toc=1))
    assert _chosen(result) == {"isr": ["a"], "toc": ["b"]}
    status = result.set_index(["person_id", "program"])["status"]
    assert status[("a", "toc")] == "assigned_other"
    assert status[("c", "toc")] == "over_capacity"


def test_chained_releases_iterate_until_stable():
    # a is first in line everywhere, b for toc and reentry, c for reentry only.
    cands = _cands(
        [
            ("a", "isr", True, 0.9),
            ("a", "toc", True, 0.9),
            ("a", "reentry", True, 0.9),
            ("b", "toc", True, 0.8),
            ("b", "reentry", True, 0.8),
            ("c", "reentry", True, 0.7),
        ]
    )
    result = select_cohort(cands, _slots(isr=1, toc=1, reentry=1))
    assert _chosen(result) == {"isr": ["a"], "reentry": ["c"], "toc": ["b"]}


def test_non_care_coordination_programmes_combine():
    cands = _cands([("a", "isr", True, 0.9), ("a", "fsp", True, 0.9)])
    assert _chosen(select_cohort(cands, _slots(isr=1, fsp=1))) == {"fsp": ["a"], "isr": ["a"]}


def test_already_enrolled_persons_are_skipped_and_slot_passes_on():
    cands = _cands(
        [
            ("a", "toc", True, 0.9),  # enrolled in reentry: care coordination conflict
            ("b", "toc", True, 0.8),  # enrolled in toc itself
            ("c", "toc", True, 0.7),
            ("a", "fsp", True, 0.9),  # fsp combines with care coordination
        ]
    )
    enrolled = pd.DataFrame({"person_id": ["a", "b"], "program": ["reentry", "toc"]})
    result = select_cohort(cands, _slots(toc=1, fsp=5), enrolled=enrolled)
    assert _chosen(result) == {"fsp": ["a"], "toc": ["c"]}
    status = result.set_index(["person_id", "program"])["status"]
    assert status[("a", "toc")] == "already_enrolled"
    assert status[("b", "toc")] == "already_enrolled"


def test_row_order_does_not_change_the_result():
    rows = [
        ("a", "isr", True, 0.9),
        ("a", "toc", True, 0.9),
        ("b", "toc", True, 0.8),
        ("c", "toc", True, 0.8),
        ("d", "isr", True, 0.95),
    ]
    first = select_cohort(_cands(rows), _slots(isr=1, toc=1))
    second = select_cohort(_cands(rows[::-1]), _slots(isr=1, toc=1))
    pd.testing.assert_frame_equal(first, second)
    # d takes isr (highest risk), so a keeps toc and b, c stay in line.
    assert _chosen(first) == {"isr": ["d"], "toc": ["a"]}


def test_include_ineligible_keeps_them_unranked():
    cands = _cands([("a", "toc", True, 0.9), ("b", "toc", False, 0.8)])
    result = select_cohort(cands, _slots(toc=1), include_ineligible=True)
    assert list(result["status"]) == ["selected", "not_eligible"]
    assert result["rank"].isna().tolist() == [False, True]


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=MISSING_SLOTS.split("(")[0]):
        select_cohort(_cands([("a", "hcss", True, 0.5)]), _slots(toc=1))
    with pytest.raises(ValueError, match=re.escape(DUPLICATE_PAIRS.format(count=1))):
        select_cohort(_cands([("a", "toc", True, 0.5), ("a", "toc", True, 0.4)]), _slots(toc=1))


def test_enrolled_pairs_reads_feature_flags():
    features = pd.DataFrame(
        {
            "person_id": ["a", "b", "c"],
            "enrolled_isr_now": [True, False, False],
            "enrolled_toc_now": [1, 1, 0],
        }
    )
    pairs = enrolled_pairs(features)
    assert sorted(map(tuple, pairs.to_numpy())) == [("a", "isr"), ("a", "toc"), ("b", "toc")]


def test_slots_from_default_programmes_yaml():
    from riskstrat.eligibility import load_programs

    slots = slots_from_programs(load_programs(), priority=("toc",))
    assert slots["reentry"].capacity == 3750  # 1,250 per month
    assert slots["rbc"].capacity == 225  # 900 per year
    assert slots["hcss"].capacity is None
    assert slots["toc"].priority == 0
    assert slots["fsp"].care_coordination is False
    assert slots["isr"].care_coordination is True
    assert (slots["fsp"].caseload, slots["sud_ens"].caseload) == (15000, 720)  # at a time
    assert slots["reentry"].caseload is None


def test_a_caseload_offers_only_the_places_its_clients_leave_free():
    slots = {
        "fsp": ProgramSlots("fsp", 3, care_coordination=False, priority=3, caseload=3),
        "isr": ProgramSlots("isr", 2, care_coordination=True, priority=0),
    }
    enrolled = pd.DataFrame({"person_id": ["a", "b", "b"], "program": ["fsp", "fsp", "fsp"]})
    netted = net_of_enrolment(slots, enrolled)
    assert (netted["fsp"].capacity, netted["fsp"].enrolled_now) == (1, 2)  # 3 less a and b
    assert netted["isr"] == slots["isr"]  # a quarterly intake, not a caseload
    full = pd.DataFrame({"person_id": list("abcde"), "program": ["fsp"] * 5})
    assert net_of_enrolment(slots, full)["fsp"].capacity == 0  # never below zero
    candidates = _cands(
        [(p, "fsp", True, r) for p, r in zip("cdef", [0.9, 0.8, 0.7, 0.6], strict=True)]
    )
    result = select_cohort(candidates, netted, enrolled=enrolled)
    assert _chosen(result) == {"fsp": ["c"]}


def test_no_eligible_candidates_gives_an_empty_result():
    result = select_cohort(_cands([("a", "toc", False, 0.9)]), _slots(toc=1))
    assert result.empty
    assert {"rank", "status", "selected"} <= set(result.columns)


def _reference_greedy(cands, slots, enrolled):
    """Fill programmes one at a time in priority order (the documented equivalent)."""
    taken_cc: set[str] = set()
    enrolled_in = {}
    for person, program in enrolled:
        enrolled_in.setdefault(person, set()).add(program)
    cc = {p for p, s in slots.items() if s.care_coordination}
    chosen = {}
    for program in sorted(slots, key=lambda p: slots[p].priority):
        line = sorted((c for c in cands if c[1] == program and c[2]), key=lambda c: (-c[3], c[0]))
        picked = []
        for person, _, _, _ in line:
            mine = enrolled_in.get(person, set())
            if program in mine or (program in cc and mine & cc):
                continue
            if program in cc and person in taken_cc:
                continue
            cap = slots[program].capacity
            if cap is not None and len(picked) >= cap:
                break
            picked.append(person)
        if program in cc:
            taken_cc.update(picked)
        if picked:
            chosen[program] = sorted(picked)
    return chosen


@st.composite
def _cases(draw):
    persons = [f"p{i}" for i in range(draw(st.integers(1, 12)))]
    programs = ["isr", "toc", "reentry", "fsp"]
    rows = []
    for person in persons:
        risk = draw(st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9]))  # ties on purpose
        for program in programs:
            if draw(st.booleans()):
                rows.append((person, program, draw(st.booleans()), risk))
    caps = {p: draw(st.one_of(st.none(), st.integers(0, 4))) for p in programs}
    enrolled = [
        (person, program)
        for person in persons
        for program in programs
        if draw(st.integers(0, 9)) == 0
    ]
    return rows, caps, enrolled


@settings(max_examples=60, deadline=None)
@given(_cases())
def test_iterated_releases_match_filling_in_priority_order(case):
    rows, caps, enrolled = case
    slots = _slots(**caps)
    enrolled_frame = pd.DataFrame(enrolled, columns=["person_id", "program"])
    result = select_cohort(_cands(rows), slots, enrolled=enrolled_frame)
    assert _chosen(result) == _reference_greedy(rows, slots, enrolled)
    cc = result.loc[result["selected"] & (result["program"] != "fsp"), "person_id"]
    assert cc.is_unique
