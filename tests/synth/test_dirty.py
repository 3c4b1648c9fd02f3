"""inject_faults: exact, deterministic counts that a quarantine run reconciles one to one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from riskstrat.data import load_tables, validate_tables
from riskstrat.synth._dirty import BAD_RATE, UNKNOWN_CODES, inject_faults

CLEAN_DIR = Path(__file__).parents[1] / "data" / "fixtures" / "clean"
REFERENCE = "2025-01-01"


@pytest.fixture(scope="module")
def clean() -> dict[str, pd.DataFrame]:
    return load_tables(CLEAN_DIR, reference_date=REFERENCE).tables


def _replicate(tables: dict[str, pd.DataFrame], copies: int) -> dict[str, pd.DataFrame]:
    """The 10-person fixture repeated with fresh ids (P01 -> P01-c3), still clean."""
    out = {}
    for name, df in tables.items():
        parts = [df.assign(person_id=df["person_id"] + f"-c{i}") for i in range(copies)]
        out[name] = pd.concat(parts, ignore_index=True)
    return out


def test_deterministic_given_seed(clean: dict[str, pd.DataFrame]) -> None:
    a_tables, a_counts = inject_faults(clean, 0.3, seed=11)
    b_tables, b_counts = inject_faults(clean, 0.3, seed=11)
    c_tables, _ = inject_faults(clean, 0.3, seed=12)
    assert a_counts == b_counts
    for name in a_tables:
        pd.testing.assert_frame_equal(a_tables[name], b_tables[name])
    assert not all(a_tables[n].equals(c_tables[n]) for n in a_tables)


def test_input_tables_are_not_modified(clean: dict[str, pd.DataFrame]) -> None:
    before = {name: df.copy() for name, df in clean.items()}
    inject_faults(clean, 0.5, seed=1)
    for name, df in clean.items():
        pd.testing.assert_frame_equal(df, before[name])


def test_fault_counts_follow_the_rate(clean: dict[str, pd.DataFrame]) -> None:
    big = _replicate(clean, 20)  # 200 persons, 240 encounters
    dirty, injected = inject_faults(big, 0.05, seed=3)
    # 5% of 240 encounters = 12 faulty rows over 8 kinds, plus the orphans of lost persons.
    direct = dict(injected["encounters"])
    direct.pop("orphan_person_id")
    assert sum(direct.values()) + _direct_orphans(dirty["encounters"]) == 12
    assert set(direct) == {
        "duplicate_row",
        "null_person_id",
        "end_before_start",
        "unknown_code",
        "future_date",
        "negative_value",
        "before_birth",
    }
    assert sum(injected["persons"].values()) == 10  # 5% of 200
    assert len(dirty["encounters"]) == 240 + injected["encounters"]["duplicate_row"]
    # The unknown codes really are the documented ones.
    column, value = UNKNOWN_CODES["encounters"]
    assert (dirty["encounters"][column] == value).sum() == injected["encounters"]["unknown_code"]


def test_before_birth_faults_precede_the_birth_by_up_to_a_year(
    clean: dict[str, pd.DataFrame],
) -> None:
    big = _replicate(clean, 20)
    dirty, injected = inject_faults(big, 0.2, seed=5)
    births = big["persons"].set_index("person_id")["birth_date"]
    for table, column in (("justice", "event_date"), ("homelessness", "start_date")):
        df = dirty[table]
        gap = pd.Series(births.reindex(df["person_id"]).to_numpy() - df[column].to_numpy())
        early = (gap > pd.Timedelta(0)).to_numpy()
        assert early.sum() == injected[table]["before_birth"] > 0, table
        assert gap.max() <= pd.Timedelta(days=365)
        # Moving only the start back keeps the end date on or after it.
        if "end_date" in df:
            assert not (df["end_date"] < df["start_date"])[early].any()


def test_person_ids_of_the_orphan_form_are_refused(clean: dict[str, pd.DataFrame]) -> None:
    tables = dict(clean)
    persons = clean["persons"].copy()
    persons.loc[0, "person_id"] = "UNLINKED-0000003"
    tables["persons"] = persons
    with pytest.raises(ValueError, match="reserved for orphans"):
        inject_faults(tables, 0.1, seed=0)


def _direct_orphans(df: pd.DataFrame) -> int:
    return int(df["person_id"].str.startswith("UNLINKED-").sum())


@pytest.mark.parametrize("seed", range(6))
def test_quarantine_reconciles_exactly(clean: dict[str, pd.DataFrame], seed: int) -> None:
    big = _replicate(clean, 8)
    dirty, injected = inject_faults(big, 0.08, seed=seed)
    tables, report = validate_tables(dirty, mode="quarantine", reference_date=REFERENCE)
    for name, t in report.tables.items():
        assert t.by_check == injected[name], name
        assert t.rows_in == t.accepted + t.rejected == len(dirty[name])
    # Accepted rows are exactly the clean rows of persons not lost, once each.
    lost = set(big["persons"]["person_id"]) - set(tables["persons"]["person_id"])
    expected = big["encounters"][~big["encounters"]["person_id"].isin(lost)]
    # Duplicates are extra rows; every other fault corrupts one clean row in place.
    corrupted = sum(
        v
        for k, v in injected["encounters"].items()
        if k not in ("orphan_person_id", "duplicate_row")
    )
    assert len(tables["encounters"]) == len(expected) - corrupted - _direct_orphans(
        dirty["encounters"]
    )


def test_rate_zero_injects_nothing(clean: dict[str, pd.DataFrame]) -> None:
    dirty, injected = inject_faults(clean, 0.0, seed=0)
    assert injected == dict.fromkeys(clean, {})
    for name in clean:
        pd.testing.assert_frame_equal(dirty[name], clean[name])


@pytest.mark.parametrize("rate", [-0.1, 0.9, True, "0.1"])
def test_bad_rate_is_rejected(clean: dict[str, pd.DataFrame], rate) -> None:
    with pytest.raises(ValueError) as info:
        inject_faults(clean, rate, seed=0)
    assert str(info.value) == BAD_RATE.format(rate=rate)


def test_synthesized_dirty_county_reconciles() -> None:
    synth = pytest.importorskip("riskstrat.synth")
    args = (2000, "2019-01-01", "2024-01-01")
    clean = synth.synthesize(*args, seed=3).tables
    county = synth.synthesize(*args, seed=3, dirty_rate=0.02)
    tables, report = validate_tables(county.tables, mode="quarantine", reference_date="2024-01-01")
    lost = set(clean["persons"]["person_id"]) - set(tables["persons"]["person_id"])
    for name, t in report.tables.items():
        # The generator itself emits some exact duplicates (same person, day and code);
        # those of persons not lost are rejected on top of the injected faults.
        df = clean[name]
        natural = int((df.duplicated() & ~df["person_id"].isin(lost)).sum())
        expected = dict(county.injected[name])
        if natural:
            expected["duplicate_row"] = expected.get("duplicate_row", 0) + natural
        assert t.by_check == expected, name
    assert sum(county.injected["encounters"].values()) > 500
