"""Jail booking -> release cycles, probation and referrals."""

from __future__ import annotations

import pandas as pd


def test_releases_follow_bookings(county) -> None:
    jus = county.tables["justice"]
    counts = jus["event_type"].value_counts()
    assert counts["release"] <= counts["booking"]
    assert counts["release"] > 0.9 * counts["booking"]
    first_booking = jus[jus["event_type"] == "booking"].groupby("person_id")["event_date"].min()
    releases = jus[jus["event_type"] == "release"]
    assert (releases["event_date"] >= releases["person_id"].map(first_booking)).all()
    starts = jus[jus["event_type"] == "probation_start"].groupby("person_id")["event_date"].min()
    ends = jus[jus["event_type"] == "probation_end"].groupby("person_id")["event_date"].min()
    assert (ends >= starts.reindex(ends.index)).all()


def test_bookings_are_mostly_young_men(county) -> None:
    jus = county.tables["justice"]
    persons = county.tables["persons"].set_index("person_id")
    book = jus[jus["event_type"] == "booking"]
    assert (book["person_id"].map(persons["sex"]) == "M").mean() > 0.65
    age = (book["event_date"] - book["person_id"].map(persons["birth_date"])).dt.days / 365.25
    assert age.min() >= 14 and 25 < age.median() < 45
    assert pd.Series(book["person_id"]).value_counts().max() >= 5  # repeat bookings
