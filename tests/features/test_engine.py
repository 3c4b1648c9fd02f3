"""Hand-computed feature values: one assert per aggregate kind and window edge.

as_of is 2024-07-01; offsets are days before it (-365 is 2023-07-02, inside the 365-day
window; 0 is as_of itself, always outside).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskstrat.features import NEVER_DAYS, build_features, population
from riskstrat.features._engine import MISSING_COLUMN, NO_PERSONS

from .conftest import AS_OF, make_tables


def row(features: pd.DataFrame, person_id: str) -> dict:
    (record,) = features[features["person_id"] == person_id].to_dict("records")
    return record


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    enc = [
        # ED visits: the window edges of 30, 90, 365 days and as_of itself.
        *[
            {"person_id": "a", "start_date": d, "setting": "ed", "dx_group": g}
            for d, g in [
                (0, "medical"),
                (-1, "substance_use"),
                (-30, "medical"),
                (-31, "medical"),
                (-200, "medical"),
                (-365, "substance_use"),
                (-366, "medical"),
            ]
        ],
        # Psychiatric stay still open on as_of (its end, after as_of, is unknown).
        {"person_id": "a", "start_date": -10, "end_date": 5, "setting": "inpatient_psych"},
        {
            "person_id": "a",
            "start_date": -100,
            "end_date": -95,
            "setting": "inpatient_medical",
            "avoidable": True,
            "paid_amount": 1000.5,
        },
        # b: a stay that ended the day before as_of and one that starts on as_of.
        {"person_id": "b", "start_date": -20, "end_date": -1, "setting": "imd"},
        {"person_id": "b", "start_date": 0, "end_date": 3, "setting": "inpatient_psych"},
        # c: a stay ending on as_of is open "now".
        {"person_id": "c", "start_date": -5, "end_date": 0, "setting": "inpatient_medical"},
    ]
    for r in enc:
        r.setdefault("end_date", r["start_date"])
        r.setdefault("avoidable", False)
        r.setdefault("paid_amount", 10.0)
        r.setdefault("dx_group", "medical")
    justice = [
        ("j", -400, "booking"),
        ("j", -360, "release"),
        ("j", -100, "booking"),
        ("j", -90, "release"),
        ("j", -30, "booking"),
        ("j", 10, "release"),
        ("j", -50, "probation_start"),
        ("j", -10, "probation_end"),
        ("j", -5, "probation_start"),
        ("j", -90, "diversion_referral"),
        ("j", -91, "diversion_referral"),
        ("j", 0, "drug_court_referral"),
        # k: a booking without its release ends at the next booking.
        ("k", -100, "booking"),
        ("k", -50, "booking"),
        ("k", -40, "release"),
    ]
    pharmacy = [
        {"person_id": "p", "fill_date": -30, "drug_class": "antipsychotic", "days_supply": 30},
        {"person_id": "p", "fill_date": -31, "drug_class": "moud", "days_supply": 30},
        {"person_id": "p", "fill_date": -365, "drug_class": "naloxone", "days_supply": None},
        {"person_id": "q", "fill_date": -29, "drug_class": "moud", "days_supply": None},
    ]
    assessments = [
        {"person_id": "m", "assessed_date": -400, "instrument": "MCAS", "score": 40.0},
        {"person_id": "m", "assessed_date": -10, "instrument": "MCAS", "score": 55.0},
        {"person_id": "m", "assessed_date": 0, "instrument": "MCAS", "score": 80.0},
        {"person_id": "m", "assessed_date": -1, "instrument": "PHQ-9", "score": 20.0},
    ]
    diagnoses = [
        ("x", -1000, "smi"),
        ("x", -1, "sud_opioid"),
        ("x", -500, "diabetes"),
        ("x", -400, "diabetes"),
        ("x", -300, "hypertension"),
        ("x", -270, "pregnancy"),
        ("x", -730, "overdose"),
        ("x", -100, "overdose"),
        ("x", -100, "overdose"),
        ("x", -731, "overdose"),
        ("x", 0, "anxiety"),
        ("y", -271, "pregnancy"),
    ]
    homelessness = [
        ("h", -400, -300, "emergency_shelter"),
        ("h", -200, None, "street_outreach"),
        ("h", -150, -100, "emergency_shelter"),  # inside the open spell: not double counted
        ("h", -10, None, "permanent_supportive_housing"),
    ]
    enrollments = [
        ("e", "hcss", -10, None),
        ("e", "fsp", -100, -1),
        ("e", "isr", 0, None),
    ]
    tables = make_tables(
        encounters=enc,
        justice=[
            dict(zip(("person_id", "event_date", "event_type"), r, strict=True)) for r in justice
        ],
        pharmacy=pharmacy,
        assessments=assessments,
        diagnoses=[
            dict(zip(("person_id", "dx_date", "condition"), r, strict=True)) for r in diagnoses
        ],
        homelessness=[
            dict(zip(("person_id", "start_date", "end_date", "project_type"), r, strict=True))
            for r in homelessness
        ],
        enrollments=[
            dict(zip(("person_id", "program", "start_date", "end_date"), r, strict=True))
            for r in enrollments
        ],
    )
    tables["pharmacy"]["days_supply"] = tables["pharmacy"]["days_supply"].astype("Int64")
    return build_features(tables, AS_OF)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ed_visits_30d", 2),  # -1 and -30; -31 is out, 0 (as_of) is out
        ("ed_visits_90d", 3),
        ("ed_visits_180d", 3),
        ("ed_visits_365d", 5),  # -365 is in
        ("ed_visits_730d", 6),
        ("ed_visits_all", 6),
        ("sud_ed_visits_365d", 2),
        ("days_since_ed_visit", 1),
        ("ed_visits_trend", 2),  # 3 in [-180, 0) minus 1 in [-360, -180)
        ("in_institution_now", True),
        ("in_hospital_now", True),
        ("psych_inpatient_admissions_90d", 1),
        ("inpatient_admissions_180d", 2),
        ("inpatient_medical_admissions_180d", 1),
        ("avoidable_admissions_180d", 1),
        ("inpatient_admissions_trend", 2),
        ("inpatient_days_365d", 15),  # 10 days of the open stay (clipped at as_of) + 5
        ("days_since_inpatient_discharge", 95),  # the open stay has no known discharge
        ("days_since_medical_discharge", 95),
        # 5 ED visits in the window; the psychiatric stay still open on as_of is not billed yet.
        ("paid_amount_365d", 1000.5 + 10.0 * 5),
    ],
)
def test_encounter_features(history: pd.DataFrame, name: str, expected: object) -> None:
    assert row(history, "a")[name] == expected


def test_stay_edges_of_now(history: pd.DataFrame) -> None:
    b, c = row(history, "b"), row(history, "c")
    assert not b["in_institution_now"]  # imd stay ended the day before as_of
    assert b["psych_inpatient_admissions_90d"] == 0  # the stay starting on as_of is unseen
    assert b["days_since_inpatient_discharge"] == NEVER_DAYS
    assert c["in_hospital_now"]  # ends on as_of: still there on as_of
    assert c["days_since_medical_discharge"] == NEVER_DAYS


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bookings_90d", 1),
        ("bookings_365d", 2),
        ("bookings_730d", 3),
        ("days_incarcerated_365d", 5 + 10 + 30),  # [-365,-360) + [-100,-90) + [-30, 0)
        ("days_since_release", 90),  # the release after as_of is unseen
        ("incarcerated_now", True),
        ("on_probation_now", True),
        ("probation_starts_90d", 2),
        ("diversion_referrals_90d", 1),
        ("drug_court_referrals_365d", 0),
    ],
)
def test_justice_features(history: pd.DataFrame, name: str, expected: object) -> None:
    assert row(history, "j")[name] == expected


def test_booking_without_release_ends_at_next_booking(history: pd.DataFrame) -> None:
    k = row(history, "k")
    assert k["days_incarcerated_365d"] == 60
    assert not k["incarcerated_now"]
    assert k["days_since_release"] == 40


def _justice(person_id: str, *events: tuple[int, str]) -> list[dict]:
    return [{"person_id": person_id, "event_date": d, "event_type": t} for d, t in events]


def test_a_day_with_a_release_and_a_booking_reads_by_what_ran_before() -> None:
    just = [
        # Released and booked again on -20: still in jail on as_of.
        *_justice(
            "rebooked", (-40, "booking"), (-20, "release"), (-20, "booking"), (10, "release")
        ),
        # The same with the new booking a day later: the reading must not change.
        *_justice(
            "next_day", (-40, "booking"), (-20, "release"), (-19, "booking"), (10, "release")
        ),
        # Nothing running before -20: booked and released that day, a 0-day stay.
        *_justice("cited", (-20, "booking"), (-20, "release")),
        # A new probation term starting the day the old one ends.
        *_justice(
            "new_term", (-400, "probation_start"), (-30, "probation_end"), (-30, "probation_start")
        ),
        # Two same-day pairs: nothing runs after either.
        *_justice("twice", (-50, "booking"), (-50, "release"), (-20, "booking"), (-20, "release")),
        # Released and booked again twice: each such day keeps the stay running.
        *_justice(
            "chained",
            *[(-30, "booking"), (-20, "release"), (-20, "booking")],
            *[(-10, "release"), (-10, "booking")],
        ),
        # Yearly probation terms, each starting as the last ends.
        *_justice(
            "renewed",
            *[(-800, "probation_start"), (-400, "probation_end"), (-400, "probation_start")],
            *[(-35, "probation_end"), (-35, "probation_start")],
        ),
    ]
    features = build_features(make_tables(justice=just), AS_OF, population="all")
    rebooked, next_day = row(features, "rebooked"), row(features, "next_day")
    assert rebooked["incarcerated_now"] and next_day["incarcerated_now"]
    assert rebooked["days_incarcerated_365d"] == 40  # [-40, -20) + [-20, 0)
    assert next_day["days_incarcerated_365d"] == 39  # [-40, -20) + [-19, 0)
    cited = row(features, "cited")
    assert not cited["incarcerated_now"]
    assert (cited["days_incarcerated_365d"], cited["days_since_release"]) == (0, 20)
    assert row(features, "new_term")["on_probation_now"]
    twice = row(features, "twice")
    assert not twice["incarcerated_now"] and twice["days_incarcerated_365d"] == 0
    chained = row(features, "chained")
    assert chained["incarcerated_now"] and chained["days_incarcerated_365d"] == 30
    assert row(features, "renewed")["on_probation_now"]


def test_pharmacy_supply(history: pd.DataFrame) -> None:
    p, q = row(history, "p"), row(history, "q")
    assert p["psychotropic_supply_now"]  # filled -30 with 30 days: covers as_of - 1
    assert not p["moud_supply_now"]  # filled -31 with 30 days: ran out on as_of - 1
    assert q["moud_supply_now"]  # no days_supply: the spec's 30-day default
    assert p["naloxone_fills_365d"] == 1
    assert p["antipsychotic_fills_365d"] == 1


def test_assessments_latest_value(history: pd.DataFrame) -> None:
    m, a = row(history, "m"), row(history, "a")
    assert m["mcas_latest"] == 55.0  # the as_of assessment (80) is unseen; PHQ-9 ignored
    assert m["has_mcas"]
    assert m["days_since_mcas"] == 10
    assert pd.isna(a["mcas_latest"])
    assert not a["has_mcas"]
    assert a["days_since_mcas"] == NEVER_DAYS


def test_conditions(history: pd.DataFrame) -> None:
    x, y = row(history, "x"), row(history, "y")
    assert x["has_smi"] and x["has_sud"] and x["has_oud"] and x["has_mental_health_dx"]
    assert not x["has_aud"]
    assert x["n_chronic_conditions"] == 4  # smi, sud_opioid, diabetes, hypertension
    assert x["is_pregnant"]  # diagnosis exactly 270 days ago
    assert not y["is_pregnant"]  # 271 days ago
    assert x["overdoses_730d"] == 2  # distinct dates -730 and -100; -731 is out


def test_homelessness(history: pd.DataFrame) -> None:
    h = row(history, "h")
    assert h["homeless_now"]
    assert h["days_homeless_365d"] == 65 + 200
    assert h["homeless_episodes_1095d"] == 2
    assert h["in_supported_housing_now"]
    assert not h["chronic_homeless"]


def test_enrollments(history: pd.DataFrame) -> None:
    e = row(history, "e")
    assert e["enrolled_hcss_now"]
    assert not e["enrolled_fsp_now"]  # ended the day before as_of
    assert not e["enrolled_isr_now"]  # starts on as_of


def test_empty_values_and_dtypes(history: pd.DataFrame) -> None:
    e = row(history, "e")
    assert e["ed_visits_all"] == 0
    assert e["days_since_release"] == NEVER_DAYS
    assert not e["homeless_now"]
    assert history["ed_visits_30d"].dtype == "int64"
    assert history["homeless_now"].dtype == "bool"
    assert history["paid_amount_365d"].dtype == "float64"
    assert str(history["as_of"].dtype) == "datetime64[us]"
    assert list(history.columns[:2]) == ["person_id", "as_of"]
    assert list(history["person_id"]) == sorted(history["person_id"])


def test_age_is_whole_years_at_as_of() -> None:
    tables = make_tables(["born_on_day", "day_after"], encounters=[])
    tables["persons"]["birth_date"] = pd.to_datetime(["2006-07-01", "2006-07-02"])
    out = build_features(tables, AS_OF, population="all")
    assert list(out["age"]) == [18, 17]
    assert list(out["is_adult"]) == [True, False]


def test_recorded_sex_and_race_ethnicity() -> None:
    tables = make_tables(["black_woman", "white_man", "unknown_x"], encounters=[])
    tables["persons"]["sex"] = ["F", "M", "X"]
    tables["persons"]["race_ethnicity"] = ["Black", "White", "Unknown"]
    out = build_features(tables, AS_OF, population="all").set_index("person_id")
    assert out.loc["black_woman", ["sex_female", "sex_male"]].tolist() == [True, False]
    assert out.loc["white_man", ["sex_female", "sex_male"]].tolist() == [False, True]
    race = [c for c in out.columns if c.startswith("race_ethnicity_")]
    assert (
        out.loc["black_woman", race].sum() == 1 and out.loc["black_woman", "race_ethnicity_black"]
    )
    assert out.loc["white_man", race].sum() == 1 and out.loc["white_man", "race_ethnicity_white"]
    # Unknown (and Other/Multiple) is the reference level: no column is set.
    assert out.loc["unknown_x", race].sum() == 0
    assert not out.loc["unknown_x", ["sex_female", "sex_male"]].any()


def test_a_missing_sex_or_race_is_false_not_null() -> None:
    tables = make_tables(["a", "b"], encounters=[])
    tables["persons"]["sex"] = ["F", None]
    tables["persons"]["race_ethnicity"] = [None, "Black"]
    # The contract requires both (validation rejects these rows); a table read as stored
    # (validate=False) can still lack them, and must not make the flags null.
    out = build_features(tables, AS_OF, population="all", validate=False).set_index("person_id")
    assert out["sex_female"].dtype == bool and out["race_ethnicity_black"].dtype == bool
    assert out["sex_female"].tolist() == [True, False]
    assert out["race_ethnicity_black"].tolist() == [False, True]


def test_paid_amounts_add_exactly() -> None:
    # 0.1 ten times is 0.9999999999999999 in float addition, and a parallel float sum
    # depends on thread order; the engine adds decimals, so reruns are byte-identical.
    visits = [
        {"person_id": "p", "start_date": -d, "end_date": -d, "setting": "ed", "paid_amount": 0.1}
        for d in range(1, 11)
    ]
    tables = make_tables(["p"], encounters=visits)
    out = build_features(tables, AS_OF, population="all")
    assert out["paid_amount_365d"].tolist() == [1.0]
    assert out["paid_amount_365d"].dtype == "float64"


def test_population_rules() -> None:
    events = [("in_window", -1095), ("too_old", -1096), ("on_as_of", 0), ("dies", -5)]
    events += [("dies_later", -5), ("dead_before", -5), ("stay_spans", -2000)]
    events += [("visit_no_end", -2000)]
    tables = make_tables(
        ["no_events"],
        encounters=[
            {
                "person_id": p,
                "start_date": d,
                "end_date": None if p in ("stay_spans", "visit_no_end") else d,
                # A stay without an end is still running; a visit without one is not.
                "setting": "inpatient_medical" if p == "stay_spans" else "ed",
            }
            for p, d in events
        ],
    )
    deaths = {
        "dies": AS_OF,  # alive at the start of as_of: the death is an event of that day
        "dies_later": AS_OF + pd.Timedelta(days=1),
        "dead_before": AS_OF - pd.Timedelta(days=1),
    }
    tables["persons"]["death_date"] = pd.to_datetime(
        tables["persons"]["person_id"].map(deaths)
    ).astype("datetime64[us]")
    pop = population(tables, AS_OF)
    assert list(pop["person_id"]) == ["dies", "dies_later", "in_window", "stay_spans"]
    everyone = build_features(tables, AS_OF, population="all")
    assert set(everyone["person_id"]) == {
        "no_events",
        "in_window",
        "too_old",
        "on_as_of",
        "dies",
        "dies_later",
        "stay_spans",
        "visit_no_end",
    }
    assert list(population(tables, AS_OF, lookback_days=1096)["person_id"]) == [
        "dies",
        "dies_later",
        "in_window",
        "stay_spans",
        "too_old",
    ]


def test_a_stays_paid_amount_counts_once_it_has_ended() -> None:
    # Both stays start two days before as_of; only their ends, after it, differ. A bill for
    # the whole stay would tell the feature how long each goes on after as_of.
    stays = [
        {"person_id": p, "start_date": -2, "end_date": e, "setting": "inpatient_psych"}
        for p, e in [("short", 1), ("long", 60)]
    ]
    stays += [
        {"person_id": "ended", "start_date": -9, "end_date": -1, "setting": "inpatient_psych"},
        {"person_id": "ended", "start_date": -3, "end_date": None, "setting": "ed"},
        {"person_id": "open", "start_date": -9, "end_date": None, "setting": "imd"},
        # A visit's end, on as_of or missing, is not read: its bill counts on its day.
        {"person_id": "visit", "start_date": -1, "end_date": 0, "setting": "psych_emergency"},
        {"person_id": "visit_", "start_date": -1, "end_date": None, "setting": "psych_emergency"},
    ]
    for stay in stays:
        stay["paid_amount"] = 1000.0 * (
            (stay["end_date"] or stay["start_date"]) - stay["start_date"] + 1
        )
    out = build_features(make_tables(encounters=stays), AS_OF, population="all")
    paid = out.set_index("person_id")["paid_amount_365d"].to_dict()
    # The ED visit without an end ended the day it started, so its bill is in.
    assert paid == {
        "short": 0.0,
        "long": 0.0,
        "ended": 9000.0 + 1000.0,
        "open": 0.0,
        "visit": 1000.0,
        "visit_": 1000.0,
    }
    assert out.set_index("person_id")["in_hospital_now"].to_dict()["short"]


def test_panel_equals_per_date_builds(history: pd.DataFrame) -> None:
    tables = _history_tables()
    dates = ["2023-10-01", "2024-01-01", "2024-07-01"]
    panel = build_features(tables, dates)
    single = pd.concat([build_features(tables, d) for d in dates], ignore_index=True)
    pd.testing.assert_frame_equal(panel, single)
    assert panel["as_of"].nunique() == 3


def _history_tables() -> dict:
    return make_tables(
        encounters=[
            {"person_id": p, "start_date": d, "end_date": d + 3, "setting": s}
            for p, d, s in [
                ("a", -10, "ed"),
                ("a", -200, "inpatient_psych"),
                ("b", -100, "imd"),
                ("b", -400, "ed"),
                ("c", -700, "ed"),
            ]
        ],
        homelessness=[
            {"person_id": "a", "start_date": -500, "end_date": None, "project_type": "safe_haven"}
        ],
        justice=[
            {"person_id": "b", "event_date": -300, "event_type": "booking"},
            {"person_id": "b", "event_date": -150, "event_type": "release"},
        ],
        diagnoses=[{"person_id": "c", "dx_date": -800, "icd10": "F11.20"}],
    )


def test_csv_parquet_and_memory_agree(tmp_path) -> None:
    tables = _history_tables()
    for name, table in tables.items():
        table.to_parquet(tmp_path / f"{name}.parquet")
        (tmp_path / "csv").mkdir(exist_ok=True)
        table.to_csv(tmp_path / "csv" / f"{name}.csv", index=False)
    dates = ["2024-01-01", "2024-07-01"]
    memory = build_features(tables, dates)
    pd.testing.assert_frame_equal(build_features(tmp_path, dates), memory)
    pd.testing.assert_frame_equal(build_features(str(tmp_path / "csv"), dates), memory)
    assert row(memory[memory["as_of"] == AS_OF], "c")["has_oud"]  # icd10 F11.20 -> sud_opioid


def test_a_folder_is_read_through_the_data_contract_unless_told(tmp_path, caplog) -> None:
    # Read as stored, an ED visit keyed 1975 for a person born in 1980 counted in her
    # lifetime ED visits, and an upper-case code matched no setting, silently.
    tables = _history_tables()
    before_birth = tables["encounters"].iloc[[0]].assign(start_date=pd.Timestamp("1975-06-01"))
    upper = tables["encounters"].iloc[[0]].assign(setting="ED")
    dirty = pd.concat([tables["encounters"], before_birth, upper], ignore_index=True)
    for name, table in {**tables, "encounters": dirty}.items():
        table.to_parquet(tmp_path / f"{name}.parquet")
    clean = build_features(tables, AS_OF)
    pd.testing.assert_frame_equal(build_features(tmp_path, AS_OF), clean)
    assert "encounters: 2 row(s) rejected by the data contract" in caplog.text
    raw = build_features(tmp_path, AS_OF, validate=False)
    lifetime = raw.set_index("person_id")["ed_visits_all"]
    assert lifetime["a"] == clean.set_index("person_id")["ed_visits_all"]["a"] + 1


def test_errors_name_table_and_column() -> None:
    tables = make_tables(["a"])
    # Validation names them first; the engine too, for tables read as stored.
    with pytest.raises(ValueError, match="table 'persons' is missing from the input"):
        build_features({"encounters": tables["persons"]}, AS_OF)
    with pytest.raises(ValueError, match="table 'persons' is required"):
        build_features({"encounters": tables["persons"]}, AS_OF, validate=False)
    assert "persons" in NO_PERSONS
    bad = {"persons": tables["persons"].drop(columns="birth_date")}
    with pytest.raises(ValueError, match="required column 'birth_date' is missing"):
        build_features(bad, AS_OF)
    expected = MISSING_COLUMN.split("{")[0] + "'persons': required column 'birth_date'"
    with pytest.raises(ValueError, match=expected):
        build_features(bad, AS_OF, validate=False)
    with pytest.raises(ValueError, match="as_of: expected a date YYYY-MM-DD, got 'not a date'"):
        build_features(tables, "not a date")
    with pytest.raises(ValueError, match=r"as_of: expected a date \(YYYY-MM-DD\) or a sequence"):
        build_features(tables, 20250101)
    with pytest.raises(ValueError, match="as_of: expected at least one date"):
        build_features(tables, [])


def test_a_mistyped_table_name_is_refused_not_read_as_a_missing_table() -> None:
    # "encounter" was skipped as an unknown key: every encounter feature and label read 0.
    from riskstrat.modeling import build_panel
    from riskstrat.outcomes import build_outcomes

    visit = {"person_id": "a", "start_date": -3, "end_date": -3, "setting": "ed"}
    tables = make_tables(encounters=[visit])
    tables["encounter"] = tables.pop("encounters")
    expected = r"tables: \['encounter'\] not in the data contract; .*did you mean 'encounters'"
    with pytest.raises(ValueError, match=expected):
        build_features(tables, AS_OF)
    with pytest.raises(ValueError, match=expected):
        build_outcomes(tables, AS_OF, data_end="2026-06-30")
    with pytest.raises(ValueError, match=expected):
        build_panel(tables, [AS_OF])
    tables["encounters"] = tables.pop("encounter")
    assert build_features(tables, AS_OF)["ed_visits_365d"].tolist() == [1]


def test_partitioned_folder_and_date_types(tmp_path) -> None:
    # <table>/*.parquet (a partitioned dataset) reads like <table>.parquet.
    tables = _history_tables()
    for name, table in tables.items():
        folder = tmp_path / name
        folder.mkdir()
        half = len(table) // 2
        table.iloc[:half].to_parquet(folder / "part-0.parquet")
        table.iloc[half:].to_parquet(folder / "part-1.parquet")
    expected = build_features(tables, AS_OF)
    pd.testing.assert_frame_equal(build_features(tmp_path, AS_OF.to_datetime64()), expected)
    pd.testing.assert_frame_equal(build_features(tables, [AS_OF.date()]), expected)


def test_a_name_value_folder_above_the_files_is_not_a_column(tmp_path) -> None:
    # DuckDB would read setting=ed/ as a setting of 'ed' for every encounter (and
    # dx_group=x/ as every diagnosis group), from CSV and Parquet alike.
    tables = _history_tables()
    memory = build_features(tables, AS_OF)
    for kind in ("parquet", "csv"):
        folder = tmp_path / kind / "setting=ed" / "county"
        folder.mkdir(parents=True)
        for name, table in tables.items():
            if kind == "csv":
                table.to_csv(folder / f"{name}.csv", index=False)
            else:
                table.to_parquet(folder / f"{name}.parquet")
        pd.testing.assert_frame_equal(build_features(folder, AS_OF), memory)
    assert set(tables["encounters"]["setting"]) - {"ed"}  # settings 'ed' would overwrite


def test_a_duckdb_database_file_reads_like_its_tables(tmp_path) -> None:
    import duckdb

    tables = _history_tables()
    path = tmp_path / "county.duckdb"
    with duckdb.connect(str(path)) as con:
        for name, table in tables.items():
            con.register("frame", table)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
        con.execute("CREATE TABLE notes AS SELECT 1 AS x")  # not a contract table
    pd.testing.assert_frame_equal(build_features(path, AS_OF), build_features(tables, AS_OF))
    with pytest.raises(FileNotFoundError, match="missing: no such folder or DuckDB database"):
        build_features(tmp_path / "missing", AS_OF)
    with pytest.raises(FileNotFoundError, match="nor a DuckDB database file"):
        build_features(tmp_path / "missing", AS_OF, validate=False)
    # Tables in another schema are not the contract's, as the loader reads them.
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE SCHEMA county")
        con.register("frame", tables["persons"])
        con.execute("CREATE TABLE county.persons AS SELECT * FROM frame")
    with pytest.raises(ValueError, match="table 'persons' is missing from .*other.duckdb"):
        build_features(other, AS_OF)
    with pytest.raises(ValueError, match="table 'persons' is required"):
        build_features(other, AS_OF, validate=False)


def test_persons_in_batches_give_the_same_table(spark_county) -> None:
    # Every feature is per person: batches of persons, put back in order, are one run.
    dates = ["2023-01-01", "2023-07-01"]
    whole = build_features(spark_county, dates, batches=1)
    assert len(whole) > 1000
    pd.testing.assert_frame_equal(build_features(spark_county, dates, batches=3), whole)
    tables = {p.stem: pd.read_parquet(p) for p in spark_county.glob("*.parquet")}
    pd.testing.assert_frame_equal(build_features(tables, dates, batches=5), whole)


def test_running_out_of_memory_runs_again_in_batches(spark_county, monkeypatch, caplog):
    import duckdb

    from riskstrat.features import _engine

    whole = build_features(spark_county, "2023-07-01")
    select = _engine._select_batch
    attempts = []

    def first_whole_run_fails(con, tables, batch, batches):
        select(con, tables, batch, batches)
        if batches == 1 and not attempts:
            attempts.append("whole")
            raise duckdb.OutOfMemoryException("could not allocate block (test)")

    monkeypatch.setattr(_engine, "_select_batch", first_whole_run_fails)
    with caplog.at_level("WARNING", logger="riskstrat.features._engine"):
        again = build_features(spark_county, "2023-07-01", memory_limit="2GB")
    pd.testing.assert_frame_equal(again, whole)
    assert "ran out of its 2GB memory limit; running again in 4 batches" in caplog.text
    # Asked for a number of batches, nothing is retried: the error stands, said plainly.
    attempts.clear()
    with pytest.raises(MemoryError, match=r"ran out of its 3GB memory limit even in 1 batch\(es\)"):
        build_features(spark_county, "2023-07-01", batches=1, memory_limit="3GB")


@pytest.mark.parametrize("limit", ["lots", "2 parsecs", "", "  ", 2])
def test_a_memory_limit_duckdb_cannot_read_is_named_before_any_work(limit) -> None:
    from riskstrat.features._settings import BAD_MEMORY_LIMIT, check_memory_limit

    with pytest.raises(ValueError) as info:
        check_memory_limit(limit)
    assert str(info.value) == BAD_MEMORY_LIMIT.format(value=limit)
    # Whatever DuckDB itself takes: its own default form (80%) and short units too.
    for good in ("2GB", "512mb", "1.5GiB", " 6 GB ", "80%", "2G"):
        assert check_memory_limit(good) == good


@pytest.mark.parametrize(
    ("setting", "value"),
    [("threads", 0), ("threads", -1), ("threads", 1.5), ("threads", True), ("batches", 0)],
)
def test_a_setting_duckdb_would_refuse_is_named_before_the_data_is_read(
    monkeypatch, setting, value
) -> None:
    import riskstrat.data._checked as checked

    def never(*args, **kwargs):
        raise AssertionError("the tables were validated before the settings were checked")

    monkeypatch.setattr(checked, "checked_tables", never)
    with pytest.raises(ValueError) as info:
        build_features(make_tables(["1"]), "2023-07-01", **{setting: value})
    assert str(info.value) == (f"{setting}: expected a whole number of at least 1, got {value!r}")
    # numpy's integers (a notebook's np.int64 from a config table) are whole numbers too.
    monkeypatch.undo()
    built = build_features(make_tables(["1"]), "2023-07-01", threads=np.int64(1), population="all")
    assert built["person_id"].tolist() == ["1"]


def test_batches_keep_a_persons_rows_together_whatever_type_stores_the_id(tmp_path) -> None:
    # persons with integer ids, encounters with text ids: the SQL joins them as text, so
    # the batches must hash them as text too, or a person's events land in another batch.
    tables = make_tables(
        [str(i) for i in range(40)],
        encounters=[
            {"person_id": str(i), "start_date": -30 - i, "setting": "ed"} for i in range(40)
        ],
    )
    persons = tables["persons"].assign(person_id=tables["persons"]["person_id"].astype("int64"))
    mixed = {**tables, "persons": persons}
    whole = build_features(mixed, AS_OF, batches=1)
    assert len(whole) == 40 and (whole["ed_visits_365d"] == 1).all()
    for batches in (3, 7):
        pd.testing.assert_frame_equal(build_features(mixed, AS_OF, batches=batches), whole)
    with pytest.raises(ValueError, match="batches: expected a whole number of at least 1, got 0"):
        build_features(mixed, AS_OF, batches=0)


def test_an_as_of_date_a_quarter_past_the_data_is_warned_of(caplog) -> None:
    # Features would read the months no source covers as months without events.
    visit = {"person_id": "a", "start_date": -1, "end_date": 400, "setting": "ed"}
    tables = make_tables(encounters=[visit])  # the last event: the day before AS_OF
    last = AS_OF - pd.Timedelta(days=1)
    build_features(tables, last + pd.Timedelta(days=92))
    assert "after the data's last recorded event" not in caplog.text  # the end date is no event
    build_features(tables, last + pd.Timedelta(days=93))
    expected = f"is 93 days after the data's last recorded event ({last.date()})"
    assert expected in caplog.text
    # And before the data begins: nobody has a history, said rather than an empty table.
    assert "before the data's first" not in caplog.text
    build_features(tables, last)
    assert f"is on or before the data's first recorded event ({last.date()})" in caplog.text


def test_the_spec_may_be_given_as_a_path() -> None:
    from riskstrat._config import default_config_path

    tables = _history_tables()
    expected = build_features(tables, AS_OF)
    path = default_config_path("features.yaml")
    pd.testing.assert_frame_equal(build_features(tables, AS_OF, spec=str(path)), expected)
    with pytest.raises(TypeError, match="spec: expected the FeatureSpec load_feature_spec"):
        build_features(tables, AS_OF, spec=12)


def test_a_zoned_date_column_beside_naive_ones_is_read(caplog) -> None:
    # The check of the data's last event compared zoned and naive days, and raised.
    visit = {"person_id": "a", "start_date": -10, "end_date": -9, "setting": "ed"}
    booking = {"person_id": "a", "event_date": -5, "event_type": "booking"}
    tables = make_tables(encounters=[visit], justice=[booking])
    zoned = tables["encounters"]["start_date"].dt.tz_localize("America/Los_Angeles")
    tables["encounters"]["start_date"] = zoned
    assert build_features(tables, AS_OF)["ed_visits_365d"].tolist() == [1]
    build_features(tables, AS_OF + pd.Timedelta(days=200))
    assert "is 205 days after the data's last recorded event" in caplog.text


@pytest.mark.parametrize(
    ("local", "zone", "in_history"),
    [
        ("2024-06-30 20:00", "America/Los_Angeles", True),  # 1 July in UTC
        ("2024-07-01 08:00", "Asia/Tokyo", False),  # 30 June in UTC
    ],
)
def test_a_zoned_event_falls_on_its_own_day_in_history_and_in_labels(
    local, zone, in_history
) -> None:
    from riskstrat.outcomes import build_outcomes

    day = pd.Series(pd.to_datetime([local] * 4)).dt.tz_localize(zone)
    visits = pd.DataFrame(
        {"person_id": ["a"] * 4, "start_date": day, "end_date": day, "setting": ["ed"] * 4}
    )
    tables = {**make_tables(["a"]), "encounters": visits}
    # Four identical rows are duplicates to the contract: the engine's own reading is tested.
    history = build_features(tables, AS_OF, population="all", validate=False)
    label = build_outcomes(tables, AS_OF, data_end="2025-07-01", validate=False)
    history, label = history["ed_visits_30d"].item(), label["frequent_ed"].item()
    # Four visits on one day: before as_of they are history, on it the label's; never both.
    assert (history, label) == ((4, 0) if in_history else (0, 1))


@pytest.mark.parametrize(
    "interrupt",
    [
        lambda: __import__("duckdb").InterruptException("INTERRUPT Error: Interrupted!"),
        lambda: RuntimeError("Query interrupted"),
    ],
)
def test_ctrl_c_inside_a_query_is_an_interrupt_not_bad_data(monkeypatch, interrupt) -> None:
    from riskstrat.features import _engine

    def stopped(*_args, **_kwargs):
        raise interrupt()

    monkeypatch.setattr(_engine, "_run_batched", stopped)
    with pytest.raises(KeyboardInterrupt):
        build_features(make_tables(["p"]), AS_OF, population="all")


def test_a_paid_amount_input_needs_the_end_dates_that_settle_it() -> None:
    from riskstrat.features import load_feature_spec
    from riskstrat.features._inputs import empty_inputs
    from riskstrat.features._spec import expand_features

    stays = make_tables(
        encounters=[
            {
                "person_id": "a",
                "start_date": -9,
                "end_date": -2,
                "setting": "imd",
                "paid_amount": 9.0,
            }
        ]
    )
    paid = [f for f in expand_features(load_feature_spec()) if f.name == "paid_amount_365d"]
    assert empty_inputs(stays, paid) == {}
    # Without end dates every stay is still open, and every bill reads 0.
    stays["encounters"] = stays["encounters"].drop(columns="end_date")
    assert empty_inputs(stays, paid) == {"encounters.end_date": ["paid_amount_365d"]}


def test_a_table_the_input_lacks_is_named_with_the_features_it_leaves_empty(caplog) -> None:
    # An extract without its pharmacy file read every supply as none, without a word.
    tables = make_tables(["p"], encounters=[{"person_id": "p", "start_date": -5, "setting": "ed"}])
    with caplog.at_level("WARNING", logger="riskstrat"):
        build_features(tables, AS_OF, population="all")
    absent = [r.getMessage() for r in caplog.records if "read as no events" in r.getMessage()]
    pharmacy = next(m for m in absent if m.startswith("no pharmacy table"))
    assert pharmacy.startswith("no pharmacy table in the input: read as no events by ")
    assert "psychotropic" in pharmacy
    assert not any(m.startswith(("no encounters table", "no persons table")) for m in absent)


def test_a_claims_lag_before_the_as_of_date_is_found_and_one_after_it_is_not() -> None:
    from riskstrat.features import load_feature_spec
    from riskstrat.features._inputs import emptier_lately
    from riskstrat.features._spec import expand_features

    days = pd.date_range("2024-01-01", "2025-06-30")
    paid = pd.Series(100.0, index=range(len(days)))
    encounters = pd.DataFrame({"start_date": days, "setting": "ed", "paid_amount": paid})
    inputs = [f for f in expand_features(load_feature_spec()) if f.name == "paid_amount_365d"]
    lagging = encounters.assign(paid_amount=paid.where(days < "2025-05-01"))
    found = emptier_lately({"encounters": lagging}, inputs, pd.Timestamp("2025-07-01"))
    assert [(c, round(recent, 2), before) for c, recent, before, _ in found] == [
        ("encounters.paid_amount", 0.68, 0.0)  # 61 of the 90 days from 2 April to 30 June
    ]
    # Scored as of 1 April, the empty months are after it: nothing to say.
    assert emptier_lately({"encounters": lagging}, inputs, pd.Timestamp("2025-04-01")) == []
    assert emptier_lately({"encounters": encounters}, inputs, pd.Timestamp("2025-07-01")) == []


@pytest.mark.parametrize(
    "command",
    [
        ["features", "--as-of", "2023-07-01", "--out", "f.parquet"],
        ["eligibility", "--as-of", "2023-07-01", "--out", "f.parquet"],
    ],
)
@pytest.mark.usefixtures("duckdb_always_out_of_memory")
def test_a_memory_limit_too_small_for_the_data_is_a_usage_error(
    command, spark_county, tmp_path, monkeypatch
) -> None:
    """The limit is the operator's setting, not a fault in the data: exit 2, not 1."""
    from typer.testing import CliRunner

    from riskstrat.cli import app

    monkeypatch.chdir(tmp_path)
    args = [*command, "--data", str(spark_county), "--memory-limit", "40MB"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 2, out.output
    said = " ".join(out.output.split())
    assert "memory_limit: building features, DuckDB ran out of its 40MB" in said
    assert "--memory-limit of `riskstrat features`, `eligibility`, `train` and `score`" in said
    assert not (tmp_path / "f.parquet").exists()
    refused = CliRunner().invoke(app, [*args[:-1], "40 parsecs"])  # said before any data
    assert refused.exit_code == 2, refused.output
    assert "memory_limit: expected a size DuckDB reads" in refused.output
    no_thread = CliRunner().invoke(app, [*args, "--threads", "0"])
    assert no_thread.exit_code == 2, no_thread.output  # a setting, not a traceback
    assert "Invalid value for '--threads'" in no_thread.output
