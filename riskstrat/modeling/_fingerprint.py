"""A fingerprint of the data a model was trained on, for the bundle and the tracked run.

It hashes the tables as loaded (after the data contract's quarantine), not the files, so
it names the rows the model saw whatever folder, format or partitioning they came from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import numpy as np
import pandas as pd


def data_fingerprint(tables: Mapping[str, pd.DataFrame]) -> str:
    """sha256 over each table's name, columns, dtypes, row count and sorted row hashes.

    Parameters
    ----------
    tables : mapping of table name to DataFrame
        The linked tables, or ``{"panel": panel}`` for a prebuilt panel.

    Returns
    -------
    str
        64 hex digits. Equal tables give equal fingerprints, whatever order their rows
        were read in (hive partitions return them partition by partition, and training
        does not depend on it); any changed, added or removed row, value or column
        changes it.
    """
    digest = hashlib.sha256()
    for name in sorted(tables):
        frame = tables[name]
        header = {
            "table": name,
            "columns": [str(c) for c in frame.columns],
            "dtypes": [str(t) for t in frame.dtypes],
            "rows": len(frame),
        }
        digest.update(json.dumps(header, sort_keys=True).encode("utf-8"))
        rows = pd.util.hash_pandas_object(frame, index=False, categorize=True)
        digest.update(np.sort(rows.to_numpy()).tobytes())
    return digest.hexdigest()
