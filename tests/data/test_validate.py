from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskstrat.data import DataContractError, validate_tables
from riskstrat.data._codes import SETTINGS
from riskstrat.data._validate import (
    MISSING_COLUMN,
    MISSING_TABLE,
    NO_DX_CODE_COLUMN,
    NO_SUCH_FEED,
)
from riskstrat.data._violation import VIOLATION
from riskstrat.synth._dirty import inject_faults

from .conftest import REFERENCE


def test_clean_tables_pass_strict(clean: dict[str, pd.DataFrame]) -> None:
    tables, report = validate_tables(clean, reference_date=REFERENCE)
    assert report.rejected == 0
    assert report.tables["encounters"].rows_in == report.tables["encounters"].accepted == 12
    assert tables["diagnoses"]["condition"].tolist()[:2] == ["sud_opioid", "smi"]


def _copies(clean: dict[str, pd.DataFrame], table: str, n: int) -> pd.DataFrame:
    """``table`` stacked ``n`` times, its rows dealt round ``n`` times as many people.

    Enough people for a code to be shown in a message: a value is shown once 11 people
    hold it. ``clean["persons"]`` gains the copies' people (the first copy keeps the
    original ids), and row ``i`` goes to person ``i`` modulo their number.
    """
    persons = clean["persons"]
    persons = persons.loc[~persons["person_id"].str.contains(r"-\d+$")]  # an earlier call's
    stacked = pd.concat(
        [
            persons.assign(person_id=persons["person_id"] + ("" if k == 0 else f"-{k}"))
            for k in range(n)
        ],
        ignore_index=True,
    )
    clean["persons"] = stacked
    if table == "persons":
        return stacked
    frame = pd.concat([clean[table]] * n, ignore_index=True)
    ids = stacked["person_id"].to_numpy()
    return frame.assign(person_id=ids[np.arange(len(frame)) % len(ids)])


def test_strict_message_names_table_column_check_values_and_count(
    clean: dict[str, pd.DataFrame],
) -> None:
    encounters = _copies(clean, "encounters", 3).astype({"setting": "object"})
    # Codes a feed sends fill many rows: 12 and 11 here; one typed into a single row is not.
    encounters.loc[:11, "setting"] = "urgent_care"
    encounters.loc[12:22, "setting"] = "telehealth"
    encounters.loc[23, "setting"] = "walk_in"
    clean["encounters"] = encounters
    with pytest.raises(DataContractError) as info:
        validate_tables(clean, reference_date=REFERENCE)
    assert str(info.value) == VIOLATION.format(
        table="encounters",
        column="setting",
        check="unknown_code",
        count=24,
        reason="unknown setting",
        examples="offending values: ['telehealth', 'urgent_care'] and 1 more held by fewer "
        "than 11 people, or that look like ids, names or free text (not shown; rows: [23]); "
        f"expected one of {list(SETTINGS)}",
    )
    assert (info.value.table, info.value.column, info.value.check, info.value.count) == (
        "encounters",
        "setting",
        "unknown_code",
        24,
    )


def test_codes_past_the_examples_are_counted_and_a_case_slip_is_named(
    clean: dict[str, pd.DataFrame],
) -> None:
    encounters = _copies(clean, "encounters", 8).astype({"setting": "object"})
    codes = ["ED", "Detox", "a1", "a2", "a3", "a4"]  # one more than the examples shown
    for i, code in enumerate(codes):
        encounters.loc[i * 11 : i * 11 + 10, "setting"] = code
    clean["encounters"] = encounters
    with pytest.raises(DataContractError) as info:
        validate_tables(clean, reference_date=REFERENCE)
    message = str(info.value)
    assert (
        "offending values: ['Detox', 'ED', 'a1', 'a2', 'a3'] and 1 more; expected one of" in message
    )
    assert "(codes are matched exactly: 'Detox' is 'detox', 'ED' is 'ed')" in message


def test_a_name_filled_down_a_column_is_never_shown(clean: dict[str, pd.DataFrame]) -> None:
    # A spreadsheet fill-down puts one name in many rows: as many as a feed's code fills.
    encounters = _copies(clean, "encounters", 3).astype({"setting": "object"})
    encounters.loc[:14, "setting"] = "Maria Lopez"
    encounters.loc[15:27, "setting"] = "urgent_care"
    clean["encounters"] = encounters
    with pytest.raises(DataContractError) as info:
        validate_tables(clean, reference_date=REFERENCE)
    message = str(info.value)
    assert "offending values: ['urgent_care'] and 1 more" in message
    assert "Maria" not in message and "Lopez" not in message


def test_a_person_id_holding_a_name_or_an_ssn_is_refused_never_shown(
    clean: dict[str, pd.DataFrame],
) -> None:
    identifying = "SMITH JOHN 555-12-3456"
    for frame in clean.values():
        frame["person_id"] = frame["person_id"].replace("P01", identifying)
    with pytest.raises(DataContractError) as info:
        validate_tables(clean, reference_date=REFERENCE)
    message = str(info.value)
    assert (info.value.table, info.value.check) == ("persons", "identifying_person_id")
    assert "expected the linkage's pseudonymous key" in message
    assert "SMITH" not in message and "555" not in message
    # Quarantined with the person's events, which no output then carries.
    tables, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["persons"].by_check == {"identifying_person_id": 1}
    assert report.tables["encounters"].by_check == {"orphan_person_id": 2}
    assert all(identifying not in set(t["person_id"]) for t in tables.values())
    # An id of one token with dashes or dots (P-0001.22) is a key, not an SSN.
    clean = {name: frame.copy() for name, frame in clean.items()}
    for frame in clean.values():
        frame["person_id"] = frame["person_id"].replace(identifying, "P-0001.22")
    _, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["persons"].by_check == {}


def test_strict_message_shows_row_numbers_not_person_level_values(
    clean: dict[str, pd.DataFrame],
) -> None:
    clean["encounters"].loc[[4, 10], "paid_amount"] = [-12345.0, -1.0]
    with pytest.raises(DataContractError) as info:
        validate_tables(clean, reference_date=REFERENCE)
    message = str(info.value)
    assert message == VIOLATION.format(
        table="encounters",
        column="paid_amount",
        check="negative_value",
        count=2,
        reason="negative paid_amount",
        examples="rows: [4, 10]",
    )
    assert "12345" not in message


