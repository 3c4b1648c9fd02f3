"""Outcome labels: window edges, censoring, readmission, homeless entry, ED threshold."""

from __future__ import annotations

import pandas as pd
import pytest

from riskstrat._config import default_config_path, read_yaml
from riskstrat.outcomes import build_outcomes, latest_event_date, load_outcome_spec

D = pd.Timestamp
AS_OF = D("2025-01-01")
DATA_END = D("2026-06-30")  # well past the 12-month window ending 2026-01-01


def _persons(*ids: str, deaths: dict[str, str] | None = None) -> pd.DataFrame:
    deaths = deaths or {}
    return pd.DataFrame(
        {
            "person_id": list(ids),
            "birth_date": [D("1980-05-05")] * len(ids),
            "sex": ["F"] * len(ids),
            "race_ethnicity": ["White"] * len(ids),
            "spa": [4] * len(ids),
            "death_date": [D(deaths[i]) if i in deaths else pd.NaT for i in ids],
        }
    )


def _encounters(rows: list[tuple[str, str, str | None, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "start_date": [D(r[1]) for r in rows],
            "end_date": [D(r[2]) if r[2] else pd.NaT for r in rows],
            "setting": [r[3] for r in rows],
            "paid_amount": [100.0] * len(rows),
        }
    )


def _row(out: pd.DataFrame, pid: str, as_of: pd.Timestamp = AS_OF) -> pd.Series:
    rows = out[(out["person_id"] == pid) & (out["as_of"] == as_of)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_window_edges_one_day_inside_outside_and_before() -> None:
    # Window is [2025-01-01, 2026-01-01).
    tables = {
        "persons": _persons("first_day", "last_day", "after", "before"),
        "justice": pd.DataFrame(
            {
                "person_id": ["first_day", "last_day", "after", "before"],
                "event_date": [D("2025-01-01"), D("2025-12-31"), D("2026-01-01"), D("2024-12-31")],
                "event_type": ["booking"] * 4,
            }
        ),
    }
    out = build_outcomes(tables, AS_OF, data_end=DATA_END)
    labels = dict(zip(out["person_id"], out["jail_booking"].tolist(), strict=True))
    assert labels == {"first_day": 1, "last_day": 1, "after": 0, "before": 0}
    assert not out["jail_booking_censored"].any()
    assert (out["followup_end"] == D("2025-12-31")).all()


def test_death_censors_other_outcomes_but_is_the_death_label() -> None:
    tables = {
        "persons": _persons(
            "dies",
            "dies_after_booking",
            "lives",
            deaths={"dies": "2025-06-01", "dies_after_booking": "2025-08-01"},
        ),
        "justice": pd.DataFrame(
            {
                "person_id": ["dies_after_booking"],
                "event_date": [D("2025-03-01")],
                "event_type": ["booking"],
            }
        ),
    }
    out = build_outcomes(tables, AS_OF, data_end=DATA_END)
    dies = _row(out, "dies")
    assert dies["death"] == 1 and not dies["death_censored"]
    assert dies["jail_booking_censored"] and pd.isna(dies["jail_booking"])  # excluded, not "no"
    assert dies["psych_crisis_censored"] and dies["total_cost_censored"]
    assert dies["total_cost"] == 0.0  # total_cost counts censored rows (policy "count")
    assert dies["followup_end"] == D("2025-06-01")
    # An event seen before death makes the binary label known: not censored.
    booked = _row(out, "dies_after_booking")
    assert booked["jail_booking"] == 1 and not booked["jail_booking_censored"]
    lives = _row(out, "lives")
    assert lives["death"] == 0 and lives["jail_booking"] == 0 and not lives["death_censored"]


def test_dead_before_as_of_is_not_in_the_population() -> None:
    # As in the feature builder: a death before as_of excludes the person; one on as_of is
    # the window's first day (alive at its start, as the synthetic oracle counts).
    deaths = {"gone": "2024-12-31", "dies_on_as_of": "2025-01-01", "next_day": "2025-01-02"}
    tables = {"persons": _persons("gone", "dies_on_as_of", "next_day", "here", deaths=deaths)}
    out = build_outcomes(tables, AS_OF, data_end=DATA_END)
    assert out["person_id"].tolist() == ["dies_on_as_of", "here", "next_day"]
    assert out["death"].tolist() == [1, 0, 1]


def test_data_ending_early_censors_every_outcome_without_an_event(caplog) -> None:
    tables = {
        "persons": _persons("p", "q"),
        "justice": pd.DataFrame(
            {"person_id": ["q"], "event_date": [D("2025-02-01")], "event_type": ["booking"]}
        ),
    }
    # The last day of the window is 2025-12-31: data ending that day is complete.
    full = build_outcomes(tables, AS_OF, data_end="2025-12-31")
    assert not full["death_censored"].any() and not full["jail_booking_censored"].any()
    assert "falls inside" not in caplog.text
    short = build_outcomes(tables, AS_OF, data_end="2025-12-30")
    # Said, since a rate over the labels left (the events) reads high.
    assert (
        "outcomes as of 2025-01-01: the data end (2025-12-30) falls inside the 12-month "
        "window, so every label of an outcome with that horizon without an event seen is "
        "censored"
    ) in caplog.text
    p, q = _row(short, "p"), _row(short, "q")
    assert p["death_censored"] and pd.isna(p["death"])
    assert p["jail_booking_censored"] and pd.isna(p["jail_booking"])
    assert q["jail_booking"] == 1 and not q["jail_booking_censored"]
    assert p["followup_end"] == D("2025-12-30")
    # Inferred data end is the latest event date: 2025-02-01 here, so everyone is censored.
    assert latest_event_date(tables) == D("2025-02-01")
    inferred = build_outcomes(tables, AS_OF)
    assert inferred["death_censored"].all()
    caplog.clear()
    build_outcomes(tables, "2030-01-01")
    assert "(the as-of date is after it)" in caplog.text


def test_readmission_at_30_days_counts_and_at_31_does_not() -> None:
    tables = {
        "persons": _persons("d30", "d31", "open"),
        "encounters": _encounters(
            [
                ("d30", "2025-03-01", "2025-03-05", "inpatient_medical"),
                ("d30", "2025-04-04", "2025-04-06", "inpatient_psych"),  # 30 days after 03-05
                ("d31", "2025-03-01", "2025-03-05", "inpatient_medical"),
                ("d31", "2025-04-05", "2025-04-06", "inpatient_medical"),  # 31 days
                ("open", "2025-03-01", None, "inpatient_medical"),  # never discharged
                ("open", "2025-03-10", "2025-03-12", "ed"),  # not inpatient
            ]
        ),
    }
    out = build_outcomes(tables, AS_OF, data_end=DATA_END)
    labels = dict(zip(out["person_id"], out["readmission_30d"].tolist(), strict=True))
    assert labels == {"d30": 1, "d31": 0, "open": 0}


def test_homeless_entry_versus_continuing_spell() -> None:
    # end_date is the exit day, the first night away: a spell starting 7 nights after it
    # is a return (HUD: 7+ nights end an episode); 6 nights after, the same episode.
    rows = [
        ("new", "2025-03-01", None, "emergency_shelter"),
        ("continuing", "2024-10-01", "2025-02-28", "street_outreach"),
        ("continuing", "2025-03-01", None, "emergency_shelter"),  # the day after
        ("returns", "2024-10-01", "2025-02-28", "street_outreach"),
        ("returns", "2025-03-07", None, "emergency_shelter"),  # 7 nights away: a return
        ("six_nights", "2024-10-01", "2025-02-28", "street_outreach"),
        ("six_nights", "2025-03-06", None, "emergency_shelter"),  # 6 nights: one episode
        ("housed", "2025-03-01", None, "permanent_supportive_housing"),  # not homeless
    ]
    tables = {
        "persons": _persons("new", "continuing", "returns", "six_nights", "housed"),
        "homelessness": pd.DataFrame(
            {
                "person_id": [r[0] for r in rows],
                "start_date": [D(r[1]) for r in rows],
                "end_date": [D(r[2]) if r[2] else pd.NaT for r in rows],
                "project_type": [r[3] for r in rows],
            }
        ),
    }
    out = build_outcomes(tables, AS_OF, data_end=DATA_END)
    labels = dict(zip(out["person_id"], out["homeless_entry"].tolist(), strict=True))
    assert labels == {"new": 1, "continuing": 0, "returns": 1, "six_nights": 0, "housed": 0}


def test_a_short_break_from_a_spell_open_on_the_as_of_date_is_no_return() -> None:
    # In shelter across the as-of date, out for 2 nights, back: one HUD episode, no entry;
    # out for 7 nights and back: a return, counted.
    rows = [
        ("two_nights", "2024-12-01", "2025-02-01"),
        ("two_nights", "2025-02-03", None),
        ("seven_nights", "2024-12-01", "2025-02-01"),
        ("seven_nights", "2025-02-08", None),
    ]
    tables = {
        "persons": _persons("two_nights", "seven_nights"),
        "homelessness": pd.DataFrame(
            {
                "person_id": [r[0] for r in rows],
                "start_date": [D(r[1]) for r in rows],
                "end_date": [D(r[2]) if r[2] else pd.NaT for r in rows],
                "project_type": "emergency_shelter",
            }
        ),
    }
    out = build_outcomes(tables, AS_OF, data_end=DATA_END)
    labels = dict(zip(out["person_id"], out["homeless_entry"].tolist(), strict=True))
    assert labels == {"two_nights": 0, "seven_nights": 1}


def test_four_ed_visits_are_frequent_three_are_not_and_composite() -> None:
    ed = [(p, f"2025-0{m}-10", None, "ed") for p in ("four", "three") for m in range(1, 5)]
    ed = ed[:-1]  # "three" has three visits
    tables = {
        "persons": _persons("four", "three", "psych", "emergency_only", "booked"),
        "encounters": _encounters(
            [
                *ed,
                ("psych", "2025-05-01", "2025-05-09", "inpatient_psych"),
                ("emergency_only", "2025-05-01", "2025-05-01", "psych_emergency"),
            ]
        ),
        "justice": pd.DataFrame(
            {"person_id": ["booked"], "event_date": [D("2025-07-07")], "event_type": ["booking"]}
        ),
    }
    out = build_outcomes(tables, AS_OF, data_end=DATA_END).set_index("person_id")
    assert out.loc["four", "frequent_ed"] == 1 and out.loc["three", "frequent_ed"] == 0
    assert out["composite_adverse"].to_dict() == {
        "booked": 1,
        "emergency_only": 0,  # a psychiatric emergency is a crisis, not a composite event
        "four": 1,
        "psych": 1,
        "three": 0,
    }
    assert out.loc["emergency_only", "psych_crisis"] == 1
    assert out.loc["four", "total_cost"] == 400.0 and out.loc["three", "total_cost"] == 300.0


def test_several_as_of_dates_in_one_call() -> None:
    tables = {
        "persons": _persons("p"),
        "justice": pd.DataFrame(
            {"person_id": ["p"], "event_date": [D("2025-02-15")], "event_type": ["booking"]}
        ),
    }
    out = build_outcomes(tables, ["2025-04-01", "2025-01-01"], data_end=DATA_END)
    assert out["as_of"].tolist() == [D("2025-01-01"), D("2025-04-01")]
    assert out["jail_booking"].tolist() == [1, 0]
    # The second window ends 2026-04-01, past nothing: data ends 2026-06-30.
    assert out["followup_end"].tolist() == [D("2025-12-31"), D("2026-03-31")]


def test_missing_optional_table_and_column_mean_no_events() -> None:
    persons = _persons("p").drop(columns="death_date")
    out = build_outcomes({"persons": persons}, AS_OF, data_end=DATA_END)
    assert out.loc[0, "psych_crisis"] == 0 and out.loc[0, "total_cost"] == 0.0
    assert out.loc[0, "death"] == 0 and not out.loc[0, "death_censored"]


def test_persons_required() -> None:
    with pytest.raises(ValueError, match="table 'persons' is missing from the input"):
        build_outcomes({}, AS_OF, spec=load_outcome_spec(), data_end=DATA_END)
    with pytest.raises(ValueError, match="required table 'persons'"):
        build_outcomes({}, AS_OF, spec=load_outcome_spec(), data_end=DATA_END, validate=False)


def test_folder_of_parquet_files_gives_the_same_labels(tmp_path) -> None:
    tables = {
        "persons": _persons("p", "q", deaths={"q": "2025-05-05"}),
        "encounters": _encounters([("p", "2025-02-01", "2025-02-03", "inpatient_psych")]),
    }
    for name, frame in tables.items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    from_files = build_outcomes(tmp_path, AS_OF, data_end=DATA_END)
    in_memory = build_outcomes(tables, AS_OF, data_end=DATA_END)
    pd.testing.assert_frame_equal(from_files, in_memory)
    assert from_files.loc[0, "psych_crisis"] == 1 and pd.isna(from_files.loc[1, "psych_crisis"])


def test_a_folder_is_validated_so_a_stray_date_moves_no_data_end(tmp_path, caplog) -> None:
    # A visit keyed in 2125 made the inferred data end 2125 and read censored windows as
    # "no event"; read through the contract, the row is set aside and counted.
    tables = {
        "persons": _persons("p", "q"),
        "justice": pd.DataFrame(
            {"person_id": ["q"], "event_date": [D("2025-02-01")], "event_type": ["booking"]}
        ),
    }
    visits = [("p", f"2024-0{m}-01", f"2024-0{m}-01", "ed") for m in (3, 5, 7)]
    stray = _encounters([*visits, ("p", "2125-03-01", "2125-03-01", "ed")])
    for name, frame in {**tables, "encounters": stray}.items():
        frame.to_parquet(tmp_path / f"{name}.parquet", index=False)
    from_files = build_outcomes(tmp_path, AS_OF)
    assert from_files["death_censored"].all()  # data end 2025-02-01, as without the row
    assert "encounters: 1 row(s) rejected by the data contract" in caplog.text
    assert "2125" not in caplog.text


def test_a_data_end_before_the_as_of_date_is_refused() -> None:
    tables = {"persons": _persons("p")}
    build_outcomes(tables, AS_OF, data_end=AS_OF)  # one day observed: accepted
    with pytest.raises(ValueError, match="data_end 2024-12-31 is before as-of 2025-01-01"):
        build_outcomes(tables, [D("2024-01-01"), AS_OF], data_end="2024-12-31")


def test_readmission_counts_from_the_discharge_of_a_stay_open_on_the_as_of_date() -> None:
    # Admitted before as_of, discharged after it, back within 30 days: a readmission after
    # a discharge in the window. A discharge before as_of is outside it, however soon after
    # as_of the next admission comes.
    tables = {
        "persons": _persons("open_on_as_of", "discharged_before"),
        "encounters": _encounters(
            [
                ("open_on_as_of", "2024-12-25", "2025-01-05", "inpatient_medical"),
                ("open_on_as_of", "2025-01-15", "2025-01-18", "inpatient_medical"),
                ("discharged_before", "2024-12-20", "2024-12-31", "inpatient_medical"),
                ("discharged_before", "2025-01-10", "2025-01-12", "inpatient_medical"),
            ]
        ),
    }
    out = build_outcomes(tables, AS_OF, data_end=DATA_END)
    labels = dict(zip(out["person_id"], out["readmission_30d"].tolist(), strict=True))
    assert labels == {"open_on_as_of": 1, "discharged_before": 0}


def test_readmission_after_the_window_counts_only_when_configured() -> None:
    tables = {
        "persons": _persons("late"),
        "encounters": _encounters(
            [
                ("late", "2025-12-20", "2025-12-24", "inpatient_medical"),
                ("late", "2026-01-10", "2026-01-12", "inpatient_medical"),  # after window end
            ]
        ),
    }
    assert build_outcomes(tables, AS_OF, data_end=DATA_END)["readmission_30d"].tolist() == [0]
    raw = read_yaml(default_config_path("outcomes.yaml"))
    raw["outcomes"]["readmission_30d"]["event"]["readmit_in_window"] = False
    spec = load_outcome_spec(raw)
    out = build_outcomes(tables, AS_OF, spec=spec, data_end=DATA_END)
    assert out["readmission_30d"].tolist() == [1]


def test_total_cost_does_not_depend_on_the_order_rows_arrive_in() -> None:
    # Plain float addition of these amounts differs in the last bits between orders, as
    # between the same rows read from files and from hive partitions.
    import numpy as np

    rng = np.random.default_rng(1)
    amounts = np.round(rng.uniform(0, 5000, 400), 2)
    forward, backward = sum(amounts), sum(amounts[::-1])
    assert forward != backward  # the trap is real for these amounts
    encounters = pd.DataFrame(
        {
            "person_id": ["p"] * len(amounts),
            "start_date": [D("2025-02-01")] * len(amounts),
            "setting": ["primary_care"] * len(amounts),
            "paid_amount": amounts,
        }
    )
    totals = [
        build_outcomes(
            {"persons": _persons("p"), "encounters": frame}, AS_OF, data_end=DATA_END
        ).loc[0, "total_cost"]
        for frame in (encounters, encounters.iloc[::-1], encounters.sample(frac=1, random_state=2))
    ]
    assert totals[0] == totals[1] == totals[2] == pytest.approx(forward)
    assert totals[0] == round(float(np.sum(np.round(amounts * 10000))) / 10000, 4)


def test_the_spec_may_be_given_as_a_path(tmp_path) -> None:
    tables = {"persons": _persons("p")}
    path = default_config_path("outcomes.yaml")
    expected = build_outcomes(tables, AS_OF, data_end=DATA_END)
    pd.testing.assert_frame_equal(
        build_outcomes(tables, AS_OF, spec=path, data_end=DATA_END), expected
    )
    pd.testing.assert_frame_equal(
        build_outcomes(tables, AS_OF, spec=str(path), data_end=DATA_END), expected
    )
    with pytest.raises(TypeError, match="spec: expected the OutcomeSpec load_outcome_spec"):
        build_outcomes(tables, AS_OF, spec=12)


def test_labels_the_data_cannot_show_without_end_dates_are_unknown(caplog) -> None:
    # A readmission 15 days after discharge and a new homeless spell after a year housed:
    # both are events with end dates, and would be silent 0s without them.
    stays = pd.DataFrame(
        {
            "person_id": ["p", "p"],
            "start_date": [D("2025-03-01"), D("2025-03-20")],
            "end_date": [D("2025-03-05"), D("2025-03-22")],
            "setting": ["inpatient_medical"] * 2,
        }
    )
    spells = pd.DataFrame(
        {
            "person_id": ["h", "h"],
            "start_date": [D("2024-01-01"), D("2025-05-01")],
            "end_date": [D("2024-02-01"), pd.NaT],
            "project_type": ["emergency_shelter"] * 2,
        }
    )
    tables = {"persons": _persons("p", "h"), "encounters": stays, "homelessness": spells}
    seen = build_outcomes(tables, AS_OF, data_end=DATA_END).set_index("person_id")
    assert seen.loc["p", "readmission_30d"] == 1 and seen.loc["h", "homeless_entry"] == 1
    assert "end_date holds no value" not in caplog.text
    blind = {**tables, "encounters": stays.drop(columns="end_date")}
    blind["homelessness"] = spells.assign(end_date=pd.NaT)
    out = build_outcomes(blind, AS_OF, data_end=DATA_END).set_index("person_id")
    for outcome in ("readmission_30d", "homeless_entry"):
        assert out[outcome].isna().all() and out[f"{outcome}_censored"].all(), outcome
    assert "encounters.end_date holds no value on the rows readmission_30d count" in caplog.text
    assert "homelessness.end_date holds no value on the rows homeless_entry count" in caplog.text
    # Outcomes that need no end date are as before.
    assert (out["jail_booking"] == seen["jail_booking"]).all()


def test_end_dates_on_other_rows_do_not_make_readmissions_visible(caplog) -> None:
    # ED visits carry end dates; the hospital stays readmission counts do not. Read as
    # "no readmission", p's label would be a silent 0.
    stays = pd.DataFrame(
        {
            "person_id": ["p", "p", "p"],
            "start_date": [D("2025-03-01"), D("2025-03-20"), D("2025-04-02")],
            "end_date": [pd.NaT, pd.NaT, D("2025-04-02")],
            "setting": ["inpatient_medical", "inpatient_medical", "ed"],
        }
    )
    tables = {"persons": _persons("p"), "encounters": stays}
    out = build_outcomes(tables, AS_OF, data_end=DATA_END).set_index("person_id")
    assert pd.isna(out.loc["p", "readmission_30d"]) and out.loc["p", "readmission_30d_censored"]
    assert "encounters.end_date holds no value on the rows readmission_30d count" in caplog.text
    # One stay with its end date is enough to tell: the label is known again.
    caplog.clear()
    dated = stays.assign(end_date=[D("2025-03-05"), pd.NaT, D("2025-04-02")])
    out = build_outcomes({**tables, "encounters": dated}, AS_OF, data_end=DATA_END)
    assert out.set_index("person_id").loc["p", "readmission_30d"] == 1
    assert "end_date holds no value" not in caplog.text


def test_a_table_the_input_lacks_is_named_with_the_outcomes_it_leaves_empty(caplog) -> None:
    tables = {"persons": _persons("a")}
    with caplog.at_level("WARNING", logger="riskstrat"):
        build_outcomes(tables, AS_OF, data_end=DATA_END)
    absent = [r.getMessage() for r in caplog.records if "read as no events" in r.getMessage()]
    assert absent == [
        "no encounters table in the input: read as no events by 5 outcomes (psych_crisis, "
        "frequent_ed, readmission_30d, total_cost, composite_adverse)",
        "no justice table in the input: read as no events by 2 outcomes (jail_booking, "
        "composite_adverse)",
        "no homelessness table in the input: read as no events by outcome homeless_entry",
    ]
