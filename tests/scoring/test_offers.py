"""The offer ledger: the re-offer window, carrying offers on, and reading an earlier run."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from riskstrat.scoring import ProgramSlots, ScoringConfigError, ScoringDataError, select_cohort
from riskstrat.scoring._offers import (
    OFFER_TYPES,
    OFFERS_FILE,
    last_offered,
    offer_starts,
    open_offers,
    read_previous_offers,
    taken_up,
    updated_ledger,
)
from riskstrat.scoring._write import sha256_file, write_json, write_parquet

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


def test_an_open_offer_passes_the_place_to_the_next_in_line():
    candidates = pd.DataFrame(
        [
            ("a", "isr", True, 0.9),
            ("b", "isr", True, 0.8),
            ("a", "toc", True, 0.9),
            ("c", "toc", True, 0.7),
            ("a", "fsp", True, 0.9),
            ("d", "fsp", True, 0.6),
        ],
        columns=["person_id", "program", "eligible", "risk"],
    )
    held = _ledger([("a", "isr", D(2025, 1, 1))])
    result = select_cohort(candidates, _slots(), offered=held)
    status = dict(zip(result["person_id"] + "/" + result["program"], result["status"], strict=True))
    # a is in outreach for ISR: not offered ISR again, nor TOC (care coordination is never held
    # twice), but FSP combines with care coordination and is a separate offer.
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


def _earlier_run(folder, as_of="2025-01-01", ledger=None, record=True, selected=None):
    """A run's folder as the scorer reads it: ledger, cohort and manifest with their sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    ledger = _ledger([("a", "isr", D(2025, 1, 1))]) if ledger is None else ledger
    write_parquet(ledger, folder / OFFERS_FILE, types=OFFER_TYPES)
    if selected is None:  # the pairs the ledger dates on that run's as-of date
        dated = ledger["offered_on"] == D.fromisoformat(as_of)
        selected = list(ledger.loc[dated, ["person_id", "program"]].itertuples(index=False))
    cohort = pd.DataFrame(selected, columns=["person_id", "program"], dtype="str")
    cohort = pd.concat([cohort, pd.DataFrame({"person_id": ["z"], "program": ["hcss"]})])
    cohort["selected"] = [True] * (len(cohort) - 1) + [False]
    write_parquet(cohort, folder / "cohort.parquet")
    outputs = {"cohort.parquet": sha256_file(folder / "cohort.parquet")}
    if record:
        outputs[OFFERS_FILE] = sha256_file(folder / OFFERS_FILE)
    write_json({"as_of": as_of, "outputs": outputs}, folder / "manifest.json")
    return folder


def test_an_earlier_runs_ledger_is_read_and_checked(tmp_path):
    folder = _earlier_run(tmp_path / "2025Q1")
    previous = read_previous_offers(folder, D(2025, 4, 1))
    assert previous.as_of == D(2025, 1, 1)
    assert previous.sha256 == sha256_file(folder / OFFERS_FILE)
    assert previous.ledger.to_dict("records") == [
        {"person_id": "a", "program": "isr", "offered_on": D(2025, 1, 1)}
    ]


def test_an_unusable_previous_folder_is_refused(tmp_path):
    with pytest.raises(ScoringConfigError, match="no such folder"):
        read_previous_offers(tmp_path / "nowhere", D(2025, 4, 1))
    ledger = _earlier_run(tmp_path / "q1") / OFFERS_FILE
    with pytest.raises(ScoringConfigError, match="is a file; expected the folder"):
        read_previous_offers(ledger, D(2025, 4, 1))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScoringConfigError, match="no manifest.json"):
        read_previous_offers(tmp_path / "empty", D(2025, 4, 1))
    older = _earlier_run(tmp_path / "older", record=False)
    with pytest.raises(ScoringConfigError, match="lists no offers.parquet"):
        read_previous_offers(older, D(2025, 4, 1))
    same = _earlier_run(tmp_path / "same")
    with pytest.raises(ScoringConfigError, match="as of 2025-01-01, expected a date before"):
        read_previous_offers(same, D(2025, 1, 1))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "manifest.json").write_text(json.dumps({"as_of": "Q1"}))
    with pytest.raises(ScoringConfigError, match="not a scoring manifest"):
        read_previous_offers(tmp_path / "junk", D(2025, 4, 1))


def test_a_ledger_changed_after_its_run_is_refused(tmp_path):
    folder = _earlier_run(tmp_path / "2025Q1")
    ledger = _ledger([("a", "isr", D(2024, 1, 1))])  # an offer moved back to free a place
    write_parquet(ledger, folder / OFFERS_FILE, types=OFFER_TYPES)
    with pytest.raises(ScoringDataError, match="changed after that run"):
        read_previous_offers(folder, D(2025, 4, 1))
    (folder / OFFERS_FILE).unlink()
    with pytest.raises(ScoringDataError, match="offers.parquet is missing; its manifest records"):
        read_previous_offers(folder, D(2025, 4, 1))


