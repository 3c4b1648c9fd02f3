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
    open_offers,
    read_previous_offers,
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


def _earlier_run(folder, as_of="2025-01-01", ledger=None, record=True):
    folder.mkdir(parents=True, exist_ok=True)
    ledger = _ledger([("a", "isr", D(2025, 1, 1))]) if ledger is None else ledger
    write_parquet(ledger, folder / OFFERS_FILE, types=OFFER_TYPES)
    outputs = {OFFERS_FILE: sha256_file(folder / OFFERS_FILE)} if record else {}
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
    with pytest.raises(ScoringDataError, match=r"sha256 \(no file\)"):
        read_previous_offers(folder, D(2025, 4, 1))


def test_a_malformed_ledger_is_refused(tmp_path):
    twice = _ledger([("a", "isr", D(2025, 1, 1)), ("a", "isr", D(2024, 1, 1))])
    folder = _earlier_run(tmp_path / "twice", ledger=twice)
    with pytest.raises(ScoringDataError, match="repeats a"):
        read_previous_offers(folder, D(2025, 4, 1))
    renamed = _ledger([("a", "isr", D(2025, 1, 1))]).rename(columns={"offered_on": "date"})
    folder = tmp_path / "renamed"
    folder.mkdir()
    write_parquet(renamed, folder / OFFERS_FILE)
    write_json(
        {"as_of": "2025-01-01", "outputs": {OFFERS_FILE: sha256_file(folder / OFFERS_FILE)}},
        folder / "manifest.json",
    )
    with pytest.raises(ScoringDataError, match="has columns"):
        read_previous_offers(folder, D(2025, 4, 1))
