"""Pseudonymous ids, string columns, duplicates and byte-stable Parquet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from riskstrat.synth import _frames as fr


def test_person_ids_are_unique_sorted_hex() -> None:
    ids = fr.person_ids(np.random.default_rng(0), 5_000).to_pylist()
    assert len(set(ids)) == 5_000
    assert ids == sorted(ids)
    assert all(len(i) == 12 and set(i) <= set("0123456789abcdef") for i in ids)
    again = fr.person_ids(np.random.default_rng(0), 5_000).to_pylist()
    assert ids == again


def test_strings_and_dates_with_nulls() -> None:
    s = fr.strings(np.array([1, -1, 0]), ["a", "b"])
    assert s.dtype == "str"
    assert s.tolist()[0] == "b" and pd.isna(s[1]) and s[2] == "a"
    d = fr.dates(np.array([0, fr.NULL_DAY, 18262], dtype=np.int32))
    assert d[0] == pd.Timestamp("1970-01-01") and pd.isna(d[1])
    assert d[2] == pd.Timestamp("2020-01-01")


def test_drop_duplicates_sorts_and_drops_exact_twins() -> None:
    cols = {"person": np.array([2, 1, 1, 1]), "day": np.array([5, 3, 3, 4])}
    out = fr.drop_duplicates(cols)
    assert out["person"].tolist() == [1, 1, 2]
    assert out["day"].tolist() == [3, 4, 5]


def test_write_parquet_dates_as_date32_and_stable_bytes(tmp_path) -> None:
    df = pd.DataFrame(
        {
            "person_id": pd.Series(["x", None], dtype="str"),
            "day": fr.dates(np.array([18262, fr.NULL_DAY], dtype=np.int32)),
            "amount": [1.5, 2.0],
        }
    )
    fr.write_parquet(df, tmp_path / "a.parquet", {"day"})
    fr.write_parquet(df, tmp_path / "b.parquet", {"day"})
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    table = pq.read_table(tmp_path / "a.parquet")
    assert str(table.schema.field("day").type) == "date32[day]"
    assert table.column("day").null_count == 1
    assert table.column("person_id").to_pylist() == ["x", None]


def test_drop_duplicates_with_a_float_column_and_wide_keys() -> None:
    # A float column (and a null-day sentinel) cannot be packed: the lexsort path.
    cols = {
        "person": np.array([1, 0, 1, 1]),
        "day": np.array([fr.NULL_DAY, 7, fr.NULL_DAY, 3], dtype=np.int32),
        "score": np.array([2.5, 1.0, 2.5, 9.0]),
    }
    out = fr.drop_duplicates(cols)
    assert out["person"].tolist() == [0, 1, 1]
    assert out["day"].tolist() == [7, fr.NULL_DAY, 3]
    assert out["score"].tolist() == [1.0, 2.5, 9.0]


def test_separate_twins_keeps_every_row_and_breaks_exact_ties_by_a_cent() -> None:
    cols = {
        "person": np.array([1, 1, 1, 2, 1], dtype=np.int32),
        "day": np.array([5, 5, 5, 5, 6], dtype=np.int32),
        "paid": np.array([100.0, 100.0, 100.0, 100.0, 100.0]),
    }
    out = fr.separate_twins(cols, "paid")
    # Row order is kept; the three twins become 100.00, 100.01 and 100.02.
    assert list(out["person"]) == [1, 1, 1, 2, 1]
    assert sorted(out["paid"][:3]) == [100.0, 100.01, 100.02]
    assert list(out["paid"][3:]) == [100.0, 100.0]
    frame = pd.DataFrame(out)
    assert not frame.duplicated().any()


def test_separate_twins_never_creates_a_new_twin() -> None:
    # Bumping the second 100.00 to 100.01 would collide with the existing 100.01 row.
    cols = {
        "person": np.array([1, 1, 1], dtype=np.int32),
        "paid": np.array([100.0, 100.0, 100.01]),
    }
    out = fr.separate_twins(cols, "paid")
    assert len(out["paid"]) == 3
    assert not pd.DataFrame(out).duplicated().any()
