"""Reading an earlier run's offer ledger: verified against its manifest, cohort and county."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from riskstrat.scoring import ScoringConfigError, ScoringDataError
from riskstrat.scoring._offers import OFFER_TYPES, OFFERS_FILE
from riskstrat.scoring._previous import read_previous_offers
from riskstrat.scoring._write import sha256_file, write_json, write_parquet

D = dt.date


def _ledger(rows):
    return pd.DataFrame(rows, columns=["person_id", "program", "offered_on"])


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
        # One person's value may be their record (a note typed in): counted, not shown.
        r"has 1 row\(s\) with a programme not among \[[^(]*\] \(1 value\(s\) not shown\)$": [
            ("a", "Reentry SECRET76", D(2025, 1, 1))
        ],
        # A code 11 people hold is a feed's code, worth naming.
        r"has 12 row\(s\) with a programme not among .* \(\['no_such'\]; 1 other value": [
            *[(f"p{i}", "no_such", D(2025, 1, 1)) for i in range(11)],
            ("a", "one_person", D(2025, 1, 1)),
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
    from riskstrat.scoring._previous import check_same_county

    folder = _earlier_run(
        tmp_path / "2025Q1",
        ledger=_ledger([("a", "isr", D(2025, 1, 1)), ("b", "fsp", D(2025, 1, 1))]),
    )
    previous = read_previous_offers(folder, D(2025, 4, 1))
    assert check_same_county(previous, pd.Series(["a", "c"]), folder) == 1  # b moved away
    with pytest.raises(ScoringDataError, match="none of the 2 person_id"):
        check_same_county(previous, pd.Series(["x", "y"]), folder)


def test_many_offered_persons_missing_is_warned_of(tmp_path, caplog):
    from riskstrat.scoring._previous import check_same_county

    ids = [f"p{i:02d}" for i in range(20)]
    folder = _earlier_run(
        tmp_path / "2025Q1", ledger=_ledger([(i, "fsp", D(2025, 1, 1)) for i in ids])
    )
    previous = read_previous_offers(folder, D(2025, 4, 1))
    # Two of twenty gone (10%): moves. Three (15%): ids changed, most likely.
    with caplog.at_level("WARNING", logger="riskstrat.scoring._previous"):
        assert check_same_county(previous, pd.Series(ids[2:]), folder) == 2
    assert not caplog.records
    with caplog.at_level("WARNING", logger="riskstrat.scoring._previous"):
        assert check_same_county(previous, pd.Series(ids[3:]), folder) == 3
    (record,) = caplog.records
    assert record.getMessage().startswith("3 of the 20 person(s) --previous")
    assert "not among this data's accepted persons" in record.getMessage()
    assert "p00" not in record.getMessage()


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


@pytest.mark.parametrize(
    ("out", "said"),
    [
        ("cohorts/2025Q3", "is the same folder as --out"),
        ("cohorts/2025Q3/", "is the same folder as --out"),
        ("cohorts", "lies inside --out"),
        ("cohorts/2025Q3/next", "mixing the two runs"),
        ("cohorts/2025Q3b", None),  # a sibling sharing the name's start
        ("cohorts/2025Q3/../2025Q4", None),
    ],
)
def test_out_must_stand_apart_from_the_earlier_run(tmp_path, out, said):
    from riskstrat.scoring._previous import check_apart

    previous = tmp_path / "cohorts" / "2025Q3"
    if said is None:
        check_apart(previous, tmp_path / out)
        return
    with pytest.raises(ScoringConfigError, match=said):
        check_apart(previous, tmp_path / out)
