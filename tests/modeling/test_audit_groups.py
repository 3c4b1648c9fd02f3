"""The groups the training evaluation reports by, besides the sensitive attributes."""

from __future__ import annotations

import pandas as pd

from riskstrat.modeling._audit_groups import age_bands, evaluation_groups


def test_age_bands_count_whole_years_on_each_rows_as_of_date() -> None:
    persons = pd.DataFrame(
        {
            "person_id": ["a", "b", "c", "d", "e"],
            "birth_date": pd.to_datetime(
                ["2007-07-02", "2007-07-01", "1999-07-01", "1960-07-02", None]
            ),
            "spa": ["1", "2", None, "8", "3"],
        }
    )
    rows = pd.DataFrame(
        {
            "person_id": ["a", "b", "c", "c", "d", "d", "e", "z"],
            "as_of": pd.to_datetime(
                ["2025-07-01", "2025-07-01", "2025-07-01", "2025-06-30", "2025-07-01"]
                + ["2025-07-02", "2025-07-01", "2025-07-01"]
            ),
        }
    )
    # a turns 18 the day after; b on the day. c is 26 on 2025-07-01, 25 the day before.
    # d turns 65 on 2025-07-02. e has no birth date, and z no persons row.
    assert age_bands(rows, persons).tolist() == [
        "0-17",
        "18-25",
        "26-44",
        "18-25",
        "45-64",
        "65+",
        "not recorded",
        "not recorded",
    ]
    table = evaluation_groups(rows, persons, ["age_band", "spa", "sex", "age_band"])
    assert list(table.columns) == ["age_band", "spa"]  # no sex column: left out
    assert table["spa"].tolist() == ["1", "2", "not recorded", "not recorded"] + ["8", "8", "3"] + [
        "not recorded"
    ]
    assert evaluation_groups(rows, persons, ["sex"]) is None


def test_audit_groups_come_from_a_fixed_list() -> None:
    import pytest

    from riskstrat._config import ConfigError
    from riskstrat.modeling import MetricsConfig

    assert MetricsConfig().audit_groups == ("age_band", "spa")
    # A column of near-unique values would make groups of one, named in the pooled group.
    for name in ("birth_date", "person_id"):
        with pytest.raises(ConfigError, match=r"model.metrics.audit_groups\[0\]: expected one of"):
            MetricsConfig(audit_groups=(name,))
