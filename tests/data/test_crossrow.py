"""The exact-duplicate check against pandas' own ``DataFrame.duplicated``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from riskstrat.data._crossrow import _duplicate_rows

# Few distinct values per column, so duplicates are common; NaN in every spelling a
# column can hold it, and -0.0 beside 0.0, which DataFrame.duplicated takes as equal.
_FLOATS = [0.0, -0.0, 1.5, np.nan, float("-nan")]
_INTS = [1, 2, None]
_FLAGS = [True, False, None]
_TEXTS = ["a", "b", "", None]
_DAYS = [pd.Timestamp("2020-01-01"), pd.Timestamp("2020-01-02"), pd.NaT]


def _frame(rows: list[tuple]) -> pd.DataFrame:
    floats, ints, flags, texts, days = zip(*rows, strict=True) if rows else ([],) * 5
    return pd.DataFrame(
        {
            "paid_amount": pd.Series(floats, dtype="float64"),
            "days_supply": pd.Series(ints, dtype="Int64"),
            "avoidable": pd.Series(flags, dtype="boolean"),
            "person_id": pd.Series(texts, dtype="str"),
            "start_date": pd.Series(days, dtype="datetime64[us]"),
        }
    )


_ROW = st.tuples(*(st.sampled_from(v) for v in (_FLOATS, _INTS, _FLAGS, _TEXTS, _DAYS)))


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(_ROW, max_size=40), data=st.data())
def test_duplicate_rows_match_pandas_among_the_kept_rows(rows: list[tuple], data) -> None:
    df = _frame(rows)
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=len(df), max_size=len(df))), bool)
    expected = np.zeros(len(df), dtype=bool)
    expected[keep] = df.loc[keep].duplicated().to_numpy()
    np.testing.assert_array_equal(_duplicate_rows(df, keep), expected)


def test_an_object_column_arrow_cannot_hold_is_compared_too() -> None:
    # Numbers among text, as a CSV column read without a dtype can hold them.
    df = pd.DataFrame({"provider_id": pd.Series([1, "1", 1, None, np.nan], dtype=object)})
    keep = np.ones(len(df), dtype=bool)
    np.testing.assert_array_equal(_duplicate_rows(df, keep), df.duplicated().to_numpy())
