"""HUD chronic homelessness from merged spells, and the episode gap rule."""

from __future__ import annotations

import pandas as pd
import pytest

from riskstrat.features import build_features

from .conftest import AS_OF, make_tables


def _features(spells: list[tuple[int, int | None]], project: str = "emergency_shelter") -> dict:
    tables = make_tables(
        homelessness=[
            {"person_id": "h", "start_date": s, "end_date": e, "project_type": project}
            for s, e in spells
        ]
    )
    (record,) = build_features(tables, AS_OF).to_dict("records")
    return record


@pytest.mark.parametrize(
    ("spells", "chronic"),
    [
        ([(-365, None)], True),  # exactly 12 months continuous, still homeless
        ([(-364, None)], False),  # one day short
        ([(-365, 3)], True),  # the exit after as_of is unknown: still homeless on as_of
        ([(-400, -1)], False),  # left homelessness the day before as_of
        # 4 episodes (gaps of 7+ days) in 3 years totalling 365 days, the last one current
        ([(-1000, -900), (-700, -600), (-400, -300), (-65, None)], True),
        ([(-1000, -900), (-700, -600), (-400, -300), (-64, None)], False),  # 364 days
        ([(-1000, -900), (-700, -600), (-400, -300), (-80, -10)], False),  # not current
        ([(-1000, -850), (-700, -550), (-100, None)], False),  # 3 episodes, 400 days
        # Spells 6 days apart merge into one continuous episode; 7 days apart do not.
        ([(-400, -200), (-194, None)], True),
        ([(-400, -200), (-193, None)], False),
    ],
)
def test_chronic_homelessness(spells: list, chronic: bool) -> None:
    assert _features(spells)["chronic_homeless"] is chronic


@pytest.mark.parametrize(
    ("spells", "chronic"),
    [
        ([(-900, -500)], True),  # 400 days continuously, housed since
        ([(-900, -535)], True),  # exactly 365 days, ended 535 days ago
        ([(-900, -536)], False),  # 364 days
        # 4 episodes totalling 365 days within the 3 years before the last one ended
        ([(-1400, -1300), (-1200, -1100), (-1000, -900), (-800, -735)], True),
        ([(-1400, -1300), (-1200, -1100), (-1000, -900), (-800, -736)], False),
        # The first episode ended more than 3 years before the last one ended: 3 in reach
        ([(-1900, -1800), (-1200, -1100), (-1000, -900), (-800, -635)], False),
        ([(-365, None)], True),  # homeless now: the same as chronic_homeless
        ([], False),  # never homeless
    ],
)
def test_chronic_homelessness_when_last_homeless(spells: list, chronic: bool) -> None:
    # Tenancy Support's people are housed: HUD's test on their latest episode's last day.
    if spells:
        f = _features(spells)
    else:
        f = _features([(-400, None)], project="permanent_supportive_housing")
    assert f["chronic_homeless_last_episode"] is chronic


def test_episodes_merge_overlaps_and_short_gaps() -> None:
    f = _features([(-400, -200), (-194, -100), (-150, -120), (-50, -10)])
    # [-400, -100) (gap 6 merged, overlap inside) and [-50, -10) (gap 50); a merged gap
    # of under 7 nights counts as homeless, as in HUD's continuity rule.
    assert f["homeless_episodes_1095d"] == 2
    assert f["days_homeless_365d"] == (365 - 100) + 40
    assert not f["homeless_now"]


def test_episode_counted_when_it_overlaps_the_window() -> None:
    f = _features([(-1200, -1090), (-1000, -990)])
    assert f["homeless_episodes_1095d"] == 2
    assert f["days_homeless_365d"] == 0


def test_housing_project_types_are_not_homeless_spells() -> None:
    f = _features([(-500, None)], project="permanent_supportive_housing")
    assert not f["chronic_homeless"] and not f["homeless_now"]
    assert f["in_supported_housing_now"]
    assert f["days_homeless_365d"] == 0


def test_future_spell_never_bridges_past_episodes() -> None:
    # A spell starting on as_of must not merge with one that ended 3 days before it.
    base = _features([(-300, -3)])
    with_future = _features([(-300, -3), (0, 100)])
    assert {k: v for k, v in base.items() if k != "mcas_latest"} == {
        k: v for k, v in with_future.items() if k != "mcas_latest"
    }
    assert base["days_homeless_365d"] == 297
    assert pd.notna(base["as_of"])


def _stays(person: str, offsets: list[int], setting: str = "inpatient_medical") -> list[dict]:
    return [
        {"person_id": person, "start_date": o, "end_date": o + 1, "setting": setting}
        for o in offsets
    ]


def test_calendar_month_windows_count_from_the_same_day_months_back() -> None:
    # As of 2024-07-01: 12 months back is 2023-07-01 (366 days, across the leap day) and 6
    # months back 2024-01-01 (182 days). The day windows stop at 365 and 180 days.
    tables = make_tables(
        encounters=[
            *_stays("twelve", [-366, 0], "ed"),  # on the first day of 12m; on as_of: unseen
            *_stays("too_early", [-367], "ed"),
            *_stays("six", [-182]),
            *_stays("six_early", [-183]),
        ]
    )
    f = build_features(tables, AS_OF, population="all").set_index("person_id")
    assert f.loc["twelve", ["ed_visits_12m", "ed_visits_365d"]].tolist() == [1, 0]
    assert f.loc["too_early", "ed_visits_12m"] == 0
    assert f.loc["six", ["inpatient_admissions_6m", "inpatient_admissions_180d"]].tolist() == [1, 0]
    assert f.loc["six_early", "inpatient_admissions_6m"] == 0


@pytest.mark.parametrize(("offset", "counted"), [(-123, 1), (-124, 0)])
def test_a_month_back_without_the_day_ends_on_the_months_last_day(offset, counted) -> None:
    # As of 2024-08-31, 6 months back is 2024-02-29 (February has no 31st): a stay on
    # 2024-02-29 (123 days before 2024-07-01) counts, one on 2024-02-28 does not.
    tables = make_tables(encounters=_stays("p", [offset]))
    f = build_features(tables, "2024-08-31", population="all")
    assert f["inpatient_admissions_6m"].item() == counted
