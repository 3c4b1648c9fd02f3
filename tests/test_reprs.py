"""What a notebook shows for the API's objects: a line of counts, never the rows."""

from __future__ import annotations

from pathlib import Path

from riskstrat.data import load_tables
from riskstrat.eligibility import load_programs
from riskstrat.features import load_feature_spec
from riskstrat.outcomes import load_outcome_spec
from riskstrat.synth import synthesize

CLEAN = Path(__file__).parent / "data" / "fixtures" / "clean"


def test_specs_print_their_names_not_their_definitions() -> None:
    assert repr(load_feature_spec()).startswith("FeatureSpec(definitions=")
    programs = repr(load_programs())
    assert programs.startswith("Programs(['hcss'") and len(programs) < 300
    assert repr(load_outcome_spec()).endswith("'composite_adverse'], horizon_months=12)")


def test_loaded_tables_print_their_counts() -> None:
    result = load_tables(CLEAN, reference_date="2025-01-01")
    text = repr(result)
    assert text.startswith("LoadResult(tables={'persons': 10, 'encounters': 12")
    assert "ValidationReport(mode='strict', reference_date=2025-01-01, tables=8" in text
    assert not any(pid in text for pid in result.tables["persons"]["person_id"])


def test_a_synthetic_county_prints_its_counts() -> None:
    county = synthesize(60, "2022-01-01", "2023-01-01", seed=3)
    text = repr(county)
    assert text.startswith("SyntheticCounty(rows={'persons': ") and "seed=3" in text
    assert not any(pid in text for pid in county.tables["persons"]["person_id"])