def test_future_dates_depend_on_reference_date(clean: dict[str, pd.DataFrame]) -> None:
    # Fixture dates run to 2024-06-05; persons' P04 died 2023-08-19.
    _, report = validate_tables(clean, mode="quarantine", reference_date="2024-06-04")
    assert report.tables["encounters"].by_check == {}  # detox 2024-06-01 to 06-03
    assert report.tables["enrollments"].by_check == {"future_date": 1}  # sud_ens 2024-06-05
    assert report.tables["assessments"].by_check == {"future_date": 1}  # MCAS 2024-06-05
    assert report.tables["pharmacy"].by_check == {}  # naloxone filled 2024-06-04: not after
    # The reason names the date, which a run on another day would not share.
    assert report.tables["enrollments"].by_reason == {
        "start_date after the reference date 2024-06-04 (future_date)": 1
    }


def test_rejected_person_orphans_their_events(clean: dict[str, pd.DataFrame]) -> None:
    clean["persons"].loc[0, "sex"] = "Male"  # P01: 2 encounters, 2 dx, 2 fills, ...
    tables, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["persons"].by_check == {"unknown_code": 1}
    assert report.tables["encounters"].by_check == {"orphan_person_id": 2}
    assert report.tables["homelessness"].by_check == {"orphan_person_id": 2}
    assert report.tables["assessments"].by_check == {"orphan_person_id": 2}
    assert report.tables["enrollments"].by_check == {"orphan_person_id": 1}
    assert "P01" not in set(tables["justice"]["person_id"])
    # The reason points at the persons row, which is where the fix is.
    assert report.tables["encounters"].by_reason == {
        "the person's persons row was rejected (orphan_person_id)": 2
    }
    frame = report.to_frame()  # the same counts, a row a table, for a notebook
    assert list(frame.columns) == [
        "rows_in",
        "accepted",
        "rejected",
        "orphan_person_id",
        "unknown_code",
    ]
    assert frame.loc["encounters"].tolist() == [12, 10, 2, 2, 0]
    assert frame.loc["persons"].tolist() == [10, 9, 1, 0, 1]
    assert (frame["rows_in"] == frame["accepted"] + frame["rejected"]).all()


def test_events_of_a_person_in_no_file_and_of_a_rejected_one_get_their_own_reasons(
    clean: dict[str, pd.DataFrame],
) -> None:
    clean["persons"].loc[0, "sex"] = "Male"  # P01: 2 encounters
    clean["encounters"].loc[len(clean["encounters"])] = clean["encounters"].iloc[5]
    clean["encounters"].loc[len(clean["encounters"]) - 1, "person_id"] = "P99"
    _, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["encounters"].by_check == {"orphan_person_id": 3}
    assert report.tables["encounters"].by_reason == {
        "person_id not in persons (orphan_person_id)": 1,
        "the person's persons row was rejected (orphan_person_id)": 2,
    }


def test_quarantine_writes_rejected_rows_with_check_and_reason(
    clean: dict[str, pd.DataFrame], tmp_path
) -> None:
    clean["pharmacy"].loc[[1], "days_supply"] = -28
    clean["pharmacy"] = pd.concat([clean["pharmacy"], clean["pharmacy"].iloc[[3]]])
    tables, report = validate_tables(
        clean, mode="quarantine", reference_date=REFERENCE, rejected_dir=tmp_path
    )
    rejected = pd.read_parquet(tmp_path / "pharmacy.parquet")
    assert rejected["check"].tolist() == ["negative_value", "duplicate_row"]
    assert rejected["reason"].tolist() == [
        "negative days_supply (negative_value)",
        "exact duplicate row (duplicate_row)",
    ]
    assert rejected["row_number"].tolist() == [1, 7]
    assert len(tables["pharmacy"]) == 6
    assert report.tables["pharmacy"].by_reason == {
        "exact duplicate row (duplicate_row)": 1,
        "negative days_supply (negative_value)": 1,
    }
    assert len(pd.read_parquet(tmp_path / "justice.parquet")) == 0
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temporary files


def test_a_rejected_rows_folder_made_by_quarantine_is_its_owners_only(
    clean: dict[str, pd.DataFrame], tmp_path
) -> None:
    import os
    import stat

    # The input's records as they came: listed by no one else, whatever the umask.
    made = tmp_path / "steward" / "rejected"
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o750)  # a folder the county set up keeps its access
    previous = os.umask(0o022)
    try:
        for folder in (made, shared):
            validate_tables(clean, mode="quarantine", reference_date=REFERENCE, rejected_dir=folder)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    assert stat.S_IMODE(shared.stat().st_mode) == 0o750
    assert {stat.S_IMODE(p.stat().st_mode) for p in made.iterdir()} == {0o600}


def test_unparseable_values_are_rejected_not_nulled(clean: dict[str, pd.DataFrame]) -> None:
    justice = clean["justice"].astype({"event_date": "str"})
    justice.loc[2, "event_date"] = "2022-13-45"
    clean["justice"] = justice
    _, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["justice"].by_reason == {
        "event_date is not a valid value: expected a date YYYY-MM-DD (unparseable)": 1
    }


