"""Coded values of the input data contract (listed in docs/data-contract.md, generated from here).

A county maps its own codes onto these before loading; anything else is rejected
with the offending value named. Every other module takes its vocabulary from here
so that the contract has exactly one definition.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Literal, get_args

SEXES: tuple[str, ...] = ("F", "M", "X", "U")

RACE_ETHNICITIES: tuple[str, ...] = (
    "Black",
    "Hispanic/Latino",
    "White",
    "Asian/Pacific Islander",
    "American Indian/Alaska Native",
    "Other/Multiple",
    "Unknown",
)

# Service planning areas of Los Angeles County; null means unknown.
SPAS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)

DX_GROUPS: tuple[str, ...] = ("mental_health", "substance_use", "medical", "injury", "other")

DRUG_CLASSES: tuple[str, ...] = (
    "antipsychotic",
    "mood_stabilizer",
    "antidepressant",
    "anxiolytic",
    "moud",
    "naloxone",
    "insulin",
    "other",
)
PSYCHOTROPIC_CLASSES: tuple[str, ...] = (
    "antipsychotic",
    "mood_stabilizer",
    "antidepressant",
    "anxiolytic",
)

SETTINGS: tuple[str, ...] = (
    "ed",
    "inpatient_medical",
    "inpatient_psych",
    "psych_emergency",
    "crisis_residential",
    "imd",
    "enriched_residential",
    "residential_sud",
    "detox",
    "sobering_center",
    "recuperative_care",
    "outpatient_mh",
    "outpatient_sud",
    "primary_care",
)
# Hospital stays that count as admissions for readmission and acute-care criteria.
INPATIENT_SETTINGS: tuple[str, ...] = ("inpatient_medical", "inpatient_psych")
# Visits: events of the day they start, whatever end date their row holds (features read
# no visit's end). Any other setting's row without an end date is a stay still running.
VISIT_SETTINGS: tuple[str, ...] = (
    "ed",
    "psych_emergency",
    "sobering_center",
    "outpatient_mh",
    "outpatient_sud",
    "primary_care",
)
# Mental-health institutional settings (RBC criterion, "in an institution now").
INSTITUTIONAL_MH_SETTINGS: tuple[str, ...] = ("inpatient_psych", "imd", "enriched_residential")

JUSTICE_EVENT_TYPES: tuple[str, ...] = (
    "booking",
    "release",
    "probation_start",
    "probation_end",
    "diversion_referral",
    "drug_court_referral",
)

HMIS_PROJECT_TYPES: tuple[str, ...] = (
    "street_outreach",
    "emergency_shelter",
    "transitional_housing",
    "safe_haven",
    "rapid_rehousing",
    "permanent_supportive_housing",
    "interim_housing",
    "ces_assessment",
)
# Project types whose enrolment means the person is literally homeless on those days.
HOMELESS_PROJECT_TYPES: tuple[str, ...] = (
    "street_outreach",
    "emergency_shelter",
    "transitional_housing",
    "safe_haven",
    "interim_housing",
)
# HUD's chronic homelessness counts time in a place not meant for habitation, a safe haven
# or an emergency shelter (LA's interim housing is shelter), not transitional housing
# (24 CFR 578.3).
HUD_CHRONIC_PROJECT_TYPES: tuple[str, ...] = (
    "street_outreach",
    "emergency_shelter",
    "safe_haven",
    "interim_housing",
)
# Housed through a homeless-services programme (Tenancy Support criterion).
SUPPORTED_HOUSING_PROJECT_TYPES: tuple[str, ...] = (
    "interim_housing",
    "permanent_supportive_housing",
)

INSTRUMENTS: tuple[str, ...] = ("MCAS", "VI-SPDAT", "PHQ-9")
# Valid score ranges per instrument; MCAS is 17-85, higher is more independent.
INSTRUMENT_RANGES: dict[str, tuple[float, float]] = {
    "MCAS": (17, 85),
    "VI-SPDAT": (0, 17),
    "PHQ-9": (0, 27),
}

# Programme codes used in enrollments and in configs/programs.yaml.
PROGRAMS: tuple[str, ...] = (
    "hcss",
    "recuperative_care",
    "tenancy_support",
    "reentry",
    "rbc",
    "isr",
    "sud_ens",
    "toc",
    "fsp",
)

# The input tables, as a type for configuration fields (riskstrat/_config.py checks the value).
TableName = Literal[
    "persons",
    "encounters",
    "diagnoses",
    "pharmacy",
    "justice",
    "homelessness",
    "enrollments",
    "assessments",
]
TABLE_NAMES: tuple[str, ...] = get_args(TableName)
NOT_TABLES = (
    "tables: expected a mapping of table name to DataFrame (or a folder path), got a {kind}; "
    "load_tables gives (tables, report): pass its .tables"
)
UNKNOWN_TABLES = "tables: {names} not in the data contract; expected some of {expected}{hint}"


def check_table_names(tables: object) -> None:
    """Refuse anything but a mapping of contract table names.

    A mistyped key (``encounter``) would otherwise read as a missing optional table:
    every feature and label drawn from it zero, without a word.
    """
    if not isinstance(tables, Mapping):
        # A LoadResult (tables, report) passed whole: its str() would be the tables' rows.
        raise ValueError(NOT_TABLES.format(kind=type(tables).__name__))
    keys = [n if isinstance(n, str) else f"<{type(n).__name__}>" for n in tables]
    unknown = sorted({k[:40] for k in keys} - set(TABLE_NAMES))
    if not unknown:
        return
    close = {n: difflib.get_close_matches(n, TABLE_NAMES, n=1) for n in unknown}
    hints = [f"{match[0]!r} for {name!r}" for name, match in close.items() if match]
    hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
    raise ValueError(UNKNOWN_TABLES.format(names=unknown, expected=list(TABLE_NAMES), hint=hint))


# Columns of each table: (name, kind, required). Kinds: id, date, str, int, float, bool.
TABLE_COLUMNS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "persons": (
        ("person_id", "id", True),
        ("birth_date", "date", True),
        ("sex", "str", True),
        ("race_ethnicity", "str", True),
        ("spa", "int", True),  # column required, values may be null (unknown SPA)
        ("death_date", "date", False),
    ),
    "encounters": (
        ("person_id", "id", True),
        ("start_date", "date", True),
        ("end_date", "date", False),
        ("setting", "str", True),
        ("dx_group", "str", False),
        ("avoidable", "bool", False),
        ("paid_amount", "float", False),
        ("provider_id", "str", False),
    ),
    "diagnoses": (
        ("person_id", "id", True),
        ("dx_date", "date", True),
        ("icd10", "str", False),  # one of icd10 or condition must be present
        ("condition", "str", False),
    ),
    "pharmacy": (
        ("person_id", "id", True),
        ("fill_date", "date", True),
        ("drug_class", "str", True),
        ("days_supply", "int", False),
    ),
    "justice": (
        ("person_id", "id", True),
        ("event_date", "date", True),
        ("event_type", "str", True),
    ),
    "homelessness": (
        ("person_id", "id", True),
        ("start_date", "date", True),
        ("end_date", "date", False),
        ("project_type", "str", True),
    ),
    "enrollments": (
        ("person_id", "id", True),
        ("program", "str", True),
        ("provider_id", "str", False),
        ("start_date", "date", True),
        ("end_date", "date", False),
    ),
    "assessments": (
        ("person_id", "id", True),
        ("assessed_date", "date", True),
        ("instrument", "str", True),
        ("score", "float", True),
    ),
}

# What an optional column's absence does downstream (provider_id is read by nothing). A column the extract left out reads as
# never (no death, no cost) or as still open (no end): valid for a county that never records
# it, but it changes who is listed, so it is said rather than read in silence.
ABSENT_COLUMN_MEANS = {
    ("persons", "death_date"): "no one is known to have died, so the dead are scored as alive",
    ("encounters", "end_date"): "every stay reads as still open (in hospital now)",
    ("encounters", "dx_group"): "no visit or stay reads as substance-use related",
    ("encounters", "avoidable"): "no admission reads as avoidable",
    ("encounters", "paid_amount"): "every paid amount reads as $0",
    ("pharmacy", "days_supply"): "each fill counts the default days' supply",
    ("homelessness", "end_date"): "every episode reads as still open (homeless now)",
    ("enrollments", "end_date"): "every enrolment reads as still open (enrolled now)",
}


def contract_columns(table: str) -> list[str]:
    """The contract's column names of ``table``, in contract order."""
    return [column for column, _kind, _required in TABLE_COLUMNS[table]]


# The date each event table's row happens on: the date checked against the person's life.
EVENT_DATES: dict[str, str] = {
    "encounters": "start_date",
    "diagnoses": "dx_date",
    "pharmacy": "fill_date",
    "justice": "event_date",
    "homelessness": "start_date",
    "enrollments": "start_date",
    "assessments": "assessed_date",
}
