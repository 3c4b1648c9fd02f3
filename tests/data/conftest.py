"""A small hand-made clean linked dataset (tests/data/fixtures/clean, 10 persons)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from riskstrat.data import load_tables

CLEAN_DIR = Path(__file__).parent / "fixtures" / "clean"
# Every fixture date is before this day.
REFERENCE = "2025-01-01"


@pytest.fixture(scope="session")
def clean_tables_cached() -> dict[str, pd.DataFrame]:
    return load_tables(CLEAN_DIR, reference_date=REFERENCE).tables


@pytest.fixture
def clean(clean_tables_cached: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """A fresh copy per test: tests corrupt it."""
    return {name: df.copy() for name, df in clean_tables_cached.items()}
