from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from riskstrat.data import normalise_table


def test_dates_become_midnight_datetime64_and_bad_values_are_flagged() -> None:
    raw = pd.DataFrame(
        {
            "person_id": [1, 2, 3, 4],
            "event_date": ["2022-03-04T17:45:00", "2022-03-05", "not a date", None],
            "event_type": ["booking"] * 4,
        }
    )
    df, bad = normalise_table("justice", raw)
    assert str(df["event_date"].dtype) == "datetime64[us]"
    assert df["event_date"].tolist()[:2] == [pd.Timestamp("2022-03-04"), pd.Timestamp("2022-03-05")]
    assert bad["event_date"].tolist() == [False, False, True, False]  # null is not "unparseable"
    assert df["person_id"].tolist() == ["1", "2", "3", "4"]


def test_a_time_after_the_day_is_dropped_in_the_forms_warehouses_write() -> None:
    written = [
        "2022-03-04 1:45 PM",
        "2022-03-04 11:59:59 p.m.",
        "2022-03-04T23:30:00.125-08:00",
        "2022-03-04 00:00 UTC",
        "2022/3/4 13:45",
        "2022-03-04 25:00",  # no hour of the day
        "2022-03-04 lunchtime",
    ]
    raw = pd.DataFrame(
        {"person_id": list("abcdefg"), "event_date": written, "event_type": ["booking"] * 7}
    )
    df, bad = normalise_table("justice", raw)
    assert df["event_date"].tolist()[:5] == [pd.Timestamp("2022-03-04")] * 5
    assert bad["event_date"].tolist() == [False] * 5 + [True, True]


def test_python_dates_and_tz_aware_timestamps_convert() -> None:
    raw = pd.DataFrame(
        {
            "person_id": ["a", "b"],
            "fill_date": [dt.date(2021, 1, 2), dt.date(2021, 1, 3)],
            "drug_class": ["moud", "insulin"],
        }
    )
    df, bad = normalise_table("pharmacy", raw)
    assert df["fill_date"].tolist() == [pd.Timestamp("2021-01-02"), pd.Timestamp("2021-01-03")]
    assert bad == {}
    aware = raw.assign(
        fill_date=pd.to_datetime(["2021-01-02 23:00", "2021-01-03 00:00"]).tz_localize("UTC")
    )
    df, _ = normalise_table("pharmacy", aware)
    assert df["fill_date"].tolist() == [pd.Timestamp("2021-01-02"), pd.Timestamp("2021-01-03")]


def test_numbers_flags_and_ids() -> None:
    raw = pd.DataFrame(
        {
            "person_id": [7.0, 12.0, np.nan],  # integer ids through a nullable float column
            "start_date": ["2020-01-01"] * 3,
            "setting": ["ed"] * 3,
            "avoidable": ["TRUE", "no", "maybe"],
            "paid_amount": ["12.5", "", "x"],
            "extra": [1, 2, 3],
        }
    )
    df, bad = normalise_table("encounters", raw)
    assert df["person_id"].tolist()[:2] == ["7", "12"] and df["person_id"].isna().tolist()[2]
    assert df["avoidable"].tolist()[:2] == [True, False]
    assert df["avoidable"].dtype == "boolean"
    assert bad["avoidable"].tolist() == [False, False, True]
    assert bad["paid_amount"].tolist() == [False, True, True]  # "" is a value, not a null
    assert "extra" not in df.columns
    # A 0/1 flag with gaps, as pandas writes it to CSV: a float column's text.
    floats = raw.assign(avoidable=["1.0", "0.0", ""])
    df, bad = normalise_table("encounters", floats)
    assert df["avoidable"].tolist()[:2] == [True, False]
    assert not bad["avoidable"].iloc[:2].any()


def test_whole_numbers_only_for_int_columns() -> None:
    raw = pd.DataFrame(
        {
            "person_id": ["a", "b", "c"],
            "fill_date": ["2021-01-01"] * 3,
            "drug_class": ["other"] * 3,
            "days_supply": [30.0, 2.5, None],
        }
    )
    df, bad = normalise_table("pharmacy", raw)
    assert df["days_supply"].dtype == "Int64"
    assert df["days_supply"].tolist()[0] == 30
    assert bad["days_supply"].tolist() == [False, True, False]


