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


def test_the_countys_contract_file_is_read_by_default(
    clean: dict[str, pd.DataFrame], tmp_path, monkeypatch
) -> None:
    # Every command reads the linked tables through validate_tables: with the county's
    # configs/contract.yaml found as every config is, score and train accept what
    # validate accepts.
    clean["assessments"].loc[[0, 1], "instrument"] = "LA-ACUITY"
    clean["assessments"].loc[[0, 1], "score"] = [30.0, 31.0]
    (tmp_path / "contract.yaml").write_text(
        "data:\n  instruments:\n    LA-ACUITY: {min: 0, max: 30}\n"
    )
    monkeypatch.setenv("RISKSTRAT_CONFIG_DIR", str(tmp_path))
    _, report = validate_tables(clean, mode="quarantine", reference_date=REFERENCE)
    assert report.tables["assessments"].by_check == {"score_out_of_range": 1}
    (tmp_path / "contract.yaml").write_text("data:\n  instruments:\n    X: {min: 5, max: 1}\n")
    with pytest.raises(ConfigError, match=r"data.instruments.X: expected min <= max.*contract"):
        validate_tables(clean, mode="quarantine", reference_date=REFERENCE)


def test_the_shipped_contract_file_adds_nothing() -> None:
    from riskstrat._config import default_config_path
    from riskstrat.data._contract_config import default_extra_instruments

    assert load_contract_config(default_config_path("contract.yaml")).extra_instruments() == {}
    assert default_extra_instruments() == {}
