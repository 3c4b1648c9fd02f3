"""The offer ledger: the re-offer window, offers taken up, and carrying offers on."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from riskstrat.scoring import ProgramSlots, select_cohort
from riskstrat.scoring._offers import (
    last_offered,
    offer_starts,
    open_offers,
    taken_up,
    updated_ledger,
)

D = dt.date


def _ledger(rows):
    return pd.DataFrame(rows, columns=["person_id", "program", "offered_on"])


@pytest.mark.parametrize(
    ("offered", "as_of", "months", "held"),
    [
        (D(2025, 7, 1), D(2025, 12, 31), 6, True),  # a day short of six months
        (D(2025, 7, 1), D(2026, 1, 1), 6, False),  # six months exactly: may be offered again
        (D(2025, 8, 31), D(2026, 2, 27), 6, True),
        (D(2025, 8, 31), D(2026, 2, 28), 6, False),  # month ends: 31 Aug + 6 months = 28 Feb
        (D(2025, 7, 1), D(2025, 10, 1), 3, False),
        (D(2025, 7, 1), D(2025, 9, 30), 3, True),
        (D(2025, 7, 1), D(2025, 7, 2), 0, False),  # 0: nothing held
    ],
)
def test_an_offer_holds_for_exactly_the_window(offered, as_of, months, held):
    ledger = _ledger([("p1", "isr", offered)])
    assert len(open_offers(ledger, as_of, months)) == int(held)


def test_the_ledger_takes_new_offers_and_keeps_a_held_pairs_first_date():
    ledger = _ledger(
        [
            ("b", "isr", D(2025, 1, 1)),  # held this quarter: keeps its date
            ("a", "toc", D(2024, 1, 1)),  # offered again now
            ("c", "fsp", D(2023, 1, 1)),  # not in this cohort: carried on
        ]
    )
    cohort = pd.DataFrame(
        {
            "person_id": ["a", "b", "d", "e"],
            "program": ["toc", "isr", "isr", "isr"],
            "selected": [True, False, True, False],
        }
    )
    out = updated_ledger(ledger, cohort, D(2025, 4, 1))
    assert out.to_dict("records") == [
        {"person_id": "a", "program": "toc", "offered_on": D(2025, 4, 1)},
        {"person_id": "b", "program": "isr", "offered_on": D(2025, 1, 1)},
        {"person_id": "c", "program": "fsp", "offered_on": D(2023, 1, 1)},
        {"person_id": "d", "program": "isr", "offered_on": D(2025, 4, 1)},
    ]
    assert last_offered(cohort, ledger).tolist() == [D(2024, 1, 1), D(2025, 1, 1), None, None]


def _slots():
    prio = {"isr": 0, "toc": 1, "fsp": 2}
    return {p: ProgramSlots(p, 1, care_coordination=p != "fsp", priority=prio[p]) for p in prio}


def _candidates(*rows: tuple[str, str, float]) -> pd.DataFrame:
    """Eligible (person, programme, risk) rows."""
    frame = pd.DataFrame(rows, columns=["person_id", "program", "risk"])
    return frame.assign(eligible=True)


def _statuses(result: pd.DataFrame) -> dict[str, str]:
    keys = result["person_id"] + "/" + result["program"]
    return dict(zip(keys, result["status"], strict=True))


def test_an_open_offer_passes_the_place_to_the_next_in_line():
    candidates = _candidates(
        ("a", "isr", 0.9),
        ("b", "isr", 0.8),
        ("a", "toc", 0.9),
        ("c", "toc", 0.7),
        ("a", "fsp", 0.9),
        ("d", "fsp", 0.6),
    )
    held = _ledger([("a", "isr", D(2025, 1, 1))])
    status = _statuses(select_cohort(candidates, _slots(), offered=held))
    # a is in outreach for ISR: not offered ISR again, nor TOC (care coordination is never held
    # twice, and TOC comes after ISR), but FSP combines with care coordination and is a
    # separate offer.
    assert status == {
        "a/isr": "offered_recently",
        "b/isr": "selected",
        "a/toc": "offered_recently",
        "c/toc": "selected",
        "a/fsp": "selected",
        "d/fsp": "over_capacity",
    }
    enrolled = pd.DataFrame({"person_id": ["a"], "program": ["isr"]})
    result = select_cohort(candidates, _slots(), enrolled=enrolled, offered=held)
    assert result.loc[result["program"] == "isr", "status"].tolist() == [
        "already_enrolled",  # enrolment outranks an open offer
        "selected",
    ]


def test_an_open_offer_does_not_keep_anyone_from_a_higher_priority_programme():
    # a was offered TOC last quarter and b ISR; both are now eligible for both. ISR comes
    # first: a's TOC offer does not keep a from it (someone offered Re-entry who is in hospital
    # now is not kept from Transitions of Care), while b's ISR offer holds b's TOC.
    candidates = _candidates(
        ("a", "isr", 0.9), ("b", "isr", 0.8), ("a", "toc", 0.9), ("b", "toc", 0.8)
    )
    held = _ledger([("a", "toc", D(2025, 1, 1)), ("b", "isr", D(2025, 1, 1))])
    status = _statuses(select_cohort(candidates, _slots(), offered=held))
    assert status == {
        "a/isr": "selected",
        "b/isr": "offered_recently",
        "a/toc": "offered_recently",
        "b/toc": "offered_recently",
    }


def test_a_held_row_names_the_offer_holding_it():
    from riskstrat.scoring._offers import holding_offers

    cohort = pd.DataFrame(
        {
            "person_id": ["a", "a", "b", "c"],
            "program": ["isr", "toc", "fsp", "isr"],
            "status": ["offered_recently", "offered_recently", "offered_recently", "selected"],
        }
    )
    held = _ledger(
        [
            ("a", "isr", D(2025, 4, 1)),
            ("a", "sud_ens", D(2025, 7, 1)),  # a's latest, of a lower priority than TOC
            ("b", "fsp", D(2025, 7, 1)),
        ]
    )
    text = holding_offers(cohort, held, {"isr": 0, "toc": 1, "sud_ens": 2})
    # a's TOC row is held by the ISR offer: the later SUD-ENS one comes after TOC.
    assert text.tolist() == ["isr 2025-04-01", "isr 2025-04-01", "fsp 2025-07-01", ""]
    held = _ledger([("a", "toc", D(2025, 4, 1)), ("a", "isr", D(2025, 7, 1))])
    assert holding_offers(cohort.iloc[[1]], held, {"isr": 0, "toc": 1}).tolist() == [
        "toc 2025-04-01"  # the pair's own offer first
    ]


def test_a_caseload_keeps_the_places_of_open_offers():
    """A caseload is held at a time: an offer still open keeps its place; an intake passes it on."""
    from riskstrat.scoring import net_of_enrolment

    slots = {
        "sud_ens": ProgramSlots("sud_ens", 3, care_coordination=False, priority=0, caseload=3),
        "reentry": ProgramSlots("reentry", 3, care_coordination=False, priority=1),
    }
    rows = [
        (p, prog, True, r)
        for prog in slots
        for p, r in zip("abcdef", [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], strict=True)
    ]
    candidates = pd.DataFrame(rows, columns=["person_id", "program", "eligible", "risk"])
    nobody = pd.DataFrame({"person_id": pd.Series(dtype="str"), "program": pd.Series(dtype="str")})
    q3 = select_cohort(candidates, net_of_enrolment(slots, nobody), enrolled=nobody)
    ledger = updated_ledger(_ledger([]), q3, D(2025, 7, 1))
    held = open_offers(ledger, D(2025, 10, 1), 6)
    # Nobody has enrolled yet: SUD-ENS's three places are all promised; Re-entry's new
    # quarter of three places goes to d, e and f.
    q4 = select_cohort(
        candidates, net_of_enrolment(slots, nobody, held), enrolled=nobody, offered=held
    )
    assert _picked(q4) == {"reentry": ["d", "e", "f"]}
    netted = net_of_enrolment(slots, nobody, held)["sud_ens"]
    assert (netted.capacity, netted.enrolled_now, netted.offered_open) == (0, 0, 3)
    # a has enrolled (counted once, not as an offer too); b's offer was made in January and
    # has lapsed; c's is still open: one place, and b, next in line, is offered it again.
    ledger.loc[ledger["person_id"].eq("b") & ledger["program"].eq("sud_ens"), "offered_on"] = D(
        2025, 1, 1
    )
    held = open_offers(ledger, D(2025, 10, 1), 6)
    enrolled = pd.DataFrame({"person_id": ["a"], "program": ["sud_ens"]})
    netted = net_of_enrolment(slots, enrolled, held)
    assert (netted["sud_ens"].capacity, netted["sud_ens"].offered_open) == (1, 1)
    q4 = select_cohort(candidates, netted, enrolled=enrolled, offered=held)
    assert _picked(q4)["sud_ens"] == ["b"]


def _picked(result):
    chosen = result.loc[result["selected"]]
    return {p: sorted(g["person_id"]) for p, g in chosen.groupby("program")}


def test_a_care_coordination_offer_closes_when_another_is_taken_up():
    from riskstrat.scoring import net_of_enrolment

    slots = {
        "sud_ens": ProgramSlots("sud_ens", 3, care_coordination=True, priority=1, caseload=3),
        "hcss": ProgramSlots("hcss", None, care_coordination=True, priority=0),
        "fsp": ProgramSlots("fsp", 3, care_coordination=False, priority=2, caseload=3),
    }
    held = _ledger([("a", "sud_ens", D(2025, 7, 1)), ("a", "fsp", D(2025, 7, 1))])
    enrolled = pd.DataFrame({"person_id": ["a"], "program": ["hcss"]})
    netted = net_of_enrolment(slots, enrolled, held)
    # a now has HCSS care coordination: the SUD-ENS offer cannot be taken; FSP still can.
    assert (netted["sud_ens"].capacity, netted["sud_ens"].offered_open) == (3, 0)
    assert (netted["fsp"].capacity, netted["fsp"].offered_open) == (2, 1)


CC = ("isr", "toc", "sud_ens")


@pytest.mark.parametrize(
    ("program", "start", "closed"),
    [
        ("isr", D(2025, 7, 1), True),  # started on the day of the offer
        ("isr", D(2025, 6, 30), False),  # a day before it: an earlier enrolment
        ("isr", D(2025, 9, 30), True),  # the day before the as-of date
        ("isr", D(2025, 10, 1), False),  # on the as-of date: not seen (point in time)
        ("toc", D(2025, 8, 1), True),  # another care-coordination programme takes it up
        ("fsp", D(2025, 8, 1), False),  # a programme that combines with care coordination
    ],
)
def test_an_offer_is_closed_by_an_enrolment_started_since(program, start, closed):
    held = _ledger([("a", "isr", D(2025, 7, 1)), ("b", "isr", D(2025, 7, 1))])
    starts = pd.DataFrame(
        {"person_id": ["a"], "program": [program], "start_date": [pd.Timestamp(start)]}
    )
    assert taken_up(held, starts, D(2025, 10, 1), CC).tolist() == [closed, False]


def test_only_the_same_programme_takes_up_an_offer_outside_care_coordination():
    held = _ledger([("a", "fsp", D(2025, 7, 1)), ("a", "reentry", D(2025, 4, 1))])
    starts = pd.DataFrame(
        {
            "person_id": ["a", "a"],
            "program": ["isr", "reentry"],
            "start_date": pd.to_datetime(["2025-08-01", "2025-05-02"]),
        }
    )
    assert taken_up(held, starts, D(2025, 10, 1), CC).tolist() == [False, True]
    nothing = starts.iloc[0:0]
    assert taken_up(held, nothing, D(2025, 10, 1), CC).tolist() == [False, False]


def test_only_starts_that_could_close_an_offer_are_kept():
    ledger = _ledger([("a", "isr", D(2025, 4, 1)), ("b", "fsp", D(2025, 7, 1))])
    enrollments = pd.DataFrame(
        {
            "person_id": ["a", "a", "b", "c", "b"],
            "program": ["isr", "toc", "fsp", "isr", "fsp"],
            "start_date": pd.to_datetime(
                ["2025-03-31", "2025-04-01", "2025-09-30", "2025-08-01", "2025-10-01"]
            ),
            "end_date": pd.NaT,
        }
    )
    kept = offer_starts(enrollments, ledger, pd.Timestamp("2025-10-01"))
    # Before the oldest offer, on or after the as-of date, or a person never offered: dropped.
    assert list(kept.columns) == ["person_id", "program", "start_date"]
    assert kept[["person_id", "program"]].values.tolist() == [["a", "toc"], ["b", "fsp"]]
    assert offer_starts(enrollments, _ledger([]), pd.Timestamp("2025-10-01")) is None


def test_held_by_names_the_enrolment_or_the_place_given_instead() -> None:
    from riskstrat.scoring._offers import held_by

    cohort = pd.DataFrame(
        {
            "person_id": ["a", "a", "b", "b", "c"],
            "program": ["toc", "fsp", "isr", "toc", "fsp"],
            "selected": [False, False, True, False, False],
            "status": [
                "already_enrolled",
                "already_enrolled",
                "selected",
                "assigned_other",
                "over_capacity",
            ],
        }
    )
    # a is in two care-coordination programmes and FSP; TOC is held by both of the former
    # (not by FSP, which combines with care coordination), FSP by FSP alone.
    enrolled = pd.DataFrame(
        {"person_id": ["a", "a", "a", "c"], "program": ["sud_ens", "hcss", "fsp", "toc"]}
    )
    held = pd.DataFrame({"person_id": [], "program": [], "offered_on": []})
    text = held_by(cohort, held, enrolled, {"isr": 0, "toc": 1, "sud_ens": 2, "hcss": 3})
    assert text.tolist() == ["enrolled hcss, sud_ens", "enrolled fsp", "", "selected isr", ""]
    # A caller's own index, named or not, is kept.
    named = cohort.set_axis(pd.Index([10, 11, 12, 13, 14], name="index"))
    again = held_by(named, held, enrolled, {"isr": 0, "toc": 1, "sud_ens": 2, "hcss": 3})
    assert again.tolist() == text.tolist() and again.index.tolist() == [10, 11, 12, 13, 14]
