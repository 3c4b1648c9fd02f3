"""Write a feature table to Parquet atomically (never a half-written file on failure)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def write_features(features: pd.DataFrame, path: str | Path) -> Path:
    """Write ``features`` to ``path`` (Parquet) through a temporary file and a rename.

    Parameters
    ----------
    features : DataFrame
        From :func:`build_features`.
    path : str or Path
        Target ``.parquet`` file; its folder is created if needed.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(pa.Table.from_pandas(features, preserve_index=False), tmp)
        os.replace(tmp, path)  # atomic on one filesystem: readers see old or new, never half
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
