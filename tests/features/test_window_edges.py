"""Window edges the engine tests leave out: the halves of a trend and an episode's end.

as_of is 2024-07-01; offsets are days before it. Each person holds one event, so a
value shows which side of an edge that single event fell on.
"""

from __future__ import annotations

import pandas as pd
import pytest

from riskstrat.features import build_features

from .conftest import AS_OF, make_tables


def _by_person(features: pd.DataFrame) -> dict[str, dict]:
    return {r["person_id"]: r for r in features.to_dict("records")}


# ed_visits_trend has window 180: visits in [-180, 0) minus visits in [-360, -180).
TREND_VISITS = {
    "at_180": (-180, 1),  # first day of the recent half, and only of that half
    "at_181": (-181, -1),  # last day of the half before
    "at_360": (-360, -1),  # first day of the half before
    "at_361": (-361, 0),  # before both halves
}


@pytest.fixture(scope="module")
def trend_features() -> dict[str, dict]:
    visits = [
        {
            "person_id": pid,
            "start_date": offset,
            "end_date": offset,
            "setting": "ed",
            "dx_group": "medical",
            "avoidable": False,
            "paid_amount": 10.0,
        }
        for pid, (offset, _) in TREND_VISITS.items()
    ]
    return _by_person(build_features(make_tables(encounters=visits), AS_OF))


@pytest.mark.parametrize("person", TREND_VISITS)
def test_a_visit_on_a_trend_edge_counts_in_exactly_one_half(trend_features, person) -> None:
    # A visit exactly 180 days back counted in both halves would cancel itself out (0);
    # one exactly 360 days back is the oldest day the half before still covers.
    _, expected = TREND_VISITS[person]
    assert trend_features[person]["ed_visits_trend"] == expected


def test_the_trend_halves_meet_without_overlap(trend_features) -> None:
    # The 180-day count agrees with the recent half: -180 is in, -181 is out.
    assert trend_features["at_180"]["ed_visits_180d"] == 1
    assert trend_features["at_181"]["ed_visits_180d"] == 0


# homeless_episodes_1095d counts episodes [start, end) overlapping [-1095, 0).
EPISODES = {
    "ends_on_window_start": (-1200, -1095),  # its last day is -1096: no day in the window
    "ends_a_day_later": (-1200, -1094),  # one day, -1095, in the window
    "starts_on_window_start": (-1095, -1000),
}


@pytest.fixture(scope="module")
def episode_features() -> dict[str, dict]:
    spells = [
        {"person_id": pid, "start_date": s, "end_date": e, "project_type": "emergency_shelter"}
        for pid, (s, e) in EPISODES.items()
    ]
    # population="all": whether an episode ending on the window start makes contact is
    # the population rule's business, not this aggregate's.
    features = build_features(make_tables(homelessness=spells), AS_OF, population="all")
    return _by_person(features)


def test_an_episode_ending_on_the_window_start_does_not_overlap_it(episode_features) -> None:
    # Intervals are [start, end): an end on D - 1095 means the last homeless night was the
    # night before the window opened (docs/features.md, "Conventions").
    f = episode_features["ends_on_window_start"]
    assert f["homeless_episodes_1095d"] == 0
    assert f["days_homeless_1095d"] == 0


def test_an_episode_ending_a_day_inside_the_window_overlaps_it(episode_features) -> None:
    f = episode_features["ends_a_day_later"]
    assert f["homeless_episodes_1095d"] == 1
    assert f["days_homeless_1095d"] == 1


def test_an_episode_starting_on_the_window_start_overlaps_it(episode_features) -> None:
    f = episode_features["starts_on_window_start"]
    assert f["homeless_episodes_1095d"] == 1
    assert f["days_homeless_1095d"] == 95