def test_an_amount_or_a_supply_past_any_real_one_is_rejected_and_not_shown(
    clean: dict[str, pd.DataFrame],
) -> None:
    # A claim number slid into paid_amount once passed, then overflowed the feature sums.
    encounters = clean["encounters"].astype({"paid_amount": "float64"})
    encounters.loc[0, "paid_amount"] = 10_000_000.0  # the largest a bill may be: kept
    encounters.loc[1, "paid_amount"] = 4000123412341234.0
    pharmacy = clean["pharmacy"].astype({"days_supply": "float64"})
    pharmacy.loc[0, "days_supply"] = 366.0
    pharmacy.loc[1, "days_supply"] = 367.0
    tables = {**clean, "encounters": encounters, "pharmacy": pharmacy}
    _, report = validate_tables(tables, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["encounters"].by_reason == {
        "paid_amount above 10,000,000 (another field's value?) (implausible_value)": 1
    }
    assert report.tables["pharmacy"].by_check == {"implausible_value": 1}
    with pytest.raises(DataContractError) as info:
        validate_tables(tables, reference_date=REFERENCE)
    assert "4000123" not in str(info.value) and "rows: [1]" in str(info.value)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("rate", [0.1, 0.25, 0.5])
def test_quarantine_reconciles_with_injected_faults(
    clean: dict[str, pd.DataFrame], seed: int, rate: float
) -> None:
    dirty, injected = inject_faults(clean, rate=rate, seed=seed)
    tables, report = validate_tables(dirty, mode="quarantine", reference_date=REFERENCE)
    assert sum(sum(k.values()) for k in injected.values()) >= 8
    for name, t in report.tables.items():
        assert t.by_check == injected[name], name
        assert t.rows_in == len(dirty[name]) == t.accepted + t.rejected
        assert len(tables[name]) == t.accepted


def test_missing_table_and_column_are_named(clean: dict[str, pd.DataFrame]) -> None:
    without = {k: v for k, v in clean.items() if k != "justice"}
    with pytest.raises(DataContractError) as info:
        validate_tables(without, reference_date=REFERENCE)
    assert (
        str(info.value)
        == MISSING_TABLE.format(table="justice", source="the input", expected=list(clean))
        + NO_SUCH_FEED
    )
    validate_tables(without, reference_date=REFERENCE, required=("persons",))
    clean["pharmacy"] = clean["pharmacy"].drop(columns="drug_class")
    with pytest.raises(DataContractError) as info:
        validate_tables(clean, reference_date=REFERENCE)
    assert str(info.value) == MISSING_COLUMN.format(
        table="pharmacy", column="drug_class", found=["days_supply", "fill_date", "person_id"]
    )
    clean["pharmacy"] = clean["pharmacy"].rename(columns={"person_id": "Person_ID"})
    with pytest.raises(DataContractError) as info:
        validate_tables(clean, reference_date=REFERENCE)
    assert str(info.value).endswith(
        "('Person_ID' differs in case or spaces only: names are matched exactly)"
    )


def test_bad_mode_is_rejected(clean: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ValueError, match="mode: expected 'strict' or 'quarantine', got 'lenient'"):
        validate_tables(clean, mode="lenient")  # type: ignore[arg-type]


def test_diagnoses_needs_icd10_or_condition_column(clean: dict[str, pd.DataFrame]) -> None:
    only_condition = clean["diagnoses"].drop(columns="icd10")
    _, report = validate_tables(
        {**clean, "diagnoses": only_condition}, reference_date=REFERENCE, mode="quarantine"
    )
    # Without icd10 the given conditions are checked as codes; the two unmapped rows lack both.
    assert report.tables["diagnoses"].by_check == {"missing_dx_code": 2}
    neither = clean["diagnoses"].drop(columns=["icd10", "condition"])
    with pytest.raises(DataContractError) as info:
        validate_tables({**clean, "diagnoses": neither}, reference_date=REFERENCE)
    assert str(info.value) == NO_DX_CODE_COLUMN.format(found=["dx_date", "person_id"])


def test_a_condition_column_left_mostly_empty_is_warned_of(clean, caplog) -> None:
    diagnoses = clean["diagnoses"].copy()
    mapped = int(diagnoses["condition"].notna().sum())
    assert mapped >= 3
    # The first condition kept, the rest left empty: the ICD-10 mapping is off for them.
    kept = diagnoses["condition"].notna().cumsum() == 1
    diagnoses["condition"] = diagnoses["condition"].where(kept)
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        validate_tables({**clean, "diagnoses": diagnoses}, reference_date=REFERENCE)
    expected = f"diagnoses: {mapped - 1} of {len(diagnoses)} rows have an empty condition"
    assert expected in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        validate_tables(clean, reference_date=REFERENCE)
    assert "empty condition" not in caplog.text


def test_orphans_of_mixed_ids_take_the_slower_lookup_with_the_same_answer() -> None:
    from riskstrat.data._crossrow import orphan_ids

    fast = orphan_ids(
        pd.Series(["a", "b", None, "c"], dtype="string[pyarrow]"),
        pd.Series(["a", "c"], dtype="string[pyarrow]"),
    )
    assert fast.tolist() == [False, True, False, False]
    # Arrow cannot hash ints and strings together; a missing id is never an orphan.
    mixed = orphan_ids(pd.Series([1, 2, 3, None], dtype=object), pd.Series(["1", 2], dtype=object))
    assert mixed.tolist() == [True, False, True, False]


def test_persons_rejected_counts_people_not_rows(clean: dict[str, pd.DataFrame]) -> None:
    persons = clean["persons"]
    extra = persons.iloc[[1, 2, 3, 3]].copy()  # P02 copied exactly; P04 twice, differing
    extra.iloc[1, extra.columns.get_loc("person_id")] = None  # a row without an id
    extra.iloc[3, extra.columns.get_loc("spa")] = 8
    clean["persons"] = pd.concat([persons, extra], ignore_index=True)
    clean["persons"].loc[0, "sex"] = "Male"  # P01 rejected
    _, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    # Rows: P01, P02's copy, the id-less row, and all three P04 rows (the link is ambiguous).
    assert report.tables["persons"].rejected == 6
    # People: P01 and P04. P02 keeps a row; the id-less row is no one.
    assert report.persons_rejected == 2
    assert report.to_dict()["persons_rejected"] == 2


@pytest.mark.parametrize("code", ["ZZZ.99", "250.00", "F1.120", "F11.20.1"])
def test_a_code_of_no_icd10_shape_is_an_unknown_code(clean, code) -> None:
    # It would map to no condition, and the person would read as undiagnosed.
    clean["diagnoses"]["icd10"] = clean["diagnoses"]["icd10"].astype("str")
    clean["diagnoses"] = clean["diagnoses"].drop(columns="condition", errors="ignore")
    clean["diagnoses"].loc[2, "icd10"] = code
    with pytest.raises(DataContractError) as info:
        validate_tables(clean, reference_date=REFERENCE)
    assert (info.value.column, info.value.check) == ("icd10", "unknown_code")
    # One person's diagnosis is their record: named by row, not by code.
    assert repr(code) not in str(info.value) and str(info.value).endswith("rows: [2]")
    # Every shape a county sends for a real code passes: dot or not, either case, spaces.
    for ok in ["F11.20", "f1120", "O9A.1", "U07.1", " F20.9 ", "E11."]:
        clean["diagnoses"].loc[2, "icd10"] = ok
        assert validate_tables(clean, reference_date=REFERENCE).report.rejected == 0


def _strict_message(
    clean: dict[str, pd.DataFrame], table: str, column: str, values: list[str]
) -> str:
    """The strict error after writing each of ``values`` into 11 rows of a coded column
    (enough rows for a code to be shown)."""
    frame = _copies(clean, table, 5).astype({column: "object"})
    frame.loc[: 11 * len(values) - 1, column] = [v for v in values for _ in range(11)]
    with pytest.raises(DataContractError) as info:
        validate_tables({**clean, table: frame}, reference_date=REFERENCE)
    return str(info.value)


def test_an_id_in_a_coded_column_is_not_shown_but_a_mistyped_code_is(
    clean: dict[str, pd.DataFrame],
) -> None:
    # A shifted column puts person ids where codes belong: the message may not carry them.
    person = str(clean["justice"].loc[0, "person_id"])
    message = _strict_message(clean, "justice", "event_type", [person, "x" * 41, "parole"])
    assert (
        "offending values: ['parole'] and 2 more held by fewer than 11 people, or that" in message
    )
    assert person not in message and "x" * 41 not in message
    message = _strict_message(clean, "justice", "event_type", [person, "x" * 41, person])
    assert person not in message and "rows: [0, 1, 2, 3, 4]; expected one of" in message


def test_rows_differing_in_case_only_are_counted_beside_a_code_shown(
    clean: dict[str, pd.DataFrame],
) -> None:
    # A feed's code held by 12 people is shown; one person's 'Booking' is counted, not shown.
    rows = [(f"Q{i:02d}", "parole") for i in range(12)] + [("Q99", "Booking")]
    added = pd.DataFrame(rows, columns=["person_id", "event_type"]).assign(
        event_date=pd.Timestamp("2022-01-01")
    )
    justice = pd.concat([clean["justice"], added], ignore_index=True)
    with pytest.raises(DataContractError) as info:
        validate_tables({**clean, "justice": justice}, reference_date=REFERENCE)
    message = str(info.value)
    assert "offending values: ['parole'] and 1 more held by fewer than 11 people" in message
    assert "'Booking'" not in message
    assert "(1 of these rows differ from a code in case only" in message


def test_empty_text_in_a_coded_column_is_a_missing_value_not_an_unknown_code(
    clean: dict[str, pd.DataFrame],
) -> None:
    justice = clean["justice"].astype({"event_type": "object"})
    justice.loc[0, "event_type"] = ""
    clean["justice"] = justice
    _, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["justice"].by_check == {"missing_value": 1}


def test_dates_numbers_and_ids_in_any_case_are_not_shown_either(
    clean: dict[str, pd.DataFrame],
) -> None:
    person = str(clean["persons"].loc[0, "person_id"])
    # A birth date shifted into sex, an id in another case, a number, a mistyped code.
    shifted = ["1970-03-14", f" {person.lower()}", "90210", "female"]
    message = _strict_message(clean, "persons", "sex", shifted)
    assert "offending values: ['female'] and 3 more held by fewer than 11 people, or" in message
    assert "1970" not in message and "90210" not in message and person.lower() not in message


def test_a_name_typed_into_one_row_is_not_shown_though_it_looks_like_a_code(
    clean: dict[str, pd.DataFrame],
) -> None:
    frame = clean["persons"].astype({"race_ethnicity": "object"})
    frame.loc[0, "race_ethnicity"] = "Maria Lopez"
    with pytest.raises(DataContractError) as info:
        validate_tables({**clean, "persons": frame}, reference_date=REFERENCE)
    assert "Maria" not in str(info.value)
    assert "rows: [0]; expected one of" in str(info.value)


def test_columns_outside_the_contract_are_named_when_left_out(
    clean: dict[str, pd.DataFrame], caplog: pytest.LogCaptureFixture
) -> None:
    clean["persons"] = clean["persons"].assign(ssn="123-45-6789", name="Jane Q. Public")
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        tables, report = validate_tables(clean, reference_date=REFERENCE)
    assert "ssn" not in tables["persons"].columns
    assert report.tables["persons"].columns_left_out == ("name", "ssn")
    assert report.tables["encounters"].columns_left_out == ()
    assert report.to_dict()["tables"]["persons"]["columns_left_out"] == ("name", "ssn")
    # Names that look like a record's values are counted in the warning, never listed.
    dated = {**clean, "persons": clean["persons"].assign(paid_2024=1.0)}
    _, report = validate_tables(dated, reference_date=REFERENCE)
    assert report.tables["persons"].columns_left_out == ()
    logged = caplog.text
    assert "persons: columns outside the data contract are left out: ['name', 'ssn']" in logged
    assert "6789" not in logged and "Jane" not in logged
    # A county's own names that are contract codes or words with numbers are a header's.
    flagged = {**clean, "persons": clean["persons"].assign(ssn="x", white=1, Decile1=3)}
    _, report = validate_tables(flagged, reference_date=REFERENCE)
    assert report.tables["persons"].columns_left_out == ("Decile1", "name", "ssn", "white")
    # With person_id misnamed, the name to fix is shown beside the county's own.
    renamed = {**flagged, "persons": flagged["persons"].rename(columns={"person_id": "client_id"})}
    with pytest.raises(DataContractError) as info:
        validate_tables(renamed, reference_date=REFERENCE)
    assert "'client_id'" in str(info.value) and "'white'" in str(info.value)
    # A spreadsheet's trailing commas: unnamed, empty columns, said apart from the others.
    caplog.clear()
    trailing = {**clean, "persons": clean["persons"].assign(column6=None, column7="")}
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        _, report = validate_tables(trailing, reference_date=REFERENCE)
    said = " ".join(caplog.text.split())
    assert "persons: 2 column(s) with no header and no value (trailing commas" in said
    assert "left out: ['name', 'ssn']" in said  # the named ones still listed, alone
    assert report.tables["persons"].columns_left_out == ("column6", "column7", "name", "ssn")


def test_many_orphans_are_flagged_as_a_linkage_problem(
    clean: dict[str, pd.DataFrame], caplog: pytest.LogCaptureFixture
) -> None:
    # Ids padded with zeros in one table: most of its rows name nobody in persons.
    justice = clean["justice"].copy()
    justice.loc[:3, "person_id"] = "00" + justice.loc[:3, "person_id"].astype(str)
    clean["justice"] = justice
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        _, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    orphans = report.tables["justice"].by_check["orphan_person_id"]
    assert orphans == 4
    assert f"justice: {orphans} of {len(justice)} rows" in caplog.text
    assert "leading zeros" in caplog.text and "encounters:" not in caplog.text
    # Counted, not guessed: each of them is a persons id once written alike.
    assert "persons table does not accept; 4 of them match a persons id once" in caplog.text
    assert caplog.text.count("name a person_id") == 1  # one warning, with the count in it
    with pytest.raises(DataContractError, match="; 4 of them match a persons id once both"):
        validate_tables(clean, reference_date=REFERENCE)
    # An id that is no one's, however written, is not counted.
    justice.loc[:3, "person_id"] = "P99"
    with pytest.raises(DataContractError) as info:
        validate_tables({**clean, "justice": justice}, reference_date=REFERENCE)
    assert "written alike" not in str(info.value)


def _justice_with(clean: dict[str, pd.DataFrame], rows: list[tuple[str, str]]) -> None:
    added = pd.DataFrame(rows, columns=["person_id", "event_date"]).assign(event_type="booking")
    added["event_date"] = pd.to_datetime(added["event_date"]).astype("datetime64[us]")
    clean["justice"] = pd.concat([clean["justice"], added], ignore_index=True)


def test_an_event_on_the_birth_or_death_day_passes_and_one_a_day_outside_does_not(
    clean: dict[str, pd.DataFrame],
) -> None:
    # P01 was born on 1970-03-14 and is alive; P04 died on 2023-08-19.
    _justice_with(
        clean,
        [
            ("P01", "1970-03-14"),  # row 7: the day of birth
            ("P01", "1970-03-13"),  # row 8: the day before
            ("P04", "2023-08-19"),  # row 9: the day of death
            ("P04", "2023-08-20"),  # row 10: the day after
            ("P01", "2024-12-31"),  # row 11: no death date, nothing is after it
        ],
    )
    tables, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["justice"].by_check == {"before_birth": 1, "after_death": 1}
    kept = tables["justice"]
    assert pd.Timestamp("1970-03-14") in set(kept["event_date"])
    assert pd.Timestamp("2023-08-19") in set(kept["event_date"])
    assert not kept["event_date"].isin(pd.to_datetime(["1970-03-13", "2023-08-20"])).any()
    assert report.tables["justice"].rows_in == 12 == len(kept) + 2


def test_strict_names_the_event_before_birth_by_row_not_by_date(
    clean: dict[str, pd.DataFrame],
) -> None:
    _justice_with(clean, [("P01", "1970-03-13")])
    with pytest.raises(DataContractError) as info:
        validate_tables(clean, reference_date=REFERENCE)
    assert str(info.value) == VIOLATION.format(
        table="justice",
        column="event_date",
        check="before_birth",
        count=1,
        reason="dated before the person's birth_date",
        examples="rows: [7]",
    )


def test_every_event_table_is_checked_against_the_life_on_its_event_date(
    clean: dict[str, pd.DataFrame],
) -> None:
    from riskstrat.data._codes import EVENT_DATES

    for table, column in EVENT_DATES.items():
        df = clean[table]
        first = df.index[df["person_id"] == "P04"]
        row = first[0] if len(first) else 0
        df.loc[row, "person_id"] = "P04"
        # The day after P04's death; an end date moves with it so the row stays in order.
        df.loc[row, column] = pd.Timestamp("2023-08-20")
        if "end_date" in df:
            df.loc[row, "end_date"] = pd.NaT
    _, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    for table in EVENT_DATES:
        assert report.tables[table].by_check == {"after_death": 1}, table


def test_an_event_of_a_rejected_person_is_an_orphan_not_outside_a_life(
    clean: dict[str, pd.DataFrame],
) -> None:
    clean["persons"].loc[0, "sex"] = "Male"  # P01's persons row is rejected
    _justice_with(clean, [("P01", "1970-03-13")])
    _, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["justice"].by_check == {"orphan_person_id": 3}


def test_life_lookup_of_mixed_ids_takes_the_slower_path_with_the_same_answer() -> None:
    from riskstrat.data._crossrow import Lifespans

    persons = pd.DataFrame(
        {
            "person_id": pd.Series(["a", "c"], dtype="str"),
            "birth_date": pd.to_datetime(["2000-01-01", "2001-01-01"]),
            "death_date": pd.to_datetime([None, "2020-01-01"]),
        }
    )
    lives = Lifespans.of(persons)
    fast = lives.positions(pd.Series(["a", "b", None, "c"], dtype="str"))
    assert fast.tolist() == [0, -1, -1, 1]
    mixed = lives.positions(pd.Series([1, "c", None, "a"], dtype=object))
    assert mixed.tolist() == [-1, 1, -1, 0]


def test_a_birth_date_over_120_years_back_is_a_placeholder_not_a_person(
    clean: dict[str, pd.DataFrame],
) -> None:
    persons = clean["persons"]
    # The reference date is 2025-01-01: 1905-01-01 is 120 years back to the day.
    persons.loc[persons["person_id"] == "P02", "birth_date"] = pd.Timestamp("1905-01-01")
    persons.loc[persons["person_id"] == "P03", "birth_date"] = pd.Timestamp("1904-12-31")
    tables, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["persons"].by_check == {"implausible_birth_date": 1}
    assert set(tables["persons"]["person_id"]) == set(persons["person_id"]) - {"P03"}
    with pytest.raises(DataContractError) as info:
        validate_tables(clean, reference_date=REFERENCE)
    assert info.value.check == "implausible_birth_date"
    assert "1904" not in str(info.value)


def test_duplicates_from_a_column_left_empty_say_so(clean: dict[str, pd.DataFrame]) -> None:
    encounters = clean["encounters"]
    # Two visits the same day that differ only in what was paid, with paid_amount emptied.
    twin = encounters.iloc[[0]].assign(paid_amount=encounters["paid_amount"].iloc[0] + 1)
    clean["encounters"] = pd.concat([encounters, twin], ignore_index=True).assign(
        paid_amount=float("nan")
    )
    with pytest.raises(DataContractError) as info:
        validate_tables(clean, reference_date=REFERENCE)
    assert info.value.check == "duplicate_row"
    assert "columns ['paid_amount'] are empty in every row" in str(info.value)
    # With the column dropped from the extract, the same rows say it too.
    clean["encounters"] = clean["encounters"].drop(columns="paid_amount")
    with pytest.raises(DataContractError) as info:
        validate_tables(clean, reference_date=REFERENCE)
    assert info.value.check == "duplicate_row"
    assert "'paid_amount'] are not in the table, so rows that differ only there" in str(info.value)


def test_duplicates_set_aside_for_want_of_a_column_are_warned_of_in_quarantine(
    clean: dict[str, pd.DataFrame], caplog: pytest.LogCaptureFixture
) -> None:
    encounters = clean["encounters"]
    # Two visits the same day that differ only in what was paid, in an extract without it.
    twin = encounters.iloc[[0]].assign(paid_amount=encounters["paid_amount"].iloc[0] + 1)
    clean["encounters"] = pd.concat([encounters, twin], ignore_index=True).drop(
        columns="paid_amount"
    )
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        result = validate_tables(clean, reference_date=REFERENCE, mode="quarantine")
    assert result.report.tables["encounters"].by_check == {"duplicate_row": 1}
    assert (
        "encounters: 1 row(s) set aside as exact duplicates; columns ['paid_amount'] are not in "
        "the table, so rows that differ only there (two visits on one day, say) look alike and "
        "all but one is set aside: was the column left out of the extract?"
    ) in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        validate_tables(
            {**clean, "encounters": encounters}, reference_date=REFERENCE, mode="quarantine"
        )
    assert "set aside as exact duplicates" not in caplog.text  # every column there: no hint


def test_duplicates_that_differ_outside_the_contract_say_so(
    clean: dict[str, pd.DataFrame], caplog: pytest.LogCaptureFixture
) -> None:
    # Two fills of one class on one day, told apart by drug_name alone, which the contract
    # leaves out; and a true copy of a third fill, drug_name and all.
    pharmacy = clean["pharmacy"].assign(
        drug_name=[f"drug {i}" for i in range(len(clean["pharmacy"]))]
    )
    other_drug = pharmacy.iloc[[0]].assign(drug_name="another drug")
    copy = pharmacy.iloc[[1]]
    # Rows set aside first by another check, before and between: the columns kept aside
    # stay in line with the rows.
    negative = pharmacy.iloc[[2, 3]].assign(days_supply=-5, drug_name=["x", "y"])
    clean["pharmacy"] = pd.concat(
        [negative.iloc[[0]], pharmacy, negative.iloc[[1]], other_drug, copy], ignore_index=True
    )
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        result = validate_tables(clean, reference_date=REFERENCE, mode="quarantine")
    assert result.report.tables["pharmacy"].by_check == {"duplicate_row": 2, "negative_value": 2}
    said = " ".join(caplog.text.split())
    assert (
        "pharmacy: rows set aside as exact duplicates in the contract's columns; 1 of them "
        "differ from the row they repeat in columns outside the contract (drug_name), which "
        "are left out: if those tell distinct records apart (two visits, two fills on one "
        "day), the contract's columns cannot, and the records are counted once"
    ) in said
    assert "another drug" not in caplog.text  # the names of the columns, never their values
    clean["pharmacy"] = pd.concat([pharmacy, other_drug, copy], ignore_index=True)
    with pytest.raises(DataContractError) as info:
        validate_tables(clean, reference_date=REFERENCE)
    assert info.value.check == "duplicate_row"
    assert "; 1 of them differ from the row they repeat in columns outside the contract (dr" in (
        str(info.value)
    )
    # A true copy alone: nothing differs, nothing more is said.
    clean["pharmacy"] = pd.concat([pharmacy, copy], ignore_index=True)
    caplog.clear()
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        result = validate_tables(clean, reference_date=REFERENCE, mode="quarantine")
    assert result.report.tables["pharmacy"].by_check == {"duplicate_row": 1}
    assert "outside the contract (drug_name), which are left out:" not in caplog.text


def test_an_empty_value_outside_the_contract_differs_from_nothing(
    clean: dict[str, pd.DataFrame], caplog: pytest.LogCaptureFixture
) -> None:
    # A dataset whose newer parts add drug_name reads it empty in the older ones: a fill
    # delivered in both is a true copy. A third fill alike in the contract, with its own
    # drug_name, is not.
    pharmacy = clean["pharmacy"].assign(drug_name=None)
    newer = pharmacy.iloc[[0, 1]].assign(drug_name=["drug a", "drug b"])
    clean["pharmacy"] = pd.concat([pharmacy, newer], ignore_index=True)
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        result = validate_tables(clean, reference_date=REFERENCE, mode="quarantine")
    assert result.report.tables["pharmacy"].by_check == {"duplicate_row": 2}
    assert "columns outside the contract" not in caplog.text
    other = pharmacy.iloc[[0]].assign(drug_name="drug z")
    clean["pharmacy"] = pd.concat([pharmacy, newer, other], ignore_index=True)
    caplog.clear()
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        result = validate_tables(clean, reference_date=REFERENCE, mode="quarantine")
    assert result.report.tables["pharmacy"].by_check == {"duplicate_row": 3}
    assert "; 1 of them differ from the row they repeat in columns outside the contract" in (
        " ".join(caplog.text.split())
    )


def test_codes_in_another_case_set_aside_are_warned_of_in_quarantine(
    clean: dict[str, pd.DataFrame], caplog: pytest.LogCaptureFixture
) -> None:
    # Every ED visit written "ED": on a small extract no share set aside is large enough to
    # warn of, and features would count no ED visit at all.
    encounters = clean["encounters"]
    ed = encounters["setting"] == "ed"
    assert ed.any()
    clean["encounters"] = encounters.assign(setting=encounters["setting"].mask(ed, "ED"))
    clean["justice"] = clean["justice"].assign(event_type="parole")  # unknown in any case
    with caplog.at_level("WARNING", logger="riskstrat.data._validate"):
        result = validate_tables(clean, reference_date=REFERENCE, mode="quarantine")
    assert result.report.tables["encounters"].by_check == {"unknown_code": int(ed.sum())}
    said = " ".join(caplog.text.split())
    assert (
        f"encounters.setting: {int(ed.sum())} row(s) set aside as unknown codes are the "
        "contract's ['ed'] written in another case: codes are matched exactly" in said
    )
    assert "justice.event_type" not in said  # 'parole' is no contract code in any case


def _refused_and_warned(tables: dict[str, pd.DataFrame], caplog: pytest.LogCaptureFixture) -> str:
    """What a strict validation that refuses ``tables`` says: its error and its warnings."""
    with (
        caplog.at_level("WARNING", logger="riskstrat.data._validate"),
        pytest.raises(DataContractError) as info,
    ):
        validate_tables(tables, reference_date=REFERENCE)
    return str(info.value) + caplog.text


def test_a_table_without_its_header_row_is_named_without_its_first_record(
    clean: dict[str, pd.DataFrame], caplog: pytest.LogCaptureFixture
) -> None:
    persons = clean["persons"]
    first = [str(v) for v in persons.iloc[0]]  # the header row lost: a record names the columns
    clean["persons"] = persons.iloc[1:].set_axis(first, axis=1)
    told = _refused_and_warned(clean, caplog)
    assert "look like a record's values (not shown: is the header row missing?)" in told
    for value in first:
        if value not in ("nan", "<NA>", "NaT"):
            assert f"'{value}'" not in told, value


def test_a_note_in_one_persons_many_rows_or_free_text_is_never_shown(
    clean: dict[str, pd.DataFrame],
) -> None:
    # One person's rows, however many, are that person's record: their count is 1.
    encounters = _copies(clean, "encounters", 3).astype({"setting": "object"})
    one = encounters["person_id"].iloc[0]
    encounters.loc[:14, "person_id"] = one
    encounters.loc[:14, "setting"] = "telehealth"
    with pytest.raises(DataContractError) as info:
        validate_tables({**clean, "encounters": encounters}, reference_date=REFERENCE)
    assert "telehealth" not in str(info.value) and "rows: [0, 1, 2, 3, 4]" in str(info.value)
    # Text that is not one code-shaped token is not shown, however many people hold it.
    for text in ("hiv pos per partner", "LOPEZ, MARIA", "maria lopez", "F20.9 schizo", "a@b.org"):
        message = _strict_message(clean, "encounters", "setting", [text, "telehealth"])
        assert text not in message, text
        assert "offending values: ['telehealth'] and 1 more held by fewer than 11 people" in message


def test_a_column_named_twice_in_the_header_is_refused(clean, tmp_path) -> None:
    import shutil

    from riskstrat.data import load_tables

    from .conftest import CLEAN_DIR

    # In memory: a frame with the name twice.
    persons = clean["persons"]
    doubled = pd.concat([persons, persons[["person_id"]]], axis=1)
    with pytest.raises(DataContractError) as info:
        validate_tables({**clean, "persons": doubled}, reference_date=REFERENCE)
    assert str(info.value) == (
        "table 'persons': the header names column 'person_id' more than once; expected each "
        "column once"
    )
    # In a CSV, whose reader names the second person_id_1.
    data = tmp_path / "data"
    shutil.copytree(CLEAN_DIR, data)
    lines = (data / "persons.csv").read_text().splitlines()
    lines = [f"{line},{line.split(',')[0]}" for line in lines]
    lines[0] = lines[0].rsplit(",", 1)[0] + ",person_id"
    (data / "persons.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataContractError, match="the header names column person_id more than once"):
        load_tables(data, reference_date=REFERENCE)
    # A secondary code beside the first is a column of its own, left out.
    clean["diagnoses"] = clean["diagnoses"].assign(icd10_2=clean["diagnoses"]["icd10"])
    validate_tables(clean, reference_date=REFERENCE)


@pytest.mark.parametrize("as_given", [str, Path])
def test_a_folder_path_is_pointed_to_load_tables(as_given, tmp_path) -> None:
    # A str read as a mapping without persons; a Path failed with "not iterable".
    with pytest.raises(TypeError, match=r"^tables: expected a mapping .* use riskstrat\.data\."):
        validate_tables(as_given(tmp_path))


def test_ids_of_zeros_alone_are_not_written_alike_with_every_other() -> None:
    from riskstrat.data._crossrow import Lifespans, written_alike

    persons = pd.DataFrame(
        {"person_id": ["000", "0042", "A7"], "birth_date": pd.Timestamp("1980-01-01")}
    )
    lifespans = Lifespans.of(persons)
    # '42' and 'a7' are persons' ids written differently; '0.0' and '' are no one's.
    assert written_alike(pd.Series(["42", "a7 ", "0.0", "", "17"]), lifespans) == 2
    assert written_alike(pd.Series(["0"]), Lifespans.of(persons.iloc[1:])) == 0


def test_one_reason_setting_a_large_share_aside_is_warned_of_by_name(
    clean: dict[str, pd.DataFrame], caplog: pytest.LogCaptureFixture
) -> None:
    # Every ED visit written "ED": quarantine sets them all aside, and what is read has no
    # ED visit at all. The run goes on, but says which reason took how much.
    clean = {name: frame.copy() for name, frame in clean.items()}
    encounters = clean["encounters"] = _copies(clean, "encounters", 40)
    ed = encounters["setting"] == "ed"
    assert 0.05 * len(encounters) <= ed.sum() < 0.5 * len(encounters)
    encounters.loc[ed, "setting"] = "ED"
    with caplog.at_level("WARNING"):
        _, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["encounters"].by_check["unknown_code"] == ed.sum()
    assert f"encounters: {ed.sum()} of {len(encounters)} rows " in caplog.text
    assert "set aside for one reason, unknown setting (unknown_code)" in caplog.text
    assert "ED" not in caplog.text.replace("ED visit", "")  # no value is printed
    # A few stray rows are what quarantine is for: no such warning.
    caplog.clear()
    clean["encounters"].loc[ed, "setting"] = "ed"
    clean["encounters"].loc[clean["encounters"].index[0], "setting"] = "ED"
    with caplog.at_level("WARNING"):
        validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert "set aside for one reason" not in caplog.text


def test_spells_all_open_are_said_only_when_they_began_over_a_year_apart(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from riskstrat.data._whole_tables import warn_missing_optional

    def spells(starts: list[str]) -> pd.DataFrame:
        return pd.DataFrame(
            {"person_id": ["a"] * len(starts), "start_date": starts, "end_date": None}
        )

    with caplog.at_level("WARNING"):  # a programme begun this year may have closed none
        assert warn_missing_optional("enrollments", spells(["2025-01-05", "2025-06-01"])) == ()
    assert caplog.text == ""
    with caplog.at_level("WARNING"):  # years of spells, none closed: the end dates were left out
        assert warn_missing_optional("homelessness", spells(["2021-03-01", "2025-06-01"])) == (
            "end_date",
        )
    assert "homelessness: the end_date column is empty on all 2 rows" in caplog.text
    # Start dates read as the contract reads them: yyyymmdd numbers, offsets that change
    # with daylight saving.
    numbers = spells(["x", "y"]).assign(start_date=[20180102, 20250630])
    assert warn_missing_optional("homelessness", numbers) == ("end_date",)
    offsets = spells(["2021-01-05T10:00:00-08:00", "2025-06-01T10:00:00-07:00"])
    assert warn_missing_optional("homelessness", offsets) == ("end_date",)


def test_a_booking_of_years_ago_with_no_release_after_it_is_warned_of(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from riskstrat.data._unclosed import warn_unclosed

    rows = [
        ("lost_release", "booking", "2019-03-01"),  # reads as in custody for six years
        ("recent", "booking", "2024-03-01"),  # a term of one year: plausible
        ("released", "booking", "2018-03-01"),
        ("released", "release", "2018-09-01"),
        ("rebooked", "release", "2018-09-01"),
        ("rebooked", "booking", "2019-01-05"),  # a later booking, never released
        ("supervised", "probation_start", "2018-01-01"),  # a lost probation end
        # Released and booked again on one day: in custody since (as the features read it).
        ("same_day", "booking", "2018-01-01"),
        ("same_day", "release", "2019-01-01"),
        ("same_day", "booking", "2019-01-01"),
        # Both on one day with nothing running before: a 0-day stay, over.
        ("zero_day", "release", "2019-02-01"),
        ("zero_day", "booking", "2019-02-01"),
        # Two such days: each a 0-day stay, none running after (the features agree).
        ("two_zero_days", "booking", "2018-01-01"),
        ("two_zero_days", "release", "2018-01-01"),
        ("two_zero_days", "booking", "2018-06-01"),
        ("two_zero_days", "release", "2018-06-01"),
        # Booked, then released and booked again on each of two days: in custody since.
        ("rebooked_twice", "booking", "2018-06-01"),
        ("rebooked_twice", "release", "2018-09-01"),
        ("rebooked_twice", "booking", "2018-09-01"),
        ("rebooked_twice", "release", "2019-02-01"),
        ("rebooked_twice", "booking", "2019-02-01"),
    ]
    justice = pd.DataFrame(rows, columns=["person_id", "event_type", "event_date"])
    justice["event_date"] = pd.to_datetime(justice["event_date"])
    with caplog.at_level("WARNING"):
        found = warn_unclosed(justice, pd.Timestamp("2025-07-01"))
    assert found == {"booking": 4, "probation_start": 1}
    assert (
        "justice: 4 person(s) have a booking more than 3 years before the reference date with "
        "no release after it: they read as in custody now" in caplog.text
    )
    assert "lost_release" not in caplog.text  # counted, never named
    assert warn_unclosed(justice, pd.Timestamp("2021-07-01")) == {}  # not yet 3 years then
    # A death ends a term that no release records: not a lost record.
    persons = pd.DataFrame(
        {"person_id": ["lost_release", "recent"], "death_date": [pd.Timestamp("2020-01-01"), None]}
    )
    assert warn_unclosed(justice, pd.Timestamp("2025-07-01"), persons)["booking"] == 3


def test_unclosed_terms_are_counted_as_the_features_read_them_as_of_a_date(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # score reads the tables as of a quarter, often well before the day it runs: a term is
    # doubtful by the events before that date, as "in custody now" is computed then.
    from riskstrat.data._unclosed import warn_unclosed

    rows = [
        ("released_later", "booking", "2020-06-01"),  # in custody 4.5 years as of 2025-01-01
        ("released_later", "release", "2025-03-01"),  # unseen as of 2025-01-01
        ("recent_then", "booking", "2023-06-01"),  # 1.5 years then; 3.5 years by 2026-12-07
        ("released_on_the_day", "booking", "2019-01-01"),
        ("released_on_the_day", "release", "2025-01-01"),  # on the as-of date: not yet seen
        ("died_after", "booking", "2020-01-01"),  # alive, and in custody, as of 2025-01-01
    ]
    justice = pd.DataFrame(rows, columns=["person_id", "event_type", "event_date"])
    justice["event_date"] = pd.to_datetime(justice["event_date"])
    persons = pd.DataFrame(
        {"person_id": ["died_after"], "death_date": [pd.Timestamp("2025-06-01")]}
    )
    today = pd.Timestamp("2026-12-07")
    assert warn_unclosed(justice, today, persons) == {"booking": 1}  # recent_then
    with caplog.at_level("WARNING"):
        found = warn_unclosed(justice, today, persons, as_of=pd.Timestamp("2025-01-01"))
    assert found == {"booking": 3}  # released_later, released_on_the_day, died_after
    said = " ".join(caplog.text.split())
    assert (
        "3 person(s) have a booking more than 3 years before the as-of date 2025-01-01 with no "
        "release after it by then: they read as in custody now" in said
    )
    # A day later the release is seen.
    later = warn_unclosed(justice, today, persons, as_of=pd.Timestamp("2025-01-02"))
    assert later == {"booking": 2}


def test_validation_counts_unclosed_terms_as_of_the_date_asked(
    clean: dict[str, pd.DataFrame], caplog: pytest.LogCaptureFixture
) -> None:
    person = clean["persons"]["person_id"].iloc[0]
    living = clean["persons"].loc[clean["persons"]["person_id"] == person, "death_date"]
    assert living.isna().all()
    rows = pd.DataFrame(
        {
            "person_id": [person, person],
            "event_type": ["booking", "release"],
            "event_date": pd.to_datetime(["2017-02-01", "2022-03-01"]),
        }
    )
    clean["justice"] = pd.concat(
        [clean["justice"].loc[clean["justice"]["person_id"] != person], rows], ignore_index=True
    )
    with caplog.at_level("WARNING", logger="riskstrat.data._unclosed"):
        validate_tables(clean, reference_date=REFERENCE, as_of="2021-01-01")
    assert "before the as-of date 2021-01-01 with no release after it by then" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="riskstrat.data._unclosed"):
        validate_tables(clean, reference_date=REFERENCE)
    assert "as-of date" not in caplog.text
    with pytest.raises(ValueError, match="as_of"):
        validate_tables(clean, reference_date=REFERENCE, as_of="2021-13-01")
    # The Python API's features read them as of their latest date too.
    from riskstrat.features import build_features

    caplog.clear()
    with caplog.at_level("WARNING", logger="riskstrat.data._unclosed"):
        build_features(clean, ["2020-06-01", "2021-01-01"])
    assert "before the as-of date 2021-01-01 with no release after it by then" in caplog.text


@pytest.mark.parametrize(
    "first",
    [
        ["SECRETMARKER41", "09-MAR-21", "booking"],  # Oracle's dates, an id without digits
        ["SECRETMARKER41", "Mar 9 21", "SECRETTYPE"],  # the date alone gives it away
        ["SECRETMARKER41", "3/9/1", "SECRETTYPE"],
        ["SECRETMARKER41", "SECRETDATE", "probation_start"],  # so does a contract code
        ["SECRETMARKER41", "27SEP47", "SECRETTYPE"],  # SAS's DATE7.
    ],
)
def test_a_headerless_table_with_spelled_out_dates_is_named_without_its_first_record(
    clean: dict[str, pd.DataFrame], caplog: pytest.LogCaptureFixture, first: list[str]
) -> None:
    clean["justice"] = clean["justice"].set_axis(first, axis=1)
    told = _refused_and_warned(clean, caplog)
    assert "3 that look like a record's values" in told
    assert not any(value in told for value in first)
