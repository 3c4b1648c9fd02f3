"""Homelessness: spells as contiguous HMIS records, the homeless population's seed facts."""

from __future__ import annotations

import pandas as pd
import pytest

from riskstrat.data import add_conditions
from riskstrat.data._codes import HOMELESS_PROJECT_TYPES


@pytest.fixture(scope="module")
def homeless(county) -> pd.DataFrame:
    hm = county.tables["homelessness"]
    return hm[hm["project_type"].isin(HOMELESS_PROJECT_TYPES)].sort_values(
        ["person_id", "start_date"]
    )


def test_homeless_population_matches_the_lahsa_count(county, homeless) -> None:
    # 2016 homeless count (WPC-LA application): 66% male, 39% Black, 27% Hispanic/Latino,
    # 26% White; the whole synthetic population is mostly Hispanic/Latino (Medi-Cal mix).
    persons = county.tables["persons"]
    people = persons[persons["person_id"].isin(homeless["person_id"])]
    assert 0.05 < len(people) / len(persons) < 0.2
    assert 0.58 < (people["sex"] == "M").mean() < 0.74
    race = people["race_ethnicity"].value_counts(normalize=True)
    assert 0.31 < race["Black"] < 0.47
    assert 0.19 < race["Hispanic/Latino"] < 0.35
    assert 0.18 < race["White"] < 0.34
    assert persons["race_ethnicity"].value_counts().index[0] == "Hispanic/Latino"


def test_mental_illness_and_substance_use_among_homeless(county, homeless) -> None:
    # Seed facts: 30% mental illness, 23% chronic substance use among homeless people.
    dx = add_conditions(county.tables["diagnoses"])
    families = {
        "mh": {"smi", "depression", "anxiety", "ptsd"},
        "sud": {c for c in dx["condition"].dropna().unique() if c.startswith("sud_")},
    }
    ids = set(homeless["person_id"])
    for family, (lo, hi) in {"mh": (0.2, 0.55), "sud": (0.12, 0.4)}.items():
        with_dx = set(dx.loc[dx["condition"].isin(families[family]), "person_id"])
        assert lo < len(ids & with_dx) / len(ids) < hi, family


def test_spells_are_contiguous_records(homeless) -> None:
    nxt = homeless.groupby("person_id")["start_date"].shift(-1)
    gap = (nxt - homeless["end_date"]).dt.days
    # Records never overlap; within a spell the next record starts the day after.
    assert (gap.dropna() >= 1).all()
    assert (gap == 1).sum() > 0.2 * len(homeless)
    open_records = homeless["end_date"].isna()
    assert open_records.groupby(homeless["person_id"]).sum().max() == 1


def test_chronic_homelessness_and_supportive_housing(county, homeless) -> None:
    # HUD chronic: 12 months continuous. Contiguous records form one spell.
    frame = homeless.assign(end=homeless["end_date"].fillna(pd.Timestamp("2024-01-01")))
    new_spell = frame["start_date"] != frame.groupby("person_id")["end"].shift(1) + pd.Timedelta(
        days=1
    )
    spell = new_spell.cumsum()
    length = frame.groupby(spell).agg(start=("start_date", "min"), end=("end", "max"))
    assert ((length["end"] - length["start"]).dt.days >= 365).sum() > 50
    types = county.tables["homelessness"]["project_type"].value_counts()
    assert types["permanent_supportive_housing"] > 0 and types["ces_assessment"] > 0
