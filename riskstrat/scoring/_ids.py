"""Fast membership tests on person_id strings.

pandas' ``isin`` on string columns is an order of magnitude slower than Arrow's hash
lookup at county scale (seconds per million ids), so every id lookup of the scorer goes
through :func:`isin`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _arrow(values: Any) -> pa.Array:
    if isinstance(values, pd.Series | pd.Index):
        # Arrow-backed str columns convert without copying; others are cast first.
        array = pa.array(values.astype("str"), from_pandas=True)
        return array.cast(pa.string()) if array.type != pa.string() else array
    return pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)


def isin(values: Any, lookup: Any) -> np.ndarray:
    """Boolean mask: which of ``values`` (ids) occur in ``lookup`` (ids); nulls never match."""
    mask = pc.is_in(_arrow(values), value_set=_arrow(lookup), skip_nulls=True)
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


UNKNOWN_SPA = "unknown"


def spa_labels(spa: pd.Series, ids: pd.Series) -> pd.Series:
    """SPA as text ("1"-"8" or "unknown") for the given persons only (not the county).

    ``spa`` is indexed by person_id (null = unknown); the result too, one row per person.
    """
    wanted = spa.loc[isin(spa.index.to_series(), ids.unique())]
    wanted = wanted[~wanted.index.duplicated()]
    text = [UNKNOWN_SPA if pd.isna(v) else str(int(v)) for v in wanted.to_numpy()]
    return pd.Series(text, index=wanted.index, dtype="str")
