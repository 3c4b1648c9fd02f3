"""A slip in the Python API's arguments reads as itself, not as pathlib's error deep inside."""

from __future__ import annotations

import re

import pandas as pd
import pytest

FRAME = pd.DataFrame({"person_id": ["a"]})


def _calls(tmp_path):
    from riskstrat.data import write_parquet_atomic
    from riskstrat.eligibility import write_eligibility
    from riskstrat.modeling import ModelBundle, load_model_config
    from riskstrat.synth import as_of_truth

    return {
        "write_eligibility swapped": (
            lambda: write_eligibility(str(tmp_path / "e.parquet"), FRAME),
            "long: expected a pandas DataFrame, got a str",
        ),
        "bundle from a frame": (
            lambda: ModelBundle.load(FRAME),
            "path: expected a bundle folder (str or Path), got a DataFrame",
        ),
        "updated(None)": (
            lambda: load_model_config().updated(None),
            "changes: expected a mapping nested as configs/model.yaml's model: section",
        ),
        "truth of a county in memory": (
            lambda: as_of_truth(FRAME, ["2024-01-01"]),
            "county_dir: expected the folder a county was written to",
        ),
        "write_parquet_atomic swapped": (
            lambda: write_parquet_atomic(str(tmp_path / "f.parquet"), FRAME),
            "df: expected a pandas DataFrame, got a str",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "write_eligibility swapped",
        "bundle from a frame",
        "updated(None)",
        "truth of a county in memory",
        "write_parquet_atomic swapped",
    ],
)
def test_a_wrong_argument_is_named_with_what_it_takes(case, tmp_path) -> None:
    call, message = _calls(tmp_path)[case]
    with pytest.raises(TypeError, match="^" + re.escape(message)):
        call()


def test_write_parquet_atomic_takes_a_str_path(tmp_path) -> None:
    from riskstrat.data import write_parquet_atomic

    write_parquet_atomic(FRAME, str(tmp_path / "sub" / "f.parquet"))  # failed: 'str'.parent
    assert pd.read_parquet(tmp_path / "sub" / "f.parquet").equals(FRAME)
