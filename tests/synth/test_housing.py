"""Homelessness: spells as contiguous HMIS records, the homeless population's seed facts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from riskstrat.data import add_conditions
from riskstrat.data._codes import HOMELESS_PROJECT_TYPES
from riskstrat.outcomes import load_outcome_spec
from riskstrat.synth._housing import homeless_records
from riskstrat.synth._model import make_grid
from riskstrat.synth._oracle import gap_merge_share
from riskstrat.synth._sampling import NO_DEATH
from riskstrat.synth._truth import ENTRY_GAP_NIGHTS


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


def test_returns_within_the_gap_come_as_often_as_the_oracle_allows() -> None:
    """Out in February, back in March: the sampler's day draws against ``gap_merge_share``."""
    grid = make_grid(dt.date(2020, 1, 1), dt.date(2021, 1, 1))
    n = 200_000
    state = np.zeros((n, grid.n_data + 13), dtype=bool)
    state[:, 1] = True  # in in January (month 0), out in February, back in March for good
    state[:, 3:] = True
    birth = np.full(n, int(grid.first[0]) - 20_000, dtype=np.int32)
    death = np.full(n, NO_DEATH, dtype=np.int32)
    _records, spells = homeless_records(state, grid, birth, death, seed=5)
    assert len(spells["person"]) == 2 * n
    first, second = spells["end"][0::2], spells["start"][1::2]
    assert (spells["person"][0::2] == spells["person"][1::2]).all()
    short = ((second - first) < ENTRY_GAP_NIGHTS).mean()
    expected = gap_merge_share(grid.length, ENTRY_GAP_NIGHTS)[2]
    assert expected == pytest.approx(21 / (29 * 31))
    assert short == pytest.approx(expected, abs=4 * np.sqrt(expected / n))


def test_the_oracle_gap_is_the_outcome_definitions() -> None:
    (event,) = load_outcome_spec().outcomes["homeless_entry"].events
    assert event.entry_gap_days == ENTRY_GAP_NIGHTS
