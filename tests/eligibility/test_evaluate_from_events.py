"""Every programme, end to end: hand-made event tables -> real feature builder -> rules.

For each programme one person meets the criteria exactly (at the edge of a window or a
count) and a twin misses by a single event or a single day. The rules count in
calendar months, as they are worded; as of 2025-07-01, 12 months before is 2024-07-01,
6 months 2025-01-01 (181 days), 3 months 2025-04-01 (91 days) and 1 month 2025-06-01.
"""

from __future__ import annotations

import pandas as pd
import pytest

from riskstrat.eligibility import evaluate_programs, load_programs
from riskstrat.features import build_features

D = pd.Timestamp
AS_OF = D("2025-07-01")


class County:
    """Collects hand-made events and builds the input tables."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {}

    def add(self, table: str, **row: object) -> None:
        self.rows.setdefault(table, []).append(row)

    def person(self, pid: str, birth: str = "1980-01-01") -> str:
        self.add(
            "persons",
            person_id=pid,
            birth_date=D(birth),
            sex="M",
            race_ethnicity="Black",
            spa=6,
            death_date=pd.NaT,
        )
        return pid

    def dx(self, pid: str, icd10: str, date: str = "2024-01-15") -> None:
        self.add("diagnoses", person_id=pid, dx_date=D(date), icd10=icd10)

    def visit(
        self,
        pid: str,
        setting: str,
        start: str,
        end: str | None = None,
        dx_group: str = "other",
        avoidable: bool = False,
    ) -> None:
        self.add(
            "encounters",
            person_id=pid,
            start_date=D(start),
            end_date=D(end) if end else (pd.NaT if setting != "ed" else D(start)),
            setting=setting,
            dx_group=dx_group,
            avoidable=avoidable,
            paid_amount=500.0,
        )

    def spell(self, pid: str, project_type: str, start: str, end: str | None = None) -> None:
        self.add(
            "homelessness",
            person_id=pid,
            start_date=D(start),
            end_date=D(end) if end else pd.NaT,
            project_type=project_type,
        )

    def justice(self, pid: str, event_type: str, date: str) -> None:
        self.add("justice", person_id=pid, event_date=D(date), event_type=event_type)

    def assessment(self, pid: str, score: float, date: str) -> None:
        self.add(
            "assessments", person_id=pid, assessed_date=D(date), instrument="MCAS", score=score
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: pd.DataFrame(rows) for name, rows in self.rows.items()}


def _eligible(county: County) -> pd.DataFrame:
    features = build_features(county.tables(), AS_OF, population="all")
    long = evaluate_programs(features, load_programs())
    return long.pivot(index="person_id", columns="program", values="eligible")


def _hcss(c: County) -> None:
    for pid, first_ed in (("meets", "2024-07-01"), ("misses", "2024-06-30")):
        c.person(pid)
        c.spell(pid, "emergency_shelter", "2025-06-01")
        c.visit(pid, "ed", first_ed)  # the first of two ED visits: 365 vs 366 days before
        c.visit(pid, "ed", "2025-05-01")


def _recuperative_care(c: County) -> None:
    for pid, discharged in (("meets", "2025-06-01"), ("misses", "2025-05-31")):
        c.person(pid)
        c.spell(pid, "street_outreach", "2025-03-01")
        c.dx(pid, "E11.9")  # diabetes and hypertension: two chronic conditions
        c.dx(pid, "I10")
        c.visit(pid, "inpatient_medical", "2025-05-20", discharged)


def _tenancy_support(c: County) -> None:
    # Open on as_of (ends that day) versus ended the day before.
    for pid, housing_end in (("meets", "2025-07-01"), ("misses", "2025-06-30")):
        c.person(pid)
        c.spell(pid, "permanent_supportive_housing", "2025-01-01", housing_end)
        c.dx(pid, "E11.9")
        c.dx(pid, "J44.9")  # COPD


def _reentry(c: County) -> None:
    # "Within 3 months": the same day 3 calendar months back, 91 days here, meets.
    for pid, released in (("meets", "2025-04-01"), ("misses", "2025-03-31")):
        c.person(pid)
        c.justice(pid, "booking", "2025-02-01")
        c.justice(pid, "release", released)
        c.dx(pid, "F11.20")  # opioid use disorder


def _rbc(c: County) -> None:
    # Still in the psychiatric hospital on as_of versus discharged the day before.
    for pid, discharged in (("meets", None), ("misses", "2025-06-30")):
        c.person(pid)
        c.visit(pid, "inpatient_psych", "2025-06-10", discharged)
        c.assessment(pid, 48, "2025-06-20")


def _isr(c: County) -> None:
    for pid, admissions in (("meets", 6), ("misses", 5)):
        c.person(pid)
        c.dx(pid, "F20.9")
        c.dx(pid, "F14.10")  # stimulant use disorder
        for k in range(admissions):
            start = D("2024-08-01") + pd.DateOffset(months=k)
            c.visit(
                pid,
                "inpatient_psych",
                str(start.date()),
                str((start + pd.Timedelta(days=5)).date()),
            )


def _sud_ens(c: County) -> None:
    for pid, visits in (("meets", 3), ("misses", 2)):
        c.person(pid)
        c.dx(pid, "F10.20")  # alcohol use disorder
        for k in range(visits):
            c.visit(pid, "sobering_center", f"2025-0{k + 2}-10", f"2025-0{k + 2}-11")


def _toc(c: County) -> None:
    # "3+ inpatient admissions in 6 months": the first exactly 6 months back (181 days).
    for pid, first in (("meets", "2025-01-01"), ("misses", "2024-12-31")):
        c.person(pid)
        c.visit(pid, "inpatient_medical", first, "2025-01-08")
        c.visit(pid, "inpatient_medical", "2025-04-01", "2025-04-05", avoidable=True)
        c.visit(pid, "inpatient_medical", "2025-06-25")  # in hospital now


def _fsp(c: County) -> None:
    # Justice involvement: a release 12 calendar months back (booked before) counts.
    for pid, released in (("meets", "2024-07-01"), ("misses", "2024-06-30")):
        c.person(pid)
        c.dx(pid, "F31.9")  # bipolar disorder: SMI
        c.justice(pid, "booking", "2024-01-10")
        c.justice(pid, "release", released)


SCENARIOS = {
    "hcss": _hcss,
    "recuperative_care": _recuperative_care,
    "tenancy_support": _tenancy_support,
    "reentry": _reentry,
    "rbc": _rbc,
    "isr": _isr,
    "sud_ens": _sud_ens,
    "toc": _toc,
    "fsp": _fsp,
}


def test_every_programme_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(load_programs())


@pytest.mark.parametrize("program", list(SCENARIOS))
def test_meets_exactly_and_misses_by_one(program: str) -> None:
    county = County()
    SCENARIOS[program](county)
    eligible = _eligible(county)
    assert bool(eligible.loc["meets", program]) is True
    assert bool(eligible.loc["misses", program]) is False


def test_isr_counts_12_calendar_months_across_a_leap_day() -> None:
    # As of 2024-07-01, 12 months back is 2023-07-01: 366 days, which a 365-day window
    # missed. Six admissions, the first on that day, meet; one day earlier, five do.
    county = County()
    for pid, first in (("meets", "2023-07-01"), ("misses", "2023-06-30")):
        county.person(pid)
        county.dx(pid, "F20.9", "2023-01-15")
        county.dx(pid, "F14.10", "2023-01-15")
        starts = [D(first)] + [D("2023-08-01") + pd.DateOffset(months=k) for k in range(5)]
        for start in starts:
            county.visit(
                pid,
                "inpatient_psych",
                str(start.date()),
                str((start + pd.Timedelta(days=3)).date()),
            )
    features = build_features(county.tables(), "2024-07-01", population="all")
    long = evaluate_programs(features, load_programs())
    isr = long[long["program"] == "isr"].set_index("person_id")["eligible"]
    assert isr.to_dict() == {"meets": True, "misses": False}
    assert features.set_index("person_id")["psych_inpatient_admissions_365d"].to_dict() == {
        "meets": 5,  # the model's day window: 365 days back is 2023-07-02
        "misses": 5,
    }


def test_reentry_waits_while_the_person_is_back_in_custody() -> None:
    county = County()
    for pid, rebooked in (("released", None), ("back_in_custody", "2025-06-11")):
        county.person(pid)
        county.dx(pid, "F20.9")
        county.justice(pid, "booking", "2025-03-01")
        county.justice(pid, "release", "2025-05-02")
        if rebooked:
            county.justice(pid, "booking", rebooked)  # not released yet
    eligible = _eligible(county)
    assert eligible["reentry"].to_dict() == {"back_in_custody": False, "released": True}


@pytest.mark.parametrize(
    ("as_of", "released", "eligible"),
    [
        ("2025-04-01", "2025-03-01", True),  # exactly 1 month back: 31 days
        ("2025-04-01", "2025-02-28", False),
        ("2025-03-01", "2025-02-01", True),  # exactly 1 month back: 28 days
        ("2025-03-01", "2025-01-31", False),
    ],
)
def test_toc_counts_a_release_within_one_calendar_month(as_of, released, eligible) -> None:
    county = County()
    county.person("p")
    for start, end in (("2024-12-20", "2024-12-24"), ("2025-01-10", "2025-01-14")):
        county.visit("p", "inpatient_medical", start, end)
    county.visit("p", "inpatient_medical", str((D(as_of) - pd.Timedelta(days=3)).date()))
    county.justice("p", "booking", "2024-11-01")
    county.justice("p", "release", released)
    features = build_features(county.tables(), as_of, population="all")
    long = evaluate_programs(features, load_programs())
    assert bool(long.loc[long["program"] == "toc", "eligible"].item()) is eligible


def test_toc_counts_a_patient_in_custody_now_as_incarcerated_within_the_month() -> None:
    county = County()
    for pid in ("in_custody", "never_booked"):
        county.person(pid)
        county.visit(pid, "inpatient_medical", "2025-02-01", "2025-02-05")
        county.visit(pid, "inpatient_medical", "2025-04-01", "2025-04-05")
        county.visit(pid, "inpatient_medical", "2025-06-25")  # in hospital now
    county.justice("in_custody", "booking", "2025-06-10")  # not released
    eligible = _eligible(county)
    assert eligible["toc"].to_dict() == {"in_custody": True, "never_booked": False}


def test_tenancy_support_reads_chronic_homelessness_before_housing() -> None:
    # On the street 2022-01-01 to 2024-06-01, housed since: chronically homeless when
    # housed. The twin's street spell lasted 364 days, one short of HUD's 12 months.
    county = County()
    for pid, left_street in (("meets", "2024-06-01"), ("misses", "2022-12-31")):
        county.person(pid)
        county.spell(pid, "street_outreach", "2022-01-01", left_street)
        county.spell(pid, "permanent_supportive_housing", left_street)
    eligible = _eligible(county)
    assert eligible["tenancy_support"].to_dict() == {"meets": True, "misses": False}


def test_rbc_needs_mcas_48_or_more() -> None:
    county = County()
    for pid, score in (("meets", 48), ("misses", 47)):
        county.person(pid)
        county.visit(pid, "inpatient_psych", "2025-06-10")
        county.assessment(pid, score, "2025-06-20")
    eligible = _eligible(county)
    assert eligible["rbc"].to_dict() == {"meets": True, "misses": False}


def test_reasons_carry_the_persons_values_from_events() -> None:
    county = County()
    _isr(county)
    features = build_features(county.tables(), AS_OF, population="all")
    long = evaluate_programs(features, load_programs())
    row = long[(long["program"] == "isr") & (long["person_id"] == "meets")].iloc[0]
    assert row["criteria_met"] == ["adult", "smi", "sud", "psych_admissions"]
    assert row["reasons"] == [
        "adult, age 45 (needs 18+)",
        "serious mental illness diagnosis",
        "co-occurring substance use disorder diagnosis",
        "6 psychiatric inpatient admissions in the last 12 months (needs 6+)",
    ]
    missed = long[(long["program"] == "isr") & (long["person_id"] == "misses")].iloc[0]
    assert "psych_admissions" not in missed["criteria_met"]
    assert missed["needs_screening"] == ["Medi-Cal beneficiary", "living in the county"]


def test_sud_means_a_use_disorder_now_not_in_remission_or_nicotine() -> None:
    # Homeless with SUD meets SUD-ENS; a code "in remission" or nicotine dependence is no SUD.
    county = County()
    for pid, code in (("active", "F10.20"), ("in_remission", "F10.21"), ("smoker", "F17.210")):
        county.person(pid)
        county.spell(pid, "emergency_shelter", "2025-06-01")
        county.dx(pid, code)
    eligible = _eligible(county)
    assert eligible["sud_ens"].to_dict() == {
        "active": True,
        "in_remission": False,
        "smoker": False,
    }


def test_an_overdose_is_a_poisoning_not_an_adverse_effect_underdosing_or_later_encounter() -> None:
    county = County()
    cases = {
        "poisoned": "T40.2X1A",
        "adverse_effect": "T40.2X5A",
        "underdosed": "T40.2X6A",
        # Care for an overdose had before the 2 years: a follow-up visit, then a sequela.
        "followed_up": "T40.2X1D",
        "sequela": "T40.2X1S",
    }
    for pid, code in cases.items():
        county.person(pid)
        county.dx(pid, "F11.20")  # opioid use disorder
        county.dx(pid, code, "2024-09-01")
    features = build_features(county.tables(), AS_OF, population="all")
    long = evaluate_programs(features, load_programs())
    sud_ens = long[long["program"] == "sud_ens"].set_index("person_id")
    assert sud_ens["eligible"].to_dict() == {
        "adverse_effect": False,
        "followed_up": False,
        "poisoned": True,
        "sequela": False,
        "underdosed": False,
    }
    assert sud_ens.loc["poisoned", "reasons"][-1] == "1 overdose(s) in the last 2 years"


def test_acute_care_counts_ed_psychiatric_emergency_visits_and_admissions_together() -> None:
    # "Multiple ED visits or hospitalizations": any two of them in 12 months.
    county = County()
    visits = {
        "ed_and_stay": [
            ("ed", "2025-02-01", None),
            ("inpatient_medical", "2025-03-01", "2025-03-04"),
        ],
        "two_psych_emergency": [
            ("psych_emergency", "2025-02-01", None),
            ("psych_emergency", "2025-05-01", None),
        ],
        "one_ed": [("ed", "2025-02-01", None)],
    }
    for pid, rows in visits.items():
        county.person(pid)
        county.spell(pid, "emergency_shelter", "2025-06-01")
        for setting, start, end in rows:
            county.visit(pid, setting, start, end)
    eligible = _eligible(county)
    assert eligible["hcss"].to_dict() == {
        "ed_and_stay": True,
        "one_ed": False,
        "two_psych_emergency": True,
    }


def test_toc_needs_a_general_hospital_stay_not_a_psychiatric_one() -> None:
    county = County()
    for pid, setting in (("medical", "inpatient_medical"), ("psychiatric", "inpatient_psych")):
        county.person(pid)
        county.dx(pid, "F32.9")  # a mental-health disorder
        county.visit(pid, setting, "2025-02-01", "2025-02-05")
        county.visit(pid, setting, "2025-04-01", "2025-04-05")
        county.visit(pid, setting, "2025-06-25")  # in hospital now
    eligible = _eligible(county)
    assert eligible["toc"].to_dict() == {"medical": True, "psychiatric": False}


@pytest.mark.parametrize("event_type", ["diversion_referral", "probation_start"])
def test_reentry_counts_a_referral_within_3_calendar_months(event_type: str) -> None:
    # As a release does: 3 months of 1 July reach back to 1 April (91 days).
    county = County()
    for pid, referred in (("meets", "2025-04-01"), ("misses", "2025-03-31")):
        county.person(pid)
        county.dx(pid, "F20.9")
        county.justice(pid, event_type, referred)
    eligible = _eligible(county)
    assert eligible["reentry"].to_dict() == {"meets": True, "misses": False}


def test_fsp_counts_a_probation_that_ended_within_12_months() -> None:
    # Supervised until 3 months ago is justice involvement, as a release 3 months ago is.
    county = County()
    for pid, ended in (("meets", "2024-07-01"), ("misses", "2024-06-30")):
        county.person(pid)
        county.dx(pid, "F20.9", "2018-05-01")
        county.justice(pid, "probation_start", "2020-01-01")
        county.justice(pid, "probation_end", ended)
    eligible = _eligible(county)
    assert eligible["fsp"].to_dict() == {"meets": True, "misses": False}


def test_an_unclosed_booking_of_long_ago_is_no_contact() -> None:
    # A booking of 2005 whose release was never recorded reads as custody still running;
    # it does not hold the person in the scored population (3 years of contact) for good.
    county = County()
    for pid, booked in (("recent", "2023-03-01"), ("stale", "2005-03-01")):
        county.person(pid)
        county.dx(pid, "F20.9", "2004-05-01")
        county.justice(pid, "booking", booked)
    features = build_features(county.tables(), AS_OF)  # the contact population
    assert features["person_id"].tolist() == ["recent"]


def test_hud_chronic_homelessness_counts_no_transitional_housing() -> None:
    # Two years in transitional housing is homeless now (HUD's literal homelessness holds
    # it) but not chronic: HUD counts streets, shelters and safe havens.
    county = County()
    for pid, project_type in (
        ("shelter", "emergency_shelter"),
        ("transitional", "transitional_housing"),
    ):
        county.person(pid)
        county.spell(pid, project_type, "2023-06-01")
    features = build_features(county.tables(), AS_OF, population="all").set_index("person_id")
    assert features["homeless_now"].to_dict() == {"shelter": True, "transitional": True}
    assert features["chronic_homeless"].to_dict() == {"shelter": True, "transitional": False}
    assert features["days_homeless_365d"].to_dict() == {"shelter": 365, "transitional": 365}
    eligible = _eligible(county)
    assert eligible["hcss"].to_dict() == {"shelter": True, "transitional": False}