def test_a_malformed_ledger_is_refused(tmp_path):
    twice = _ledger([("a", "isr", D(2025, 1, 1)), ("a", "isr", D(2024, 1, 1))])
    folder = _earlier_run(tmp_path / "twice", ledger=twice)
    with pytest.raises(
        ScoringDataError,
        match=r"has 2 row\(s\) repeating a \(person_id, program\) pair; expected one",
    ):
        read_previous_offers(folder, D(2025, 4, 1))
    renamed = _ledger([("a", "isr", D(2025, 1, 1))]).rename(columns={"offered_on": "date"})
    folder = _earlier_run(tmp_path / "renamed", selected=[("a", "isr")])
    write_parquet(renamed, folder / OFFERS_FILE)
    _rehash(folder, OFFERS_FILE)
    with pytest.raises(ScoringDataError, match="has columns"):
        read_previous_offers(folder, D(2025, 4, 1))
    bad = {
        r"has 1 row\(s\) with a blank person_id": [("", "isr", D(2025, 1, 1))],
        r"has 1 row\(s\) with a programme not among .* \(\['no_such'\]\)": [
            ("a", "no_such", D(2025, 1, 1))
        ],
        r"has 1 row\(s\) dated after that run's as-of date 2025-01-01; expected none later": [
            ("a", "isr", D(2025, 2, 1))
        ],
    }
    for i, (message, rows) in enumerate(bad.items()):
        folder = _earlier_run(tmp_path / f"bad{i}", ledger=_ledger(rows), selected=[])
        with pytest.raises(ScoringDataError, match=message):
            read_previous_offers(folder, D(2025, 4, 1))
    folder = _earlier_run(tmp_path / "corrupt")
    (folder / OFFERS_FILE).write_bytes(b"not parquet")
    _rehash(folder, OFFERS_FILE)
    with pytest.raises(ScoringDataError, match="cannot be read as Parquet"):
        read_previous_offers(folder, D(2025, 4, 1))


def _rehash(folder, name):
    """Record a file's new sha256 in its manifest, as someone editing both would."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["outputs"][name] = sha256_file(folder / name)
    write_json(manifest, folder / "manifest.json")


def test_a_ledger_that_disagrees_with_its_runs_selections_is_refused(tmp_path):
    # Ledger and manifest edited together: the run's own cohort still says who was offered.
    folder = _earlier_run(tmp_path / "2025Q1", selected=[("a", "isr"), ("b", "isr")])
    with pytest.raises(ScoringDataError, match=r"lists 1 offer\(s\) made on 2025-01-01, but"):
        read_previous_offers(folder, D(2025, 4, 1))
    swapped = _earlier_run(tmp_path / "swapped", selected=[("b", "isr")])
    with pytest.raises(ScoringDataError, match="expected the same"):
        read_previous_offers(swapped, D(2025, 4, 1))


def test_another_countys_ledger_is_refused(tmp_path):
    from riskstrat.scoring._offers import check_same_county

    folder = _earlier_run(
        tmp_path / "2025Q1",
        ledger=_ledger([("a", "isr", D(2025, 1, 1)), ("b", "fsp", D(2025, 1, 1))]),
    )
    previous = read_previous_offers(folder, D(2025, 4, 1))
    assert check_same_county(previous, pd.Series(["a", "c"]), folder) == 1  # b moved away
    with pytest.raises(ScoringDataError, match="none of the 2 person_id"):
        check_same_county(previous, pd.Series(["x", "y"]), folder)


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
            ("a", "sud_ens", D(2025, 7, 1)),  # a's latest care-coordination offer
            ("b", "fsp", D(2025, 7, 1)),
        ]
    )
    text = holding_offers(cohort, held, ["isr", "toc", "sud_ens"])
    assert text.tolist() == ["isr 2025-04-01", "sud_ens 2025-07-01", "fsp 2025-07-01", ""]


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


def test_a_manifest_without_offers_since_reads_the_oldest_offer(tmp_path):
    ledger = _ledger([("a", "isr", D(2025, 1, 1)), ("b", "isr", D(2024, 7, 1))])
    folder = _earlier_run(tmp_path / "q1", ledger=ledger)
    assert read_previous_offers(folder, D(2025, 4, 1)).since == D(2024, 7, 1)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["offers_since"] = "2025-02-01"  # after the run itself
    write_json(manifest, folder / "manifest.json")
    with pytest.raises(ScoringConfigError, match="offers_since 2025-02-01 after as_of"):
        read_previous_offers(folder, D(2025, 4, 1))


def test_blank_ids_and_a_cohort_without_selections_are_refused(tmp_path):
    folder = _earlier_run(tmp_path / "blank", ledger=_ledger([(" ", "isr", D(2025, 1, 1))]))
    with pytest.raises(ScoringDataError, match=r"has 1 row\(s\) with a blank person_id"):
        read_previous_offers(folder, D(2025, 4, 1))
    folder = _earlier_run(tmp_path / "noselected")
    write_parquet(pd.DataFrame({"person_id": ["a"], "program": ["isr"]}), folder / "cohort.parquet")
    _rehash(folder, "cohort.parquet")
    with pytest.raises(ScoringDataError, match="expected person_id, program and selected"):
        read_previous_offers(folder, D(2025, 4, 1))


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
