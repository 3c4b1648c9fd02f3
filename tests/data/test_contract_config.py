from __future__ import annotations

import pandas as pd
import pytest

from riskstrat._config import ConfigError
from riskstrat.data import load_contract_config, validate_tables

from .conftest import REFERENCE


def test_extra_instrument_is_accepted_within_its_range(clean: dict[str, pd.DataFrame]) -> None:
    config = load_contract_config({"data": {"instruments": {"LA-ACUITY": {"min": 0, "max": 30}}}})
    assert config.extra_instruments() == {"LA-ACUITY": (0.0, 30.0)}
    clean["assessments"].loc[[0, 1], "instrument"] = "LA-ACUITY"
    clean["assessments"].loc[[0, 1], "score"] = [30.0, 31.0]
    _, without = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert without.tables["assessments"].by_check == {"unknown_code": 2}
    _, with_config = validate_tables(
        clean,
        mode="quarantine",
        reference_date=REFERENCE,
        extra_instruments=config.extra_instruments(),
    )
    assert with_config.tables["assessments"].by_check == {"score_out_of_range": 1}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"data": {"instruments": {"MCAS": {"min": 0, "max": 10}}}},
            "data.instruments.MCAS: 'MCAS' is part of the contract",
        ),
        (
            {"data": {"instruments": {"X": {"min": 5, "max": 1}}}},
            "data.instruments.X: expected min <= max",
        ),
        (
            {"data": {"instruments": {"X": {"min": 0, "maxx": 1}}}},
            "data.instruments.X.maxx: unknown key 'maxx'",
        ),
        ({"programs": {}}, "data: expected a single top-level key 'data'"),
    ],
)
def test_bad_contract_config_names_the_key(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_contract_config(raw)
    assert str(info.value).startswith(message)