def test_a_whole_number_too_large_to_hold_is_unparseable_not_a_crash() -> None:
    # A claim number slid into days_supply: as text in a CSV, or as a Parquet integer.
    big = ["30", "99999999999999999999", "1e19", "-9007199254740993", "9007199254740991"]
    raw = pd.DataFrame(
        {
            "person_id": list("abcde"),
            "fill_date": ["2021-01-01"] * 5,
            "drug_class": ["other"] * 5,
            "days_supply": big,
        }
    )
    df, bad = normalise_table("pharmacy", raw)
    assert bad["days_supply"].tolist() == [False, True, True, True, False]
    assert df["days_supply"].tolist()[0] == 30
    stored = raw.assign(days_supply=pd.array([30, 2**64 - 1, 5, 2**63, 7], dtype="UInt64"))
    _, bad = normalise_table("pharmacy", stored)
    assert bad["days_supply"].tolist() == [False, True, False, True, False]


def test_an_infinite_amount_is_unparseable() -> None:
    raw = pd.DataFrame(
        {
            "person_id": ["a", "b", "c"],
            "start_date": ["2024-01-01"] * 3,
            "setting": ["ed"] * 3,
            "paid_amount": ["12.5", "inf", "-Infinity"],
        }
    )
    df, bad = normalise_table("encounters", raw)
    assert df["paid_amount"].isna().tolist() == [False, True, True]
    assert bad["paid_amount"].tolist() == [False, True, True]
    stored = raw.assign(paid_amount=[12.5, float("inf"), 3.0])  # as a Parquet float column
    _, bad = normalise_table("encounters", stored)
    assert bad["paid_amount"].tolist() == [False, True, False]


def test_a_year_or_a_month_alone_is_not_read_as_its_first_day() -> None:
    raw = pd.DataFrame(
        {
            "person_id": ["a"] * 7,
            "event_date": [
                "1982",
                "2020-11",
                "2020-11-24 ",
                " 20201124",
                "2020-W48",
                "24-11-2020",
                None,
            ],
            "event_type": ["booking"] * 7,
        }
    )
    df, bad = normalise_table("justice", raw)
    day = pd.Timestamp("2020-11-24")
    assert df["event_date"].tolist()[2:4] == [day, day]  # padding is not part of the date
    slashed = raw.assign(event_date=["2020/11/24", "2020-11-4", None, None, None, None, None])
    assert normalise_table("justice", slashed)[0]["event_date"].tolist()[:2] == [
        day,
        pd.Timestamp("2020-11-04"),
    ]
    assert bad["event_date"].tolist() == [True, True, False, False, True, True, False]
    # As numbers (a CSV column of them reads as integers), only yyyymmdd is a day.
    numbers = raw.assign(event_date=[1982, 202011, 20201124, 20201124.5, 0, -20201124, None])
    df, bad = normalise_table("justice", numbers)
    assert df["event_date"].tolist()[2] == day
    assert bad["event_date"].tolist() == [True, True, False, True, True, True, False]


def test_an_end_of_9999_12_31_is_an_episode_still_open() -> None:
    raw = pd.DataFrame(
        {
            "person_id": ["a", "b", "c"],
            "start_date": ["2024-01-02"] * 3,
            "end_date": ["9999-12-31", "2024-02-01", None],
            "project_type": ["emergency_shelter"] * 3,
        }
    )
    df, bad = normalise_table("homelessness", raw)
    assert df["end_date"].isna().tolist() == [True, False, True]
    assert bad == {}


def test_codes_padded_to_a_fixed_width_are_the_codes() -> None:
    raw = pd.DataFrame(
        {
            "person_id": ["a"],
            "birth_date": ["1980-01-01"],
            "sex": ["M "],
            "race_ethnicity": [" White"],
            "spa": [4],
        }
    )
    df, _ = normalise_table("persons", raw)
    assert df[["sex", "race_ethnicity"]].iloc[0].tolist() == ["M", "White"]


def test_null_spelled_out_is_missing_not_a_value() -> None:
    raw = pd.DataFrame(
        {
            "person_id": ["a", "NULL", "c", "d"],
            "birth_date": ["1980-01-01", "1981-01-01", "1982-01-01", "1983-01-01"],
            "sex": ["F", "M", "NA", "F"],
            "race_ethnicity": ["White"] * 4,
            "spa": ["4", "n/a", "#N/A", "2"],
            "death_date": ["NULL", None, "null", "2020-02-02"],
        }
    )
    df, bad = normalise_table("persons", raw)
    assert df["person_id"].isna().tolist() == [False, True, False, False]
    assert df["sex"].isna().tolist() == [False, False, True, False]
    assert df["spa"].isna().tolist() == [False, True, True, False]
    assert df["death_date"].isna().tolist() == [True, True, True, False]
    assert bad == {}  # missing, not unparseable
