"""Tables in memory are held to the data contract as a folder is (riskstrat.data._checked)."""

from __future__ import annotations

import pandas as pd
import pytest

from riskstrat.data import DataContractError, load_tables
from riskstrat.data._checked import checked_tables
from riskstrat.features import build_features
from riskstrat.outcomes import build_outcomes

from .conftest import CLEAN_DIR

AS_OF = "2024-07-01"


@pytest.fixture(scope="module")
def loaded() -> dict[str, pd.DataFrame]:
    return load_tables(CLEAN_DIR, mode="quarantine").tables


def test_an_edit_in_place_is_caught_too(loaded) -> None:
    # The frame is the one load_tables returned; its codes are not.
    tables = {name: frame.copy() for name, frame in loaded.items()}
    tables["encounters"]["setting"] = tables["encounters"]["setting"].str.upper()
    with pytest.raises(DataContractError, match="table 'encounters': all .* rows were rejected"):
        build_features(tables, AS_OF)


def test_a_changed_table_is_validated_again(loaded) -> None:
    # The analyst's upper-cased codes used to count no ED visit at all, without a word.
    upper = {
        **loaded,
        "encounters": loaded["encounters"].assign(setting=lambda d: d.setting.str.upper()),
    }
    with pytest.raises(DataContractError, match="table 'encounters': all .* rows were rejected"):
        build_features(upper, AS_OF)
    with pytest.raises(DataContractError, match="unknown_code"):
        build_outcomes(upper, AS_OF)
    # Read as given on request: the counts then are what the codes say.
    as_given = build_features(upper, AS_OF, validate=False)
    assert as_given["ed_visits_365d"].sum() == 0


def test_persons_filtered_in_memory_is_an_analysis_not_a_broken_link(loaded, caplog) -> None:
    persons = loaded["persons"]
    some = persons[persons["person_id"].isin(persons["person_id"].iloc[:3])]
    tables, report = checked_tables({**loaded, "persons": some})
    assert set(tables["encounters"]["person_id"]) <= set(some["person_id"])
    orphans = report.tables["encounters"].by_check.get("orphan_person_id", 0)
    assert orphans > report.tables["encounters"].rows_in / 2  # would refuse a folder
    assert "as does a persons table filtered in memory" in caplog.text
    features = build_features({**loaded, "persons": some}, AS_OF, population="all")
    assert set(features["person_id"]) == set(some["person_id"])


def test_a_few_bad_rows_in_memory_are_set_aside_and_counted(loaded, caplog) -> None:
    encounters = loaded["encounters"].copy()
    encounters.loc[encounters.index[:1], "setting"] = "ER"
    tables, report = checked_tables({**loaded, "encounters": encounters})
    assert report.tables["encounters"].rejected == 1
    assert len(tables["encounters"]) == len(encounters) - 1
    assert "encounters: 1 row(s) rejected by the data contract, left out" in caplog.text


def test_load_tables_warns_of_a_table_it_returns_empty(tmp_path, caplog) -> None:
    import shutil

    shutil.copytree(CLEAN_DIR, tmp_path / "data")
    encounters = pd.read_csv(tmp_path / "data" / "encounters.csv", dtype=str)
    encounters["setting"] = encounters["setting"].str.upper()
    encounters.to_csv(tmp_path / "data" / "encounters.csv", index=False)
    tables = load_tables(tmp_path / "data", mode="quarantine").tables
    assert tables["encounters"].empty
    n = len(encounters)
    assert (
        f"encounters: {n} of {n} rows (100%) were rejected (unknown_code {n}); what is returned is empty"
        in caplog.text
    )


def test_events_orphaned_by_rejected_persons_point_to_persons(loaded) -> None:
    # Persons rejected (under half of them) orphan their events: the refusal of the
    # events' table used to blame it, and the cause was in persons.
    persons = loaded["persons"].copy()
    chosen = loaded["enrollments"]["person_id"].unique()[:3]  # 3 of its 4 rows' people
    assert len(chosen) < len(persons) / 2
    persons["sex"] = persons["sex"].where(~persons["person_id"].isin(chosen), "Q")
    with pytest.raises(DataContractError) as info:
        checked_tables({**loaded, "persons": persons})
    message = str(info.value)
    assert message.startswith("table '")
    assert (
        f"most are events of the {len(chosen)} persons rows rejected (unknown_code {len(chosen)})"
        in message
    )
