import logging

import pandas as pd
import pytest

from riskstrat.data._coverage import STALE_DAYS, last_covered_day, latest_occurrences

D = pd.Timestamp


def _tables(justice_last: str) -> dict[str, pd.DataFrame]:
    return {
        "persons": pd.DataFrame({"birth_date": [D("1980-01-01")], "death_date": [D("2025-06-01")]}),
        "encounters": pd.DataFrame(
            {
                "start_date": [D("2024-03-01"), D("2024-12-31")],
                "end_date": [pd.NaT, D("2025-02-10")],
            }
        ),
        # An event a day, each by another person: a quarter without one is out of character.
        "justice": pd.DataFrame({"event_date": pd.date_range("2024-01-05", justice_last)}).assign(
            person_id=lambda d: "p" + d.index.astype(str)
        ),
    }


def test_end_and_death_dates_do_not_extend_the_data() -> None:
    tables = _tables("2024-12-01")
    assert latest_occurrences(tables) == {"encounters": D("2024-12-31"), "justice": D("2024-12-01")}
    assert last_covered_day(tables) == D("2024-12-31")
    assert last_covered_day({"persons": tables["persons"]}) is None


def test_a_source_that_stops_a_quarter_early_is_named(caplog: pytest.LogCaptureFixture) -> None:
    last = D("2024-12-31")
    on_time = (last - pd.Timedelta(days=STALE_DAYS)).date().isoformat()
    late = (last - pd.Timedelta(days=STALE_DAYS + 1)).date().isoformat()
    with caplog.at_level(logging.WARNING, logger="riskstrat.data._coverage"):
        last_covered_day(_tables(on_time))
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="riskstrat.data._coverage"):
        last_covered_day(_tables(late))
    (record,) = caplog.records
    assert record.getMessage().startswith(f"justice ends {late}, {STALE_DAYS + 1} days before")
    assert "encounters ends 2024-12-31" in record.getMessage()


def test_a_sparse_source_may_be_silent_for_a_quarter(caplog: pytest.LogCaptureFixture) -> None:
    tables = _tables("2024-08-01")
    # Three justice events over seven months: 152 days without one had a fair chance.
    tables["justice"] = tables["justice"].iloc[[0, 100, -1]]
    with caplog.at_level(logging.WARNING, logger="riskstrat.data._coverage"):
        last_covered_day(tables)
    assert not caplog.records
